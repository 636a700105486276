"""Monitoring one month: drift of the variables and of the scores against the champion's
reference, the variables' change since the previous month, source and alert counts against
the previous months, and the realised precision of past lists whose 18-month outcome is now
known.

Every measure is an aggregate computed by Spark; only counts per bin, per month or per level
reach the driver (their size does not grow with the number of establishments).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import time
from dataclasses import dataclass
from functools import reduce

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    DoubleType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from common import delta_io, months
from common.config import MonitoringSettings, Settings
from common.lake import Lake
from common.tracking import use_tracking
from features.builders import SECTOR, cumulative_sum
from features.catalog import catalog
from ingestion.current import current_records
from monitoring import drift, reference
from scoring.alerts import LEVELS
from training import registry

log = logging.getLogger(__name__)

# Sources delivered every month, and the date that places a record in a month. The fiscal
# (DGFiP: yearly, by closing date) and register (Sirene stocks) sources are not counted by
# month: their monthly counts are seasonal or cumulative, not a delivery's pulse.
SOURCE_MONTH = {
    "cotisation": "periode_debut",
    "debit": "periode_prise_en_compte",
    "delai": "date_creation",
    "ccsf": "date_traitement",
    "procol": "date_effet",
    "effectif": "periode",
    "effectif_ent": "periode",
    "apdemande": "date_statut",
    "apconso": "periode",
    "judgments": "date_jugement",
}
# Variables that drift by construction, month after month: the calendar month (one value in any
# month) and the months since the fiscal year's close (most close in December). Not monitored.
CALENDAR = ("mois_calendaire", "fin_mois_depuis_cloture")


def watched_on_missing_share() -> frozenset[str]:
    """The variables whose missing share is monitored, not their PSI: their distribution moves
    by construction, and their input is a variable of its own, monitored on both.

    - Standardised within NAF division and month (``*_zscore_secteur``): mean 0 and standard
      deviation 1 in every division and month, so a shift of their input is not theirs to
      show; and the value of a mass point of the input (zero, most often) becomes a different
      number in every division and month, so the deciles of the reference land on such numbers
      and the next month's fall on either side of them: PSI above 5 for months inside the
      reference window itself, on the demo's world.
    - Sums since the establishment's first month in the panel (``*_cumul_total``): each month
      adds a term, and the history lengthens from one month to the next, so an establishment
      there since the history's first month sums 72 months in the history's 72nd against 30 to
      41 in a reference of months 30 to 41, whatever its input does."""
    return frozenset(v.name for v in catalog() if v.builder in (*SECTOR, cumulative_sum.__name__))


KINDS = ("variable", "change", "score", "alerts", "source", "outcome")
MONTHLY = KINDS[:-1]  # the kinds measured for the month itself (outcomes are of past lists)
SHOWN = 15  # variables in alert printed, by PSI
# A PSI is measured only where chance alone would give it at most this share of the watch
# threshold (``drift.chance_psi``): with ten bins, about 180 known values against a large
# reference, 360 in each of two months (at 30 known values in each of two months, 95% of
# pairs drawn from one law pass the alert threshold).
CHANCE_SHARE = 0.5
ALERT_EXIT = 4  # the exit code of a job run with --fail-on-alert when an item is in alert
SCHEMA = StructType(
    [
        StructField("periode", DateType()),  # the monitored month (outcome: the list's month)
        StructField("kind", StringType()),  # one of KINDS
        StructField("item", StringType()),  # variable, source, alert level or measure
        StructField("value", DoubleType()),  # a count, a share or a precision
        StructField("reference", DoubleType()),  # what value is compared with
        StructField("psi", DoubleType()),
        StructField("missing_share", DoubleType()),
        StructField("reference_missing_share", DoubleType()),
        StructField("status", StringType()),  # ok, watch, alert
        StructField("model_version", StringType()),
        StructField("mlflow_run_id", StringType()),
        StructField("computed_at", TimestampType()),
    ]
)


class MonitoringError(RuntimeError):
    pass


@dataclass(frozen=True)
class Monitored:
    items: pd.DataFrame  # the rows written (SCHEMA), for the summary
    run_id: str
    model_version: str
    seconds: float
    reference_months: str  # the months of the rows the reference describes ("YYYY-MM to YYYY-MM")

    def in_alert(self) -> pd.DataFrame:
        return self.items[self.items["status"] == "alert"]

    def lines(self, period: str, model: str, where: str, experiment: str) -> list[str]:
        """What was measured, for the console: the counts by kind, the variables and the
        changes in alert by catalog group, the items in alert (of the variables and of the
        changes, the ``SHOWN`` of highest PSI each), the realised precision of past lists."""
        items = self.items[self.items["kind"] != "outcome"]
        shown = [
            f"monitored {period} against {model} version {self.model_version}'s reference (its "
            f"training rows of {self.reference_months}) in {self.seconds:.0f} s"
        ]
        for kind, group in items.groupby("kind", sort=False):
            counts = group["status"].value_counts()
            shown.append(
                f"  {kind:<9} {len(group):>4} items: {counts.get('alert', 0)} in alert, "
                f"{counts.get('watch', 0)} to watch"
            )
        alerts = self.in_alert()
        per_variable = {
            kind: alerts[alerts["kind"] == kind].sort_values("psi", ascending=False)
            for kind in ("change", "variable")
        }
        for kind, label in (("variable", "variables"), ("change", "changes")):
            if len(per_variable[kind]):
                shown.append(f"  {label} in alert by group: {by_group(per_variable[kind]['item'])}")
        others = alerts[~alerts["kind"].isin(list(per_variable))]
        listed = pd.concat([others, *(p.head(SHOWN) for p in per_variable.values())])
        for r in listed.itertuples():
            detail = (
                f"PSI {r.psi:.3f}" if r.psi == r.psi else f"{r.value:,.0f} vs {r.reference:,.1f}"
            )
            if r.kind in per_variable and r.missing_share == r.missing_share:
                detail += f", missing {r.reference_missing_share:.1%} -> {r.missing_share:.1%}"
            shown.append(f"  ALERT {r.kind} {r.item}: {detail}")
        for kind, rows in per_variable.items():
            if len(rows) > SHOWN:
                shown.append(
                    f"  ... and {len(rows) - SHOWN} more {kind} items in alert (the table, the run)"
                )
        outcomes = self.items[self.items["item"] == "precision_risque_fort"]
        shown += [
            f"  list of {r.periode:%Y-%m}: {r.value:.1%} of its {r.reference:,.0f} risque_fort "
            "companies opened proceedings within 18 months"
            for r in outcomes[outcomes["kind"] == "outcome"].itertuples()
        ]
        return [
            *shown,
            f"written to {where}",
            f"MLflow run {self.run_id} in experiment {experiment} (make mlflow-ui)",
        ]


def reference_months(ref: dict) -> str:
    """The months of the training rows a monitoring reference describes."""
    return f"{ref['first_month']} to {ref['last_month']}"


def exit_code(alerts: int, fail_on_alert: bool) -> int:
    return ALERT_EXIT if alerts and fail_on_alert else 0


def champion_reference(client: MlflowClient, name: str) -> tuple[str, str, dict]:
    """(version, run id, monitoring reference) of the champion model."""
    try:
        version = client.get_model_version_by_alias(name, registry.CHAMPION)
    except mlflow.exceptions.MlflowException as exc:
        raise MonitoringError(
            f"no champion model {name!r} in the MLflow store: train one first (jobs/train.py)"
        ) from exc
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=reference.ARTIFACT, dst_path=tmp
            )
        except Exception as exc:  # an older model, trained before references were stored
            raise MonitoringError(
                f"the champion {name} version {version.version} has no monitoring reference "
                f"({reference.ARTIFACT}): it was trained before monitoring existed; retrain "
                "(jobs/train.py) and promote the new version"
            ) from exc
        with open(path) as f:
            return str(version.version), version.run_id, json.load(f)


def by_group(variables: pd.Series) -> str:
    """ "social_debt 174, partial_activity 97, ...": variables counted by their catalog group,
    most first (a crisis shows as two groups; a format change, as one source's)."""
    groups = {v.name: v.group for v in catalog()}
    counts = variables.map(lambda name: groups.get(name, "other")).value_counts()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))  # ties by name
    return ", ".join(f"{group} {n}" for group, n in ranked)


def monitored_variables(ref: dict) -> dict:
    """The reference's variables that are monitored (``CALENDAR`` apart)."""
    return {v: d for v, d in ref["variables"].items() if v not in CALENDAR}


def variable_changes_from(
    variables: dict, previous: pd.DataFrame, current: pd.DataFrame, cfg: MonitoringSettings
) -> pd.DataFrame:
    """One row per reference variable (kind ``change``): the month against the previous month,
    both counted in the reference's bins (``drift.bin_counts``), with the same thresholds.

    Against the reference a variable shows everything that moved since the training window,
    which ends at least the label's horizon before the month scored: after a crisis, hundreds
    of variables stay in alert month after month. Against the previous month it shows what
    moved this month: a source whose format changed, a shock as it starts."""
    before = reference.tally(previous, {v: d["edges"] for v, d in variables.items()})
    out = variable_drift_from(before, current, cfg)
    out["kind"] = "change"
    return out


def variable_drift_from(
    variables: dict, current: pd.DataFrame, cfg: MonitoringSettings
) -> pd.DataFrame:
    """One row per reference variable (kind ``variable``): PSI, missing shares and status of
    the month's counts (``drift.bin_counts`` in the reference's bins) against the reference's."""
    out = drift.compare(
        variables, current, cfg.min_count, watched_on_missing_share(), CHANCE_SHARE * cfg.psi_watch
    )
    out["kind"] = "variable"
    psi_status = out["psi"].map(drift.Thresholds(cfg.psi_watch, cfg.psi_alert).status)
    missing = (out["missing_share"] - out["reference_missing_share"]).abs()
    missing_status = missing.map(drift.Thresholds(cfg.missing_watch, cfg.missing_alert).status)
    out["status"] = worst(psi_status, missing_status)
    out["value"], out["reference"] = out["rows"].astype(float), out["reference_rows"].astype(float)
    return out


def worst(*statuses: pd.Series) -> pd.Series:
    rank = pd.concat([s.map(drift.STATUSES.index) for s in statuses], axis=1).max(axis=1)
    return rank.map(lambda r: drift.STATUSES[int(r)])


def score_drift(current: pd.DataFrame, ref: dict, cfg: MonitoringSettings) -> pd.DataFrame:
    """The PSI of the month's score distribution (``bin_counts`` under the reference's score
    edges) against the reference's."""
    out = drift.compare(
        {reference.SCORE: ref["score"]}, current, cfg.min_count, (), CHANCE_SHARE * cfg.psi_watch
    )
    out["kind"] = "score"
    out["item"] = "score_distribution"
    out["status"] = out["psi"].map(drift.Thresholds(cfg.psi_watch, cfg.psi_alert).status)
    out["value"], out["reference"] = out["rows"].astype(float), out["reference_rows"].astype(float)
    return out


def count_changes(
    counts: pd.DataFrame,
    month: int,
    kind: str,
    items: list[str],
    cfg: MonitoringSettings,
    only_counted_months: bool = False,
) -> pd.DataFrame:
    """Each item's count at ``month`` against the mean of its counts over the previous months.

    ``counts`` has columns item, month_index, rows. A month without a row counts zero (a source
    that stopped), or, with ``only_counted_months``, is not compared with (a month that was
    never scored). The status is on the relative change, and only when the previous mean
    reaches ``min_count``."""
    thresholds = drift.Thresholds(cfg.count_watch, cfg.count_alert)
    previous = range(month - cfg.previous_months, month)
    if only_counted_months:
        previous = [m for m in previous if m in set(counts["month_index"])]
    rows = []
    for item in items:
        mine = counts[counts["item"] == item].groupby("month_index")["rows"].sum()
        value = float(mine.get(month, 0))
        before = [float(mine.get(m, 0)) for m in previous]
        mean = float(np.mean(before)) if before else float("nan")
        change = abs(value / mean - 1) if mean >= cfg.min_count else float("nan")
        rows.append(
            {
                "kind": kind,
                "item": item,
                "value": value,
                "reference": mean,
                "status": thresholds.status(change),
            }
        )
    return pd.DataFrame(rows)


def source_counts(spark: SparkSession, lake: Lake, first: int, last: int) -> pd.DataFrame:
    """Current bronze records per monthly source and month, months ``first`` .. ``last``."""
    frames = []
    for source, column in SOURCE_MONTH.items():
        if not delta_io.exists(spark, lake.bronze(source)):
            continue
        month = months.index_column(F.col(column))
        recent = delta_io.read(spark, lake.bronze(source)).where(month.between(first, last))
        frames.append(
            current_records(recent, source)
            .groupBy(month.alias("month_index"))
            .count()
            .withColumn("item", F.lit(source))
        )
    if not frames:
        return pd.DataFrame(columns=["item", "month_index", "rows"])
    union = reduce(DataFrame.unionByName, frames)
    return union.withColumnRenamed("count", "rows").toPandas()  # sources x months


def alert_counts(scores: DataFrame, first: int, last: int) -> pd.DataFrame:
    """Scored establishments per alert level and month, months ``first`` .. ``last``."""
    month = months.index_column(F.col("periode"))
    return (
        scores.where(month.between(first, last))
        .groupBy(F.col("alert").alias("item"), month.alias("month_index"))
        .agg(F.count(F.lit(1)).alias("rows"))
        .toPandas()
    )


def realised_precision(
    scores: DataFrame, openings: DataFrame, last_month: int, horizon: int
) -> pd.DataFrame:
    """Per scored month whose outcome window (the next ``horizon`` months) is complete by
    ``last_month``: the share of the companies on the ``risque_fort`` list, and on the
    ``risque_fort`` + ``risque_modere`` list, whose first opening judgment fell in that window.

    ``scores``: siren, periode, alert; ``openings``: siren, date_premiere_ouverture."""
    month = months.index_column(F.col("periode"))
    complete = scores.where(month + horizon <= last_month)
    level = F.array_position(F.array(*[F.lit(x) for x in LEVELS]), F.col("alert")) - 1
    version = F.col("model_version") if "model_version" in scores.columns else F.lit(None)
    complete = complete.withColumn("model_version", version.cast("string"))
    companies = complete.groupBy("siren", "periode").agg(
        F.max(level).alias("level"), F.max("model_version").alias("model_version")
    )
    opened = months.index_column(F.col("date_premiere_ouverture"))
    flagged = companies.join(openings, "siren", "left").withColumn(
        "failed", ((opened > month) & (opened <= month + horizon)).cast("int")
    )
    fort, list2 = len(LEVELS) - 1, len(LEVELS) - 2
    stats = (
        flagged.groupBy("periode")
        .agg(
            F.sum((F.col("level") >= fort).cast("int")).alias("n_fort"),
            F.sum(F.when(F.col("level") >= fort, F.coalesce("failed", F.lit(0)))).alias("ok_fort"),
            F.sum((F.col("level") >= list2).cast("int")).alias("n_both"),
            F.sum(F.when(F.col("level") >= list2, F.coalesce("failed", F.lit(0)))).alias("ok_both"),
            F.max("model_version").alias("model_version"),
        )
        .toPandas()  # one row per scored month
    )
    rows = []
    for r in stats.itertuples():
        for item, hits, size in (
            ("precision_risque_fort", r.ok_fort, r.n_fort),
            ("precision_risque_fort_ou_modere", r.ok_both, r.n_both),
        ):
            rows.append(
                {
                    "periode": r.periode,
                    "kind": "outcome",
                    "item": item,
                    "value": float(hits) / size if size else float("nan"),
                    "reference": float(size),
                    "status": "ok",
                    "model_version": r.model_version,  # the version that made the list
                }
            )
    columns = ["periode", "kind", "item", "value", "reference", "status", "model_version"]
    return pd.DataFrame(rows, columns=columns)


def _table(items: pd.DataFrame, period: dt.date, version: str, run_id: str) -> pd.DataFrame:
    out = items.copy()
    # outcome rows carry their list's month and model version; the month's items, this run's
    for column, default in (("periode", period), ("model_version", version)):
        given = out[column] if column in out else pd.Series(None, index=out.index, dtype=object)
        out[column] = given.where(given.notna(), default)
    out["mlflow_run_id"] = run_id
    out["computed_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    for field in SCHEMA.fields:
        if field.name not in out:
            out[field.name] = np.nan if isinstance(field.dataType, DoubleType) else None
    return out[[f.name for f in SCHEMA.fields]]


def _python(value):
    """A table cell as Spark takes it: NaN as null, pandas timestamps as datetimes."""
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def write(spark: SparkSession, path: str, table: pd.DataFrame, period: dt.date) -> None:
    """The month's items and every outcome row, in one commit (a rerun replaces them)."""
    rows = [tuple(map(_python, r)) for r in table.itertuples(index=False)]
    frame = spark.createDataFrame(rows, SCHEMA)
    where = f"(periode = DATE'{period}' AND kind <> 'outcome') OR kind = 'outcome'"
    if delta_io.exists(spark, path):
        delta_io.write(frame, path, replace_where=where)
    else:
        delta_io.write(frame, path)


def monitor(
    spark: SparkSession, settings: Settings, period: str, experiment: str | None = None
) -> Monitored:
    """Measure ``period`` (YYYY-MM), write ``ops/monitoring`` and an MLflow run."""
    began = time.monotonic()
    cfg, lake = settings.monitoring, Lake.from_settings(settings)
    month, day = months.index(period), dt.date.fromisoformat(f"{period}-01")
    mlflow_experiment = use_tracking(settings.mlflow, experiment or cfg.experiment)
    version, model_run, ref = champion_reference(MlflowClient(), settings.mlflow.registered_model)
    if not delta_io.exists(spark, lake.panel):
        raise MonitoringError(f"no panel at {lake.panel}: build it first (jobs/panel.py)")
    panel_version = delta_io.latest_version(spark, lake.panel)  # pinned: logged with the run
    panel = delta_io.read(spark, lake.panel, version=panel_version)
    panel_month = panel.where(F.col("periode") == F.lit(day))
    if panel_month.limit(1).count() == 0:
        raise MonitoringError(f"the panel has no row for {period}: build it (jobs/panel.py)")
    last = panel.agg(F.max("month_index")).first()[0]

    variables = monitored_variables(ref)
    edges = {v: d["edges"] for v, d in variables.items()}
    current = drift.bin_counts(panel_month, edges)
    parts = [variable_drift_from(variables, current, cfg)]
    previous_day = dt.date.fromisoformat(months.first_day(month - 1))
    previous = drift.bin_counts(panel.where(F.col("periode") == F.lit(previous_day)), edges)
    if len(previous):  # no counts: the panel has no row that month
        parts.append(variable_changes_from(variables, previous, current, cfg))
    else:
        log.warning("the panel has no row for %s: no change since the previous month", previous_day)
    history = pd.DataFrame(columns=["item", "month_index", "rows"])
    scores = delta_io.read(spark, lake.scores) if delta_io.exists(spark, lake.scores) else None
    scores_month = scores.where(F.col("periode") == F.lit(day)) if scores is not None else None
    score_bins = pd.DataFrame(columns=["variable", "bin", "rows"])
    if scores_month is not None and scores_month.limit(1).count():
        score_bins = drift.bin_counts(scores_month, {reference.SCORE: ref["score"]["edges"]})
        parts.append(score_drift(score_bins, ref, cfg))
        history = alert_counts(scores, month - max(cfg.previous_months, 24), month)
        parts.append(count_changes(history, month, "alerts", list(LEVELS), cfg, True))
    else:
        log.warning("no scores for %s in %s: score and alert items skipped", period, lake.scores)
    sources = source_counts(spark, lake, month - cfg.previous_months, month)
    parts.append(count_changes(sources, month, "source", sorted(SOURCE_MONTH), cfg))
    if scores is not None and delta_io.exists(spark, lake.silver("judgments")):
        openings = delta_io.read(spark, lake.silver("judgments"))
        parts.append(realised_precision(scores, openings, last, settings.panel.horizon_months))
    items = pd.concat([p for p in parts if len(p)], ignore_index=True)

    with mlflow.start_run(experiment_id=mlflow_experiment, run_name=f"monitoring {period}") as run:
        table = _table(items, day, version, run.info.run_id)
        mlflow.log_param("panel.delta_version", str(panel_version))
        _log_run(table, period, version, model_run, ref, history, score_bins, cfg)
    write(spark, lake.monitoring, table, day)
    return Monitored(
        table, run.info.run_id, version, time.monotonic() - began, reference_months(ref)
    )


def _log_run(
    table: pd.DataFrame,
    period: str,
    version: str,
    model_run: str,
    ref: dict,
    history: pd.DataFrame,
    score_bins: pd.DataFrame,
    cfg: MonitoringSettings,
) -> None:
    from monitoring import plots

    months_described = reference_months(ref)
    mlflow.set_tags({"model_type": "monitoring", "period": period})
    registry.log_params(
        {
            "period": period,
            "model.version": version,
            "model.run_id": model_run,
            "reference.rows": str(ref["rows"]),
            "reference.months": months_described,
            **{f"config.monitoring.{k}": str(v) for k, v in cfg.model_dump().items()},
        }
    )
    month_rows = table[table["kind"] != "outcome"]
    metrics = {
        f"{kind}_{status}": float(((month_rows.kind == kind) & (month_rows.status == status)).sum())
        for kind in MONTHLY
        for status in ("watch", "alert")
    }
    variables = month_rows[month_rows["kind"] == "variable"]
    metrics["variable_psi_max"] = float(variables["psi"].max())
    changes = month_rows[month_rows["kind"] == "change"]
    if len(changes):
        metrics["change_psi_max"] = float(changes["psi"].max())
    scored = month_rows[month_rows["kind"] == "score"]
    if len(scored):
        metrics["score_psi"] = float(scored["psi"].iloc[0])
    for r in month_rows[month_rows["kind"] == "alerts"].itertuples():
        metrics[f"alerts_{r.item}"] = r.value
    mlflow.log_metrics({k: v for k, v in metrics.items() if not np.isnan(v)})
    registry.log_table("monitoring.csv", table.drop(columns=["mlflow_run_id"]))
    against = f"training rows {months_described}"
    figures = {
        "top_drifting_variables": lambda: plots.top_variables(variables, cfg, months=against)
    }
    if len(changes):
        previous = f"the previous month ({months.label(months.index(period) - 1)})"
        figures["top_changing_variables"] = lambda: plots.top_variables(
            changes, cfg, months=previous
        )
    if len(scored):
        figures["score_distribution"] = lambda: plots.score_distribution(
            ref["score"], score_bins, against
        )
    if len(history):
        figures["alert_counts"] = lambda: plots.alert_counts(history)
    registry.log_figures(figures)
