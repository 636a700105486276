"""Training: the split, metrics and thresholds on hand-made scores, and one real training run
(XGBoost on two workers and the baseline) logged in a real MLflow store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from mlflow import MlflowClient
from sklearn.metrics import average_precision_score, roc_auc_score

from common import delta_io, months
from common.config import TrainingSettings
from features.catalog import model_features
from training import models
from training.fitting import Trial, kept_trial, standard_error, usable_features
from training.metrics import Curve, score_histogram
from training.predict import booster_bytes, frame_matrix, predict
from training.split import assign, boundaries, check_history

# --- split ----------------------------------------------------------------------------------


def test_gap_shorter_than_the_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="at least the label horizon"):
        boundaries(last_usable=60, test_months=12, gap_months=12, horizon=18)
    b = boundaries(last_usable=60, test_months=12, gap_months=18, horizon=18)
    assert (b.test_first, b.test_last) == (49, 60)
    assert b.test_first - b.train_last > 18


def test_split_groups_companies_and_leaves_the_gap(spark) -> None:
    rows = [
        (f"{c:09d}", m, m <= 50, (c * 7 + m) % 97 == 0) for c in range(300) for m in range(0, 70, 3)
    ]
    panel = spark.createDataFrame(
        rows, "siren string, month_index int, horizon_complet boolean, signal_fort boolean"
    )
    b = boundaries(last_usable=50, test_months=6, gap_months=18, horizon=18)
    folds = assign(panel, b, validation_share=0.2, test_share=0.3, seed=3).toPandas()
    used = folds[folds["fold"].notna()]
    # incomplete horizons and strong signals are used nowhere
    assert not used["horizon_complet"].eq(False).any()
    assert not used["signal_fort"].any()
    # a company is on one side only: test companies are never trained or validated on
    sides = used.groupby("siren")["fold"].agg(set)
    assert sides.map(lambda s: "test" in s and len(s) > 1).sum() == 0
    assert sides.map(lambda s: {"train", "validation"} <= s).sum() == 0
    # no training label reaches the test months
    train_last = used.loc[used["fold"].isin(["train", "validation"]), "month_index"].max()
    test_first = used.loc[used["fold"] == "test", "month_index"].min()
    assert test_first - train_last > 18
    shares = used.drop_duplicates("siren")["fold"].value_counts(normalize=True)
    assert 0.2 < shares["test"] < 0.4 and 0.1 < shares["validation"] < 0.3


# --- metrics and thresholds -----------------------------------------------------------------


def test_histogram_metrics_equal_scikit_learn(spark) -> None:
    rng = np.random.default_rng(5)
    label = (rng.uniform(size=4000) < 0.05).astype(int)
    score = np.round(np.clip(rng.normal(0.2 + 0.3 * label, 0.15), 0, 1), 4)  # exact bins
    frame = spark.createDataFrame(
        pd.DataFrame({"score": score, "cible": label}).astype({"cible": "int32"})
    )
    curve = Curve.from_histogram(score_histogram(frame, "score"))
    assert curve.average_precision() == pytest.approx(average_precision_score(label, score))
    assert curve.roc_auc() == pytest.approx(roc_auc_score(label, score))


def test_thresholds_chosen_on_hand_made_scores(spark) -> None:
    # scores (label): 0.9 (1), 0.8 (1), 0.7 (0), 0.6 (1), 0.5 (0), 0.4 (0), 0.3 (1), 0.2 (0)
    data = [(0.9, 1), (0.8, 1), (0.7, 0), (0.6, 1), (0.5, 0), (0.4, 0), (0.3, 1), (0.2, 0)]
    frame = spark.createDataFrame(data, "score double, cible int")
    curve = Curve.from_histogram(score_histogram(frame, "score"))
    # F0.5 by threshold: 0.9 .625, 0.8 .833, 0.7 .625, 0.6 .75, 0.3 .625 -> 0.8
    assert curve.best_threshold(0.5) == pytest.approx(0.8)
    # F2 by threshold: 0.8 .556, 0.6 .75, 0.3 .870, 0.2 .833 -> 0.3
    assert curve.best_threshold(2.0) == pytest.approx(0.3)
    # alerts holding at least 3 positives: 0.9 and 0.8 catch 1 and 2; the best of the others
    # is 0.6 (.75); F2's best already catches 4
    assert curve.best_threshold(0.5, min_positives=3) == pytest.approx(0.6)
    assert curve.best_threshold(2.0, min_positives=3) == pytest.approx(0.3)
    # a minimum above the positives the curve holds: no constraint
    assert curve.best_threshold(0.5, min_positives=5) == pytest.approx(0.8)
    at = curve.at(0.6)
    assert at["precision"] == pytest.approx(3 / 4) and at["recall"] == pytest.approx(3 / 4)
    assert at["alert_share"] == pytest.approx(4 / 8)


def test_the_first_trial_is_kept_unless_another_beats_it_by_a_standard_error() -> None:
    def trial(top_positives: int) -> Trial:
        # 100 positives: `top_positives` of them among the 100 highest scores, the rest among
        # 9,900 lower ones: AP = (t/100)^2 + (1 - t/100) * 0.01
        hist = pd.DataFrame(
            {
                "bin": [90_000, 10_000],
                "positives": [top_positives, 100 - top_positives],
                "negatives": [100 - top_positives, 9_800 + top_positives],
            }
        )
        return Trial({}, {}, None, Curve.from_histogram(hist), 0.0)

    first, close, far = trial(40), trial(43), trial(50)
    assert first.validation_aucpr == pytest.approx(0.16 + 0.006)
    assert close.validation_aucpr == pytest.approx(0.1849 + 0.0057)
    assert far.validation_aucpr == pytest.approx(0.25 + 0.005)
    ap = far.validation_aucpr
    assert standard_error(far.validation) == pytest.approx((ap * (1 - ap) / 100) ** 0.5)
    # 0.1906 - 0.166 = 0.025, under one standard error of 0.1906 (0.039): the first is kept
    assert kept_trial([first, close], 1.0) is first
    assert kept_trial([first, close], 0.0) is close  # 0: the best
    # 0.255 - 0.166 = 0.089, over one standard error of 0.255 (0.044)
    assert kept_trial([first, close, far], 1.0) is far
    assert kept_trial([first, close, far], 2.5) is first
    assert kept_trial([far, first], 1.0) is far  # the first is the best


def test_a_history_too_short_is_refused_naming_the_months_needed() -> None:
    first = months.index("2016-01")
    # 60 months of data: the last labelled month is 2019-06, training months up to 2016-12
    b = boundaries(last_usable=months.index("2019-06"), test_months=12, gap_months=18, horizon=18)
    check_history(first, months.index("2019-06"), b, min_train_months=12, horizon=18)
    with pytest.raises(ValueError) as refused:
        check_history(first, months.index("2019-06"), b, min_train_months=13, horizon=18)
    message = str(refused.value)
    assert "runs from 2016-01 to 2020-12, which leaves 12 training month(s)" in message
    assert "the split needs 61 months" in message and "to at least 2021-01" in message


def test_company_weights_count_each_company_month_once(spark) -> None:
    rows = [("a", 1, 2.0), ("a", 1, 2.0), ("a", 2, 1.0), ("b", 1, 1.0)]
    frame = spark.createDataFrame(rows, "siren string, periode int, w double")
    weighted, column = models.company_weighted(frame, "w")
    got = sorted(weighted.select("siren", "periode", column).collect())
    assert [tuple(r) for r in got] == [("a", 1, 1.0), ("a", 1, 1.0), ("a", 2, 1.0), ("b", 1, 1.0)]
    unweighted, column = models.company_weighted(frame, None)
    assert sorted(r[0] for r in unweighted.select(column).collect()) == [0.5, 0.5, 1.0, 1.0]


def window_inputs(plan) -> list[int]:
    """The number of columns under each window of an optimized plan (what its shuffle moves)."""
    found, children = [], plan.children()
    if plan.nodeName() == "Window":
        found.append(plan.child().output().size())
    for i in range(children.size()):
        found += window_inputs(children.apply(i))
    return found


def test_a_refits_rows_are_weighed_once_their_features_are_one_array(spark, settings) -> None:
    """Rows that do not carry their company weights (a refit's) are weighed after the cast:
    the shuffle by company and month moves one float array, not every feature (868 doubles
    in the panel); each company-month weighs 1 all the same."""
    features = [f"x{i}" for i in range(30)]
    rows = [
        (siren, f"{siren}{e:05d}", month, int(e == 0), *[float(i) for i in range(30)])
        for siren, establishments in (("111111111", 3), ("222222222", 1))
        for e in range(establishments)
        for month in (1, 2)
    ]
    columns = ", ".join(f"{f} double" for f in features)
    schema = f"siren string, siret string, periode int, cible int, {columns}"
    frame = spark.createDataFrame(rows, schema)
    cfg = settings.training.model_copy(update={"company_weights": True})
    inputs = models.fit_inputs(frame, None, features, cfg, num_workers=2, row_count=len(rows))
    assert inputs.weight == models.COMPANY_WEIGHT
    got = sorted(tuple(r) for r in inputs.frame.select("cible", inputs.weight).collect())
    assert got == [(0, 1 / 3)] * 4 + [(1, 1 / 3)] * 2 + [(1, 1.0)] * 2
    assert "siren" not in inputs.frame.columns
    weighing = window_inputs(inputs.frame._jdf.queryExecution().optimizedPlan())
    assert len(weighing) == 1 and weighing[0] < len(features)


def test_monotone_constraints_follow_the_catalog() -> None:
    features = ["dette_totale", "dette_totale_lag12", "dette_totale_diff12", "effectif"]
    assert models.monotone_constraints(features) == "(1,1,0,0)"
    assert models.monotone_constraints(["effectif", "age_entreprise"]) is None


def test_the_workers_print_the_losses_every_log_rounds_rounds() -> None:
    """XGBoost's evaluation log (``verbose_eval``) every ``training.log_rounds`` rounds: the
    demo's console held ~290 loss lines of four fits when it was every round."""
    cfg = TrainingSettings(log_rounds=25, xgboost={"max_depth": 3})
    validated = models.classifier(True, None, ["a", "b"], cfg, 2)
    assert validated.getOrDefault("verbose") == 25
    assert validated.getOrDefault("early_stopping_rounds") == cfg.early_stopping_rounds
    assert validated.getOrDefault("max_depth") == 3
    quiet = models.classifier(False, "w", ["a"], cfg.model_copy(update={"log_rounds": 0}), 2)
    assert quiet.getOrDefault("verbose") is False
    assert quiet.getOrDefault("early_stopping_rounds") is None


def test_the_baseline_leaves_out_variables_missing_on_every_training_row(spark) -> None:
    rows = [(f"{i:014d}", float(i % 7), None, int(i % 5 == 0)) for i in range(60)]
    train = spark.createDataFrame(rows, "siret string, a double, lag12 double, cible int")
    kept = usable_features(train, ["a", "lag12"])
    assert kept == ["a"]
    model = models.fit_baseline(train, kept, 0.01)  # with lag12 Spark's Imputer would fail
    scores = models.baseline_scores(model, train, ["siret"]).toPandas()
    assert len(scores) == 60 and scores["score"].between(0, 1).all()


# --- a real training run --------------------------------------------------------------------


def test_every_arrow_batch_xgboost_reads_mixes_training_and_validation(spark, monkeypatch) -> None:
    # xgboost 3.2 fails on a batch of only one kind; batches must also stay bounded.
    monkeypatch.setattr(models, "BATCH_ROWS", 2_000)
    rows = [(i, i % 10 == 0) for i in range(12_000)]  # 10 % validation, in long runs
    frame = spark.createDataFrame(sorted(rows, key=lambda r: r[1]), "x long, _validation boolean")
    shuffled, batch = models.mixed_batches(frame.repartition(7), num_workers=2, seed=3)
    assert shuffled.rdd.getNumPartitions() == 2

    def sizes(batches):
        for b in batches:
            yield pd.DataFrame({"n": [len(b)], "valid": [int(b["_validation"].sum())]})

    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(key)
    spark.conf.set(key, str(batch))
    try:
        seen = shuffled.mapInPandas(sizes, "n long, valid long").toPandas()
    finally:
        spark.conf.set(key, before)
    assert seen["n"].sum() == 12_000
    assert len(seen) == 2 * 3  # 6,000 rows per worker in 3 batches of about 2,000
    assert (seen["valid"] > 0).all() and (seen["valid"] < seen["n"]).all()
    assert seen["n"].min() > 1_000

    # the place of every row is a function of the row and the seed, not of the run
    def order(input_partitions: int, seed: int = 3) -> list[list[int]]:
        placed, _ = models.mixed_batches(frame.repartition(input_partitions), 2, seed)
        return [list(p) for p in placed.rdd.map(lambda r: r["x"]).glom().collect()]

    assert order(7) == order(3) == order(1)
    assert order(7) != order(7, seed=4)


@pytest.mark.slow  # a distributed fit
def test_the_fit_reads_the_features_as_one_array_in_their_order(spark, settings) -> None:
    """The features go to xgboost.spark as one float array (a row-major matrix per batch), and
    the booster names its positions: only ``b`` decides the label, so only ``b`` may be used,
    and the named booster predicts a frame given by name as the fit saw it."""
    rng = np.random.default_rng(5)
    n = 4_000
    a, b, c = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
    a[::7] = np.nan  # missing values stay missing inside the array
    label = (b > 0.8).astype(int)
    rows = pd.DataFrame({"a": a, "b": b, "c": c, "cible": label, "k": np.arange(n) % 5})
    frame = spark.createDataFrame(rows)
    inputs = models.as_float32(frame, ["a", "b", "c"], None, [])
    assert inputs.schema[models.FEATURES].dataType.simpleString() == "array<float>"
    got = [[np.nan if v is None else v for v in r[0]] for r in inputs.limit(20).collect()]
    expected = rows[["a", "b", "c"]].to_numpy(np.float32)[:20]
    np.testing.assert_array_equal(np.array(got, dtype=np.float32), expected)  # NaN where null
    cfg = settings.training.model_copy(
        update={"company_weights": False, "xgboost": {"n_estimators": 20, "max_depth": 2}}
    )
    booster = models.fit_xgboost(
        frame.where("k > 0"), frame.where("k = 0"), ["a", "b", "c"], cfg, num_workers=2
    )
    assert booster.feature_names == ["a", "b", "c"]
    assert set(booster.get_score(importance_type="gain")) == {"b"}
    scores = booster.predict(xgb.DMatrix(rows[["a", "b", "c"]], missing=np.nan))
    assert roc_auc_score(label, scores) > 0.99  # by name, the column the fit saw as b


@pytest.mark.slow
def test_training_run_is_logged_registered_and_beats_chance(trained) -> None:
    result = trained.result
    client = MlflowClient(trained.uri)
    run = client.get_run(result.run_id)
    params, metrics = run.data.params, run.data.metrics
    assert params["xgboost.num_workers"] == "2"
    assert params["panel.path"] == trained.world.lake.panel
    assert params["panel.delta_version"].isdigit()
    assert params["split.strong_signals"] == "excluded from training and evaluation"
    assert params["split.incomplete_horizons"] == "excluded from training and evaluation"
    assert int(params["split.test_positives"]) > 0
    assert params["config.training.gap_months"] == "18"
    for name in (
        "test_roc_auc",
        "test_aucpr",
        "test_brier",
        "test_precision_risque_fort",
        "test_recall_risque_modere",
        "test_f05_risque_fort",
        "test_f2_risque_modere",
        "test_alert_share_risque_fort",
        "validation_precision_risque_fort",
        "validation_recall_risque_modere",
        "oracle_aucpr",
        "model_oracle_ratio",
    ):
        assert name in metrics, name
    # the model learned something: its average precision is well above the positive rate
    assert metrics["test_aucpr"] > 2.5 * metrics["test_positive_rate"]
    assert metrics["test_roc_auc"] > 0.7
    assert metrics["threshold_risque_fort"] >= metrics["threshold_risque_modere"]
    # each threshold's alerts hold at least training.threshold_min_positives validation positives
    least = trained.settings.training.threshold_min_positives
    positives = int(params["split.validation_positives"])
    assert positives >= least  # (the rule applies when validation holds that many)
    for level in ("risque_fort", "risque_modere"):
        assert round(metrics[f"validation_recall_{level}"] * positives) >= least, level

    # the registered model is refit on every labelled row, with the trees validation chose
    assert params["model.trained_on"] == "every labelled row"
    split_rows = sum(int(params[f"split.{f}_rows"]) for f in ("train", "validation", "test"))
    assert int(params["model.training_rows"]) > split_rows
    # each hyper-parameter trial is a nested run; the kept one is tagged
    trials = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    assert len(trials) == len(trained.settings.training.search) == 2
    assert sorted(t.data.tags["kept"] for t in trials) == ["False", "True"]
    kept = next(t for t in trials if t.data.tags["kept"] == "True")
    assert kept.data.metrics["validation_aucpr"] == pytest.approx(metrics["validation_aucpr"])
    # the first trial unless the best beats it by more than training.selection_se standard errors
    aps = {t.data.tags["mlflow.runName"]: t.data.metrics["validation_aucpr"] for t in trials}
    best = max(aps.values())
    margin = trained.settings.training.selection_se * (best * (1 - best) / positives) ** 0.5
    expected = best if best - aps["trial-1"] > margin else aps["trial-1"]
    assert metrics["validation_aucpr"] == pytest.approx(expected)
    assert params["model.trees"] == str(int(kept.data.metrics["trees"]))

    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    artifacts |= {a.path.split("/")[-1] for a in client.list_artifacts(result.run_id, "plots")}
    for name in (
        "precision_recall.png",
        "roc.png",
        "calibration.png",
        "importance_top30.png",
        "shap_summary.png",
        "score_distribution.png",
        "features.json",
        "metrics_by_group.csv",
    ):
        assert name in artifacts, name
    baseline = client.get_run(result.baseline_run_id)
    assert baseline.info.experiment_id == run.info.experiment_id
    assert baseline.data.tags["model_type"] == "baseline_logistic_regression"
    assert "test_aucpr" in baseline.data.metrics

    name = trained.settings.mlflow.registered_model
    version = client.get_model_version_by_alias(name, "challenger")
    assert str(version.version) == result.model_version and version.run_id == result.run_id
    assert str(client.get_model_version_by_alias(name, "champion").version) == result.model_version

    # one training's runs under one parent, which names the panel version it read
    parent_id = run.data.tags["mlflow.parentRunId"]
    assert baseline.data.tags["mlflow.parentRunId"] == parent_id
    parent = client.get_run(parent_id)
    assert parent.data.tags["model_type"] == "training"
    assert parent.data.metrics["xgboost_test_aucpr"] == metrics["test_aucpr"]
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    for logged in (run, parent):
        (panel_input,) = logged.inputs.dataset_inputs
        source = json.loads(panel_input.dataset.source)
        assert panel_input.dataset.source_type == "delta_table"
        assert source["path"] == trained.world.lake.panel
        assert str(source["delta_table_version"]) == params["panel.delta_version"]
        assert panel_input.dataset.name == f"gold/panel@v{params['panel.delta_version']}"
    # promotion: the first model had no champion to compare with, so nothing was compared
    assert result.champion_before is None and params["promotion.champion_version"] == "none"
    assert not [m for m in metrics if m.startswith("promotion_")]
    # the refit model keeps beside it the split model its test rows measured, and its split
    assert "split_model" in {a.path for a in client.list_artifacts(result.run_id)}
    evaluation = mlflow.models.get_model_info(f"models:/{name}@champion").metadata["evaluation"]
    assert evaluation == {
        "model": "split_model/model.ubj",
        "seed": trained.settings.training.seed,
        "test_share": trained.settings.training.test_share,
        "train_last_month": params["split.train_last_month"],
    }


def test_promotion_needs_a_higher_aucpr_on_the_same_rows() -> None:
    from training.pipeline import Champion, beats

    assert beats(None)  # no champion yet
    assert beats(Champion("3", 0.20, 0.21, 500, 9)) and not beats(Champion("3", 0.20, 0.20, 500, 9))
    assert not beats(Champion("3", None))  # a champion that cannot be measured stays
    assert not beats(Champion("3", None, None, 500, 0))  # no positive to compare on


def test_rows_a_champion_never_learnt_from(spark) -> None:
    """Its test companies (by its seed and test share) at any month, and any company after its
    last training month; not its training or validation companies up to that month."""
    from training.pipeline import unseen_by
    from training.split import company_bucket

    rows = spark.createDataFrame(
        [(s, m) for s in ("111111111", "222222222", "333333333", "444444444") for m in (250, 251)],
        "siren string, month_index int",
    ).withColumn("bucket", company_bucket(7))
    evaluation = {"seed": 7, "test_share": 0.3, "train_last_month": "2020-11"}  # index 250
    got = rows.where(unseen_by(evaluation)).collect()
    expected = [r for r in rows.collect() if r["bucket"] < 0.3 or r["month_index"] > 250]
    assert sorted(map(tuple, got)) == sorted(map(tuple, expected))
    assert {r["month_index"] for r in got} == {250, 251} and len(got) < 8  # both cases present


@pytest.mark.slow
def test_champion_is_measured_on_rows_it_never_learnt_from(spark, trained) -> None:
    """Promotion compares the champion and the new model on the same rows, rows neither learnt
    from: the refit champion trained on nearly all of this panel's labelled rows (it once scored
    0.40 against 0.14 there and could never be replaced), so its split model is compared.
    Measured against its own split model, the champion ties and is kept."""
    from training.pipeline import beats, measure_champion, prepare, unseen_by

    client = MlflowClient(trained.uri)
    run_id = trained.result.run_id
    split_path = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="split_model/model.ubj", tracking_uri=trained.uri
    )
    split_model = xgb.Booster()
    split_model.load_model(split_path)
    prepared = prepare(spark, trained.world.lake, trained.settings)
    try:
        test = prepared.fold("test")
        test_rows = test.count()
        # the champion's rows come from the cached folds: a column they lack (month_index) made
        # Spark reach under the cache and reread and reweigh the whole panel
        evaluation = {"seed": 7, "test_share": 0.3, "train_last_month": "2019-01"}
        plan = test.where(unseen_by(evaluation))._jdf.queryExecution().optimizedPlan()
        leaves = plan.collectLeaves()
        assert [leaves.apply(i).nodeName() for i in range(leaves.size())] == ["InMemoryRelation"]
        champion = measure_champion(
            client, trained.settings.mlflow.registered_model, test, split_model
        )
        rows = test.select("cible", *model_features()).toPandas()  # a small test world
    finally:
        prepared.folds.unpersist()
    assert champion.version == trained.result.model_version
    assert champion.rows == test_rows  # the same seed and share: its test companies are these
    assert champion.positives == int(rows["cible"].sum()) > 0
    expected = average_precision_score(
        rows["cible"], split_model.predict(frame_matrix(rows, model_features()))
    )
    assert champion.test_aucpr == pytest.approx(expected, abs=2e-3)  # scores binned at 1e-4
    assert champion.test_aucpr == champion.challenger_aucpr
    test_aucpr = client.get_run(run_id).data.metrics["test_aucpr"]
    assert champion.test_aucpr == pytest.approx(test_aucpr, abs=1e-9)  # not the refit's figure
    assert not beats(champion)


@pytest.mark.slow
def test_registered_model_scores_panel_rows_read_without_the_project(trained) -> None:
    """A data scientist loads the champion with pyfunc and scores rows read by delta-rs: the
    signature must take the panel's doubles (it once declared 32-bit floats and refused them)."""
    import subprocess
    import sys

    name = trained.settings.mlflow.registered_model
    script = f"""
import mlflow, numpy as np, pyarrow as pa
from deltalake import DeltaTable, QueryBuilder
mlflow.set_tracking_uri({trained.uri!r})
model = mlflow.pyfunc.load_model("models:/{name}@champion")
# the panel has deletion vectors: delta-rs reads it through its query engine
query = QueryBuilder().register("panel", DeltaTable({trained.world.lake.panel!r}))
rows = pa.table(query.execute("SELECT * FROM panel LIMIT 50").read_all()).to_pandas()
scores = np.asarray(model.predict(rows))
assert scores.shape == (50,) and ((scores >= 0) & (scores <= 1)).all(), scores
print("scored", len(scores))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd="/",
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "scored 50" in done.stdout


@pytest.mark.slow
def test_model_reloads_without_spark_and_predicts_the_same(spark, trained) -> None:
    name = trained.settings.mlflow.registered_model
    info = mlflow.models.get_model_info(f"models:/{name}@champion")
    meta = info.metadata
    features = model_features()
    assert meta["features"] == features and set(meta["thresholds"]) == {
        "risque_fort",
        "risque_modere",
    }
    assert set(meta["groups"]) == set(features)
    assert info.signature is not None
    assert {c["type"] for c in info.signature.inputs.to_dict()} == {"double"}  # the panel's type
    assert info.saved_input_example_info is not None  # an example, with no company's data
    booster = mlflow.xgboost.load_model(f"models:/{name}@champion")
    local = (
        delta_io.read(spark, trained.world.lake.panel)
        .select("siret", "periode", *features)
        .limit(200)
        .toPandas()
    )
    expected = booster.predict(frame_matrix(local, features))
    assert isinstance(booster, xgb.Booster)
    spark_scores = (
        predict(
            spark.createDataFrame(local), booster_bytes(booster), features, ["siret", "periode"]
        )
        .toPandas()
        .merge(local[["siret", "periode"]].assign(expected=expected), on=["siret", "periode"])
    )
    assert len(spark_scores) == 200
    np.testing.assert_allclose(spark_scores["score"], spark_scores["expected"], rtol=1e-6)


@pytest.mark.slow
def test_nothing_business_secret_in_mlflow(spark, trained, tmp_path: Path) -> None:
    """No SIRET, SIREN or company name of the world in params, tags or text artifacts."""
    panel = delta_io.read(spark, trained.world.lake.panel)
    ids = {r[0] for r in panel.select("siren").distinct().collect()}  # a small test world
    ids |= {r[0] for r in panel.select("siret").distinct().collect()}
    client = MlflowClient(trained.uri)
    texts = []
    for run_id in (trained.result.run_id, trained.result.baseline_run_id):
        run = client.get_run(run_id)
        texts += [json.dumps(run.data.params), json.dumps(run.data.tags)]
        folder = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path)))
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix in (".json", ".csv", ".yaml", ".txt", ""):
                texts.append(path.read_text(errors="ignore"))
    found = {t for text in texts for t in re.findall(r"\d{9,14}", text)} & ids
    assert not found, f"{len(found)} identifiers leaked into MLflow"
    assert any("test_aucpr" in t or "features" in t for t in texts)  # the scan saw artifacts


# --- figures --------------------------------------------------------------------------------


def test_each_figure_is_drawn_on_its_own_and_the_shap_axis_fits_its_values(tmp_path) -> None:
    """The SHAP summary once drew over the importance figure (same file, a 0-8,000 axis)."""
    from training import plots

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(400, 5)), columns=[f"v{i}" for i in range(5)])
    y = (x["v0"] + 0.5 * x["v1"] + rng.normal(scale=0.5, size=400) > 1).astype(int)
    booster = xgb.train({"max_depth": 2, "eta": 0.3}, xgb.DMatrix(x, label=y), 20)
    importance = plots.importances(booster)  # left open, as a caller drawing in turn would
    summary = plots.shap_summary(booster, x.iloc[:200])
    assert summary is not importance
    assert importance.axes[0].get_title().startswith("Top 30 variables by total gain")
    assert summary._suptitle.get_text().startswith("SHAP values on 200 random test rows")
    assert [a.get_title() for a in summary.axes] == [""] * len(summary.axes)  # not the importance's
    values = plots.shap_values(booster, x.iloc[:200])
    low, high = summary.axes[0].get_xlim()
    span = values.max() - values.min()
    assert low <= values.min() and high >= values.max() and high - low < 1.5 * span
    paths = {}
    for name, fig in {"importance": importance, "shap": summary}.items():
        paths[name] = tmp_path / f"{name}.png"
        fig.savefig(paths[name])
    assert paths["importance"].read_bytes() != paths["shap"].read_bytes()
