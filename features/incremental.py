"""The incremental panel: which months a new bronze state requires, the targets of the
earlier months, and the record of each run (``<lake>/ops/panel_runs``).

A run compares the silver tables it has just written with those of the last run that left
the whole panel current (a full or incremental run, versions recorded in ``panel_runs``):
- the months from the earliest changed input month to the last month are rebuilt
  (features/changes.py says why a change never reaches earlier months' variables);
- before that month, only targets can change: those of the companies whose first opening
  judgment changed, and ``horizon_complet`` of the months whose 18-month horizon the new
  data closes. They are updated in place (a MERGE of the changed rows only).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from delta.tables import DeltaTable
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io, months
from common.config import PanelConfig
from common.lake import Lake
from common.months import index_column
from features.catalog import catalog
from features.changes import MONTHLY, Prints, earliest_changes, judged_companies
from features.compute import PanelSettings
from features.panel import TARGETS, targets
from features.silver import MONTH_INDEX

RUNS_SCHEMA = (
    "run_at timestamp, mode string, first_month string, last_month string, "
    "months_rewritten int, target_rows_updated long, reasons string, data_last_month string, "
    "silver_versions string, panel_version long, settings_key string, seconds double"
)
COMPLETE = ("full", "incremental", "unchanged")  # runs after which every month is current


@dataclass(frozen=True)
class Plan:
    """What a run rewrites: months ``first``..``last`` whole (none when ``first`` is None),
    and, before ``first``, the targets of ``judged`` companies and of the months from
    ``horizon_from`` to ``last - horizon``."""

    mode: str  # full, incremental, range, unchanged
    first: int | None
    last: int
    reasons: dict[str, str] = field(default_factory=dict)
    judged: DataFrame | None = None
    horizon_from: int | None = None
    fingerprinted: tuple[str, ...] = ()  # silver tables compared by their kept fingerprints

    @property
    def months(self) -> int:
        return 0 if self.first is None else self.last - self.first + 1

    def describe(self) -> str:
        span = "no month" if self.first is None else months.label(self.first)
        if self.first is not None:
            span += f" to {months.label(self.last)}"
        why = "; ".join(f"{k}: {v}" for k, v in self.reasons.items()) or "nothing changed"
        return f"{self.mode}: {span} rewritten ({why})"


def settings_key(cfg: PanelConfig) -> str:
    """What the panel's content depends on besides the data: its settings and catalog."""
    content = cfg.model_dump(exclude={"partitions", "silver_writers", "writer"})
    variables = [(v.name, v.builder, list(v.inputs), list(v.args)) for v in catalog()]
    text = json.dumps([content, variables], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def last_complete_run(spark: SparkSession, lake: Lake) -> dict | None:
    """The latest run after which the whole panel was current (a tiny table)."""
    if not delta_io.exists(spark, lake.panel_runs):
        return None
    rows = (
        delta_io.read(spark, lake.panel_runs)
        .where(F.col("mode").isin(*COMPLETE))
        .orderBy(F.col("run_at").desc())
        .limit(1)
        .collect()
    )
    return rows[0].asDict() if rows else None


def plan_changes(
    spark: SparkSession,
    lake: Lake,
    previous: dict,
    silver: dict[str, DataFrame],
    s: PanelSettings,
    silver_versions: dict[str, int] | None = None,
    prints: Callable[[str, int], Prints | None] | None = None,
) -> Plan:
    """Compare ``silver`` with the silver tables of the ``previous`` run (a table at the
    version that run read, ``silver_versions``, has not changed); a monthly table from the
    fingerprints its two versions keep, when ``prints`` (table, version) finds both."""
    versions = json.loads(previous["silver_versions"])
    same = {n for n, v in (silver_versions or {}).items() if versions.get(n) == v}
    old = {name: delta_io.read(spark, lake.silver(name), versions[name]) for name in silver}
    old_last = months.index(previous["data_last_month"])
    if s.last_index < old_last:
        return Plan("full", s.start_index, s.last_index, {"full": "the data ends earlier"})
    kept = {}
    for name in MONTHLY if prints and silver_versions else ():
        if name not in same:
            pair = (prints(name, versions[name]), prints(name, silver_versions[name]))
            if None not in pair:
                kept[name] = pair
    found = earliest_changes(old, silver, same, kept)
    reasons = {name: f"from {months.label(m)}" for name, m in sorted(found.items())}
    if s.last_index > old_last:
        found["new months"] = old_last + 1
        reasons["new months"] = f"{months.label(old_last + 1)} to {months.label(s.last_index)}"
    first = max(min(found.values()), s.start_index) if found else None
    judged, companies = None, 0
    if "judgments" not in same:
        judged = judged_companies(old["judgments"], silver["judgments"]).cache()
        companies = judged.count()
        if not companies:
            judged = judged.unpersist()
    if companies:
        reasons["judgments"] = f"targets of {companies} companies"
    horizon_from = None
    if s.last_index > old_last:
        horizon_from = old_last - s.horizon_months + 1
        reasons["horizon"] = f"closed for {months.label(horizon_from)} to " + months.label(
            s.last_index - s.horizon_months
        )
    mode = "incremental" if first is not None or companies else "unchanged"
    judged = judged if companies else None
    return Plan(mode, first, s.last_index, reasons, judged, horizon_from, tuple(sorted(kept)))


def changed_targets(
    panel: DataFrame, judgments: DataFrame, plan: Plan, s: PanelSettings
) -> DataFrame:
    """Rows of months before ``plan.first`` whose targets the new data changes, with their
    new targets (keys ``siret``, ``periode``)."""
    month = F.col(MONTH_INDEX)
    before = panel if plan.first is None else panel.where(month < plan.first)
    scope = F.lit(False)
    if plan.horizon_from is not None:
        scope = scope | month.between(plan.horizon_from, s.last_index - s.horizon_months)
    if plan.judged is not None:
        judged = F.broadcast(plan.judged.withColumn("_judged", F.lit(True)))
        before = before.join(judged, "siren", "left")
        scope = scope | F.coalesce(F.col("_judged"), F.lit(False))
    opening = judgments.select(
        "siren", index_column(F.col("date_premiere_ouverture")).alias("_opening")
    )
    rows = before.where(scope).join(F.broadcast(opening), "siren", "left")
    new = targets(month, F.col("_opening"), s)
    differs = [~F.col(name).eqNullSafe(value) for name, value in new.items()]
    changed = differs[0]
    for d in differs[1:]:
        changed = changed | d
    return rows.where(changed).select(
        "siret", "periode", *[value.alias(name) for name, value in new.items()]
    )


def update_targets(spark: SparkSession, path: str, rows: DataFrame, plan: Plan) -> int:
    """MERGE the new targets into the panel; the number of rows updated."""
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)  # counted, then merged: one scan
    count = rows.count()
    if not count:
        rows.unpersist()
        return 0
    scope = "t.siret = s.siret AND t.periode = s.periode"
    if plan.first is not None:
        scope += f" AND t.periode < '{months.first_day(plan.first)}'"
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(rows.alias("s"), scope)
        .whenMatchedUpdate(set={name: f"s.{name}" for name in TARGETS})
        .execute()
    )
    rows.unpersist()
    return count


def record_run(
    spark: SparkSession,
    lake: Lake,
    plan: Plan,
    data_last: int,
    target_rows: int,
    silver_versions: dict[str, int],
    panel_version: int,
    key: str,
    seconds: float,
) -> None:
    row = (
        datetime.now(UTC).replace(tzinfo=None),
        plan.mode,
        None if plan.first is None else months.label(plan.first),
        None if plan.first is None else months.label(plan.last),
        plan.months,
        target_rows,
        json.dumps(plan.reasons, sort_keys=True),
        months.label(data_last),
        json.dumps(silver_versions, sort_keys=True),
        panel_version,
        key,
        seconds,
    )
    frame = spark.createDataFrame([row], RUNS_SCHEMA)
    delta_io.write(frame, lake.panel_runs, mode="append")
