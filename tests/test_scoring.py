"""Scoring: explanations and alert levels on hand-made rows, then the score table written by
the real pipeline with the model trained on the test world."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from delta.tables import DeltaTable
from holding import held_at_first_row, release, wait_until_held
from pipeline_run import TEST_CONF
from pyspark.sql import functions as F

from common import delta_io, months
from common.config import CorrectionRule
from common.lake import Lake
from scoring import alerts, export, table
from scoring.pipeline import ScoringError, explanations, score_period

# --- explanations ---------------------------------------------------------------------------


def test_explanations_sum_to_score_minus_base_score() -> None:
    features = ["a", "b", "c", "d"]
    groups = {"a": "social_debt", "b": "social_debt", "c": "headcount", "d": "context"}
    contributions = np.array([[0.5, -0.1, 0.3, 0.0], [0.0, 0.0, 0.0, 0.0], [-1.0, 0.2, 0.1, 0.4]])
    bias = np.array([-3.0, -3.0, -3.0])
    margin = contributions.sum(axis=1) + bias
    score = 1 / (1 + np.exp(-margin))
    out = explanations(
        pd.DataFrame(index=range(3)), contributions, bias, score, features, groups, top=1
    )
    base = 1 / (1 + np.exp(3.0))
    np.testing.assert_allclose(out["base_score"], base)
    for i in range(3):
        macro = out["macro_explanation"][i]
        assert set(macro) == {"social_debt", "headcount", "context"}
        assert sum(macro.values()) == pytest.approx(score[i] - base)
    # the contributions keep their signs and proportions: row 0, social debt = 0.4 / 0.7 of it
    assert out["macro_explanation"][0]["social_debt"] == pytest.approx((score[0] - base) * 4 / 7)
    micro = out["micro_explanation"][2]
    assert [(m["groupe"], m["variable"]) for m in micro] == [
        ("social_debt", "a"),
        ("headcount", "c"),
        ("context", "d"),
    ]


# --- alert levels and corrections -----------------------------------------------------------

RULES = [
    CorrectionRule(name="up_debt", description="x", condition="debt > 10", effect="up"),
    CorrectionRule(name="up_ccsf", description="x", condition="ccsf = 1", effect="up"),
    CorrectionRule(name="down_repaid", description="x", condition="repaid", effect="down"),
]


@pytest.mark.parametrize(
    ("score", "debt", "ccsf", "repaid", "before", "after", "applied"),
    [
        (0.05, 0, 0, False, "pas_d_alerte", "pas_d_alerte", []),
        (0.20, 0, 0, False, "risque_modere", "risque_modere", []),
        (0.30, 0, 0, False, "risque_fort", "risque_fort", []),  # the threshold itself alerts
        (0.05, 20, 0, False, "pas_d_alerte", "risque_modere", ["up_debt"]),
        (0.05, 20, 1, False, "pas_d_alerte", "risque_fort", ["up_debt", "up_ccsf"]),
        # already at the top: the rule does not apply and is not recorded
        (0.50, 20, 0, False, "risque_fort", "risque_fort", []),
        (0.20, 20, 1, True, "risque_modere", "risque_modere", ["up_debt", "down_repaid"]),
        (0.05, 0, 0, True, "pas_d_alerte", "pas_d_alerte", []),
        (0.20, None, None, None, "risque_modere", "risque_modere", []),  # nulls: no rule holds
    ],
)
def test_alert_levels_and_corrections(spark, score, debt, ccsf, repaid, before, after, applied):
    row = spark.createDataFrame(
        [(score, debt, ccsf, repaid)], "score double, debt int, ccsf int, repaid boolean"
    )
    level = alerts.level(F.col("score"), fort=0.3, modere=0.15)
    corrected, names = alerts.corrected(level, RULES)
    got = row.select(
        alerts.name(level).alias("before"), alerts.name(corrected).alias("after"), names
    ).first()
    assert (got[0], got[1], list(got[2])) == (before, after, applied)


# --- the score table ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored(spark, trained):
    periods = ["2021-06", "2021-05"]
    with ThreadPoolExecutor(2) as pool:  # two periods at the same time: different partitions
        runs = list(
            pool.map(lambda p: score_period(spark, trained.settings, p, batch="t"), periods)
        )
    return trained, runs


@pytest.mark.slow
def test_scores_written_with_explanations(spark, scored) -> None:
    trained, runs = scored
    lake = Lake.from_settings(trained.settings)
    scores = delta_io.read(spark, lake.scores)
    panel = delta_io.read(spark, lake.panel)
    for run in runs:
        day = f"{run.period}-01"
        in_panel = panel.where(F.col("periode") == F.lit(day).cast("date")).count()
        assert run.rows == in_panel == scores.where(f"periode = DATE'{day}'").count()
        # the run's counts before corrections, recounted from each row's score and thresholds
        score = F.col("score")
        recounted = {
            r["level"]: r["count"]
            for r in scores.where(f"periode = DATE'{day}'")
            .groupBy(
                F.when(score >= F.col("threshold_fort"), "risque_fort")
                .when(score >= F.col("threshold_modere"), "risque_modere")
                .otherwise("pas_d_alerte")
                .alias("level")
            )
            .count()
            .collect()
        }
        assert {k: n for k, n in run.alerts_before.items() if n} == recounted
        assert run.model.version == trained.result.model_version
    assert scores.groupBy("siret", "periode").count().where("count > 1").count() == 0
    # macro explanations sum to score - base score on every row
    gaps = scores.select(
        (
            F.aggregate(F.map_values("macro_explanation"), F.lit(0.0), lambda a, b: a + b)
            - (F.col("score") - F.col("base_score"))
        ).alias("gap")
    )
    assert gaps.agg(F.max(F.abs("gap"))).first()[0] < 1e-6
    assert scores.where("size(micro_explanation) = 0").count() == 0
    levels = "('pas_d_alerte', 'risque_modere', 'risque_fort')"
    assert scores.where(f"alert NOT IN {levels}").count() == 0
    assert (
        scores.where("alert_before_corrections = 'risque_fort' AND score < threshold_fort").count()
        == 0
    )
    assert (
        scores.where(
            "alert_before_corrections = 'pas_d_alerte' AND score >= threshold_modere"
        ).count()
        == 0
    )


@pytest.mark.slow
def test_rescoring_a_period_changes_nothing(spark, scored) -> None:
    trained, _ = scored
    lake = Lake.from_settings(trained.settings)
    before = delta_io.latest_version(spark, lake.scores)
    score_period(spark, trained.settings, "2021-06", batch="t")
    after = delta_io.latest_version(spark, lake.scores)
    if after > before:  # a commit without changes is allowed, a rewritten row is not
        changes = (
            spark.read.format("delta")
            .option("readChangeFeed", "true")
            .option("startingVersion", before + 1)
            .load(lake.scores)
            .where("_change_type <> 'update_preimage'")
        )
        assert changes.count() == 0


@pytest.mark.slow
def test_score_table_is_readable_without_spark(scored) -> None:
    from deltalake import DeltaTable

    trained, runs = scored
    table = DeltaTable(Lake.from_settings(trained.settings).scores)
    frame = table.to_pandas(columns=["siret", "periode", "score", "alert"])
    assert len(frame) == sum(r.rows for r in runs)
    assert frame["score"].between(0, 1).all()
    assert table.metadata().partition_columns == ["periode"]


@pytest.mark.slow
def test_company_list_one_entry_per_company(spark, scored, tmp_path, monkeypatch, capsys) -> None:
    """jobs/export_list.py's main on the scored lake (in the suite's session, which the job
    may not stop; through spark-submit on a cluster, the month's cycle exports the same way:
    tests/test_cluster.py)."""
    from jobs import export_list

    trained, runs = scored
    scores = delta_io.read(spark, Lake.from_settings(trained.settings).scores).where(
        "periode = DATE'2021-06-01'"
    )
    out = tmp_path / "list.json"
    monkeypatch.setattr(type(spark), "stop", lambda session: None)
    export_list.main(
        ["--config", str(TEST_CONF), "--lake", trained.settings.lake.root, "--period", "2021-06"]
        + ["--out", str(out)]
    )
    entries = json.loads(out.read_text())
    assert f"{len(entries):,} companies written to {out}" in capsys.readouterr().out
    assert len(entries) == scores.select("siren").distinct().count() > 0
    assert [e["probabilite"] for e in entries] == sorted(
        (e["probabilite"] for e in entries), reverse=True
    )
    for e in entries:
        alerted = e["alerte"] != "pas_d_alerte"
        assert (e.get("explication_macro") is not None) == alerted


@pytest.mark.slow
def test_a_scored_month_is_monitored(spark, scored) -> None:
    from deltalake import DeltaTable
    from mlflow import MlflowClient

    from features.catalog import model_features
    from monitoring.pipeline import CALENDAR, monitor, write

    trained, runs = scored
    june, may = runs
    settings = trained.settings
    done = monitor(spark, settings, "2021-06")
    items = done.items.set_index(["kind", "item"])
    kinds = done.items["kind"].value_counts().to_dict()
    monitored = len(model_features()) - len(CALENDAR)
    assert kinds == {
        "variable": monitored,
        "change": monitored,
        "score": 1,
        "alerts": 3,
        "source": 10,
    }
    assert set(done.items["status"]) <= {"ok", "watch", "alert"}
    assert done.model_version == trained.result.model_version
    variables = done.items[done.items["kind"] == "variable"]
    assert variables["psi"].notna().mean() > 0.9 and (variables["psi"].dropna() >= 0).all()
    # the month's rows, as the scoring run counted them; the reference is the scored May
    assert items.loc[("variable", "effectif"), "value"] == june.rows
    assert items.loc[("score", "score_distribution"), "value"] == june.rows
    # the change since the previous month: May's rows are its reference
    assert items.loc[("change", "effectif"), ["value", "reference"]].tolist() == [
        june.rows,
        may.rows,
    ]
    for level in ("risque_fort", "risque_modere", "pas_d_alerte"):
        assert items.loc[("alerts", level), "value"] == june.alerts.get(level, 0)
        assert items.loc[("alerts", level), "reference"] == may.alerts.get(level, 0)
    assert items.loc[("source", "effectif"), "value"] > 0
    # readable without Spark; a rerun of the month replaces its rows
    path = Lake.from_settings(settings).monitoring
    table = DeltaTable(path).to_pandas()
    assert len(table) == len(done.items) and set(table["mlflow_run_id"]) == {done.run_id}
    write(spark, path, done.items, dt.date(2021, 6, 1))
    assert len(DeltaTable(path).to_pandas()) == len(done.items)
    # the MLflow run: metrics, plots, the table
    client = MlflowClient()
    run = client.get_run(done.run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == settings.monitoring.experiment
    assert run.data.metrics["variable_psi_max"] == pytest.approx(variables["psi"].max())
    changes = done.items[done.items["kind"] == "change"]
    assert run.data.metrics["change_psi_max"] == pytest.approx(changes["psi"].max())
    assert run.data.params["model.version"] == done.model_version
    # the console names the months of the reference's rows: the last 12 of the training window
    assert run.data.params["reference.months"] == done.reference_months
    first, last = (months.index(m) for m in done.reference_months.split(" to "))
    assert last - first + 1 == settings.monitoring.reference_months == 12
    shown = done.lines("2021-06", "early-warning-xgb", path, experiment.name)[0]
    assert f"reference (its training rows of {done.reference_months})" in shown
    panel_version = delta_io.latest_version(spark, Lake.from_settings(settings).panel)
    assert run.data.params["panel.delta_version"] == str(panel_version)
    plots = {a.path for a in client.list_artifacts(done.run_id, "plots")}
    assert plots == {
        "plots/top_drifting_variables.png",
        "plots/top_changing_variables.png",
        "plots/score_distribution.png",
        "plots/alert_counts.png",
    }
    assert "monitoring.csv" in {a.path for a in client.list_artifacts(done.run_id)}


def test_json_array_streams_in_order_to_the_driver(spark, tmp_path) -> None:
    # four partitions, rows out of order, a tie on the probability, a null (left out by to_json)
    rows = [
        ("000000003", 0.5, "b"),
        ("000000001", 0.9, None),
        ("000000004", 0.1, "d"),
        ("000000002", 0.5, "c"),
        ("000000005", 0.7, "e"),
    ]
    frame = spark.createDataFrame(rows, "siren string, probabilite double, alerte string")
    out = tmp_path / "list.json"
    count = export.write_json_array(
        frame.repartition(4), out, [F.col("probabilite").desc(), F.col("siren")]
    )
    assert count == 5
    assert out.read_text(encoding="utf-8") == (
        '[\n{"siren":"000000001","probabilite":0.9},\n'
        '{"siren":"000000005","probabilite":0.7,"alerte":"e"},\n'
        '{"siren":"000000002","probabilite":0.5,"alerte":"c"},\n'
        '{"siren":"000000003","probabilite":0.5,"alerte":"b"},\n'
        '{"siren":"000000004","probabilite":0.1,"alerte":"d"}\n]\n'
    )
    assert [p.name for p in tmp_path.iterdir()] == ["list.json"]  # no parts, no staging
    empty = tmp_path / "empty.json"
    assert export.write_json_array(frame.limit(0), empty, [F.col("probabilite").desc()]) == 0
    assert json.loads(empty.read_text()) == []


# --- concurrent writers of the score table -------------------------------------------------


def _score_rows(spark, period: str, sirets: list[str], score: float):
    day = __import__("datetime").date.fromisoformat(period)
    values = {"siret": None, "siren": None, "periode": day, "score": score, "alert": "pas_d_alerte"}
    rows = [
        tuple({**values, "siret": s, "siren": s[:9]}.get(f.name) for f in table.SCHEMA.fields)
        for s in sirets
    ]
    return spark.createDataFrame(rows, table.SCHEMA)


@pytest.mark.slow
def test_period_merge_retries_after_a_concurrent_commit(spark, tmp_path, caplog) -> None:
    path = str(tmp_path / "scores")
    table.merge_period(
        spark, path, _score_rows(spark, "2021-05-01", ["00000000100011"], 0.1), "2021-05-01"
    )
    source = held_at_first_row(
        _score_rows(spark, "2021-05-01", ["00000000100011", "00000000200012"], 0.2),
        tmp_path,
        "siret",
    )
    other = _score_rows(spark, "2021-04-01", ["00000000300013"], 0.3)
    caplog.set_level(logging.WARNING, logger="scoring.table")
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(table.merge_period, spark, path, source, "2021-05-01")
        wait_until_held(tmp_path, held, "MERGE")
        before = delta_io.latest_version(spark, path)
        table.merge_period(spark, path, other, "2021-04-01")  # another period, meanwhile
        release(tmp_path)
        attempts = held.result(timeout=300)
    assert attempts == 2
    retries = [r.getMessage() for r in caplog.records if "retrying the MERGE" in r.getMessage()]
    assert len(retries) == 1 and retries[0].endswith("retrying the MERGE (2/5)"), retries
    assert "period 2021-05-01: a concurrent commit" in retries[0]
    # both committed, after the other writer's commit: nothing lost, nothing doubled
    history = DeltaTable.forPath(spark, path).history().where(f"version > {before}")
    assert sorted(r["operation"] for r in history.collect()) == ["MERGE", "MERGE"]
    got = delta_io.read(spark, path).select("siret", F.col("periode").cast("string"), "score")
    assert sorted(map(tuple, got.collect())) == [
        ("00000000100011", "2021-05-01", 0.2),
        ("00000000200012", "2021-05-01", 0.2),
        ("00000000300013", "2021-04-01", 0.3),
    ]


def test_a_table_created_by_a_concurrent_job_is_found_not_refused(spark, tmp_path, caplog):
    """The loser of a first-commit race sees the winner's empty ``_delta_log`` folder before
    its first commit (seen in CI: DELTA_TABLE_NOT_FOUND); it waits and uses the table."""
    winner = tmp_path / "elsewhere"
    table.ensure(spark, str(winner))
    path = tmp_path / "scores"
    (path / "_delta_log").mkdir(parents=True)  # the winner's folder, its commit not yet there
    caplog.set_level(logging.WARNING, logger="scoring.table")
    with ThreadPoolExecutor(1) as pool:
        loser = pool.submit(table.ensure, spark, str(path))
        while not any("created concurrently" in r.getMessage() for r in caplog.records):
            assert not loser.done(), loser.exception()
            time.sleep(0.05)
        for commit in (winner / "_delta_log").glob("*.json"):  # the winner's first commit lands
            shutil.copy(commit, path / "_delta_log" / commit.name)
        found = loser.result(timeout=120)
    assert found.toDF().schema == table.SCHEMA
    assert delta_io.latest_version(spark, str(path)) == 0


@pytest.mark.slow
def test_clear_errors_for_a_missing_model_or_period(spark, trained) -> None:
    with pytest.raises(ScoringError, match="not in the panel"):
        score_period(spark, trained.settings, "2030-01")
    with pytest.raises(ScoringError, match="no model registered as .*@nope"):
        score_period(spark, trained.settings, "2021-06", alias="nope")


def test_default_corrections_on_hand_made_rows(spark, settings) -> None:
    rules = settings.scoring.corrections
    assert [r.name for r in rules] == [
        "hausse_dette_sociale",
        "refus_ccsf",
        "dette_crise_remboursee",
    ]
    schema = (
        "id string, periode date, score double, dette_totale double, dette_totale_diff3 double, "
        "cotisation_moy12 double, ccsf_refus int, dette_totale_lag12 double, "
        "dette_totale_lag18 double, dette_totale_lag24 double"
    )
    import datetime as dt

    may21, may19 = dt.date(2021, 5, 1), dt.date(2019, 5, 1)
    rows = [
        # debt up by 2,500 in 3 months for a 1,000 mean monthly contribution: more than 20% of
        # the year's 12,000 (the reference system's rule), up; by 2,300 (19%), no change
        ("debt_rise", may19, 0.05, 2900.0, 2500.0, 1000.0, 0, None, None, None),
        ("debt_rise_small", may19, 0.05, 2700.0, 2300.0, 1000.0, 0, None, None, None),
        ("ccsf_refused", may19, 0.2, 0.0, 0.0, 1000.0, 1, None, None, None),
        # a crisis debt of 5000 twelve months ago, 100 left now: down
        ("crisis_repaid", may21, 0.2, 100.0, -200.0, 1000.0, 0, 5000.0, 3000.0, None),
        ("crisis_not_repaid", may21, 0.2, 2000.0, -200.0, 1000.0, 0, 5000.0, None, None),
        ("repaid_before_2021", may19, 0.2, 100.0, -200.0, 1000.0, 0, 5000.0, None, None),
        ("nulls", may19, 0.05, None, None, None, None, None, None, None),
    ]
    frame = spark.createDataFrame(rows, schema)
    level = alerts.level(F.col("score"), fort=0.3, modere=0.15)
    after, applied = alerts.corrected(level, rules)
    got = {
        r["id"]: (r["before"], r["after"], list(r["applied"]))
        for r in frame.select(
            "id",
            alerts.name(level).alias("before"),
            alerts.name(after).alias("after"),
            applied.alias("applied"),
        ).collect()
    }
    assert got == {
        "debt_rise": ("pas_d_alerte", "risque_modere", ["hausse_dette_sociale"]),
        "debt_rise_small": ("pas_d_alerte", "pas_d_alerte", []),
        "ccsf_refused": ("risque_modere", "risque_fort", ["refus_ccsf"]),
        "crisis_repaid": ("risque_modere", "pas_d_alerte", ["dette_crise_remboursee"]),
        "crisis_not_repaid": ("risque_modere", "risque_modere", []),
        "repaid_before_2021": ("risque_modere", "risque_modere", []),
        "nulls": ("pas_d_alerte", "pas_d_alerte", []),
    }


@pytest.mark.slow
def test_shap_contributions_sum_to_the_margin(spark, trained) -> None:
    import xgboost as xgb

    from training.pipeline import booster_from_registry
    from training.predict import frame_matrix, predict

    name = trained.settings.mlflow.registered_model
    booster = booster_from_registry(name, "champion")
    features = booster.feature_names
    panel = delta_io.read(spark, Lake.from_settings(trained.settings).panel).limit(300)

    def check(out, contributions, bias, score):
        margin = np.log(score / (1 - score))
        out["gap"] = np.abs(contributions.sum(axis=1) + bias - margin)
        return out

    from training.predict import booster_bytes

    result = predict(panel, booster_bytes(booster), features, ["siret"], ("gap double", check))
    assert result.count() == 300
    assert result.agg(F.max("gap")).first()[0] < 1e-3  # float32 margins
    local = panel.select(*features).toPandas()
    margin = booster.predict(frame_matrix(local, features), output_margin=True)
    contribs = booster.predict(
        xgb.DMatrix(local.to_numpy("float32"), feature_names=features), pred_contribs=True
    )
    np.testing.assert_allclose(contribs.sum(axis=1), margin, atol=1e-4)
