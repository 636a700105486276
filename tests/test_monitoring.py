"""Monitoring on hand-made frames: bins, PSI, statuses, counts, realised precision."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from common import months
from common.config import MonitoringSettings
from jobs.monitor import ALERT_EXIT, exit_code
from monitoring import drift, pipeline
from monitoring.reference import describe, window

CFG = MonitoringSettings()


def test_bins_put_ties_and_missing_values_where_they_belong() -> None:
    values = np.array([-5.0, 0.0, 0.0, 0.5, 1.0, 7.0, np.nan])
    assert drift.bin_numbers(values, [0.0, 1.0]).tolist() == [0, 0, 0, 1, 1, 2, drift.MISSING]
    assert drift.bin_numbers(values, []).tolist() == [0, 0, 0, 0, 0, 0, drift.MISSING]


def test_psi_by_hand() -> None:
    assert drift.psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert drift.psi(np.array([0.5, 0.5]), np.array([0.8, 0.2])) == pytest.approx(expected)
    # an empty bin counts as FLOOR, not as an infinite divergence
    assert np.isfinite(drift.psi(np.array([0.5, 0.5]), np.array([1.0, 0.0])))
    assert np.isnan(drift.psi(np.array([0.5, 0.5]), np.array([np.nan, np.nan])))


def test_shares_leave_missing_values_out_of_the_distribution() -> None:
    share, missing, rows = drift.shares({0: 1, 2: 3, drift.MISSING: 4}, 3)
    assert share.tolist() == [0.25, 0.0, 0.75] and missing == 0.5 and rows == 8


def test_the_reference_keeps_the_training_windows_last_months() -> None:
    jan = months.index("2016-01")
    rows = {jan + i: 100 + i for i in range(30)}  # 2016-01 to 2018-06
    assert window(rows, 12) == (months.index("2017-07"), jan + 29, sum(range(118, 130)))
    assert window(rows, None) == (jan, jan + 29, sum(rows.values()))
    assert window(rows, 40) == (jan, jan + 29, sum(rows.values()))  # shorter than asked: all
    # a month without rows inside the window counts for nothing, and is still inside it
    gap = {m: n for m, n in rows.items() if m != jan + 25}
    assert window(gap, 12) == (months.index("2017-07"), jan + 29, sum(range(118, 130)) - 125)


def test_a_shifted_variable_is_flagged_and_an_unshifted_one_is_not(spark) -> None:
    rng = np.random.default_rng(3)
    n = 4000
    reference_rows = pd.DataFrame(
        {
            "shifted": rng.normal(0, 1, n),
            "steady": rng.normal(0, 1, n),
            "emptier": np.where(rng.random(n) < 0.1, np.nan, rng.normal(0, 1, n)),
        }
    )
    month_rows = pd.DataFrame(
        {
            "shifted": rng.normal(0.8, 1, n),
            "steady": rng.normal(0, 1, n),
            "emptier": np.where(rng.random(n) < 0.5, np.nan, rng.normal(0, 1, n)),
        }
    )
    ref = describe(spark.createDataFrame(reference_rows), list(reference_rows), n, n, 1)
    assert len(ref["steady"]["edges"]) == 9 and sum(ref["steady"]["counts"].values()) == n
    assert ref["emptier"]["counts"][str(drift.MISSING)] == int(reference_rows.emptier.isna().sum())
    current = drift.bin_counts(
        spark.createDataFrame(month_rows), {v: d["edges"] for v, d in ref.items()}
    )
    got = pipeline.variable_drift_from(ref, current, CFG).set_index("item")
    assert got.loc["shifted", "psi"] > CFG.psi_alert and got.loc["shifted", "status"] == "alert"
    assert got.loc["steady", "psi"] < CFG.psi_watch and got.loc["steady", "status"] == "ok"
    # a variable whose missing share jumps is flagged even if its known values do not move
    assert got.loc["emptier", "psi"] < CFG.psi_watch and got.loc["emptier", "status"] == "alert"
    assert got.loc["emptier", "missing_share"] == pytest.approx(month_rows.emptier.isna().mean())


def test_counts_against_the_previous_months() -> None:
    m = months.index("2021-06")
    rows = []
    for k in range(1, 7):  # six previous months
        rows += [
            ("steady", m - k, 100),
            ("stopped", m - k, 100),
            ("rare", m - k, 3),
            ("doubled", m - k, 50),
        ]
    rows += [("steady", m, 104), ("rare", m, 0), ("doubled", m, 100)]  # "stopped": no row
    counts = pd.DataFrame(rows, columns=["item", "month_index", "rows"])
    got = pipeline.count_changes(counts, m, "source", ["steady", "stopped", "rare", "doubled"], CFG)
    got = got.set_index("item")
    assert got["value"].to_dict() == {"steady": 104, "stopped": 0, "rare": 0, "doubled": 100}
    assert got["reference"].to_dict() == {"steady": 100, "stopped": 100, "rare": 3, "doubled": 50}
    # a source that stops arriving is in alert; a count too small to judge gets no status
    assert got["status"].to_dict() == {
        "steady": "ok",
        "stopped": "alert",
        "rare": "ok",
        "doubled": "alert",
    }


def test_realised_precision_of_past_lists(spark) -> None:
    d = dt.date.fromisoformat
    scores = spark.createDataFrame(
        [
            # 2019-01: companies A (two establishments, one risque_fort), B fort, C modere, D none
            ("A", d("2019-01-01"), "risque_fort"),
            ("A", d("2019-01-01"), "pas_d_alerte"),
            ("B", d("2019-01-01"), "risque_fort"),
            ("C", d("2019-01-01"), "risque_modere"),
            ("D", d("2019-01-01"), "pas_d_alerte"),
            # 2020-06: its 18 months are not over by the last month (2021-06): no outcome yet
            ("A", d("2020-06-01"), "risque_fort"),
        ],
        "siren string, periode date, alert string",
    )
    openings = spark.createDataFrame(
        [
            ("A", d("2020-07-10")),  # within 2019-02 .. 2020-07: a hit
            ("C", d("2019-01-20")),  # the same month as the list: not within the next 18 months
            ("D", d("2019-05-02")),
        ],  # failed, but was not on any list
        "siren string, date_premiere_ouverture date",
    )
    got = pipeline.realised_precision(scores, openings, months.index("2021-06"), 18)
    assert got["periode"].tolist() == [d("2019-01-01")] * 2
    assert got.set_index("item")["value"].to_dict() == {
        "precision_risque_fort": 0.5,  # A of A, B
        "precision_risque_fort_ou_modere": pytest.approx(1 / 3),  # A of A, B, C
    }
    assert got.set_index("item")["reference"].to_dict() == {
        "precision_risque_fort": 2,
        "precision_risque_fort_ou_modere": 3,
    }


def test_exit_code_for_schedulers() -> None:
    assert exit_code(0, True) == 0 and exit_code(3, False) == 0 and exit_code(3, True) == ALERT_EXIT


def test_a_handful_of_known_values_gives_no_psi_but_the_missing_shares() -> None:
    reference = {"x": {"edges": [0.0], "counts": {"-1": 990, "0": 5, "1": 5}}}
    current = pd.DataFrame({"variable": ["x", "x"], "bin": [drift.MISSING, 0], "rows": [995, 5]})
    got = drift.compare(reference, current, min_known=30).iloc[0]
    assert np.isnan(got["psi"])
    assert (got["reference_missing_share"], got["missing_share"]) == (0.99, 0.995)
    assert drift.compare(reference, current, min_known=1).iloc[0]["psi"] > 0


def _bins(values: np.ndarray, edges) -> dict[str, int]:
    found, tally = np.unique(drift.bin_numbers(values, edges), return_counts=True)
    return {str(b): int(n) for b, n in zip(found, tally, strict=True)}


def _reference(values: dict[str, np.ndarray]) -> dict:
    """A reference as training stores it: per variable, the deciles of its values as bin
    edges and its rows per bin."""
    edges = drift.edges(pd.DataFrame(values))
    return {v: {"edges": edges[v], "counts": _bins(x, edges[v])} for v, x in values.items()}


def _month_counts(values: dict[str, np.ndarray], ref: dict) -> pd.DataFrame:
    """A month's values counted in the reference's bins (``drift.bin_counts``' shape)."""
    rows = [(v, int(b), n) for v, x in values.items() for b, n in _bins(x, ref[v]["edges"]).items()]
    return pd.DataFrame(rows, columns=["variable", "bin", "rows"])


def test_a_z_score_is_watched_on_its_missing_share_not_on_its_jittered_mass_points() -> None:
    """A debt per employee that most establishments of a division do not have, drawn from one
    law every month: its z-score within division and month puts the zeros at -mean/std, a
    different number in every division and month. The reference's deciles land on those
    numbers and a new month's fall on either side: a PSI far above the alert threshold for no
    drift at all. The z-score is watched on its missing share; its input on both."""
    rng = np.random.default_rng(0)
    share_without = rng.uniform(0.8, 0.95, 20)  # per division: establishments without debt

    def month(rows=100, missing=0.0):
        raw, z = [], []
        for share in share_without:
            x = np.where(rng.random(rows) < share, 0.0, rng.lognormal(8, 1, rows))
            std = x.std(ddof=1)
            standardised = (x - x.mean()) / std if std > 0 else np.full(rows, np.nan)
            raw.append(x)
            z.append(np.where(rng.random(rows) < missing, np.nan, standardised))
        return {"dette_par_salarie": np.concatenate(raw), Z: np.concatenate(z)}

    Z = "dette_par_salarie_zscore_secteur"
    watched = pipeline.watched_on_missing_share()
    assert Z in watched and "dette_par_salarie" not in watched
    history = [month() for _ in range(12)]
    ref = _reference({v: np.concatenate([m[v] for m in history]) for v in (Z, "dette_par_salarie")})
    steady = _month_counts(month(), ref)
    # the artefact itself: a PSI over the reference's bins would put the z-score in alert
    assert drift.compare(ref, steady).set_index("item").loc[Z, "psi"] > CFG.psi_alert
    got = pipeline.variable_drift_from(ref, steady, CFG).set_index("item")
    assert np.isnan(got.loc[Z, "psi"]) and got.loc[Z, "status"] == "ok"
    assert got.loc["dette_par_salarie", "psi"] < CFG.psi_watch
    assert got.loc["dette_par_salarie", "status"] == "ok"
    # the z-score's missing share is still compared
    emptier = pipeline.variable_drift_from(ref, _month_counts(month(missing=0.5), ref), CFG)
    assert emptier.set_index("item").loc[Z, "status"] == "alert"


def test_a_sum_since_the_first_month_is_watched_on_its_missing_share_not_on_its_growth() -> None:
    """Contributions due drawn from one law every month, for establishments there since the
    history's first month: their sum since that month grows with the history, so the 72nd
    month against a reference of months 30 to 41 is far out of the reference's bins, for no
    drift of what is due. The sum is watched on its missing share; its input on both."""
    rng = np.random.default_rng(1)
    level = rng.lognormal(9, 1, 2000)  # each establishment's usual monthly contribution
    due = np.stack([level * rng.lognormal(0, 0.1, level.size) for _ in range(72)])
    history = {"cotisation_due": due, "cotisation_due_cumul_total": due.cumsum(axis=0)}
    S = "cotisation_due_cumul_total"
    watched = pipeline.watched_on_missing_share()
    assert S in watched and "cotisation_due" not in watched
    ref = _reference({v: x[29:41].ravel() for v, x in history.items()})  # months 30 to 41
    last = _month_counts({v: x[71] for v, x in history.items()}, ref)
    # the growth itself: over the reference's bins the sum's PSI is far past the alert
    assert drift.compare(ref, last).set_index("item").loc[S, "psi"] > CFG.psi_alert
    got = pipeline.variable_drift_from(ref, last, CFG).set_index("item")
    assert np.isnan(got.loc[S, "psi"]) and got.loc[S, "status"] == "ok"
    assert got.loc["cotisation_due", "psi"] < CFG.psi_watch
    assert got.loc["cotisation_due", "status"] == "ok"


def test_variables_in_alert_are_counted_by_their_catalog_group() -> None:
    items = pd.Series(["ap_heures_autorisees", "dette_totale", "dette_par_salarie", "effectif"])
    assert pipeline.by_group(items) == "social_debt 2, headcount 1, partial_activity 1"


def _counts(**by_variable: dict[int, int]) -> pd.DataFrame:
    """``drift.bin_counts``' shape: one row per variable and bin."""
    rows = [(v, b, n) for v, bins in by_variable.items() for b, n in bins.items()]
    return pd.DataFrame(rows, columns=["variable", "bin", "rows"])


def test_a_variable_that_moved_this_month_is_a_change_and_one_that_moved_long_ago_is_not() -> None:
    """Against the reference, a crisis keeps hundreds of variables in alert month after month;
    against the previous month, only what moved this month is."""
    edges = [0.5]  # two bins
    reference = {
        name: {"edges": edges, "counts": {"0": 900, "1": 100}}
        for name in ("dette_totale", "ap_heures_autorisees", "effectif")
    }
    previous = _counts(
        dette_totale={0: 100, 1: 900},  # moved since the training window, a while ago
        ap_heures_autorisees={0: 900, 1: 100},
        effectif={0: 900, 1: 100},
    )
    current = _counts(
        dette_totale={0: 100, 1: 900},  # where it was last month
        ap_heures_autorisees={0: 100, 1: 900},  # moved this month
        effectif={0: 450, 1: 50, drift.MISSING: 500},  # half of it missing this month
    )
    against_reference = pipeline.variable_drift_from(reference, current, CFG).set_index("item")
    changes = pipeline.variable_changes_from(reference, previous, current, CFG).set_index("item")
    assert set(changes["kind"]) == {"change"}
    assert against_reference.loc["dette_totale", "status"] == "alert"
    assert changes.loc["dette_totale", "status"] == "ok"
    assert changes.loc["dette_totale", "psi"] == pytest.approx(0.0)
    moved = drift.psi(np.array([0.9, 0.1]), np.array([0.1, 0.9]))
    assert changes.loc["ap_heures_autorisees", "psi"] == pytest.approx(moved)
    assert changes.loc["ap_heures_autorisees", "status"] == "alert"
    # the same known values, half of them gone: the missing share says it
    assert changes.loc["effectif", "psi"] == pytest.approx(0.0)
    assert changes.loc["effectif", ["reference_missing_share", "missing_share"]].tolist() == [
        0,
        0.5,
    ]
    assert changes.loc["effectif", "status"] == "alert"
    # previous month's rows are the reference of a change
    assert changes.loc["effectif", ["value", "reference"]].tolist() == [1000.0, 1000.0]

    items = pd.concat([against_reference.reset_index(), changes.reset_index()])
    done = pipeline.Monitored(items, "run", "3", 1.0, "2019-06 to 2020-05")
    lines = done.lines("2021-12", "model", "lake", "experiment")
    by_group = "  variables in alert by group: headcount 1, partial_activity 1, social_debt 1"
    assert by_group in lines  # against the reference: the three of them
    assert "  changes in alert by group: headcount 1, partial_activity 1" in lines
    assert f"  ALERT change ap_heures_autorisees: PSI {moved:.3f}, missing 0.0% -> 0.0%" in lines
    assert "  ALERT change effectif: PSI 0.000, missing 0.0% -> 50.0%" in lines
    assert not any(line.startswith("  ALERT change dette_totale") for line in lines)


def test_a_psi_is_measured_only_where_chance_alone_stays_under_half_the_watch_threshold() -> None:
    """Two samples from one law differ by chance: their PSI over ten bins averages about
    9 x (1/n1 + 1/n2). Under CHANCE_SHARE x psi_watch of it, no PSI (the missing shares still
    compare)."""
    rng = np.random.default_rng(5)
    edges = list(np.quantile(rng.normal(size=100_000), np.linspace(0.1, 0.9, 9)))

    def shares_of(n: int) -> np.ndarray:
        return np.bincount(drift.bin_numbers(rng.normal(size=n), edges), minlength=10) / n

    for n in (100, 400):
        by_chance = np.mean([drift.psi(shares_of(n), shares_of(n)) for _ in range(300)])
        assert by_chance == pytest.approx(drift.chance_psi(10, n, n), rel=0.15)
    limit = pipeline.CHANCE_SHARE * CFG.psi_watch
    assert drift.chance_psi(10, 400, 400) <= limit < drift.chance_psi(10, 300, 300)
    assert drift.chance_psi(10, 0, 400) == float("inf")

    def month(known: int, missing: int) -> pd.DataFrame:
        bins = {b: known // 10 for b in range(10)} | {drift.MISSING: missing}
        return pd.DataFrame(
            [("x", b, n) for b, n in bins.items()], columns=["variable", "bin", "rows"]
        )

    reference = {"x": {"edges": edges, "counts": {str(b): 100 for b in range(10)}}}
    few = drift.compare(reference, month(100, 900), 30, (), limit).iloc[0]
    assert np.isnan(few["psi"]) and few["missing_share"] == 0.9  # 100 against 1,000: 0.099
    reference["x"]["counts"] = {str(b): 1000 for b in range(10)}
    enough = drift.compare(reference, month(1000, 0), 30, (), limit).iloc[0]
    assert enough["psi"] == pytest.approx(0.0)
