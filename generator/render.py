"""Lines of each raw file for one block, in the exact formats of parsers/formats.py.

Each function returns the data lines (no header, no line end) in a stable order:
establishments (or companies) in block order, then time.
"""

from __future__ import annotations

import numpy as np

from generator import encode
from generator.dynamics import Dynamics
from generator.scenario import Scenario
from generator.world import World
from parsers.formats import FORMATS, SIRENE_HEADER, SIRENE_UL_HEADER


def _join(source: str, columns: list[list[str]]) -> list[str]:
    sep = FORMATS[source].separator
    return [sep.join(fields) for fields in zip(*columns, strict=True)]


def _calendar(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    month = (scenario.start_month - 1 + np.arange(scenario.months)) % 12 + 1
    year = scenario.start_year + (scenario.start_month - 1 + np.arange(scenario.months)) // 12
    return year, month


def month_columns(scenario: Scenario) -> tuple[str, ...]:
    """``eff<YYYYQM>`` columns of the wide headcount files."""
    year, month = _calendar(scenario)
    periods = encode.urssaf_period(year, month, np.zeros(len(year), dtype=bool))
    return tuple(f"eff{p}" for p in periods)


def cotisation(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    year, month = _calendar(s)
    quarter_end = (month - 1) % 3 == 2
    due, paid = d.due.copy(), d.paid.copy()
    q = w.e_quarterly
    # quarterly payers: one line per quarter, carrying the quarter's total
    for t in range(s.months):
        lo = max(t - (month[t] - 1) % 3, 0)
        if quarter_end[t] or t == s.months - 1:
            due[q, t] = d.due[q, lo : t + 1].sum(axis=1)
            paid[q, t] = d.paid[q, lo : t + 1].sum(axis=1)
        else:
            due[q, t] = 0.0
    activity = d.active.copy()
    for t in range(s.months):
        lo = max(t - (month[t] - 1) % 3, 0)
        activity[q, t] = (quarter_end[t] or t == s.months - 1) & d.active[q, lo : t + 1].any(axis=1)
    e, t = np.nonzero(activity)
    comma = rng.uniform(size=e.size) < 0.7
    return _join(
        "cotisation",
        [
            list(w.e_gestion[e]),
            list(w.e_dept[e]),
            list(w.e_siret[e]),
            list(w.e_compte[e]),
            encode.urssaf_period(year[t], month[t], q[e]),
            [str(v) for v in rng.integers(1, 10, e.size)],
            encode.decimal(paid[e, t], comma),
            encode.decimal(due[e, t], comma),
        ],
    )


def debit(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    st = d.debts
    year, month = _calendar(s)
    e = st.est
    n = e.size
    return _join(
        "debit",
        [
            list(w.e_gestion[e]),
            list(w.e_dept[e]),
            list(w.e_compte[e]),
            list(w.c_siren[w.e_company[e]]),
            list(w.e_siret[e]),
            encode.plain_date(w.e_created[e]),
            list(np.where(st.in_proceedings, "4", "1")),
            list(np.where(st.in_proceedings, "1", "0")),
            encode.urssaf_period(year[st.period], month[st.period], st.quarterly),
            [str(v) for v in st.gap_number],
            [str(v) for v in st.history],
            encode.urssaf_date(st.date),
            [str(v) for v in st.po_cents],
            [str(v) for v in st.pp_cents],
            list(np.where(st.history == 1, "1", rng.choice(["2", "3", "43"], size=n))),
            list(rng.choice(["00", "40", "74"], size=n)),
            list(np.where(rng.uniform(size=n) < 0.02, "1", "0")),
        ],
    )


def delai(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    a = d.delais
    e = a["est"].astype(int)
    n = e.size
    created = a["created"].astype("datetime64[D]")
    days = a["days"].astype(int)
    years, _, _ = encode.ymd(created)
    stage = rng.choice(["APPROB", "EN_COURS", "SOLDE", "DENONCE"], size=n, p=[0.5, 0.3, 0.15, 0.05])
    return _join(
        "delai",
        [
            list(w.e_gestion[e]),
            list(w.e_dept[e]),
            list(w.e_siret[e]),
            list(w.e_compte[e]),
            [f"{v:013d}" for v in (e * 7_654_321 + 1_000_000_000_003) % 10**13],
            encode.french_date(created),
            encode.french_date(created + days.astype("timedelta64[D]")),
            [str(v) for v in days],
            list(w.c_name[w.e_company[e]]),
            list(np.where(days > 183, "SUP", "INF")),
            [str(v) for v in years],
            encode.decimal(a["amount"], rng.uniform(size=n) < 0.5),
            list(stage),
            list(rng.choice(["DELAI", "AVENANT"], size=n, p=[0.9, 0.1])),
        ],
    )


def ccsf(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    e = d.ccsf["est"].astype(int)
    return _join(
        "ccsf",
        [
            list(w.e_gestion[e]),
            list(w.e_dept[e]),
            list(w.e_siret[e]),
            list(w.e_compte[e]),
            encode.urssaf_date(d.ccsf["date"]),
            list(d.ccsf["stage"]),
            ["CCSF"] * e.size,
        ],
    )


def procol(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    j = d.judgments
    lines = []
    kept = j.in_urssaf
    for c, date, action, stage in zip(
        j.company[kept], j.date[kept], j.action[kept], j.stage[kept], strict=True
    ):
        label = f"{stage}_{action}" if rng.uniform() < 0.9 else f"{action}_{stage}"
        label = label[0].upper() + label[1:]
        for e in np.flatnonzero((w.e_company == c) & (w.e_created <= date)):
            lines.append(
                ";".join(
                    [
                        w.e_siret[e],
                        w.c_siren[c],
                        encode.procol_date(np.array([date]))[0],
                        "1",
                        label,
                    ]
                )
            )
    return lines


def _wide_values(values: np.ndarray, rng) -> list[str]:
    sep = np.where(rng.uniform(size=values.shape[0]) < 0.5, " ", "\u202f")
    return [
        ";".join(encode.integer(row, thousands=str(sp)))
        for row, sp in zip(values, sep, strict=True)
    ]


def effectif(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    cells = _wide_values(d.reported, rng)
    ape = [code.replace(".", "") for code in w.c_naf[w.e_company]]
    return [
        ";".join(
            [
                w.e_compte[e],
                w.e_siret[e],
                w.c_name[w.e_company[e]],
                ape[e],
                w.e_dept[e],
                cells[e],
                "",
                w.e_gestion[e],
            ]
        )
        for e in range(w.n_establishments)
        if d.active[e].any()
    ]


def effectif_ent(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    total = np.zeros((w.n_companies, s.months))
    np.add.at(total, w.e_company, np.nan_to_num(d.headcount))
    any_active = np.zeros((w.n_companies, s.months), dtype=bool)
    np.logical_or.at(any_active, w.e_company, d.active)
    total = np.where(any_active & (rng.uniform(size=total.shape) >= 0.01), total, np.nan)
    cells = _wide_values(total, rng)
    return [
        ";".join([w.c_siren[c], cells[c], w.c_name[c]])
        for c in range(w.n_companies)
        if any_active[c].any()
    ]


def _q(values) -> list[str]:
    return [f'"{v}"' for v in values]


def apdemande(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    r = d.ap_requests
    e = r["est"].astype(int)
    n = e.size
    t = np.clip(
        (r["start"].astype("datetime64[M]") - np.datetime64(s.month_label(0), "M")).astype(int),
        0,
        s.months - 1,
    )
    company_staff = np.zeros((w.n_companies, s.months))
    np.add.at(company_staff, w.e_company, np.nan_to_num(d.headcount))
    mta_comma = rng.uniform(size=n) < 0.2
    mta = [
        f'"{v}"' if c else v
        for v, c in zip(encode.decimal(r["mta"], mta_comma), mta_comma, strict=True)
    ]
    return _join(
        "apdemande",
        [
            _q(r["id"]),
            _q(w.e_siret[e]),
            encode.decimal(company_staff[w.e_company[e], t], places=1),
            encode.decimal(np.nan_to_num(d.headcount[e, t]), places=1),
            _q(encode.iso_date(r["statut"])),
            _q(encode.iso_date(r["start"])),
            _q(encode.iso_date(r["end"])),
            encode.decimal(r["hta"]),
            mta,
            encode.decimal(r["eff_auto"], places=1),
            _q(r["motif"]),
            _q(r["perimetre"]),
            encode.decimal(r["hours_total"]),
            encode.decimal(r["employees_total"], places=1),
            encode.decimal(r["amount_total"]),
            _q(r["recours"]),
        ],
    )


def apconso(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    c = d.ap_consumption
    e = c["est"].astype(int)
    return _join(
        "apconso",
        [
            _q(d.ap_requests["id"][c["request"]]),
            _q(w.e_siret[e]),
            encode.decimal(c["hours"]),
            encode.decimal(c["amount"]),
            encode.decimal(c["employees"], places=1),
            _q(encode.iso_date(c["month"])),
        ],
    )


def _size_band(size: float) -> str:
    bands = [
        (0, "00"),
        (1, "01"),
        (3, "02"),
        (6, "03"),
        (10, "11"),
        (20, "12"),
        (50, "21"),
        (100, "22"),
        (200, "31"),
        (250, "32"),
        (500, "41"),
        (1000, "42"),
        (2000, "51"),
        (5000, "52"),
    ]
    return [code for low, code in bands if size >= low][-1]


def sirene(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    from generator.reference import NAME_SYLLABLES, STREET_TYPES

    last_year = s.start_year + (s.start_month - 1 + s.months - 1) // 12
    lines = []
    for e in range(w.n_establishments):
        c = w.e_company[e]
        closed = not d.active[e, -1]
        size = np.nan_to_num(d.headcount[e]).max()
        street = "".join(rng.choice(NAME_SYLLABLES, size=3)).upper()
        town = "".join(rng.choice(NAME_SYLLABLES, size=2)).upper()
        number, kind = str(int(rng.integers(1, 200))), str(rng.choice(STREET_TYPES))
        lon, lat = rng.uniform(-4.5, 8.0), rng.uniform(42.3, 51.0)
        row = {
            "siren": w.c_siren[c],
            "nic": w.e_nic[e],
            "siret": w.e_siret[e],
            "statutDiffusionEtablissement": "O",
            "dateCreationEtablissement": str(w.e_created[e]),
            "trancheEffectifsEtablissement": _size_band(size),
            "anneeEffectifsEtablissement": str(last_year - 1),
            "dateDernierTraitementEtablissement": f"{last_year}-0{rng.integers(1, 9)}-1"
            f"{rng.integers(0, 9)}T10:2{rng.integers(0, 9)}:00",
            "etablissementSiege": "true" if w.e_siege[e] else "false",
            "nombrePeriodesEtablissement": str(int(rng.integers(1, 6))),
            "numeroVoieEtablissement": number,
            "typeVoieEtablissement": kind,
            "libelleVoieEtablissement": street,
            "codePostalEtablissement": w.e_postcode[e],
            "libelleCommuneEtablissement": town,
            "codeCommuneEtablissement": w.e_commune[e],
            "dateDebut": str(w.e_created[e]),
            "etatAdministratifEtablissement": "F" if closed else "A",
            "activitePrincipaleEtablissement": w.c_naf[c],
            "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
            "caractereEmployeurEtablissement": "O" if not closed else "N",
            "longitude": f"{lon:.6f}",
            "latitude": f"{lat:.6f}",
            "geo_score": f"{rng.uniform(0.4, 0.99):.2f}",
            "geo_type": "housenumber",
            "geo_adresse": f"{number} {kind} {street} {w.e_postcode[e]} {town}",
            "geo_id": f"{w.e_commune[e]}_{int(rng.integers(1000, 9999))}_{number}",
            "geo_ligne": "G",
            "geo_l4": f"{number} {kind} {street}",
            "geo_l5": "",
        }
        lines.append(",".join(row.get(col, "") for col in SIRENE_HEADER))
        if rng.uniform() < 0.01:  # an old establishment, closed, still coded in NAF rev. 1
            old = dict(
                row,
                nic=f"{int(w.e_nic[e]) + 900:05d}"[-5:],
                etatAdministratifEtablissement="F",
                activitePrincipaleEtablissement=w.c_naf[c][:4] + "A",
                nomenclatureActivitePrincipaleEtablissement="NAFRev1",
            )
            old["siret"] = old["siren"] + old["nic"]
            lines.append(",".join(old.get(col, "") for col in SIRENE_HEADER))
    return lines


def sirene_ul(s: Scenario, w: World, d: Dynamics, rng) -> list[str]:
    from generator.reference import NAME_SYLLABLES

    lines = []
    for c in range(w.n_companies):
        mine = w.e_company == c
        staff = np.nan_to_num(d.headcount[mine]).sum(axis=0).max()
        ceased = not d.active[mine, -1].any()
        individual = w.c_category[c] == "1000"
        created = "invalid_date" if rng.uniform() < 0.005 else str(w.c_created[c])
        head = np.flatnonzero(mine & w.e_siege)[0]
        row = {
            "siren": w.c_siren[c],
            "statutDiffusionUniteLegale": "O",
            "dateCreationUniteLegale": created,
            "sexeUniteLegale": str(rng.choice(["M", "F"])) if individual else "",
            "prenom1UniteLegale": (
                "".join(rng.choice(NAME_SYLLABLES, 2)).upper() if individual else ""
            ),
            "trancheEffectifsUniteLegale": _size_band(staff),
            "anneeEffectifsUniteLegale": str(s.start_year + s.months // 12 - 1),
            "dateDernierTraitementUniteLegale": (
                f"{s.start_year + s.months // 12}-02-1{rng.integers(0, 9)}T08:00:00"
            ),
            "nombrePeriodesUniteLegale": str(int(rng.integers(1, 8))),
            "categorieEntreprise": "GE" if staff >= 5000 else ("ETI" if staff >= 250 else "PME"),
            "anneeCategorieEntreprise": str(s.start_year + s.months // 12 - 1),
            "dateDebut": str(w.c_created[c]),
            "etatAdministratifUniteLegale": "C" if ceased else "A",
            "nomUniteLegale": w.c_name[c] if individual else "",
            "denominationUniteLegale": "" if individual else w.c_name[c],
            "categorieJuridiqueUniteLegale": w.c_category[c],
            "activitePrincipaleUniteLegale": w.c_naf[c],
            "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
            "activitePrincipaleNAF25UniteLegale": w.c_naf[c],
            "nicSiegeUniteLegale": w.e_nic[head],
            "economieSocialeSolidaireUniteLegale": "O" if w.c_category[c] == "9220" else "N",
            "caractereEmployeurUniteLegale": "N" if ceased else "O",
        }
        lines.append(",".join(row.get(col, "") for col in SIRENE_UL_HEADER))
    return lines
