"""Scoring a month: the champion (or any alias) from the MLflow registry, the panel rows
of the period, scores and explanations in the executors, alerts and corrections,
then a MERGE into the score table."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from functools import partial

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io
from common.config import ScoringSettings, Settings
from common.lake import Lake
from common.tracking import use_tracking
from features.catalog import GROUPS
from ingestion import bookkeeping as books
from scoring import alerts, explain, table
from training.predict import booster_bytes, predict

log = logging.getLogger(__name__)
DESCRIPTIVE = ["siret", "siren", "periode", "code_naf", "code_departement", "code_region"]
EXPLANATIONS = (
    "base_score double, "
    "macro_explanation map<string,double>, "
    "micro_explanation array<struct<groupe:string,variable:string,contribution:double>>"
)


class ScoringError(RuntimeError):
    pass


@dataclass(frozen=True)
class Model:
    name: str
    alias: str
    version: str
    run_id: str
    raw: bytes
    features: list[str]
    groups: dict[str, str]
    thresholds: dict[str, float]


@dataclass(frozen=True)
class ScoreRun:
    period: str
    rows: int
    alerts: dict[str, int]
    alerts_before: dict[str, int]
    corrections: dict[str, int]
    model: Model
    panel_version: int
    seconds: float = 0.0  # scoring, explanations, alerts and the MERGE, after the checks

    def lines(self, scores_path: str) -> list[str]:
        """What the run did, for the console."""
        shown = [
            f"scored {self.rows:,} establishments for {self.period} with {self.model.name} "
            f"version {self.model.version} ({self.model.alias}) in {self.seconds:.0f} s "
            "(scores, explanations, alerts, MERGE)"
        ]
        shown += [
            f"  {level:<14} {self.alerts.get(level, 0):>8,}   before corrections "
            f"{self.alerts_before.get(level, 0):>8,}"
            for level in ("risque_fort", "risque_modere", "pas_d_alerte")
        ]
        shown += [f"  correction {n}: {c:,}" for n, c in sorted(self.corrections.items())]
        return [*shown, f"written to {scores_path} (MERGE on siret, periode)"]


def load_model(settings: Settings, alias: str) -> Model:
    use_tracking(settings.mlflow)
    name = settings.mlflow.registered_model
    uri = f"models:/{name}@{alias}"
    try:
        version = MlflowClient().get_model_version_by_alias(name, alias)
        info = mlflow.models.get_model_info(uri)
        booster = mlflow.xgboost.load_model(uri)
    except MlflowException as exc:
        raise ScoringError(
            f"no model registered as {name}@{alias} in {settings.mlflow.tracking_uri}: "
            f"train one first (jobs/train.py) [{exc.error_code}]"
        ) from None
    meta = info.metadata or {}
    if "thresholds" not in meta or "features" not in meta:
        raise ScoringError(
            f"{name} version {version.version} has no thresholds or feature list in its metadata"
        )
    return Model(
        name,
        alias,
        str(version.version),
        version.run_id,
        booster_bytes(booster),
        meta["features"],
        meta["groups"],
        meta["thresholds"],
    )


def explanations(
    out: pd.DataFrame,
    contributions: np.ndarray,
    bias: np.ndarray,
    score: np.ndarray,
    features: list[str],
    groups: dict[str, str],
    top: int,
) -> pd.DataFrame:
    """Macro (per group) and micro (largest variables per group) explanations of a batch."""
    names = [g for g in GROUPS if g in set(groups.values())]
    membership = explain.group_matrix(features, groups, names)
    values = explain.rescaled(contributions, bias, score)
    per_group = explain.macro(values, membership)
    tops = explain.micro(values, membership, top)
    out["base_score"] = 1.0 / (1.0 + np.exp(-bias))
    out["macro_explanation"] = [dict(zip(names, map(float, row), strict=True)) for row in per_group]
    micro = []
    for i in range(len(out)):
        micro.append(
            [
                {"groupe": g, "variable": features[j], "contribution": float(values[i, j])}
                for gi, g in enumerate(names)
                for j in tops[gi][i]
            ]
        )
    out["micro_explanation"] = micro
    return out


def _batch_id(spark: SparkSession, lake: Lake) -> str:
    runs = books.previous_runs(spark, lake.ingest_runs)
    if runs is None:
        return "unknown"
    latest = runs.agg(F.max("batch_id")).first()[0]
    return latest or "unknown"


def score_period(
    spark: SparkSession,
    settings: Settings,
    period: str,
    alias: str = "champion",
    batch: str | None = None,
) -> ScoreRun:
    """The period's establishments scored by the model ``alias``: scores, alert levels before
    and after the expert corrections, explanations; merged into ``gold/scores``."""
    lake, cfg = Lake.from_settings(settings), settings.scoring
    day = f"{period}-01"
    model = load_model(settings, alias)
    rows, panel_version = period_rows(spark, lake, period, model.features)
    began = time.monotonic()
    scored = scored_rows(rows, model, cfg)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    result = scored.select(
        "siret",
        "siren",
        "periode",
        "score",
        "alert",
        "alert_before_corrections",
        "corrections",
        "base_score",
        "macro_explanation",
        "micro_explanation",
        F.lit(model.thresholds["risque_fort"]).alias("threshold_fort"),
        F.lit(model.thresholds["risque_modere"]).alias("threshold_modere"),
        "code_naf",
        "code_departement",
        "code_region",
        F.lit(model.name).alias("model_name"),
        F.lit(model.version).alias("model_version"),
        F.lit(model.run_id).alias("mlflow_run_id"),
        F.lit(panel_version).cast("long").alias("panel_delta_version"),
        F.lit(batch or _batch_id(spark, lake)).alias("batch_id"),
        F.lit(now).cast("timestamp").alias("scored_at"),
    )
    table.merge_period(spark, lake.scores, result, day)
    seconds = time.monotonic() - began
    return counted(spark, lake, period, model, panel_version, seconds)


def period_rows(
    spark: SparkSession, lake: Lake, period: str, features: list[str]
) -> tuple[DataFrame, int]:
    """The panel's rows of the period, at the panel's latest version (returned, to be recorded);
    a clear error when there is no panel, the period is not in it or the model's variables
    are not."""
    if not delta_io.exists(spark, lake.panel):
        raise ScoringError(f"no panel in {lake.root}: build it first (jobs/panel.py)")
    panel_version = delta_io.latest_version(spark, lake.panel)
    panel = delta_io.read(spark, lake.panel, version=panel_version)  # the version recorded
    rows = panel.where(F.col("periode") == F.lit(f"{period}-01").cast("date"))
    if rows.limit(1).count() == 0:
        span = panel.agg(F.min("periode"), F.max("periode")).first()
        raise ScoringError(
            f"period {period} is not in the panel (panel: {str(span[0])[:7]} to {str(span[1])[:7]})"
        )
    missing = [f for f in features if f not in panel.columns]
    if missing:
        raise ScoringError(
            f"the panel lacks {len(missing)} variables of the model (e.g. {missing[:3]}): "
            "rebuild the panel or retrain"
        )
    return rows, panel_version


def scored_rows(rows: DataFrame, model: Model, cfg: ScoringSettings) -> DataFrame:
    """``rows`` with their score, explanations, alert levels before and after the corrections
    and the corrections applied."""
    flag_columns, rules_as_columns = alerts.flags(cfg.corrections)
    rows = rows.select("*", *flag_columns)
    keep = [*DESCRIPTIVE, *[r.condition for r in rules_as_columns]]
    explainer = partial(
        explanations, features=model.features, groups=model.groups, top=cfg.top_variables
    )
    scored = predict(rows, model.raw, model.features, keep, explain=(EXPLANATIONS, explainer))
    return alerts.leveled(scored, model.thresholds, rules_as_columns)


def counted(
    spark: SparkSession, lake: Lake, period: str, model: Model, panel_version: int, seconds: float
) -> ScoreRun:
    """The period's rows as written: alert counts by level, before and after the corrections,
    and how often each correction applied."""
    written = delta_io.read(spark, lake.scores).where(
        F.col("periode") == F.lit(f"{period}-01").cast("date")
    )
    counts = written.groupBy("alert").count().collect()
    before_counts = written.groupBy("alert_before_corrections").count().collect()
    applied_counts = (
        written.select(F.explode("corrections").alias("c")).groupBy("c").count().collect()
    )
    return ScoreRun(
        period,
        sum(r["count"] for r in counts),
        {r["alert"]: r["count"] for r in counts},
        {r[0]: r["count"] for r in before_counts},
        {r["c"]: r["count"] for r in applied_counts},
        model,
        panel_version,
        seconds,
    )
