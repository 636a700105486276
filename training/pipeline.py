"""Training end to end: split, XGBoost and the baseline, evaluation, MLflow.

Thresholds are chosen on the validation companies (``risque_fort`` at the maximum
F0.5, ``risque_modere`` at the maximum F2) and applied unchanged to the test set.
Evaluation always runs on the untouched distribution of the test rows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import mlflow
import pandas as pd
import xgboost as xgb
from mlflow import MlflowClient
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io
from common.config import Settings, flatten
from common.lake import Lake
from common.naf import SECTOR_GROUP_OF_SECTION
from common.tracking import use_tracking
from features.catalog import by_name, model_features, reference_set, version
from training import plots, registry
from training.metrics import Curve, brier, score_histogram
from training.models import baseline_scores, fit_baseline, fit_xgboost
from training.predict import booster_bytes, predict
from training.split import Boundaries, assign, boundaries, usable

log = logging.getLogger(__name__)
KEEP = ["siren", "periode", "cible", "code_region", "sector_group"]


@dataclass
class Evaluation:
    curve: Curve
    histogram: pd.DataFrame
    thresholds: dict[str, float]
    metrics: dict[str, float]
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class TrainResult:
    run_id: str
    baseline_run_id: str
    model_version: str
    promoted: bool
    champion_before: tuple[str | None, float | None]
    model: dict[str, float]
    baseline: dict[str, float]
    oracle_aucpr: float | None
    seconds: dict[str, float]


def sector_group() -> F.Column:
    mapping = F.create_map(*[F.lit(x) for kv in SECTOR_GROUP_OF_SECTION.items() for x in kv])
    return F.coalesce(mapping[F.col("section_naf")], F.lit("unknown"))


def evaluate(validation: DataFrame, test: DataFrame) -> Evaluation:
    """Thresholds from validation scores; metrics on the test scores."""
    chosen = Curve.from_histogram(score_histogram(validation, "score"))
    thresholds = {
        "risque_fort": chosen.best_threshold(0.5),
        "risque_modere": chosen.best_threshold(2.0),
    }
    hist = score_histogram(test, "score")
    curve = Curve.from_histogram(hist)
    metrics = {
        "test_roc_auc": curve.roc_auc(),
        "test_aucpr": curve.average_precision(),
        "test_brier": brier(test, "score"),
        "test_rows": float(curve.positives + curve.negatives),
        "test_positive_rate": curve.positives / max(curve.positives + curve.negatives, 1),
        "validation_aucpr": chosen.average_precision(),
    }
    for level, threshold in thresholds.items():
        metrics[f"threshold_{level}"] = threshold
        for name, value in curve.at(threshold).items():
            metrics[f"test_{name}_{level}"] = value
    return Evaluation(curve, hist, thresholds, metrics)


def by_group(test: DataFrame) -> pd.DataFrame:
    """Rows, positives, ROC AUC and AUCPR per region and per sector group."""
    rows = []
    for column in ("code_region", "sector_group"):
        hist = score_histogram(test, "score", by=(column,))
        for value, part in hist.groupby(column, dropna=False):
            c = Curve.from_histogram(part)
            both = c.positives > 0 and c.negatives > 0
            rows.append(
                {
                    "grouping": column,
                    "group": value,
                    "rows": c.positives + c.negatives,
                    "positives": c.positives,
                    "roc_auc": c.roc_auc() if both else None,
                    "aucpr": c.average_precision() if both else None,
                }
            )
    return pd.DataFrame(rows)


def _prepare(
    spark: SparkSession, lake: Lake, settings: Settings
) -> tuple[DataFrame, int, Boundaries]:
    panel = delta_io.read(spark, lake.panel)
    panel_version = delta_io.latest_version(spark, lake.panel)
    last_usable = panel.where(usable()).agg(F.max("month_index")).first()[0]
    if last_usable is None:
        raise ValueError("the panel has no row with a complete horizon: nothing to train on")
    cfg = settings.training
    b = boundaries(last_usable, cfg.test_months, cfg.gap_months, settings.panel.horizon_months)
    features = model_features()
    folds = assign(panel, b, cfg.validation_share, cfg.test_share, cfg.seed).where(
        F.col("fold").isNotNull()
    )
    folds = folds.select(
        *features,
        "siret",
        "siren",
        "periode",
        "cible",
        "code_region",
        sector_group().alias("sector_group"),
        "fold",
    )
    return folds.persist(StorageLevel.MEMORY_AND_DISK), panel_version, b


def _oracle(spark: SparkSession, test: DataFrame, truth_path: str | None) -> Curve | None:
    if not truth_path or not delta_io.exists(spark, truth_path):
        return None
    truth = delta_io.read(spark, truth_path).select(
        "siren", F.col("month").alias("periode"), F.col("probability").alias("score")
    )
    joined = test.select("siren", "periode", "cible").join(truth, ["siren", "periode"], "inner")
    return Curve.from_histogram(score_histogram(joined, "score"))


def train(
    spark: SparkSession,
    settings: Settings,
    experiment: str | None = None,
    promote: bool = False,
    truth_path: str | None = None,
) -> TrainResult:
    cfg, lake = settings.training, Lake.from_settings(settings)
    seconds: dict[str, float] = {}
    began = time.monotonic()
    folds, panel_version, b = _prepare(spark, lake, settings)
    features, groups = model_features(), {v.name: v.group for v in by_name().values()}
    counts = {
        r["fold"]: r
        for r in folds.groupBy("fold")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum("cible").alias("positives"),
            F.countDistinct("siren").alias("companies"),
        )
        .collect()
    }
    missing = [
        f for f in ("train", "validation", "test") if f not in counts or not counts[f]["positives"]
    ]
    if missing:
        raise ValueError(
            f"no positive row in {', '.join(missing)}: the panel is too short or too small"
        )
    train_rows, validation, test = (
        folds.where(F.col("fold") == f) for f in ("train", "validation", "test")
    )
    workers = cfg.num_workers or spark.sparkContext.defaultParallelism

    started = time.monotonic()
    booster = fit_xgboost(train_rows, validation, features, cfg, workers)
    seconds["xgboost_fit"] = time.monotonic() - started
    raw = booster_bytes(booster)
    scored_val = predict(validation, raw, features, KEEP)
    scored_test = predict(test, raw, features, KEEP).persist(StorageLevel.MEMORY_AND_DISK)
    model_eval = evaluate(scored_val, scored_test)
    model_eval.groups = by_group(scored_test)

    started = time.monotonic()
    reference = reference_set()
    baseline = fit_baseline(train_rows, reference, cfg.baseline_reg_param)
    seconds["baseline_fit"] = time.monotonic() - started
    base_eval = evaluate(
        baseline_scores(baseline, validation, KEEP), baseline_scores(baseline, test, KEEP)
    )
    oracle = _oracle(spark, scored_test, truth_path)
    if oracle is not None:
        model_eval.metrics["oracle_aucpr"] = oracle.average_precision()
        model_eval.metrics["model_oracle_ratio"] = model_eval.metrics["test_aucpr"] / max(
            oracle.average_precision(), 1e-12
        )
        base_eval.metrics["oracle_aucpr"] = model_eval.metrics["oracle_aucpr"]
    sample = test.select(*features).limit(cfg.shap_sample).toPandas()  # a bounded sample

    common = {
        **{f"config.{k}": v for k, v in flatten(settings).items()},
        "panel.path": lake.panel,
        "panel.delta_version": str(panel_version),
        "catalog.version": version(),
        "split.strong_signals": "excluded from training and evaluation",
        "split.incomplete_horizons": "excluded from training and evaluation",
        **{f"split.{k}": v for k, v in b.describe().items()},
        **{
            f"split.{f}_{k}": str(counts[f][k])
            for f in counts
            for k in ("rows", "positives", "companies")
        },
        "xgboost.num_workers": str(workers),
        "truth.used": str(oracle is not None),
    }
    experiment_id = use_tracking(settings.mlflow, experiment)
    client = MlflowClient()
    name = settings.mlflow.registered_model
    champion_before = registry.champion_metric(client, name)

    with mlflow.start_run(experiment_id=experiment_id, run_name="xgboost") as run:
        mlflow.set_tags({"model_type": "xgboost", "catalog_version": version()})
        registry.log_params(
            {
                **common,
                "model.features": str(len(features)),
                "model.trees": str(booster.num_boosted_rounds()),
            }
        )
        mlflow.log_metrics(
            {**model_eval.metrics, **{f"seconds_{k}": v for k, v in seconds.items()}}
        )
        registry.log_json("features.json", registry.features_payload(features, groups))
        registry.log_table("metrics_by_group.csv", model_eval.groups)
        curves = {"XGBoost": model_eval.curve, "baseline (logistic regression)": base_eval.curve}
        histograms = {"XGBoost": model_eval.histogram, "baseline": base_eval.histogram}
        if oracle is not None:
            curves["oracle (generator's truth)"] = oracle
        registry.log_figures(
            {
                "precision_recall": plots.pr_curves(
                    curves, model_eval.metrics["test_positive_rate"]
                ),
                "roc": plots.roc_curves(curves),
                "calibration": plots.calibration_curve(histograms),
                "importance_top30": plots.importances(booster),
                "shap_summary": plots.shap_summary(booster, sample),
                "score_distribution": plots.score_distribution(model_eval.histogram),
            }
        )
        metadata = {
            "thresholds": model_eval.thresholds,
            "catalog_version": version(),
            "panel_delta_version": panel_version,
            "features": features,
            "groups": {f: groups[f] for f in features},
        }
        info = registry.log_booster(booster, features, name, metadata)
    version_number = str(info.registered_model_version)
    beats = champion_before[1] is None or model_eval.metrics["test_aucpr"] > champion_before[1]
    promoted = promote or (cfg.auto_promote and beats)
    registry.set_aliases(client, name, version_number, promoted)

    with mlflow.start_run(experiment_id=experiment_id, run_name="baseline") as base_run:
        mlflow.set_tags(
            {"model_type": "baseline_logistic_regression", "catalog_version": version()}
        )
        registry.log_params(
            {
                **common,
                "model.features": str(len(reference)),
                "model.reg_param": str(cfg.baseline_reg_param),
            }
        )
        mlflow.log_metrics(base_eval.metrics)
        registry.log_json("features.json", {"features": reference})
        registry.log_figures(
            {
                "precision_recall": plots.pr_curves(
                    {"baseline": base_eval.curve}, base_eval.metrics["test_positive_rate"]
                )
            }
        )
    folds.unpersist()
    scored_test.unpersist()
    seconds["total"] = time.monotonic() - began
    return TrainResult(
        run.info.run_id,
        base_run.info.run_id,
        version_number,
        promoted,
        champion_before,
        model_eval.metrics,
        base_eval.metrics,
        model_eval.metrics.get("oracle_aucpr"),
        seconds,
    )


def booster_from_registry(name: str, alias: str) -> xgb.Booster:
    return mlflow.xgboost.load_model(f"models:/{name}@{alias}")
