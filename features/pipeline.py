"""Bronze to silver to gold: reading, writing and reporting around the pure transforms
of features/silver.py and features/panel.py."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io
from common.config import PanelConfig
from common.lake import Lake
from common.plans import PlanReport, plan_report
from features import silver as S
from features.compute import PanelSettings
from features.panel import build_panel
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


def month_label(index: int) -> str:
    return f"{2000 + index // 12:04d}-{index % 12 + 1:02d}-01"


def month_index_of(month: str) -> int:
    year, m = (int(p) for p in month.split("-")[:2])
    return (year - 2000) * 12 + m - 1


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


def panel_settings(cfg: PanelConfig, last: int) -> PanelSettings:
    return PanelSettings(
        start_index=month_index_of(cfg.start),
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
    """Build silver and gold; with ``first``/``last`` replace only those months of gold."""
    began = time.monotonic()
    silver, data_last = write_silver(spark, lake, read_bronze(spark, lake), cfg.filing_lag_months)
    silver_seconds = time.monotonic() - began
    settings = panel_settings(cfg, data_last)
    lo = month_index_of(first) if first else settings.start_index
    hi = min(month_index_of(last), data_last) if last else data_last
    panel = build_panel(silver, settings)
    partial = first is not None or last is not None
    if partial:
        panel = panel.where(F.col("month_index").between(lo, hi))
    report = plan_report(panel)
    log.info("panel plan: %s", report)

    began = time.monotonic()
    if partial and delta_io.exists(spark, lake.panel):
        where = f"periode >= '{month_label(lo)}' AND periode <= '{month_label(hi)}'"
        delta_io.write(panel, lake.panel, partition_by=["periode"], replace_where=where)
    else:
        delta_io.write(panel, lake.panel, partition_by=["periode"])
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
        first_month=month_label(lo)[:7],
        last_month=month_label(hi)[:7],
    )
