"""Walk-forward backtest: cut-off arithmetic and refusals, list measures on hand-made company
scores, and (slow) a backtest on the shared world: no look-ahead, tables, MLflow runs, plots."""

from __future__ import annotations

import datetime as dt
import hashlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable
from mlflow import MlflowClient
from pyspark.testing import assertDataFrameEqual

from common import delta_io, months
from training import lists
from training.predict import booster_bytes
from training.split import check_cutoffs, cutoff_schedule

# --- cut-offs -------------------------------------------------------------------------------


def test_cutoffs_run_every_n_months_from_first_to_last() -> None:
    first, last = months.index("2019-03"), months.index("2020-06")
    assert [months.label(c) for c in cutoff_schedule(first, last, 3)] == [
        "2019-03",
        "2019-06",
        "2019-09",
        "2019-12",
        "2020-03",
        "2020-06",
    ]
    assert [months.label(c) for c in cutoff_schedule(first, last, 12)] == ["2019-03", "2020-03"]
    assert [months.label(c) for c in cutoff_schedule(first, last, 16)] == ["2019-03"]
    assert cutoff_schedule(first, first, 1) == [first]
    with pytest.raises(ValueError, match=r"--to \(2019-02\) is before --from \(2019-03\)"):
        cutoff_schedule(first, first - 1, 3)
    with pytest.raises(ValueError, match="at least 1 month"):
        cutoff_schedule(first, last, 0)


def test_a_cutoff_without_its_whole_outcome_window_is_refused() -> None:
    data_first, data_last = months.index("2016-01"), months.index("2021-12")
    # 2021-12 - 18 months = 2020-06: the last cut-off whose 18 months are all observed
    check_cutoffs([months.index("2020-06")], data_first, data_last, 18, 12)
    with pytest.raises(ValueError) as refused:
        check_cutoffs(
            [months.index("2020-06"), months.index("2020-07")], data_first, data_last, 18, 12
        )
    message = str(refused.value)
    assert "cut-off 2020-07" in message and "ends in 2021-12" in message
    assert "the last allowed cut-off is 2020-06" in message
    # 12 knowable months from 2016-01 (up to 2016-12) need a cut-off at 2016-12 + 18 = 2018-06
    check_cutoffs([months.index("2018-06")], data_first, data_last, 18, 12)
    with pytest.raises(ValueError, match="the first allowed cut-off is 2018-06"):
        check_cutoffs([months.index("2018-05")], data_first, data_last, 18, 12)


def test_month_arithmetic_round_trips() -> None:
    assert months.index("2000-01") == 0 and months.index("2021-12-01") == 263
    assert months.label(263) == "2021-12" and months.first_day(0) == "2000-01-01"
    with pytest.raises(ValueError, match="expected a month YYYY-MM"):
        months.index("2021-13")


# --- company lists and their measures ------------------------------------------------------

ESTABLISHMENTS = (
    "siret string, siren string, score double, alert string, alert_before_corrections string, "
    "cible int, signal_fort boolean, date_premiere_ouverture date"
)


def test_a_company_is_its_highest_scored_establishment(spark) -> None:
    d = dt.date
    rows = [
        (
            "11111111100001",
            "111111111",
            0.20,
            "risque_modere",
            "risque_modere",
            1,
            False,
            d(2020, 9, 1),
        ),
        (
            "11111111100002",
            "111111111",
            0.60,
            "risque_fort",
            "risque_modere",
            1,
            False,
            d(2020, 9, 1),
        ),
        # ties: the smallest SIRET represents the company
        ("22222222200002", "222222222", 0.30, "risque_fort", "risque_fort", 0, False, None),
        ("22222222200001", "222222222", 0.30, "pas_d_alerte", "pas_d_alerte", 0, False, None),
        # already in proceedings at the cut-off: left out
        ("33333333300001", "333333333", 0.90, "risque_fort", "risque_fort", 0, True, d(2019, 1, 1)),
        # a single establishment failing in the 18th month after the cut-off
        (
            "44444444400001",
            "444444444",
            0.05,
            "pas_d_alerte",
            "pas_d_alerte",
            1,
            False,
            d(2021, 12, 1),
        ),
    ]
    frame = spark.createDataFrame(rows, ESTABLISHMENTS)
    got = lists.companies(frame, months.index("2020-06"))
    expected = spark.createDataFrame(
        [
            ("111111111", 0.60, "risque_fort", "risque_modere", 1, 3),
            ("222222222", 0.30, "pas_d_alerte", "pas_d_alerte", 0, None),
            ("444444444", 0.05, "pas_d_alerte", "pas_d_alerte", 1, 18),
        ],
        COMPANIES,
    )
    assertDataFrameEqual(got, expected)


COMPANIES = (
    "siren string, score double, alert string, alert_before_corrections string, failed int, "
    "lead_months int"
)
# ten companies, highest score first: 4 failures; fort = the top 3 (the thresholds gave the top
# 2, a correction moved the third up), modere = the next 3
HIGH, MID, LOW = "risque_fort", "risque_modere", "pas_d_alerte"
HAND_MADE = [
    ("000000001", 0.90, HIGH, HIGH, 1, 4),
    ("000000002", 0.80, HIGH, HIGH, 0, None),
    ("000000003", 0.70, HIGH, MID, 1, 10),
    ("000000004", 0.60, MID, MID, 0, None),
    ("000000005", 0.50, MID, MID, 1, 15),
    ("000000006", 0.40, MID, LOW, 0, None),
    ("000000007", 0.30, LOW, LOW, 0, None),
    ("000000008", 0.20, LOW, LOW, 1, 2),
    ("000000009", 0.10, LOW, LOW, 0, None),
    ("000000010", 0.10, LOW, LOW, 0, None),
]


def test_list_measures_on_hand_made_scores(spark) -> None:
    frame = spark.createDataFrame(HAND_MADE, COMPANIES)
    m = lists.measures(frame, top_k=4, top_share=0.25)
    assert (m.companies, m.positives) == (10, 4)
    assert (m.fort_size, m.fort_precision, m.fort_recall) == (3, 2 / 3, 2 / 4)
    assert (m.alert_size, m.alert_precision, m.alert_recall) == (6, 3 / 6, 3 / 4)
    assert (m.fort_size_before_corrections, m.fort_precision_before_corrections) == (2, 1 / 2)
    assert m.precision_at_100 == 2 / 4  # top 4: 1, 0, 1, 0
    assert m.precision_at_1pct == 2 / 3  # 25% of 10 companies: the top 3
    assert m.median_lead_months == 10.0  # caught: leads 4, 10, 15 (not 2: no alert)
    # precision at k, ties broken by SIREN: the top 9 holds 000000009, not 000000010
    assert lists.precision_at(frame, 9) == 4 / 9
    assert lists.precision_at(frame, 0) is None
    # average precision: hits at ranks 1, 3, 5, 8 -> (1 + 2/3 + 3/5 + 4/8) / 4
    assert m.aucpr == pytest.approx((1 + 2 / 3 + 3 / 5 + 4 / 8) / 4)
    assert lists.lead_distribution(frame) == {4: 1, 10: 1, 15: 1}


def test_churn_is_the_share_of_the_list_new_since_the_previous_one(spark) -> None:
    current = spark.createDataFrame(HAND_MADE, COMPANIES)
    before = [
        ("000000001", 0.9, HIGH, HIGH, 0, None),  # still in the fort list
        ("000000004", 0.9, HIGH, HIGH, 0, None),  # in the alerts both times
        ("000000009", 0.9, MID, MID, 0, None),  # left the list
    ]
    previous = spark.createDataFrame(before, COMPANIES)
    # fort now: 1, 2, 3; before: 1, 4 -> 2 and 3 are new
    assert lists.churn(current, previous, "fort") == 2 / 3
    # alerts now: 1..6; before: 1, 4, 9 -> 2, 3, 5, 6 are new
    assert lists.churn(current, previous, "alert") == 4 / 6
    assert lists.churn(current, None, "alert") is None


# --- the backtest on the shared world ------------------------------------------------------

FIRST_CUTOFF, SECOND_CUTOFF = "2018-09", "2018-12"


def _lake(settings, root):
    return settings.model_copy(
        update={"lake": settings.lake.model_copy(update={"root": str(root / "lake")})}
    )


class Backtested:
    """Cut-off 2018-09 run on a lake whose panel ends where its outcome window does (2020-03);
    then, on a lake holding every later month and later judgments, cut-offs 2018-09 and 2018-12
    (two cut-offs end to end: tables, MLflow runs, plots)."""

    def __init__(self, spark, world, root):
        from training.backtest import run

        panel = delta_io.read(spark, world.lake.panel)
        self.uri = f"sqlite:///{root / 'mlflow.db'}"
        base = world.settings.model_copy(
            update={
                "mlflow": world.settings.mlflow.model_copy(
                    update={"tracking_uri": self.uri, "artifact_root": str(root / "artifacts")}
                ),
                # no refit: the tests compare cut-offs with each other, not the model's
                # quality, and a refit is one more XGBoost training per cut-off
                "training": world.settings.training.model_copy(
                    update={"num_workers": 2, "refit": False}
                ),
            }
        )
        self.early_settings = _lake(base, root / "early")
        # the world's panel without its months after 2020-03: a shallow clone (the same data
        # files) whose later partitions are removed, without copying the panel
        early = f"{root}/early/lake/gold/panel"
        spark.sql(f"CREATE TABLE delta.`{early}` SHALLOW CLONE delta.`{world.lake.panel}`")
        spark.sql(f"DELETE FROM delta.`{early}` WHERE periode > DATE'2020-03-01'")
        self.early = run(spark, self.early_settings, FIRST_CUTOFF, FIRST_CUTOFF)

        # later judgments: companies never in proceedings get a first opening in 2019-03,
        # after the first cut-off and within both cut-offs' outcome windows; set on another
        # shallow clone (its deletion vectors: only the changed rows are written)
        judged = months.index("2019-03")
        fresh = "date_premiere_ouverture IS NULL AND xxhash64(siren) % 7 = 0"
        self.newly_failed = panel.where(fresh).select("siren").distinct().count()
        self.settings = _lake(base, root / "late")
        late = f"{root}/late/lake/gold/panel"
        spark.sql(f"CREATE TABLE delta.`{late}` SHALLOW CLONE delta.`{world.lake.panel}`")
        spark.sql(
            f"UPDATE delta.`{late}` SET "
            f"cible = CAST(month_index + 1 <= {judged} AND {judged} <= month_index + 18 AS INT), "
            f"signal_fort = month_index >= {judged}, "
            "date_premiere_ouverture = DATE'2019-03-01' "
            f"WHERE {fresh}"
        )
        self.late = run(spark, self.settings, FIRST_CUTOFF, SECOND_CUTOFF, every=3)


@pytest.fixture(scope="module")
def backtested(spark, world, tmp_path_factory):
    import mlflow

    yield Backtested(spark, world, tmp_path_factory.mktemp("backtest"))
    mlflow.set_tracking_uri(None)


def _companies(lake: str, cutoff: str) -> pd.DataFrame:
    table = DeltaTable(f"{lake}/gold/backtest_companies").to_pandas()
    part = table[table["cutoff"].astype(str) == f"{cutoff}-01"]
    return part.sort_values(["model", "siren"]).reset_index(drop=True)


@pytest.mark.slow
def test_later_data_changes_neither_the_model_nor_the_scores_of_a_cutoff(backtested) -> None:
    early, late = backtested.early.cutoffs[0], backtested.late.cutoffs[0]
    assert booster_bytes(early.booster) == booster_bytes(late.booster)
    assert (early.train_rows, early.train_positives) == (late.train_rows, late.train_positives)
    before = _companies(backtested.early_settings.lake.root, FIRST_CUTOFF)
    after = _companies(backtested.settings.lake.root, FIRST_CUTOFF)
    assert before[["model", "siren", "alert"]].equals(after[["model", "siren", "alert"]])
    np.testing.assert_allclose(after["score"], before["score"], rtol=0, atol=1e-12)
    # ... while the outcomes did change: the later judgments are seen by the evaluation only
    assert backtested.newly_failed > 0
    assert after["failed"].sum() > before["failed"].sum()


@pytest.mark.slow
def test_backtest_table_runs_and_plots_are_readable_without_spark(backtested) -> None:
    result = backtested.late
    table = DeltaTable(f"{backtested.settings.lake.root}/gold/backtest").to_pandas()
    assert sorted(zip(table["cutoff"].astype(str), table["model"], strict=True)) == [
        ("2018-09-01", "baseline"),
        ("2018-09-01", "xgboost"),
        ("2018-12-01", "baseline"),
        ("2018-12-01", "xgboost"),
    ]
    assert set(table["backtest_run_id"]) == {result.run_id}
    first = table[table["cutoff"].astype(str) == "2018-09-01"]
    second = table[table["cutoff"].astype(str) == "2018-12-01"]
    assert first["churn_alert"].isna().all() and second["churn_alert"].notna().all()
    assert (table["train_last_month"].astype(str) <= "2017-06-01").all()
    companies = _companies(backtested.settings.lake.root, SECOND_CUTOFF)
    for row in second.to_dict("records"):
        mine = companies[companies["model"] == row["model"]]
        assert row["companies"] == len(mine) and row["positives"] == mine["failed"].sum()
        assert row["fort_size"] == (mine["alert"] == "risque_fort").sum()

    client = MlflowClient(backtested.uri)
    parent = client.get_run(result.run_id)
    assert parent.data.tags["model_type"] == "backtest"
    children = client.search_runs(
        [result.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    assert sorted(r.data.params["cutoff"] for r in children) == [FIRST_CUTOFF, SECOND_CUTOFF]
    assert set(table["mlflow_run_id"]) == {r.info.run_id for r in children}
    for child in children:
        assert {"xgboost_aucpr", "baseline_aucpr"} <= set(child.data.metrics)
    plots = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    assert plots == {
        f"plots/{n}.png"
        for n in ("precision_risque_fort", "precision_at_100", "aucpr", "lead_times")
    }
    images = {p: client.download_artifacts(result.run_id, p) for p in plots}
    pixels = {p: plt.imread(path) for p, path in images.items()}
    assert all(image.ndim == 3 and image.shape[0] > 200 for image in pixels.values())
    assert (
        len({hashlib.sha256(open(path, "rb").read()).hexdigest() for path in images.values()}) == 4
    )


def test_a_cutoff_past_the_data_is_refused_naming_the_last_allowed(spark, world) -> None:
    from training.backtest import run

    with pytest.raises(ValueError, match="the last allowed cut-off is 2019-12"):
        run(spark, world.settings, "2019-12", "2020-03")
