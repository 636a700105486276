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
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io, months
from common.config import Settings, TrainingSettings, flatten
from common.lake import Lake
from common.naf import SECTOR_GROUP_OF_SECTION
from common.tracking import use_tracking
from features.catalog import by_name, model_features, reference_set, version
from monitoring import reference as monitoring_reference
from training import plots, registry
from training.fitting import Fitted, Trial, fit_pair, refit
from training.metrics import Curve, brier, score_histogram
from training.models import baseline_scores, with_company_weights
from training.predict import booster_bytes, predict
from training.split import (
    Boundaries,
    assign,
    boundaries,
    check_history,
    company_bucket,
    usable,
)

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
    run_id: str  # the XGBoost run (the registered model's)
    baseline_run_id: str
    model_version: str
    promoted: bool
    champion_before: Champion | None
    model: dict[str, float]
    baseline: dict[str, float]
    oracle_aucpr: float | None
    seconds: dict[str, float]
    parent_run_id: str = ""  # the training's run, parent of the XGBoost, baseline and trials


def sector_group() -> F.Column:
    mapping = F.create_map(*[F.lit(x) for kv in SECTOR_GROUP_OF_SECTION.items() for x in kv])
    return F.coalesce(mapping[F.col("section_naf")], F.lit("unknown"))


def evaluate(validation: Curve, chosen: dict[str, float], test: DataFrame) -> Evaluation:
    """Metrics on the test scores, alerting at the thresholds ``chosen`` on ``validation``."""
    hist = score_histogram(test, "score")
    curve = Curve.from_histogram(hist)
    metrics = {
        "test_roc_auc": curve.roc_auc(),
        "test_aucpr": curve.average_precision(),
        "test_brier": brier(test, "score"),
        "test_rows": float(curve.positives + curve.negatives),
        "test_positive_rate": curve.positives / max(curve.positives + curve.negatives, 1),
        "validation_aucpr": validation.average_precision(),
    }
    for level, threshold in chosen.items():
        metrics[f"threshold_{level}"] = threshold
        for name, value in curve.at(threshold).items():
            metrics[f"test_{name}_{level}"] = value
        # the same threshold where it was chosen: far above the test figures, the top of the
        # scores means less in the test months than in the training months
        for name, value in validation.at(threshold).items():
            metrics[f"validation_{name}_{level}"] = value
    return Evaluation(curve, hist, chosen, metrics)


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


@dataclass
class Prepared:
    """The panel (pinned to one Delta version), its split and the model's variables."""

    panel: DataFrame
    panel_version: int
    boundaries: Boundaries
    folds: DataFrame
    counts: dict
    features: list[str]

    def fold(self, name: str) -> DataFrame:
        return self.folds.where(F.col("fold") == name)


def prepare(spark: SparkSession, lake: Lake, settings: Settings) -> Prepared:
    """Reads the panel at its latest version, splits it and checks every fold can be used."""
    panel_version = delta_io.latest_version(spark, lake.panel)
    panel = delta_io.read(spark, lake.panel, version=panel_version)
    span = panel.where(usable()).agg(F.min("month_index"), F.max("month_index")).first()
    if span[1] is None:
        raise ValueError("the panel has no row with a complete horizon: nothing to train on")
    cfg = settings.training
    horizon = settings.panel.horizon_months
    b = boundaries(span[1], cfg.test_months, cfg.gap_months, horizon)
    first = panel.agg(F.min("month_index")).first()[0]
    check_history(first, span[1], b, cfg.min_train_months, horizon)
    features = model_features()
    folds = assign(panel, b, cfg.validation_share, cfg.test_share, cfg.seed).where(
        F.col("fold").isNotNull()
    )
    folds = folds.select(
        *features,
        "siret",
        "siren",
        "periode",
        "month_index",  # unseen_by reads it: absent, the comparison would reread the panel
        "cible",
        "code_region",
        sector_group().alias("sector_group"),
        "fold",
    )
    if cfg.company_weights:  # once for every fit on these rows
        folds = with_company_weights(folds)
    folds = folds.persist(StorageLevel.MEMORY_AND_DISK)
    counts = {
        r["fold"]: r.asDict()
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
        folds.unpersist()
        raise ValueError(
            f"no positive row in {', '.join(missing)}: the panel is too short or too small"
        )
    return Prepared(panel, panel_version, b, folds, counts, features)


def _oracle(spark: SparkSession, test: DataFrame, truth_path: str | None) -> Curve | None:
    if not truth_path or not delta_io.exists(spark, truth_path):
        return None
    truth = delta_io.read(spark, truth_path).select(
        "siren", F.col("month").alias("periode"), F.col("probability").alias("score")
    )
    joined = test.select("siren", "periode", "cible").join(truth, ["siren", "periode"], "inner")
    return Curve.from_histogram(score_histogram(joined, "score"))


@dataclass
class Champion:
    """The champion before this training and this training's model, measured on the same rows:
    this training's test rows that the champion's measured model never learnt from."""

    version: str
    test_aucpr: float | None  # None when it cannot score these rows (its variables are gone)
    challenger_aucpr: float | None = None  # this training's split model on the same rows
    rows: int = 0
    positives: int = 0
    compared_on: str = ""  # which champion model, on which rows (logged on the run)


def unseen_by(evaluation: dict) -> Column:
    """Rows a model recorded with ``evaluation`` (its split: seed, test share, last training
    month) never learnt from, neither in training nor in validation: its test companies, or
    months after its last training month."""
    last = months.index(evaluation["train_last_month"])
    bucket = company_bucket(int(evaluation["seed"]))
    return (bucket < float(evaluation["test_share"])) | (F.col("month_index") > last)


def _aucpr(rows: DataFrame, booster: xgb.Booster) -> float:
    scored = predict(rows, booster_bytes(booster), list(booster.feature_names or []), KEEP)
    return Curve.from_histogram(score_histogram(scored, "score")).average_precision()


def measure_champion(
    client: MlflowClient, name: str, test: DataFrame, challenger: xgb.Booster
) -> Champion | None:
    """The current champion and the ``challenger`` (this training's split model) on the same
    rows. The registered champion may be refit on every labelled row, these included: what is
    compared is the model its run measured (its split model, kept beside it) on this
    training's test rows that this model never learnt from (neither its training nor its
    validation rows). A champion with no recorded split is scored on every test row, which
    leans toward keeping it."""
    found = registry.champion(client, name)
    if found is None:
        return None
    version_number, booster, evaluation = found
    features = list(booster.feature_names or [])
    missing = sorted(set(features) - set(test.columns))
    if missing:
        log.warning(
            "the champion (version %s) uses %d variables the panel no longer has (e.g. %s): it "
            "cannot be measured on the new test rows, no automatic promotion",
            version_number,
            len(missing),
            missing[0],
        )
        return Champion(version_number, None, compared_on="not comparable: variables gone")
    if evaluation is None:
        rows, basis = test, "registered champion, every test row (its training rows unknown)"
    else:
        rows = test.where(unseen_by(evaluation))
        basis = (
            "champion's split model, test rows it never learnt from "
            f"(its test companies or months after {evaluation['train_last_month']})"
        )
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        counted = rows.agg(F.count(F.lit(1)), F.sum("cible")).first()
        count, positives = int(counted[0]), int(counted[1] or 0)
        if not positives:
            log.warning(
                "no positive among the %d test rows the champion (version %s) never learnt "
                "from: not comparable, no automatic promotion",
                count,
                version_number,
            )
            return Champion(version_number, None, None, count, 0, basis)
        ap, mine = _aucpr(rows, booster), _aucpr(rows, challenger)
    finally:
        rows.unpersist()
    log.info(
        "on %d test rows (%d positives) %s: champion (version %s) AUCPR %.4f, this model %.4f",
        count,
        positives,
        basis,
        version_number,
        ap,
        mine,
    )
    return Champion(version_number, ap, mine, count, positives, basis)


def beats(champion: Champion | None) -> bool:
    """Whether a new model may replace the champion automatically: there is none, or the new
    model's AUCPR is higher on the same rows, rows neither model learnt from."""
    if champion is None:
        return True
    if champion.test_aucpr is None or champion.challenger_aucpr is None:
        return False
    return champion.challenger_aucpr > champion.test_aucpr


@dataclass
class Measured:
    """Both models fitted on the split and measured on its test rows."""

    fitted: Fitted
    model: Evaluation
    baseline: Evaluation
    oracle: Curve | None


def fit_and_measure(
    spark: SparkSession, prepared: Prepared, cfg: TrainingSettings, workers: int, truth: str | None
) -> Measured:
    train_rows, validation, test = (prepared.fold(f) for f in ("train", "validation", "test"))
    fitted = fit_pair(train_rows, validation, prepared.features, reference_set(), cfg, workers)
    raw = booster_bytes(fitted.best.booster)
    scored_test = predict(test, raw, prepared.features, KEEP).persist(StorageLevel.MEMORY_AND_DISK)
    model_eval = evaluate(fitted.best.validation, fitted.thresholds, scored_test)
    model_eval.groups = by_group(scored_test)
    base_scores = baseline_scores(fitted.baseline, test, KEEP)
    base_eval = evaluate(fitted.baseline_validation, fitted.baseline_thresholds, base_scores)
    oracle = _oracle(spark, scored_test, truth)
    scored_test.unpersist()
    if oracle is not None:
        ap = oracle.average_precision()
        model_eval.metrics["oracle_aucpr"] = base_eval.metrics["oracle_aucpr"] = ap
        model_eval.metrics["model_oracle_ratio"] = model_eval.metrics["test_aucpr"] / max(ap, 1e-12)
    return Measured(fitted, model_eval, base_eval, oracle)


def final_booster(
    prepared: Prepared, fitted: Fitted, cfg: TrainingSettings, workers: int
) -> tuple[xgb.Booster, int]:
    """The model to register and its training rows: with ``training.refit``, the kept trial refit
    on every labelled row (all companies, every month whose horizon is complete); else the
    split's model."""
    if not cfg.refit:
        return fitted.best.booster, int(prepared.counts["train"]["rows"])
    rows = prepared.panel.where(usable()).select(
        *prepared.features, "siret", "siren", "periode", "cible"
    )
    count = rows.count()
    log.info("refitting on every labelled row (%d) with %d trees", count, fitted.best.trees)
    return refit(rows, prepared.features, cfg, workers, fitted.best, count), count


def _common_params(
    settings: Settings, lake: Lake, prepared: Prepared, workers: int, truth_used: bool
) -> dict[str, str]:
    counts = prepared.counts
    return {
        **{f"config.{k}": v for k, v in flatten(settings).items()},
        "panel.path": lake.panel,
        "panel.delta_version": str(prepared.panel_version),
        "catalog.version": version(),
        "split.strong_signals": "excluded from training and evaluation",
        "split.incomplete_horizons": "excluded from training and evaluation",
        **{f"split.{k}": v for k, v in prepared.boundaries.describe().items()},
        **{
            f"split.{f}_{k}": str(counts[f][k])
            for f in counts
            for k in ("rows", "positives", "companies")
        },
        "xgboost.num_workers": str(workers),
        "truth.used": str(truth_used),
    }


def _log_trials(experiment_id: str, trials: list[Trial], best: Trial) -> None:
    """Each hyper-parameter trial as a nested run of the active (XGBoost) run."""
    for i, trial in enumerate(trials, start=1):
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"trial-{i}", nested=True):
            mlflow.set_tags({"model_type": "xgboost_trial", "kept": str(trial is best)})
            registry.log_params({f"xgboost.{k}": str(v) for k, v in trial.params.items()})
            mlflow.log_metrics(
                {
                    "validation_aucpr": trial.validation_aucpr,
                    "trees": float(trial.trees),
                    "seconds_fit": trial.seconds,
                }
            )


@dataclass
class Final:
    """The model to register (the split's, or refit on every labelled row), the rows it learnt
    from, its monitoring reference and a bounded sample of test rows for its SHAP plot."""

    booster: xgb.Booster
    rows: int
    reference: dict
    sample: pd.DataFrame


def finalise(prepared: Prepared, measured: Measured, settings: Settings, workers: int) -> Final:
    """Refit when configured, then the monitoring reference of what the final model learnt
    from, and the SHAP sample."""
    cfg, seconds = settings.training, measured.fitted.seconds
    started = time.monotonic()
    booster, rows = final_booster(prepared, measured.fitted, cfg, workers)
    seconds["refit"] = time.monotonic() - started
    started = time.monotonic()
    learnt = prepared.panel.where(usable()) if cfg.refit else prepared.fold("train")
    reference = monitoring_reference.build(
        learnt, prepared.features, booster_bytes(booster), settings.monitoring
    )
    seconds["monitoring_reference"] = time.monotonic() - started
    return Final(booster, rows, reference, shap_sample(prepared, cfg))


def shap_sample(prepared: Prepared, cfg: TrainingSettings) -> pd.DataFrame:
    """At most ``cfg.shap_sample`` random test rows, features only: a bounded sample."""
    share = min(1.0, 2.0 * cfg.shap_sample / max(prepared.counts["test"]["rows"], 1))
    rows = prepared.fold("test").select(*prepared.features)
    return rows.sample(fraction=share, seed=cfg.seed).limit(cfg.shap_sample).toPandas()


def promotion_metrics(champion: Champion | None) -> dict[str, float]:
    """The champion's and this model's AUCPR on the rows they were compared on (none when
    there was no comparable champion)."""
    if champion is None or champion.test_aucpr is None:
        return {}
    return {
        "promotion_champion_test_aucpr": champion.test_aucpr,
        "promotion_challenger_test_aucpr": champion.challenger_aucpr,
        "promotion_rows": float(champion.rows),
        "promotion_positives": float(champion.positives),
    }


@dataclass
class Logged:
    """What the training's runs need: the measured models, the final one, the champion before
    and the parameters every run of the training carries."""

    prepared: Prepared
    measured: Measured
    final: Final
    champion: Champion | None
    common: dict[str, str]


def _model_params(logged: Logged, settings: Settings) -> dict[str, str]:
    fitted, booster, champion = logged.measured.fitted, logged.final.booster, logged.champion
    return {
        **logged.common,
        "model.features": str(len(booster.feature_names or [])),
        "model.trees": str(booster.num_boosted_rounds()),
        "model.trained_on": "every labelled row" if settings.training.refit else "split",
        "model.training_rows": str(logged.final.rows),
        "search.trials": str(len(fitted.trials)),
        "promotion.champion_version": champion.version if champion else "none",
        "promotion.compared_on": champion.compared_on if champion else "none",
        **{f"xgboost.{k}": str(v) for k, v in fitted.best.params.items()},
    }


def _log_model_figures(measured: Measured, final: Final) -> None:
    model_eval, base_eval = measured.model, measured.baseline
    curves = {"XGBoost": model_eval.curve, "baseline (logistic regression)": base_eval.curve}
    histograms = {"XGBoost": model_eval.histogram, "baseline": base_eval.histogram}
    if measured.oracle is not None:
        curves["oracle (generator's truth)"] = measured.oracle
    rate = model_eval.metrics["test_positive_rate"]
    registry.log_figures(
        {
            "precision_recall": lambda: plots.pr_curves(curves, rate),
            "roc": lambda: plots.roc_curves(curves),
            "calibration": lambda: plots.calibration_curve(histograms),
            "importance_top30": lambda: plots.importances(final.booster),
            "shap_summary": lambda: plots.shap_summary(final.booster, final.sample),
            "score_distribution": lambda: plots.score_distribution(model_eval.histogram),
        }
    )


def _model_metadata(
    logged: Logged, cfg: TrainingSettings, measured_model: str, groups: dict[str, str]
) -> dict:
    """The registered version's metadata: what scoring, monitoring and later promotions read."""
    features = list(logged.final.booster.feature_names or [])
    return {
        "evaluation": {  # what promotion needs to compare later models on unseen rows
            "model": measured_model,
            "seed": cfg.seed,
            "test_share": cfg.test_share,
            "train_last_month": months.label(logged.prepared.boundaries.train_last),
        },
        "thresholds": logged.measured.model.thresholds,
        "monitoring_reference": monitoring_reference.ARTIFACT,  # an artifact of its run
        "catalog_version": version(),
        "panel_delta_version": logged.prepared.panel_version,
        "features": features,
        "groups": {f: groups[f] for f in features},
    }


def _log_model_run(experiment_id: str, logged: Logged, settings: Settings):
    """The XGBoost run (a child of the training's run): parameters, metrics, plots, trials; the
    model logged and registered."""
    fitted, model_eval = logged.measured.fitted, logged.measured.model
    booster = logged.final.booster
    features = list(booster.feature_names or [])
    groups = {v.name: v.group for v in by_name().values()}
    with mlflow.start_run(experiment_id=experiment_id, run_name="xgboost", nested=True) as run:
        mlflow.set_tags({"model_type": "xgboost", "catalog_version": version()})
        registry.log_panel_input(
            logged.common["panel.path"], logged.prepared.panel_version, features, "training"
        )
        registry.log_params(_model_params(logged, settings))
        mlflow.log_metrics(
            {
                **model_eval.metrics,
                **promotion_metrics(logged.champion),
                **{f"seconds_{k}": v for k, v in fitted.seconds.items()},
            }
        )
        registry.log_json("features.json", registry.features_payload(features, groups))
        registry.log_json(monitoring_reference.ARTIFACT, logged.final.reference)
        registry.log_table("metrics_by_group.csv", model_eval.groups)
        _log_model_figures(logged.measured, logged.final)
        if len(fitted.trials) > 1:
            _log_trials(experiment_id, fitted.trials, fitted.best)
        measured_model = "registered"
        if booster is not fitted.best.booster:  # refit: keep the model the test rows measured
            measured_model = registry.log_split_model(fitted.best.booster)
        metadata = _model_metadata(logged, settings.training, measured_model, groups)
        info = registry.log_booster(booster, features, settings.mlflow.registered_model, metadata)
    return run, info


def _log_baseline_run(experiment_id: str, common: dict[str, str], measured: Measured):
    fitted, base_eval = measured.fitted, measured.baseline
    with mlflow.start_run(experiment_id=experiment_id, run_name="baseline", nested=True) as run:
        mlflow.set_tags(
            {"model_type": "baseline_logistic_regression", "catalog_version": version()}
        )
        registry.log_params(
            {
                **common,
                "model.features": str(len(fitted.baseline_features)),
                "model.reg_param": str(fitted.baseline.stages[-1].getRegParam()),
            }
        )
        mlflow.log_metrics(base_eval.metrics)
        registry.log_json("features.json", {"features": fitted.baseline_features})
        registry.log_figures(
            {
                "precision_recall": plots.pr_curves(
                    {"baseline": base_eval.curve}, base_eval.metrics["test_positive_rate"]
                )
            }
        )
    return run


def train(
    spark: SparkSession,
    settings: Settings,
    experiment: str | None = None,
    promote: bool = False,
    truth_path: str | None = None,
) -> TrainResult:
    """Prepare, fit and measure, compare with the champion, finalise (refit), then log,
    register and promote."""
    cfg, lake = settings.training, Lake.from_settings(settings)
    began = time.monotonic()
    prepared = prepare(spark, lake, settings)
    workers = cfg.num_workers or spark.sparkContext.defaultParallelism
    experiment_id = use_tracking(settings.mlflow, experiment)
    try:
        measured = fit_and_measure(spark, prepared, cfg, workers, truth_path)
        champion = measure_champion(
            MlflowClient(),
            settings.mlflow.registered_model,
            prepared.fold("test"),
            measured.fitted.best.booster,
        )
        final = finalise(prepared, measured, settings, workers)
    finally:
        prepared.folds.unpersist()
    common = _common_params(settings, lake, prepared, workers, measured.oracle is not None)
    logged = Logged(prepared, measured, final, champion, common)
    return log_register_promote(experiment_id, logged, settings, promote, began)


def log_register_promote(
    experiment_id: str, logged: Logged, settings: Settings, promote: bool, began: float
) -> TrainResult:
    """The training's run and its children (XGBoost, registered; the baseline); the new
    version made champion when asked, or automatically when it beats the champion."""
    cfg, measured, prepared = settings.training, logged.measured, logged.prepared
    client, name = MlflowClient(), settings.mlflow.registered_model
    stamp = time.strftime("%Y-%m-%d %H:%M")
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"training {stamp}") as parent:
        mlflow.set_tags({"model_type": "training", "catalog_version": version()})
        registry.log_panel_input(
            logged.common["panel.path"], prepared.panel_version, prepared.features, "training"
        )
        run, info = _log_model_run(experiment_id, logged, settings)
        version_number = str(info.registered_model_version)
        promoted = promote or (cfg.auto_promote and beats(logged.champion))
        registry.set_aliases(client, name, version_number, promoted)
        mlflow.set_tags({"model_version": version_number, "promoted": str(promoted)})
        base_run = _log_baseline_run(experiment_id, logged.common, measured)
        measured.fitted.seconds["total"] = time.monotonic() - began
        mlflow.log_metrics(
            {
                "xgboost_test_aucpr": measured.model.metrics["test_aucpr"],
                "baseline_test_aucpr": measured.baseline.metrics["test_aucpr"],
                "seconds_total": measured.fitted.seconds["total"],
            }
        )
    return TrainResult(
        run.info.run_id,
        base_run.info.run_id,
        version_number,
        promoted,
        logged.champion,
        measured.model.metrics,
        measured.baseline.metrics,
        measured.model.metrics.get("oracle_aucpr"),
        measured.fitted.seconds,
        parent.info.run_id,
    )


def booster_from_registry(name: str, alias: str) -> xgb.Booster:
    return mlflow.xgboost.load_model(f"models:/{name}@{alias}")
