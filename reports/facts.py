"""What a run report shows, read from the lake as small aggregates: per file and per rule of a
batch, per month of the panel, per alert level of a period, per monitoring status. Each result
is bounded by the number of files, rules, months, levels or items, never by the data's size;
no identifier, name or amount is read into it."""

from __future__ import annotations

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from common import delta_io
from common.lake import Lake

FILE_COLUMNS = (
    "source_file",
    "source",
    "status",
    "message",
    "lines_read",
    "lines_accepted",
    "lines_quarantined",
    "lines_skipped",
    "records_written",
    "records_quarantined",
)
RULE_COLUMNS = (
    "source",
    "expectation",
    "description",
    "severity",
    "success",
    "element_count",
    "unexpected_count",
)


def _latest_of_batch(spark: SparkSession, path: str, batch: str, stamp: str) -> list[dict]:
    if not delta_io.exists(spark, path):
        return []
    rows = delta_io.read(spark, path).where(F.col("batch_id") == batch)
    latest = rows.agg(F.max(stamp)).first()[0]
    return [r.asDict() for r in rows.where(F.col(stamp) == F.lit(latest)).collect()]


def batch_files(spark: SparkSession, lake: Lake, batch: str) -> list[dict]:
    """The files of the batch's last ingest, as ``ops/ingest_runs`` records them."""
    rows = _latest_of_batch(spark, lake.ingest_runs, batch, "committed_at")
    return sorted(
        ({k: r.get(k) for k in FILE_COLUMNS} for r in rows), key=lambda r: r["source_file"]
    )


def batch_rules(spark: SparkSession, lake: Lake, batch: str) -> list[dict]:
    """The data-quality outcomes of the batch's last validation (``ops/dq_results``)."""
    rows = _latest_of_batch(spark, lake.dq_results, batch, "validated_at")
    return sorted(
        ({k: r.get(k) for k in RULE_COLUMNS} for r in rows),
        key=lambda r: (r["source"], r["expectation"], r["description"] or ""),
    )


def quarantine_reasons(spark: SparkSession, lake: Lake, batch: str, top: int = 3) -> dict:
    """Per file of the batch, its ``top`` most frequent reasons for lines not accepted as they
    are: ``{file: [(disposition, reason, lines), ...]}`` (reasons name a column and a rule,
    never a value)."""
    if not delta_io.exists(spark, lake.quarantine):
        return {}
    counts = (
        delta_io.read(spark, lake.quarantine)
        .where(F.col("batch_id") == batch)
        .groupBy("source_file", "disposition", "reason")
        .agg(F.count(F.lit(1)).alias("lines"))
    )
    rank = F.row_number().over(
        Window.partitionBy("source_file").orderBy(F.desc("lines"), "disposition", "reason")
    )
    kept = counts.withColumn("rank", rank).where(F.col("rank") <= top)
    out: dict[str, list[tuple[str, str, int]]] = {}
    for r in kept.orderBy("source_file", "rank").collect():
        out.setdefault(r["source_file"], []).append((r["disposition"], r["reason"], r["lines"]))
    return out


def panel_months(spark: SparkSession, lake: Lake) -> list[dict]:
    """Per month of the panel: establishments, rows whose label is known (their horizon has
    closed: ``horizon_complet``), and positive labels among those."""
    if not delta_io.exists(spark, lake.panel):
        return []
    known = F.coalesce(F.col("horizon_complet"), F.lit(False))
    months = (
        delta_io.read(spark, lake.panel)
        .groupBy("periode")
        .agg(
            F.count(F.lit(1)).alias("establishments"),
            F.sum(known.cast("int")).alias("labelled"),
            F.sum(F.when(known, F.col("cible"))).alias("positives"),
        )
        .orderBy("periode")
    )
    return [
        {
            "month": r["periode"].strftime("%Y-%m"),
            "establishments": r["establishments"],
            "labelled": int(r["labelled"] or 0),
            "positives": int(r["positives"] or 0),
        }
        for r in months.collect()
    ]


def period_alerts(spark: SparkSession, lake: Lake, period: str) -> dict:
    """The period's alert counts by level, before and after corrections, and the corrections
    applied (``{"after": {...}, "before": {...}, "corrections": {...}}``)."""
    if not delta_io.exists(spark, lake.scores):
        return {}
    day = F.lit(f"{period}-01").cast("date")
    scores = delta_io.read(spark, lake.scores).where(F.col("periode") == day)
    pairs = scores.groupBy("alert", "alert_before_corrections").count().collect()
    after: dict[str, int] = {}
    before: dict[str, int] = {}
    for r in pairs:
        after[r["alert"]] = after.get(r["alert"], 0) + r["count"]
        key = r["alert_before_corrections"]
        before[key] = before.get(key, 0) + r["count"]
    applied = scores.select(F.explode("corrections").alias("c")).groupBy("c").count().collect()
    return {"after": after, "before": before, "corrections": {r["c"]: r["count"] for r in applied}}


def period_monitoring(spark: SparkSession, lake: Lake, period: str, shown: int = 15) -> dict:
    """The period's monitoring items: counts by kind and status, and the items in alert (a
    variable, a change, a source, the score, an alert level: names, never values); what moved
    this month first (changes, sources, scores, alerts), then the variables' drift since the
    training window, by PSI."""
    if not delta_io.exists(spark, lake.monitoring):
        return {}
    day = F.lit(f"{period}-01").cast("date")
    items = delta_io.read(spark, lake.monitoring).where(
        (F.col("periode") == day) & (F.col("kind") != "outcome")
    )
    counts = items.groupBy("kind", "status").count().collect()
    alerts = (
        items.where(F.col("status") == "alert")
        .orderBy(F.col("kind") == "variable", F.desc_nulls_last("psi"), "kind", "item")
        .select("kind", "item", "psi")
        .limit(shown)
        .collect()
    )
    return {
        "counts": sorted((r["kind"], r["status"], r["count"]) for r in counts),
        "alerts": [(r["kind"], r["item"], r["psi"]) for r in alerts],
    }
