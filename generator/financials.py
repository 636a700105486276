"""Yearly tax returns (DGFiP) of one block's companies, driven by their distress.

Fiscal years end in December for most companies, in June or September for some.
A return is filed three to five months after the year's end, sometimes not at
all (more often when the firm is in distress), never after a liquidation; a few
are filed twice, the second copy less complete.
"""

from __future__ import annotations

import numpy as np

from generator.reference import SECTOR_GROUPS, SECTOR_PARAMS

_PARAMS = {
    k: np.array([SECTOR_PARAMS[g][k] for g in SECTOR_GROUPS]) for k in SECTOR_PARAMS["trade"]
}
_STOCK_SHARE = np.array([0.10, 0.04, 0.14, 0.02, 0.03, 0.02, 0.02])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def tax_returns(scenario, world, dyn, rng: np.random.Generator) -> dict[str, np.ndarray]:
    months = scenario.months
    first = np.datetime64(scenario.month_label(0), "M")
    window_end = scenario.month_starts[months] - np.timedelta64(1, "D")
    n_c = world.n_companies
    company_headcount = np.zeros((n_c, months))
    np.add.at(company_headcount, world.e_company, np.nan_to_num(dyn.headcount))
    wage = np.bincount(world.e_company, weights=world.e_wage, minlength=n_c) / np.bincount(
        world.e_company, minlength=n_c
    )

    rows: dict[str, list] = {
        "company": [],
        "deb": [],
        "fin": [],
        "zbar": [],
        "staff": [],
        "capital": [],
    }
    capital = world.c_capital.astype(float)
    for year in range(scenario.start_year - 2, scenario.start_year + months // 12 + 1):
        fin = (
            np.array([np.datetime64(f"{year:04d}-{m:02d}", "M") for m in world.c_fy_end]) + 1
        ).astype("datetime64[D]") - np.timedelta64(1, "D")
        deb = (fin.astype("datetime64[M]") - 11).astype("datetime64[D]")
        last = (fin.astype("datetime64[M]") - first).astype(int)
        span = np.clip(last[:, None] - np.arange(12)[None, :], 0, months - 1)  # FY months in window
        zbar = dyn.z[np.arange(n_c)[:, None], span].mean(axis=1)
        staff = company_headcount[np.arange(n_c)[:, None], span].mean(axis=1)
        before = last < 0
        zbar[before] += rng.normal(0, 0.3, before.sum())
        filed_on = fin + (rng.integers(90, 150, n_c)).astype("timedelta64[D]")
        stopped = (dyn.stop_month < months + 18) & (dyn.stop_month <= last + 4)
        exists = world.c_created <= deb
        missing = rng.uniform(size=n_c) < _sigmoid(-3.2 + 1.0 * zbar)
        keep = (filed_on <= window_end) & ~stopped & exists & ~missing & (staff > 0)
        # capital is raised now and then, and stays raised
        capital = np.round(
            capital * np.where(rng.uniform(size=n_c) < 0.06, rng.uniform(1.2, 3.0, n_c), 1.0), -2
        )
        for key, value in (
            ("company", np.flatnonzero(keep)),
            ("deb", deb[keep]),
            ("fin", fin[keep]),
            ("zbar", zbar[keep]),
            ("staff", staff[keep]),
            ("capital", capital[keep]),
        ):
            rows[key].append(value)
    r = {k: np.concatenate(v) for k, v in rows.items()}
    c, zbar, staff, n = r["company"], r["zbar"], r["staff"], len(r["company"])
    g = world.c_group[c]
    noise = lambda scale: rng.normal(0, scale, n)  # noqa: E731
    crisis_year = np.isin(r["fin"].astype("datetime64[Y]").astype(int) + 1970, [2020, 2021])
    turnover = (
        staff
        * _PARAMS["productivity"][g]
        * 1000
        * world.c_productivity[c]
        * np.exp(noise(0.05))
        * (1 - 0.06 * zbar)
        * (1 - 0.2 * crisis_year * _PARAMS["crisis"][g])
    )
    ebitda = turnover * (_PARAMS["margin"][g] - 0.04 * zbar + noise(0.02))
    payroll = staff * wage[c] * 12
    social = payroll * 0.42
    value_added = ebitda + payroll + social + 0.02 * turnover
    capital = r["capital"]
    equity = capital + turnover * (0.15 - 0.08 * zbar + noise(0.05))
    figures = {
        "mnt_af_ca": turnover,
        "mnt_af_sig_ebe_ret": ebitda,
        "mnt_af_sig_va_ret": value_added,
        "mnt_af_endettement_net": turnover * (0.1 + 0.12 * zbar + noise(0.08)),
        "mnt_af_bfonc_bfr": turnover * (0.08 + 0.03 * zbar + noise(0.03)),
        "mnt_af_bfonc_tresorerie": turnover * (0.12 - 0.05 * zbar + noise(0.04)),
        "mnt_af_bfonc_actif_circ_expl": turnover * (0.3 + noise(0.05)),
        "mnt_af_bfonc_passif_circ_expl": turnover * (0.22 + 0.04 * zbar + noise(0.05)),
        "mnt_af_bfonc_actif_circ_h_expl": turnover * np.abs(0.02 + noise(0.01)),
        "mnt_af_bfonc_passif_circ_h_expl": turnover * np.abs(0.03 + 0.01 * zbar + noise(0.01)),
        "nbr_af_jours_creance_cli": np.maximum(50 + 8 * zbar + noise(10), 0),
        "nbr_af_jours_reglt_fourn": np.maximum(55 + 12 * zbar + noise(10), 0),
        "rto_af_endettement_a_terme": np.maximum(0.3 + 0.15 * zbar + noise(0.1), 0),
        "rto_af_rent_eco": 0.12 - 0.06 * zbar + noise(0.05),
        "d_cr_250_expl_salaire": payroll,
        "d_cr_252_expl_ch_soc": social,
        "d_cr_260_expl_dt_syndic": turnover * np.abs(0.01 + noise(0.005)),
        "d_actf_stk_march_net": turnover * _STOCK_SHARE[g] * np.exp(noise(0.2)),
        "d_actf_stk_mat1e_net": turnover * _STOCK_SHARE[g] * 0.5 * np.exp(noise(0.3)),
        "d_dvs_376_nbr_pers": np.round(staff),
        "d_passf_120_k": capital,
        "d_passf_142_k_propres": equity,
        "rto_invest_ca": np.maximum(0.04 - 0.01 * zbar + noise(0.02), 0),
        "rto_af_solidite_financiere": 0.35 - 0.1 * zbar + noise(0.08),
        "rto_6": ebitda * 0.75 - turnover * 0.01,
        "rto_56": np.maximum(1.2 - 0.25 * zbar + noise(0.15), 0.05),
    }
    rounded = {k: np.round(v, 2 if k.startswith(("rto", "nbr")) else 0) for k, v in figures.items()}
    return {"company": c, "deb": r["deb"], "fin": r["fin"], **rounded}
