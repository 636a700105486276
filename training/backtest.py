"""Walk-forward backtest: the lists the pipeline would have given at past months, against what
happened next.

For each cut-off month ``c``: XGBoost and the baseline are trained, as ``jobs/train.py``
trains them, on what was knowable at the end of ``c``: panel rows of months ``m`` with
``m + horizon <= c`` (their label window has closed), strong signals excluded, thresholds
chosen on a validation share of companies (and, with ``training.refit``, XGBoost refit on
all those rows). Every establishment of the population at ``c`` is then scored, with its
alert and the expert corrections as ``jobs/score.py`` writes them, and each model's
company-level list (``training/lists.py``) is measured against the first opening judgments
of ``c+1 .. c+horizon``.

Results: ``<lake>/gold/backtest`` (one row per cut-off and model),
``<lake>/gold/backtest_companies`` (one row per cut-off, model and company: what each list
held, for later analysis), an MLflow parent run with one child run per cut-off, and plots.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

import mlflow
import xgboost as xgb
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io, months
from common.config import Settings, flatten
from common.lake import Lake
from common.tracking import use_tracking
from features.catalog import model_features, reference_set, version
from scoring import alerts
from training import lists, plots, registry
from training.fitting import Fitted, fit_pair, refit
from training.models import baseline_scores, with_company_weights
from training.predict import booster_bytes, predict
from training.split import assign_validation, check_cutoffs, cutoff_schedule, knowable_at

log = logging.getLogger(__name__)

MODELS = ("xgboost", "baseline")
TABLE_SCHEMA = (
    "cutoff date, model string, backtest_run_id string, mlflow_run_id string, "
    "panel_delta_version long, catalog_version string, train_last_month date, "
    "train_rows long, train_positives long, trees int, threshold_fort double, "
    "threshold_modere double, companies long, positives long, aucpr double, roc_auc double, "
    "fort_size long, fort_precision double, fort_recall double, alert_size long, "
    "alert_precision double, alert_recall double, fort_size_before_corrections long, "
    "fort_precision_before_corrections double, precision_at_100 double, "
    "precision_at_1pct double, reference_size long, precision_at_reference_size double, "
    "median_lead_months double, churn_fort double, churn_alert double, created_at timestamp"
)
MEASURES = (
    "aucpr",
    "roc_auc",
    "fort_precision",
    "fort_recall",
    "alert_precision",
    "alert_recall",
    "precision_at_100",
    "precision_at_1pct",
    "precision_at_reference_size",
    "median_lead_months",
    "churn_fort",
    "churn_alert",
    "fort_size",
    "alert_size",
    "companies",
    "positives",
    "fort_size_before_corrections",
    "fort_precision_before_corrections",
)
LIST_MEASURES = (  # measures of a list: none for the oracle, which only ranks
    "fort_size",
    "fort_precision",
    "fort_recall",
    "alert_size",
    "alert_precision",
    "alert_recall",
    "median_lead_months",
    "fort_size_before_corrections",
    "fort_precision_before_corrections",
)
POPULATION_KEEP = ["siret", "siren", "cible", "signal_fort", "date_premiere_ouverture"]


@dataclass
class Cutoff:
    """One cut-off's models, lists and table rows."""

    month: int
    run_id: str
    fitted: Fitted
    booster: xgb.Booster
    train_rows: int
    train_positives: int
    lists: dict[str, DataFrame] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    leads: dict[str, dict[int, int]] = field(default_factory=dict)


@dataclass
class Backtest:
    run_id: str
    experiment_id: str
    panel_version: int
    cutoffs: list[Cutoff]

    @property
    def rows(self) -> list[dict]:
        return [r for c in self.cutoffs for r in c.rows]


def plan(
    spark: SparkSession, panel: DataFrame, settings: Settings, first: str, last: str, every: int
) -> list[int]:
    """The cut-offs asked for, checked against the panel's months."""
    span = panel.agg(F.min("month_index"), F.max("month_index")).first()
    if span[0] is None:
        raise ValueError("the panel is empty: build it first (jobs/panel.py)")
    cutoffs = cutoff_schedule(months.index(first), months.index(last), every)
    check_cutoffs(
        cutoffs,
        span[0],
        span[1],
        settings.panel.horizon_months,
        settings.training.min_train_months,
    )
    return cutoffs


def knowable_rows(panel: DataFrame, cutoff: int, settings: Settings) -> DataFrame:
    """Training and validation rows of a cut-off (``fold``), read no further than they can be."""
    horizon = settings.panel.horizon_months
    last = F.lit(months.first_day(cutoff - horizon)).cast("date")
    rows = panel.where(F.col("periode") <= last).where(knowable_at(cutoff, horizon))
    cfg = settings.training
    rows = assign_validation(rows, cfg.validation_share, cfg.seed).select(
        *model_features(), "siret", "siren", "periode", "cible", "fold"
    )
    return with_company_weights(rows) if cfg.company_weights else rows


def population_lists(
    panel: DataFrame,
    cutoff: int,
    settings: Settings,
    booster: xgb.Booster,
    fitted: Fitted,
    truth: DataFrame | None,
) -> dict[str, DataFrame]:
    """Each model's company-level list at the cut-off (persisted: they are reused)."""
    features = model_features()
    day = F.lit(months.first_day(cutoff)).cast("date")
    flag_columns, rules = alerts.flags(settings.scoring.corrections)
    rows = panel.where(F.col("periode") == day).select("*", *flag_columns)
    keep = [*POPULATION_KEEP, *[r.condition for r in rules]]
    scored = {
        "xgboost": alerts.leveled(
            predict(rows, booster_bytes(booster), features, keep), fitted.thresholds, rules
        ),
        "baseline": alerts.leveled(
            baseline_scores(fitted.baseline, rows, keep), fitted.baseline_thresholds, rules
        ),
    }
    if truth is not None:
        oracle = rows.select(*POPULATION_KEEP).join(
            truth.where(F.col("month") == day).select("siren", F.col("probability").alias("score")),
            "siren",
            "inner",
        )
        no_list = F.lit(None).cast("string")
        scored["oracle"] = oracle.withColumn("alert", no_list).withColumn(
            "alert_before_corrections", no_list
        )
    return {
        model: lists.companies(frame, cutoff).persist(StorageLevel.MEMORY_AND_DISK)
        for model, frame in scored.items()
    }


def table_row(
    model: str,
    cut: Cutoff,
    measures: lists.ListMeasures,
    reference_size: int,
    reference_precision: float | None,
    churn: tuple[float | None, float | None],
    context: dict,
) -> dict:
    thresholds = {
        "xgboost": cut.fitted.thresholds,
        "baseline": cut.fitted.baseline_thresholds,
    }.get(model)
    row = {
        **context,
        "cutoff": dt.date.fromisoformat(months.first_day(cut.month)),
        "model": model,
        "mlflow_run_id": cut.run_id,
        "train_rows": cut.train_rows,
        "train_positives": cut.train_positives,
        "trees": cut.booster.num_boosted_rounds() if model == "xgboost" else None,
        "threshold_fort": thresholds["risque_fort"] if thresholds else None,
        "threshold_modere": thresholds["risque_modere"] if thresholds else None,
        **measures.as_dict(),
        "reference_size": reference_size,
        "precision_at_reference_size": reference_precision,
        "churn_fort": churn[0],
        "churn_alert": churn[1],
    }
    if model == "oracle":  # the oracle ranks; it has no thresholds, hence no list
        for key in LIST_MEASURES:
            row[key] = None
    return row


def measure_cutoff(cut: Cutoff, previous: Cutoff | None, context: dict) -> None:
    """The table rows of a cut-off: every model's list measures."""
    reference_size = 0
    for model, frame in cut.lists.items():
        measured = lists.measures(frame)
        if model == "xgboost":
            reference_size = measured.fort_size
        before = previous.lists.get(model) if previous else None
        churn = (
            (lists.churn(frame, before, "fort"), lists.churn(frame, before, "alert"))
            if model != "oracle"
            else (None, None)
        )
        at_size = lists.precision_at(frame, reference_size) if reference_size else None
        cut.rows.append(table_row(model, cut, measured, reference_size, at_size, churn, context))
        if model != "oracle":
            cut.leads[model] = lists.lead_distribution(frame)


def train_at(
    spark: SparkSession, panel: DataFrame, cutoff: int, settings: Settings, workers: int
) -> tuple[Fitted, xgb.Booster, int, int]:
    """Both models trained on what was knowable at the cut-off."""
    cfg = settings.training
    rows = knowable_rows(panel, cutoff, settings).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        folds = rows.groupBy("fold").agg(F.count(F.lit(1)).alias("n"), F.sum("cible").alias("p"))
        by_fold = {r["fold"]: r for r in folds.collect()}  # one row per fold: one Spark action
        positives = {fold: r["p"] for fold, r in by_fold.items()}
        stats = {k: sum(r[k] or 0 for r in by_fold.values()) for k in ("n", "p")}
        empty = [f for f in ("train", "validation") if not positives.get(f)]
        if empty:
            raise ValueError(
                f"cut-off {months.label(cutoff)}: no positive row in {', '.join(empty)} among the "
                "knowable rows: the panel is too short or too small for this cut-off"
            )
        train, validation = (rows.where(F.col("fold") == f) for f in ("train", "validation"))
        fitted = fit_pair(train, validation, model_features(), reference_set(), cfg, workers)
        booster = fitted.best.booster
        if cfg.refit:
            booster = refit(
                rows.drop("fold"), model_features(), cfg, workers, fitted.best, int(stats["n"])
            )
    finally:
        rows.unpersist()
    return fitted, booster, int(stats["n"]), int(stats["p"] or 0)


def _log_cutoff(cut: Cutoff) -> None:
    """Parameters and the XGBoost model of a cut-off, on its (active) child run."""
    mlflow.set_tags({"model_type": "backtest_cutoff", "catalog_version": version()})
    registry.log_params(
        {
            "cutoff": months.label(cut.month),
            "train_rows": str(cut.train_rows),
            "train_positives": str(cut.train_positives),
            "xgboost.trees": str(cut.booster.num_boosted_rounds()),
            **{f"xgboost.{k}": str(v) for k, v in cut.fitted.best.params.items()},
            "baseline.features": str(len(cut.fitted.baseline_features)),
        }
    )
    mlflow.xgboost.log_model(
        cut.booster, name="model", model_format="ubj", pip_requirements=registry.requirements()
    )


def _log_measures(cut: Cutoff) -> None:
    metrics = {}
    for row in cut.rows:
        for key in MEASURES:
            if row.get(key) is not None:
                metrics[f"{row['model']}_{key}"] = float(row[key])
    mlflow.log_metrics(metrics)


def write_cutoff(spark: SparkSession, lake: Lake, cut: Cutoff) -> None:
    """The cut-off's rows of both tables, replacing any earlier run of the same cut-off."""
    day = months.first_day(cut.month)
    where = f"cutoff = DATE'{day}'"
    table = spark.createDataFrame(cut.rows, TABLE_SCHEMA)
    # mergeSchema: a table written by an earlier release gains the columns added since (null
    # for its cut-offs) instead of refusing the write
    evolve = {"mergeSchema": "true"}
    delta_io.write(
        table, lake.gold("backtest"), mode="overwrite", replace_where=where, properties=evolve
    )
    companies = [
        frame.select(
            F.lit(day).cast("date").alias("cutoff"),
            F.lit(model).alias("model"),
            *lists.COMPANY_COLUMNS,
        )
        for model, frame in cut.lists.items()
    ]
    union = companies[0]
    for frame in companies[1:]:
        union = union.unionByName(frame)
    delta_io.write(
        union,
        lake.gold("backtest_companies"),
        mode="overwrite",
        replace_where=where,
        partition_by=("cutoff",),
        properties=evolve,
    )


def run(
    spark: SparkSession,
    settings: Settings,
    first: str,
    last: str,
    every: int = 3,
    experiment: str | None = None,
    truth_path: str | None = None,
    search: bool = False,
) -> Backtest:
    """The backtest from ``first`` to ``last``; ``training.search``'s trials only with ``search``
    (each cut-off then fits every trial)."""
    if not search:
        training = settings.training.model_copy(update={"search": []})
        settings = settings.model_copy(update={"training": training})
    lake = Lake.from_settings(settings)
    if not delta_io.exists(spark, lake.panel):
        raise ValueError(f"no panel in {lake.root}: build it first (jobs/panel.py)")
    panel_version = delta_io.latest_version(spark, lake.panel)
    panel = delta_io.read(spark, lake.panel, version=panel_version)
    cutoffs = plan(spark, panel, settings, first, last, every)
    truth = None
    if truth_path and delta_io.exists(spark, truth_path):
        truth = delta_io.read(spark, truth_path)
    workers = settings.training.num_workers or spark.sparkContext.defaultParallelism
    experiment_id = use_tracking(
        settings.mlflow, experiment or f"{settings.mlflow.experiment}-backtest"
    )
    context = {"panel_delta_version": panel_version, "catalog_version": version()}
    done: list[Cutoff] = []
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"backtest {first}..{last} every {every}"
    ) as parent:
        mlflow.set_tags({"model_type": "backtest", "catalog_version": version()})
        registry.log_params(
            {
                **{f"config.{k}": v for k, v in flatten(settings).items()},
                "panel.path": lake.panel,
                "panel.delta_version": str(panel_version),
                "backtest.cutoffs": ",".join(months.label(c) for c in cutoffs),
                "backtest.every": str(every),
                "truth.used": str(truth is not None),
                "xgboost.num_workers": str(workers),
            }
        )
        context["backtest_run_id"] = parent.info.run_id
        inputs = CutoffInputs(panel, settings, workers, truth, context)
        for i, cutoff in enumerate(cutoffs, start=1):
            began = time.monotonic()
            log.info("cut-off %s (%d/%d): training", months.label(cutoff), i, len(cutoffs))
            cut = run_cutoff(spark, inputs, cutoff, experiment_id, done[-1] if done else None)
            write_cutoff(spark, lake, cut)
            if done:
                for frame in done[-1].lists.values():
                    frame.unpersist()
            done.append(cut)
            log.info(
                "cut-off %s done in %.0f s (%s)",
                months.label(cutoff),
                time.monotonic() - began,
                ", ".join(f"{r['model']} AUCPR {r['aucpr'] or 0:.3f}" for r in cut.rows),
            )
        result = Backtest(parent.info.run_id, experiment_id, panel_version, done)
        registry.log_figures(plots.backtest_figures(result.rows, result_leads(result)))
    for frame in done[-1].lists.values() if done else ():
        frame.unpersist()
    return result


@dataclass(frozen=True)
class CutoffInputs:
    """What every cut-off of a backtest reads: the panel at its pinned version, the settings,
    the XGBoost workers, the generator's truth (or None) and the table rows' common values."""

    panel: DataFrame
    settings: Settings
    workers: int
    truth: DataFrame | None
    context: dict


def run_cutoff(
    spark: SparkSession,
    inputs: CutoffInputs,
    cutoff: int,
    experiment_id: str,
    previous: Cutoff | None,
) -> Cutoff:
    """One cut-off in a nested MLflow run: both models trained on what was knowable, the
    population scored into company lists, the lists measured against what happened next."""
    settings, label = inputs.settings, months.label(cutoff)
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"cutoff-{label}", nested=True
    ) as child:
        fitted, booster, n, p = train_at(spark, inputs.panel, cutoff, settings, inputs.workers)
        cut = Cutoff(cutoff, child.info.run_id, fitted, booster, n, p)
        _log_cutoff(cut)
        log.info("cut-off %s: scoring and measuring the lists", label)
        cut.lists = population_lists(inputs.panel, cutoff, settings, booster, fitted, inputs.truth)
        train_last = months.first_day(cutoff - settings.panel.horizon_months)
        context = {
            **inputs.context,
            "train_last_month": dt.date.fromisoformat(train_last),
            "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None),
        }
        measure_cutoff(cut, previous, context)
        _log_measures(cut)
    return cut


def result_leads(result: Backtest) -> dict[str, dict[int, int]]:
    """Lead times of the failing companies each model's lists caught, over all cut-offs."""
    total: dict[str, dict[int, int]] = {}
    for cut in result.cutoffs:
        for model, counts in cut.leads.items():
            for lead, n in counts.items():
                total.setdefault(model, {})[lead] = total.get(model, {}).get(lead, 0) + n
    return total
