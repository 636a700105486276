"""Variable builders and silver rules on tiny frames, values computed by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from common.months import index as month_index
from features import builders as B
from features import silver as S
from features.catalog import Variable, catalog
from features.compute import (
    DESCRIPTIVE,
    PanelSettings,
    company_aggregates,
    compute_chunk,
    population,
    sector_names,
    sector_zscores,
)
from features.panel import chunks, eligible_companies, targets, with_company_data

nan = np.nan

# Establishment A reports months 0, 1, 2, 4, 5 (month 3 is a gap, month 2 a null);
# B has a single month.
SIRET = np.array(["A", "A", "A", "A", "A", "B"])
MONTH = np.array([0, 1, 2, 4, 5, 0])
X = np.array([1.0, 2.0, nan, 4.0, 8.0, 10.0])
FLAG = np.array([1.0, 0.0, nan, 1.0, 0.0, 1.0])


def months() -> B.Months:
    return B.Months(pd.factorize(SIRET)[0], MONTH)


def same(got, expected) -> None:
    np.testing.assert_allclose(
        np.asarray(got, dtype=float), np.asarray(expected, dtype=float), equal_nan=True
    )


@pytest.mark.parametrize(
    "builder, args, expected",
    [
        ("lag", (1,), [nan, 1.0, 2.0, nan, 4.0, nan]),  # month 3 missing: no value for month 4
        ("lag", (2,), [nan, nan, 1.0, nan, nan, nan]),  # month 2 is null
        ("rolling_mean", (3,), [1.0, 1.5, 1.5, 4.0, 6.0, 10.0]),
        ("rolling_sum", (3,), [1.0, 3.0, 3.0, 4.0, 12.0, 10.0]),
        ("rolling_min", (3,), [1.0, 1.0, 1.0, 4.0, 4.0, 10.0]),
        ("rolling_max", (3,), [1.0, 2.0, 2.0, 4.0, 8.0, 10.0]),
        ("diff", (1,), [nan, 1.0, nan, nan, 4.0, nan]),
        ("pct_change", (1,), [nan, 1.0, nan, nan, 1.0, nan]),
        ("cumulative_sum", (), [1.0, 3.0, 3.0, 7.0, 15.0, 10.0]),
    ],
)
def test_window_builders(builder, args, expected) -> None:
    same(B.WINDOW[builder](months(), X, *args), expected)


def test_trend_is_the_least_squares_slope_over_calendar_months() -> None:
    got = B.trend(months(), X, 6)
    # month 4: points (0,1) (1,2) (4,4); month 5: (0,1) (1,2) (4,4) (5,8); fewer than 3: NaN
    same(got, [nan, nan, nan, 19 / 26, 82 / 68, nan])


def test_flag_builders() -> None:
    same(B.months_since(months(), FLAG), [0, 1, 2, 0, 1, 0])
    # months since the flag was last false (month 1), the gap and the null month included
    same(B.spell(months(), FLAG), [1, 0, nan, 3, 0, 1])


def test_row_builders() -> None:
    a, b = np.array([6.0, 1.0, nan, -1.0]), np.array([3.0, 0.0, 2.0, nan])
    same(B.ratio(a, b), [2.0, nan, nan, nan])
    same(B.total(a, b), [9.0, 1.0, 2.0, -1.0])
    same(B.total(np.array([nan]), np.array([nan])), [nan])
    same(B.positive(a), [1.0, 1.0, nan, 0.0])


def test_no_builder_reads_a_later_month() -> None:
    """Changing month 5 changes no earlier row, for every window builder."""
    changed = np.where(MONTH == 5, 1000.0, X)
    for name, fn in B.WINDOW.items():
        args = () if name in ("cumulative_sum", "months_since", "spell") else (3,)
        before, after = fn(months(), X, *args), fn(months(), changed, *args)
        earlier = MONTH < 5
        same(after[earlier], before[earlier])


@pytest.mark.parametrize("builder", sorted(B.STATE))
@pytest.mark.parametrize("cut", [1, 2, 3, 4, 5, 6])
def test_an_unbounded_builder_resumes_from_its_carried_state(builder, cut) -> None:
    """The rows from month ``cut`` on, given the state the earlier rows leave, take the
    values they take over the whole history (A's history ends in a gap at cut 4, in a null
    at cut 3; B has no row after the cut)."""
    x = FLAG if builder != "cumulative_sum" else X
    whole = B.WINDOW[builder](months(), x)
    early, late = MONTH < cut, MONTH >= cut
    history = B.Months(pd.factorize(SIRET[early])[0], MONTH[early])
    state = B.STATE[builder](history, x[early])
    assert sorted(state) == sorted(B.STATE_PARTS[builder])
    left = dict(zip(SIRET[early][history.last], range(int(history.last.sum())), strict=True))
    rows = [left.get(s) for s in SIRET[late]]  # each later row's establishment's state
    before = {
        p: np.array([nan if r is None else v[history.last][r] for r in rows], dtype=float)
        for p, v in state.items()
    }
    window = B.Months(pd.factorize(SIRET[late])[0], MONTH[late])
    same(B.WINDOW[builder](window, x[late], before=before), whole[late])


def test_a_cumulative_sum_does_not_depend_on_the_other_establishments() -> None:
    """Added from the establishment's own first row: no chunk-wide running total whose
    rounding would reach it."""
    big = np.array([1e18, 3.3, 0.1, 0.2])
    m = B.Months(np.array([0, 1, 1, 1]), np.array([0, 0, 1, 2]))
    alone = B.Months(np.array([0, 0, 0]), np.array([0, 1, 2]))
    assert B.cumulative_sum(m, big)[1:].tolist() == B.cumulative_sum(alone, big[1:]).tolist()


def test_rows_must_be_sorted() -> None:
    with pytest.raises(ValueError, match="sorted"):
        B.Months(np.array([0, 0]), np.array([2, 1]))


# --- silver rules -------------------------------------------------------------------------


DEBIT = (
    "numero_compte string, siret string, periode_debut date, periode_fin date, "
    "numero_ecart_negatif string, numero_historique int, periode_prise_en_compte date, "
    "part_ouvriere double, part_patronale double"
)


def test_debt_follows_the_gap_history_rule(spark) -> None:
    """Each state counts from its processing month until the next state of its gap."""
    p = (dt.date(2017, 12, 1), dt.date(2018, 1, 1))
    states = spark.createDataFrame(
        [
            ("C", "S", *p, "1", 1, dt.date(2018, 1, 1), 100.0, 200.0),  # January
            ("C", "S", *p, "1", 2, dt.date(2018, 4, 1), 50.0, 100.0),  # processed 25 March: April
            ("C", "S", *p, "1", 3, dt.date(2018, 4, 1), 0.0, 0.0),  # same month: takes over at once
            ("C", "S", *p, "2", 1, dt.date(2018, 2, 1), 10.0, 20.0),  # never repaid
        ],
        DEBIT,
    )
    last = month_index("2018-05")
    got = S.debt(states, last).orderBy("month_index")
    rows = [
        (
            r.month_index - last + 4,
            r.dette_part_ouvriere,
            r.dette_part_patronale,
            r.nb_ecarts_ouverts,
        )
        for r in got.collect()
    ]
    assert rows == [
        (0, 100.0, 200.0, 1),
        (1, 110.0, 220.0, 2),
        (2, 110.0, 220.0, 2),
        (3, 10.0, 20.0, 1),
        (4, 10.0, 20.0, 1),
    ]


def test_debt_holds_each_account_from_its_first_state_to_the_last_month(spark) -> None:
    """Every month of an account from its first state on, repaid months (zero) included, and
    each account on its own (the running sums never mix two accounts)."""
    p = (dt.date(2017, 12, 1), dt.date(2018, 1, 1))
    states = spark.createDataFrame(
        [
            ("D", "T", *p, "1", 1, dt.date(2018, 2, 1), 30.0, 0.0),
            ("D", "T", *p, "1", 2, dt.date(2018, 3, 1), 0.0, 0.0),  # repaid in March
            ("E", "U", *p, "1", 1, dt.date(2018, 4, 1), 5.0, 7.0),
        ],
        DEBIT,
    )
    last = month_index("2018-05")
    got = S.debt(states, last).orderBy("numero_compte", "month_index").collect()
    assert [
        (r.numero_compte, r.month_index - last + 4, r.dette_part_ouvriere, r.nb_ecarts_ouverts)
        for r in got
    ] == [
        ("D", 1, 30.0, 1),
        ("D", 2, 0.0, 0),
        ("D", 3, 0.0, 0),
        ("D", 4, 0.0, 0),
        ("E", 3, 5.0, 1),
        ("E", 4, 5.0, 1),
    ]


def test_the_companies_computed_employ_enough_in_a_month_a_written_row_looks_back_to(
    spark,
) -> None:
    """A full build looks back from the panel's first month, a run from ``emit_from`` from
    that month; ``lookback_months`` months, the row's own included."""
    settings = panel_settings(start_index=100, last_index=130)
    headcount = spark.createDataFrame(
        [
            ("11111111100011", 88, 50.0),  # one month before a full build's reach
            ("22222222200011", 89, 10.0),  # the first month a full build's first row reads
            ("33333333300011", 110, 9.0),  # never enough
            ("33333333300029", 110, None),
            ("44444444400011", 109, 12.0),  # the first month a run from 120 reads
            ("55555555500011", 131, 12.0),  # after the data's last month
        ],
        "siret string, month_index int, effectif double",
    )

    def companies(emit_from: int | None) -> list[str]:
        found = eligible_companies(headcount, replace(settings, emit_from=emit_from))
        return sorted(r["siren"] for r in found.collect())

    assert companies(None) == ["222222222", "444444444"]
    assert companies(120) == ["444444444"]
    assert companies(121) == []


def test_processing_month_moves_after_the_20th(spark) -> None:
    from parsers.debit import processing_month

    days = [
        (2018, 3, 20),
        (2018, 3, 21),
        (2018, 3, 1),
        (2018, 2, 28),
        (2020, 2, 20),
        (2018, 12, 31),
    ]
    frame = spark.createDataFrame([(dt.date(*d),) for d in days], "d date")
    got = [r.m for r in frame.select(processing_month(F.col("d")).alias("m")).collect()]
    assert got == [
        dt.date(2018, 3, 1),
        dt.date(2018, 4, 1),
        dt.date(2018, 3, 1),
        dt.date(2018, 3, 1),
        dt.date(2020, 2, 1),
        dt.date(2019, 1, 1),
    ]


def test_contributions_spread_over_their_months(spark) -> None:
    cotisation = spark.createDataFrame(
        [
            ("C", "S", dt.date(2018, 1, 1), 3, 300.0, 150.0),
            ("C", "S", dt.date(2018, 2, 1), 1, 10.0, 10.0),
        ],
        "numero_compte string, siret string, periode_debut date, nb_mois int, du double, encaisse double",
    )
    got = S.contributions(cotisation).orderBy("month_index")
    assert [(r.cotisation_due, r.cotisation_payee) for r in got.collect()] == [
        (100.0, 50.0),
        (110.0, 60.0),
        (100.0, 50.0),
    ]


def test_a_request_counts_from_its_decision(spark) -> None:
    requests = spark.createDataFrame(
        [("S", dt.date(2020, 3, 1), dt.date(2020, 5, 31), dt.date(2020, 4, 10), 300.0, 5)],
        "siret string, periode_debut date, periode_fin date, date_statut date, hta double, effectif_autorise int",
    )
    conso = spark.createDataFrame(
        [], "siret string, periode date, heures_consommees double, montant double, effectif int"
    )
    got = S.partial_activity(requests, conso).orderBy("month_index")
    # three months, 100 hours each; March is before the decision: not known then
    assert [(r.month_index % 12 + 1, r.ap_heures_autorisees) for r in got.collect()] == [
        (4, 100.0),
        (5, 100.0),
    ]


def test_a_fiscal_year_is_known_after_the_filing_lag(spark) -> None:
    af = spark.createDataFrame(
        [
            ("123456789", dt.date(2018, 12, 31), "1", 100.0, "b", 1),
            ("123456789", dt.date(2019, 12, 31), "1", 120.0, "b", 2),
            ("123456789", dt.date(2019, 12, 31), "2", None, "b", 3),
        ],  # a second, less complete filing
        "siren string, date_fin_exercice date, no_ocfi string, mnt_af_ca double, batch_id string, line_number int",
    )
    from parsers.formats import AF_FIGURES, DIRCO_FIGURES, INDMAP_FIGURES

    def complete(frame, figures):
        return frame.select(
            "*", *[F.lit(None).cast("double").alias(c) for c in figures if c not in frame.columns]
        )

    base = af.select("siren", "date_fin_exercice", "batch_id", "line_number").limit(0)
    years = (
        S.financials(
            complete(af, AF_FIGURES),
            complete(base, INDMAP_FIGURES),
            complete(base, DIRCO_FIGURES),
            6,
        )
        .orderBy("date_fin_exercice")
        .collect()
    )
    assert [(r.disponible % 12 + 1, r.jusqua, r.ca, r.ca_n1) for r in years] == [
        (6, years[1].disponible - 1, 100.0, None),  # known from June 2019 until May 2020
        (6, None, 120.0, 100.0),
    ]


def panel_settings(**changes) -> PanelSettings:
    """The panel's settings of these tests: an 18-month horizon, 10 employees in the last 12
    months, no exclusion, one partition; ``changes`` on top."""
    defaults = {
        "start_index": 0,
        "last_index": 100,
        "horizon_months": 18,
        "min_employees": 10,
        "lookback_months": 12,
        "excluded_naf_sections": (),
        "public_legal_prefixes": (),
        "partitions": 1,
    }
    return PanelSettings(**{**defaults, **changes})


# --- population ------------------------------------------------------------------------------


def test_population_edges() -> None:
    settings = panel_settings(
        start_index=0,
        last_index=100,
        excluded_naf_sections=("O", "P"),
        public_legal_prefixes=("4", "7"),
        partitions=2,
    )
    rows = [
        # exactly ten employees: in
        ("1", "E10", 20, 10.0, nan, "5710", "C"),
        # a firm that drops below ten: in for 12 months after its last month at ten, then out
        *[("2", "DROP", m, 10.0 if m == 20 else 9.0, nan, "5710", "C") for m in range(20, 34)],
        # a public body and an education establishment: out
        ("3", "PUB", 20, 50.0, nan, "7210", "C"),
        ("4", "EDU", 20, 50.0, nan, "5710", "P"),
        # not reported this month (no headcount, no contribution): out
        ("5", "SILENT", 20, nan, nan, "5710", "C"),
    ]
    chunk = pd.DataFrame(
        rows,
        columns=[
            "siren",
            "siret",
            "month_index",
            "effectif",
            "cotisation_due",
            "code_categorie_juridique",
            "section_naf",
        ],
    )
    m = B.Months(pd.factorize(chunk["siret"])[0], chunk["month_index"].to_numpy())
    cols = {
        "effectif": chunk["effectif"].to_numpy(),
        "cotisation_due": chunk["cotisation_due"].to_numpy(),
    }
    kept = chunk.loc[population(chunk, cols, m, settings), ["siret", "month_index"]]
    assert sorted(map(tuple, kept.to_numpy().tolist())) == [("DROP", m) for m in range(20, 32)] + [
        ("E10", 20)
    ]


def test_a_company_fails_at_its_first_opening_in_either_source(spark) -> None:
    d = dt.date
    procol = spark.createDataFrame(
        [
            ("111", "liquidation", d(2019, 1, 1)),  # earlier, but not an opening
            ("111", "ouverture", d(2019, 5, 10)),
            ("222", "ouverture", None),  # no date: no judgment
            ("333", "plan", d(2018, 1, 1)),
        ],
        "siren string, stade_procol string, date_effet date",
    )
    judged = spark.createDataFrame(
        [
            ("111", True, d(2019, 3, 2)),  # the DGFiP's, before the URSSAF's
            ("222", True, d(2020, 1, 1)),
            ("333", False, d(2017, 1, 1)),  # not an opening
            ("444", True, None),
        ],
        "siren string, ouverture boolean, date_jugement date",
    )
    got = {r.siren: r.date_premiere_ouverture for r in S.judgments(procol, judged).collect()}
    assert got == {"111": d(2019, 3, 2), "222": d(2020, 1, 1)}


def test_payment_delays_hold_from_their_month_to_their_end(spark) -> None:
    """An agreement counts from its creation month to its due month (its creation month when
    it has no due date); a CCSF decision holds until the account's next decision, 24 months
    at most; a refusal is flagged, not counted as a plan in force."""
    d = dt.date
    delai = spark.createDataFrame(
        [
            ("S1", d(2018, 1, 15), d(2018, 3, 10), 900.0, 60),
            ("S2", d(2018, 2, 1), None, 100.0, 30),
            ("S1", None, d(2018, 6, 1), 5.0, 10),  # no creation date: left out
        ],
        "siret string, date_creation date, date_echeance date, montant_echeancier double, "
        "duree_delai int",
    )
    ccsf = spark.createDataFrame(
        [
            ("S3", "C3", d(2018, 1, 5), "DEBUT"),
            ("S3", "C3", d(2018, 4, 20), "REFUS"),
            (None, "C4", d(2018, 1, 5), "DEBUT"),  # no establishment: left out
        ],
        "siret string, numero_compte string, date_traitement date, stade string",
    )
    start = month_index("2018-01")
    rows = {
        (r.siret, r.month_index - start): (
            r.delai_en_cours,
            r.delai_montant,
            r.delai_duree_jours,
            r.ccsf_en_cours,
            r.ccsf_refus,
        )
        for r in S.payment_delays(delai, ccsf).collect()
    }
    agreement = (1.0, 900.0, 60.0, None, None)
    assert {k: v for k, v in rows.items() if k[0] == "S1"} == {
        ("S1", m): agreement for m in (0, 1, 2)
    }
    assert (
        rows[("S2", 1)] == (1.0, 100.0, 30.0, None, None)
        and len([k for k in rows if k[0] == "S2"]) == 1
    )
    plan = sorted(m for s, m in rows if s == "S3")
    assert plan == list(range(0, 3 + 24))  # the plan for 3 months, then the refusal for 24
    assert {rows[("S3", m)] for m in range(3)} == {(None, None, None, 1.0, 0.0)}
    assert {rows[("S3", m)] for m in range(3, 27)} == {(None, None, None, 0.0, 1.0)}


def test_an_establishment_takes_its_companys_activity_when_it_has_none(spark) -> None:
    d = dt.date
    sirene = spark.createDataFrame(
        [
            ("11100000000001", "111", "4711D", "69", d(2010, 1, 1), True),
            ("11100000000002", "111", None, "2A", d(2012, 6, 1), False),  # the company's code
            ("22200000000001", "222", None, "99", None, True),  # no company, no département
        ],
        "siret string, siren string, ape string, departement string, date_creation date, "
        "siege boolean",
    )
    sirene_ul = spark.createDataFrame(
        [("111", "5710", d(2009, 3, 1), "1071C")],
        "siren string, categorie_juridique string, date_creation date, ape string",
    )
    got = {r.siret: r.asDict() for r in S.establishments(sirene, sirene_ul).collect()}
    assert got["11100000000001"] == {
        "siret": "11100000000001",
        "siren": "111",
        "code_naf": "4711D",
        "section_naf": "G",
        "division_naf": "47",
        "code_departement": "69",
        "code_region": "84",
        "date_creation": d(2010, 1, 1),
        "date_creation_entreprise": d(2009, 3, 1),
        "est_siege": True,
        "code_categorie_juridique": "5710",
    }
    second = got["11100000000002"]
    assert (second["code_naf"], second["section_naf"], second["division_naf"]) == (
        "1071C",
        "C",
        "10",
    )
    assert (second["code_departement"], second["code_region"]) == ("2A", "94")
    orphan = got["22200000000001"]
    assert orphan["code_naf"] is None and orphan["section_naf"] is None
    assert orphan["code_region"] is None and orphan["date_creation_entreprise"] is None
    assert len(got) == 3


# --- company and sector aggregates (pure pandas, no Spark) --------------------------------


def test_company_aggregates_count_the_establishments_that_report_that_month() -> None:
    """Over a company's establishments of the month that report a headcount or contributions:
    a sum of nothing is unknown (not zero); a company of one establishment is itself."""
    chunk = pd.DataFrame(
        {"siren": ["A", "A", "A", "A", "B", "C"], "month_index": [10, 10, 10, 11, 10, 10]}
    )
    nan = np.nan
    cols = {
        "effectif": np.array([10.0, 30.0, nan, nan, 5.0, nan]),
        "cotisation_due": np.array([nan, nan, 100.0, nan, nan, nan]),  # row 3 reports by this
        "dette": np.array([1.0, 4.0, 7.0, 9.0, 2.0, 3.0]),  # rows 3 and 5 report nothing
    }
    variables = tuple(
        Variable(f"dette_{builder}", builder, "g", "", ("dette",))
        for builder in ("company_sum", "company_max", "company_mean", "company_count")
    )
    got = company_aggregates(chunk, cols, variables)
    expected = {  # A in month 10: 1, 4, 7; A in 11 and C: nobody reports; B: itself
        "dette_company_sum": [12.0, 12.0, 12.0, nan, 2.0, nan],
        "dette_company_max": [7.0, 7.0, 7.0, nan, 2.0, nan],
        "dette_company_mean": [4.0, 4.0, 4.0, nan, 2.0, nan],
        "dette_company_count": [3.0, 3.0, 3.0, 0.0, 1.0, 0.0],
    }
    assert got.keys() == expected.keys()
    for name, values in expected.items():
        np.testing.assert_array_equal(got[name], np.array(values), err_msg=name)
    assert company_aggregates(chunk, cols, ()) == {}


def test_sector_zscores_standardise_within_the_division_and_month() -> None:
    chunk = pd.DataFrame(
        {
            "division_naf": ["47", "47", "10", "10", None],
            "month_index": [10, 11, 10, 10, 10],
        }
    )
    cols = {"ratio": np.array([3.0, 5.0, 2.0, np.nan, 1.0])}
    stats = pd.DataFrame(  # 10 in month 10: a sector of one company, no spread
        {
            "division_naf": ["47", "47", "10"],
            "month_index": [10, 11, 10],
            "mean_ratio": [1.0, 5.0, 2.0],
            "std_ratio": [0.5, 2.0, 0.0],
        }
    )
    variable = Variable("ratio_zscore", "sector_zscore", "g", "", ("ratio",))
    got = sector_zscores(chunk, cols, (variable,), stats)["ratio_zscore"]
    # (3-1)/0.5; (5-5)/2; no spread; missing value; no sector
    np.testing.assert_array_equal(got, np.array([4.0, 0.0, np.nan, np.nan, np.nan]))


def test_targets_label_the_first_opening_within_the_horizon(spark) -> None:
    """Label: a first opening in months m+1 .. m+18; strong signal: already opened (this month
    included); the horizon complete when m+18 is inside the data (up to month 118 here)."""
    s = panel_settings(start_index=90, last_index=118)
    rows = [(100, None), (100, 101), (100, 118), (100, 119), (100, 100), (100, 90), (101, None)]
    frame = spark.createDataFrame(rows, "m int, opening int")
    computed = targets(F.col("m"), F.col("opening"), s)
    got = [
        tuple(r)
        for r in frame.select("m", "opening", *[c.alias(n) for n, c in computed.items()]).collect()
    ]
    june_2008 = dt.date(2008, 6, 1)  # month 101
    assert [g[2:] for g in got] == [
        (0, False, True, None),  # never in court
        (1, False, True, june_2008),  # the month after
        (1, False, True, dt.date(2009, 11, 1)),  # m+18: the horizon's last month
        (0, False, True, dt.date(2009, 12, 1)),  # m+19: too late for this row's label
        (0, True, True, dt.date(2008, 5, 1)),  # this very month: already opened
        (0, True, True, dt.date(2007, 7, 1)),  # before
        (0, False, False, None),  # 101 + 18 = 119: after the data's last month
    ]


def test_chunks_hand_whole_companies_and_carry_the_last_one_to_the_next_batch() -> None:
    """A company split over Arrow batches reaches the function whole, once, in order; a batch
    holding one company only waits for the next; the last company comes at the end."""
    sirens = [["A", "A", "B"], ["B", "B"], ["B", "C"], ["C"]]
    batches, row = [], 0
    for batch in sirens:
        batches.append(pd.DataFrame({"siren": batch, "row": range(row, row + len(batch))}))
        row += len(batch)
    seen = []
    outputs = list(chunks(lambda c: seen.append(c.copy()) or len(c))(iter(batches)))
    assert [list(c["siren"]) for c in seen] == [["A", "A"], ["B"] * 4, ["C", "C"]]
    assert [r for c in seen for r in c["row"]] == list(range(8))
    assert all(list(c.index) == list(range(len(c))) for c in seen)  # each chunk indexed afresh
    assert outputs == [2, 4, 2]
    assert list(chunks(len)(iter([]))) == []


def test_a_row_gets_its_companys_headcount_and_the_fiscal_year_known_that_month(spark) -> None:
    """The company headcount of the same month; the fiscal year from the month it is known
    (``disponible``) until the next one is (``jusqua``), its figures prefixed ``fin_``, and
    the months since its closing; nothing before the first year is known."""
    base = spark.createDataFrame(
        [("S1", "A", m) for m in (105, 106, 112, 118, 119)] + [("S2", "B", 112)],
        "siret string, siren string, month_index int",
    )
    silver = {
        "company_headcount": spark.createDataFrame(
            [("A", 106, 40.0), ("A", 107, 41.0)],
            "siren string, month_index int, effectif_entreprise double",
        ),
        "financials": spark.createDataFrame(
            [  # 2008 and 2007, closed in December (107, 95), known 6 months later
                ("A", dt.date(2008, 12, 31), 113, 124, 500.0),
                ("A", dt.date(2007, 12, 31), 101, 112, 400.0),
            ],
            "siren string, date_fin_exercice date, disponible int, jusqua int, ca double",
        ),
    }
    got = {
        (r.siret, r.month_index): (r.effectif_entreprise, r.fin_ca, r.fin_mois_depuis_cloture)
        for r in with_company_data(base, silver, 1).collect()
    }
    assert got == {
        ("S1", 105): (None, 400.0, 10),  # 2007, closed in month 95, known from 101
        ("S1", 106): (40.0, 400.0, 11),
        ("S1", 112): (None, 400.0, 17),  # 2007's last month: 2008 is known from 113
        ("S1", 118): (None, 500.0, 11),
        ("S1", 119): (None, 500.0, 12),
        ("S2", 112): (None, None, None),  # a company without filings
    }


@pytest.mark.parametrize("builder", sorted(set(B.WINDOW) - set(B.STATE)))
@pytest.mark.parametrize("n", [1, 3, 6])
def test_a_bounded_window_at_some_rows_takes_its_value_over_every_row(builder, n) -> None:
    """``Months.at``: the rows a run writes read earlier months from any row of the chunk
    (rows of A after its gap and null, and B's single row)."""
    if builder == "trend" and n < 3:
        n = 3
    rows = np.array([1, 3, 4, 5])
    whole = B.WINDOW[builder](months(), X, n)
    same(B.WINDOW[builder](months().at(rows), X, n), whole[rows])


def test_a_chunk_from_a_later_month_gives_those_rows_of_the_whole_chunk() -> None:
    """compute_chunk with ``emit_from``: the catalog's values on the months written are those
    of the whole chunk's computation, though most variables are computed on those months'
    rows only (compute.read_before)."""
    variables = catalog()
    rng = np.random.default_rng(7)
    keys = [
        ("S1", "S1A", range(0, 30)),
        ("S1", "S1B", range(4, 30, 2)),
        ("S2", "S2A", range(10, 28)),
    ]
    keys = pd.DataFrame(
        [(siren, siret, m) for siren, siret, span in keys for m in span],
        columns=["siren", "siret", "month_index"],
    )
    sources = [v.name for v in variables if v.builder == "source"]
    values = rng.normal(30, 15, (len(keys), len(sources)))
    values[rng.random(values.shape) < 0.15] = nan
    context = {c: "x" for c in DESCRIPTIVE} | {
        "code_categorie_juridique": "5710",
        "section_naf": "C",
        "division_naf": "10",
        "mois_premiere_ouverture": nan,
    }
    chunk = pd.concat([keys, pd.DataFrame(values, columns=sources)], axis=1).assign(**context)
    names = sector_names(variables)
    stats = pd.DataFrame(
        {"division_naf": "10", "month_index": range(30)}
        | {f"mean_{n}": 1.0 for n in names}
        | {f"std_{n}": 2.0 for n in names}
    )
    s = panel_settings(start_index=0, last_index=29, partitions=2)
    whole = compute_chunk(chunk.copy(), variables, s, stats)
    later = compute_chunk(chunk.copy(), variables, replace(s, emit_from=20), stats)
    expected = whole[whole["month_index"] >= 20].reset_index(drop=True)
    assert len(later) > 0 and len(later) == len(expected)
    pd.testing.assert_frame_equal(later, expected, check_exact=True)
