"""Bronze to silver to gold: reading, writing and reporting around the pure transforms
of features/silver.py and features/panel.py."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io, months
from common.config import PanelConfig
from common.lake import Lake
from common.plans import PlanReport, plan_report
from features import silver as S
from features.compute import PanelSettings
from features.panel import build_panel, gold_schema
from ingestion.current import current_records

log = logging.getLogger(__name__)
SOURCES = (
    "cotisation",
    "debit",
    "delai",
    "ccsf",
    "procol",
    "effectif",
    "effectif_ent",
    "apdemande",
    "apconso",
    "sirene",
    "sirene_ul",
    "declarations_af",
    "declarations_indmap",
    "ratios_dirco",
    "judgments",
)


class MissingInput(RuntimeError):
    pass


class CatalogChanged(RuntimeError):
    """The panel table's columns are not the catalog's: only a full rebuild may follow it."""


@dataclass(frozen=True)
class PanelRun:
    rows: int
    establishments: int
    months: int
    positive_share: float
    strong_share: float
    version: int
    plan: PlanReport
    seconds_silver: float
    seconds_panel: float
    first_month: str
    last_month: str


def read_bronze(spark: SparkSession, lake: Lake) -> dict[str, DataFrame]:
    """The current record of every bronze table."""
    missing = [s for s in SOURCES if not delta_io.exists(spark, lake.bronze(s))]
    if missing:
        raise MissingInput(
            f"no bronze table for {', '.join(missing)} in {lake.root}: "
            "ingest a delivery first (jobs/ingest.py)"
        )
    return {s: current_records(delta_io.read(spark, lake.bronze(s)), s) for s in SOURCES}


def write_silver(
    spark: SparkSession, lake: Lake, bronze: dict[str, DataFrame], lag: int
) -> tuple[dict[str, DataFrame], int]:
    """Compute, write and read back every silver table; return them and the last month."""
    last = S.last_month(bronze["effectif"])
    if last is None:
        raise MissingInput("the bronze headcount table is empty: nothing to build")
    tables = {}
    for name, frame in S.build_all(bronze, lag, last).items():
        began = time.monotonic()
        delta_io.write(frame, lake.silver(name))
        tables[name] = delta_io.read(spark, lake.silver(name))
        log.info("silver/%s written in %.0f s", name, time.monotonic() - began)
    return tables, last


def check_same_catalog(spark: SparkSession, path: str) -> None:
    """Refuse a month-range rebuild of a panel written with another variable catalog: the
    rewritten months would not fit the table (Delta fills a missing column with nulls)."""
    if not delta_io.exists(spark, path):
        return
    changes = delta_io.schema_changes(gold_schema(), delta_io.read(spark, path).schema)
    if changes:
        raise CatalogChanged(
            f"the variable catalog changed since the panel at {path} was written "
            f"({'; '.join(changes)}): a --from/--to rebuild cannot change the table's columns; "
            "rebuild the whole panel (jobs/panel.py without --from/--to)"
        )


def panel_settings(cfg: PanelConfig, last: int) -> PanelSettings:
    return PanelSettings(
        start_index=months.index(cfg.start),
        last_index=last,
        horizon_months=cfg.horizon_months,
        min_employees=cfg.min_employees,
        lookback_months=cfg.lookback_months,
        excluded_naf_sections=tuple(cfg.excluded_naf_sections),
        public_legal_prefixes=tuple(cfg.public_legal_prefixes),
        partitions=cfg.partitions,
    )


def run_panel(
    spark: SparkSession,
    lake: Lake,
    cfg: PanelConfig,
    first: str | None = None,
    last: str | None = None,
) -> PanelRun:
    """Build silver and gold; with ``first``/``last`` replace only those months of gold.

    A full build replaces the table's schema too (a new catalog); a partial one refuses a
    table written with another catalog (``CatalogChanged``), before any work.
    """
    partial = first is not None or last is not None
    if partial:
        check_same_catalog(spark, lake.panel)
    began = time.monotonic()
    silver, data_last = write_silver(spark, lake, read_bronze(spark, lake), cfg.filing_lag_months)
    silver_seconds = time.monotonic() - began
    settings = panel_settings(cfg, data_last)
    lo = months.index(first) if first else settings.start_index
    hi = min(months.index(last), data_last) if last else data_last
    panel = build_panel(silver, settings)
    if partial:
        panel = panel.where(F.col("month_index").between(lo, hi))
    report = plan_report(panel)
    log.info("panel plan: %s", report)

    began = time.monotonic()
    if partial and delta_io.exists(spark, lake.panel):
        where = f"periode >= '{months.first_day(lo)}' AND periode <= '{months.first_day(hi)}'"
        delta_io.write(
            panel, lake.panel, partition_by=["periode"], replace_where=where, optimize_write=True
        )
    else:
        delta_io.write(
            panel, lake.panel, partition_by=["periode"], overwrite_schema=True, optimize_write=True
        )
    panel_seconds = time.monotonic() - began
    spark.catalog.clearCache()  # the panel's cached inputs
    summary = (
        delta_io.read(spark, lake.panel)
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.countDistinct("periode").alias("months"),
            F.countDistinct("siret").alias("sirets"),
            F.avg("cible").alias("positive"),
            F.avg(F.col("signal_fort").cast("int")).alias("strong"),
        )
        .first()
    )
    return PanelRun(
        rows=summary["rows"],
        establishments=summary["sirets"],
        months=summary["months"],
        positive_share=summary["positive"] or 0.0,
        strong_share=summary["strong"] or 0.0,
        version=delta_io.latest_version(spark, lake.panel),
        plan=report,
        seconds_silver=silver_seconds,
        seconds_panel=panel_seconds,
        first_month=months.label(lo),
        last_month=months.label(hi),
    )
