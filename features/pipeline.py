"""Bronze to silver to gold: reading, writing and reporting around the pure transforms
of features/silver.py and features/panel.py."""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import json
import logging
import time
from dataclasses import dataclass, field, replace
from functools import cache

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io, months, parallel, parquet_files
from common.config import PanelConfig
from common.lake import Lake
from common.plans import PlanReport, plan_report
from features import silver as S
from features.changes import MONTHLY as MONTHLY_CHANGES
from features.changes import Prints, month_prints
from features.compute import PanelSettings
from features.incremental import (
    Plan,
    changed_targets,
    last_complete_run,
    plan_changes,
    record_run,
    settings_key,
    update_targets,
)
from features.panel import building_panel, gold_schema, panel_files, panel_inputs, window_start
from ingestion import current as current_module
from ingestion.current import current_records
from parsers.registry import PARSERS

log = logging.getLogger(__name__)
# Table properties, set by a writer option on a new table or a full rewrite:
# - deletion vectors: a MERGE of a few rows' targets rewrites those rows, not their files;
# - statistics of ``month_index`` alone (Delta's default: the first 32 columns, keys and
#   variables). The reads filter on the partition (``periode``) or on ``month_index`` (the
#   rows a training may learn from); computing the others' minimum, maximum and nulls in
#   every write was 15% of writing the 6000 x 84 panel again (33.7 s -> 28.4 s;
#   docs/performance-log.md).
PANEL_PROPERTIES = {
    "delta.enableDeletionVectors": "true",
    "delta.dataSkippingStatsColumns": "month_index",
}
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
    plan: PlanReport | None  # the Spark plan of the rewritten months (None: none rewritten)
    seconds_silver: float
    seconds_changes: float  # comparing silver with the last complete run's
    seconds_panel: float  # rewriting months
    seconds_targets: float  # updating the targets of earlier months
    first_month: str | None  # first month rewritten (None: no month rewritten)
    last_month: str | None
    changes: Plan
    target_rows: int  # rows of earlier months whose targets were updated
    silver_kept: tuple[str, ...] = ()  # silver tables whose inputs had not changed: not rewritten
    read_from: str | None = None  # first month read for the months rewritten (None: every one)

    def lines(self, lake: Lake, variables: int) -> list[str]:
        """What the run did, for the console."""
        shown = [
            f"panel written to {lake.panel} (Delta version {self.version})",
            f"  {self.rows:,} rows, {self.establishments:,} establishments, {self.months} months, "
            f"{variables} variables",
            f"  positive 18-month labels {self.positive_share:.2%}, "
            f"strong signals {self.strong_share:.2%}",
            f"  run: {self.changes.describe()}",
        ]
        if self.target_rows:
            shown.append(f"  targets updated on {self.target_rows:,} rows of earlier months")
        if self.silver_kept:
            shown.append(f"  silver tables kept (inputs unchanged): {', '.join(self.silver_kept)}")
        if self.read_from:
            shown.append(
                f"  months read from {self.read_from} (the windows of the months rewritten; "
                "the state of earlier months carried)"
            )
        plan = f"plan: {self.plan}; " if self.plan else ""
        shown.append(
            f"  {plan}silver {self.seconds_silver:.0f} s, changes {self.seconds_changes:.0f} s, "
            f"panel {self.seconds_panel:.0f} s, targets {self.seconds_targets:.0f} s"
        )
        return shown


def read_bronze(
    spark: SparkSession, lake: Lake, commits: dict[str, tuple] | None = None
) -> dict[str, DataFrame]:
    """The current record of every bronze table (at the versions of ``commits``, the tables'
    last commits: bronze_commits)."""
    commits = commits or bronze_commits(spark, lake)
    return {
        s: current_records(delta_io.read(spark, lake.bronze(s), commits[s][0]), s) for s in SOURCES
    }


def bronze_commits(spark: SparkSession, lake: Lake) -> dict[str, tuple]:
    """Each bronze table's last commit (version, time); MissingInput when one has none."""
    missing = [s for s in SOURCES if not delta_io.exists(spark, lake.bronze(s))]
    if missing:
        raise MissingInput(
            f"no bronze table for {', '.join(missing)} in {lake.root}: "
            "ingest a delivery first (jobs/ingest.py)"
        )
    return {s: delta_io.commit_version(spark, lake.bronze(s)) for s in SOURCES}


@cache
def silver_code() -> str:
    """A digest of the code silver tables depend on: features/silver.py, the project modules
    it imports, the current-record rule and the sources' natural keys."""
    modules = [S, current_module]
    names = {
        node.module
        for m in modules
        for node in ast.walk(ast.parse(inspect.getsource(m)))
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.split(".")[0] in {"common", "features", "ingestion", "parsers"}
    }
    modules += [importlib.import_module(n) for n in sorted(names)]
    keys = {s: list(PARSERS[s].keys) for s in SOURCES}
    text = json.dumps([[inspect.getsource(m) for m in modules], keys])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def silver_inputs(name: str, commits: dict[str, tuple], parameters: dict) -> dict:
    """What silver table ``name`` is computed from: its bronze tables' last commits (version
    and time), the run's parameters it takes, the code. Recorded as the user metadata of its
    commit; a later run with the same inputs keeps the table as it is."""
    table = S.TABLES[name]
    return {
        "silver": {
            "bronze": {s: list(commits[s]) for s in table.sources},
            "parameters": {p: parameters[p] for p in table.parameters},
            "code": silver_code(),
        }
    }


@dataclass(frozen=True)
class Silver:
    tables: dict[str, DataFrame]  # read back at ``versions``
    last: int  # the last month of the data (index)
    versions: dict[str, int]
    kept: list[str]  # tables whose inputs had not changed: not rewritten
    prints: dict[str, Prints] = field(default_factory=dict)  # of the monthly tables written


def recorded(metadata: str | None) -> dict:
    """What a silver commit's user metadata records (inputs, fingerprints); empty for another
    commit's (a restore, an OPTIMIZE)."""
    try:
        found = json.loads(metadata or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def prints_at(spark: SparkSession, path: str, version: int) -> Prints | None:
    """The fingerprints a monthly silver table's commit ``version`` keeps (None: none kept,
    a table written before they were, or restored)."""
    return recorded(delta_io.user_metadata(spark, path, version)).get("fingerprints")


def write_silver(
    spark: SparkSession, lake: Lake, lag: int, rewrite: bool = False, writers: int = 1
) -> Silver:
    """Compute, write and read back every silver table whose inputs changed since it was
    written (every one with ``rewrite``), ``writers`` tables at a time (common.parallel: the
    tables are independent; on a failure those not begun are left)."""
    commits = bronze_commits(spark, lake)
    bronze = read_bronze(spark, lake, commits)
    last = S.last_month(delta_io.read(spark, lake.bronze("effectif"), commits["effectif"][0]))
    if last is None:
        raise MissingInput("the bronze headcount table is empty: nothing to build")
    parameters = {"filing_lag_months": lag, "last_month": last}

    # before the threads: silver_code parses the project's source, and CPython's parser is
    # not safe to enter from several threads at once
    inputs_of = {
        name: json.loads(json.dumps(silver_inputs(name, commits, parameters)))  # as read back
        for name in S.TABLES
    }

    def one(name: str) -> tuple[int, bool, Prints | None]:  # (version, kept, fingerprints)
        path, began, inputs = lake.silver(name), time.monotonic(), inputs_of[name]
        previous = delta_io.last_commit(spark, path) if delta_io.exists(spark, path) else None
        if previous and recorded(previous[2]).get("silver") == inputs["silver"] and not rewrite:
            log.info("silver/%s kept: its inputs have not changed", name)
            return previous[0], True, None
        table, prints = S.build(name, bronze, lag, last), None
        if name in MONTHLY_CHANGES:  # fingerprinted as written: the next run compares them
            table = table.persist(StorageLevel.MEMORY_AND_DISK)
            prints = month_prints(table)
        # the commit's user metadata as a writer option: a session setting would be shared
        # by the concurrent writes
        metadata = json.dumps({**inputs, "fingerprints": prints}, sort_keys=True)
        delta_io.write(table, path, user_metadata=metadata)
        table.unpersist()
        log.info("silver/%s written in %.0f s", name, time.monotonic() - began)
        return delta_io.latest_version(spark, path), False, prints

    done = dict(zip(S.TABLES, parallel.each(one, S.TABLES, writers), strict=True))
    versions = {name: version for name, (version, _, _) in done.items()}
    kept = [name for name, (_, was_kept, _) in done.items() if was_kept]
    prints = {name: p for name, (_, _, p) in done.items() if p is not None}
    tables = {name: delta_io.read(spark, lake.silver(name), v) for name, v in versions.items()}
    return Silver(tables, last, versions, kept, prints)


def catalog_changes(spark: SparkSession, path: str) -> list[str]:
    """How the panel table's columns differ from the catalog's (empty: no table or none)."""
    if not delta_io.exists(spark, path):
        return []
    return delta_io.schema_changes(gold_schema(), delta_io.read(spark, path).schema)


def check_same_catalog(spark: SparkSession, path: str) -> None:
    """Refuse a month-range rebuild of a panel written with another variable catalog: the
    rewritten months would not fit the table (Delta fills a missing column with nulls)."""
    changes = catalog_changes(spark, path)
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


def full_rebuild_reason(
    spark: SparkSession,
    lake: Lake,
    previous: dict | None,
    key: str,
    tables: list[str],
    forced: bool,
) -> str | None:
    """Why an incremental run cannot follow the lake's state (None: it can)."""
    if forced:
        return "--full"
    if previous is None:
        return "no earlier complete run recorded in ops/panel_runs"
    if not delta_io.exists(spark, lake.panel):
        return "no panel table"
    if catalog_changes(spark, lake.panel):
        return "the variable catalog changed"
    if previous["settings_key"] != key:
        return "the panel settings changed"
    if set(json.loads(previous["silver_versions"])) != set(tables):
        return "the silver tables changed"
    return None


def plan_run(
    spark: SparkSession,
    lake: Lake,
    silver: Silver,
    s: PanelSettings,
    previous: dict | None,
    why_full: str | None,
    span: tuple[str | None, str | None],
) -> Plan:
    if span != (None, None):
        lo = months.index(span[0]) if span[0] else s.start_index
        hi = min(months.index(span[1]), s.last_index) if span[1] else s.last_index
        return Plan("range", lo, hi, {"range": "--from/--to"})
    if why_full is None:

        def prints(name: str, version: int) -> Prints | None:
            if version == silver.versions[name] and name in silver.prints:
                return silver.prints[name]  # written by this run
            return prints_at(spark, lake.silver(name), version)

        try:
            return plan_changes(spark, lake, previous, silver.tables, s, silver.versions, prints)
        except AnalysisException as exc:  # e.g. the recorded silver version was vacuumed
            why_full = f"the last run's silver tables cannot be read ({type(exc).__name__})"
    return Plan("full", s.start_index, s.last_index, {"full": why_full})


def write_months(
    spark: SparkSession,
    lake: Lake,
    silver: dict[str, DataFrame],
    s: PanelSettings,
    plan: Plan,
    writer: str = "arrow",
) -> PlanReport:
    """Rebuild months ``plan.first`` .. ``plan.last`` of the panel (all of it: a full run),
    in one commit, written by the Python workers (``writer`` arrow) or by Spark."""
    s = replace(s, emit_from=plan.first)
    last = plan.last if plan.mode == "range" else None
    full = plan.mode == "full" or not delta_io.exists(spark, lake.panel)
    first_day, last_day = months.first_day(plan.first), months.first_day(plan.last)
    predicate = f"periode >= '{first_day}' AND periode <= '{last_day}'"
    if writer == "spark":
        with building_panel(silver, s) as panel:
            if last is not None:
                panel = panel.where(F.col("month_index") <= last)
            report = plan_report(panel)
            log.info("panel plan: %s", report)
            how = (
                {"overwrite_schema": True, "properties": PANEL_PROPERTIES}
                if full
                else {"replace_where": predicate}
            )
            delta_io.write(panel, lake.panel, partition_by=["periode"], optimize_write=True, **how)
        return report
    spec = panel_file_spec(spark, lake.panel)
    with panel_inputs(silver, s) as (base, stats):
        files = panel_files(base, stats, s, spec, last)
        report = plan_report(files)
        log.info("panel plan: %s", report)
        written = files.collect()  # a row per file (partitions x months), not per panel row
    how = (
        {"properties": PANEL_PROPERTIES}
        if full
        else {"replaced": lambda day: first_day <= day <= last_day, "predicate": predicate}
    )
    parquet_files.commit(spark, lake.panel, written, gold_schema(), "periode", **how)
    return report


def panel_file_spec(spark: SparkSession, path: str) -> parquet_files.PartitionedFiles:
    """How the Python workers write the panel's files: its schema, partitioned by ``periode``
    (the month's first day), statistics on ``month_index`` (PANEL_PROPERTIES), with the
    session's Parquet codec and dictionary setting (common/spark.py)."""
    conf = spark.sparkContext.getConf()
    codec = conf.get("spark.sql.parquet.compression.codec", "snappy")
    return parquet_files.PartitionedFiles(
        root=path,
        schema_json=gold_schema().json(),
        partition_column="periode",
        key="month_index",
        label=months.first_day,
        stats_columns=tuple(PANEL_PROPERTIES["delta.dataSkippingStatsColumns"].split(",")),
        compression="none" if codec == "uncompressed" else codec,
        dictionary=conf.get("spark.hadoop.parquet.enable.dictionary", "true") == "true",
    )


def run_panel(
    spark: SparkSession,
    lake: Lake,
    cfg: PanelConfig,
    first: str | None = None,
    last: str | None = None,
    full: bool = False,
) -> PanelRun:
    """Build silver and gold: the silver tables whose inputs changed since they were written
    (write_silver); with ``first``/``last`` replace those months of gold; with ``full`` every
    silver table and all of gold; otherwise what changed since the last complete run (all of
    it when there is none). Every run is recorded in ``ops/panel_runs``, and its panel commits carry
    the months rewritten and why as their user metadata.

    A full build replaces the table's schema too (a new catalog); a partial one refuses a
    table written with another catalog (``CatalogChanged``), before any work.
    """
    span = (first, last)
    if span != (None, None):
        check_same_catalog(spark, lake.panel)
    began = time.monotonic()
    key = settings_key(cfg)
    previous = last_complete_run(spark, lake)
    written = write_silver(
        spark, lake, cfg.filing_lag_months, rewrite=full, writers=cfg.silver_writers
    )
    silver, data_last, versions = written.tables, written.last, written.versions
    why_full = full_rebuild_reason(spark, lake, previous, key, list(silver), full)
    seconds = {"silver": time.monotonic() - began}
    settings = panel_settings(cfg, data_last)
    began = time.monotonic()
    plan = plan_run(spark, lake, written, settings, previous, why_full, span)
    seconds["changes"] = time.monotonic() - began
    log.info("panel run: %s", plan.describe())

    report, target_rows = None, 0
    read_from = None
    with delta_io.commit_metadata(spark, json.dumps({"panel": plan.describe()})):
        began = time.monotonic()
        if plan.first is not None:
            report = write_months(spark, lake, silver, settings, plan, cfg.writer)
            start = window_start(replace(settings, emit_from=plan.first))
            if start is not None and start > settings.start_index:
                read_from = months.label(start)
        seconds["panel"] = time.monotonic() - began
        began = time.monotonic()
        if plan.mode == "incremental":
            rows = changed_targets(
                delta_io.read(spark, lake.panel), silver["judgments"], plan, settings
            )
            target_rows = update_targets(spark, lake.panel, rows, plan)
            if plan.judged is not None:
                plan.judged.unpersist()  # cached by plan_changes
        seconds["targets"] = time.monotonic() - began
    version = delta_io.latest_version(spark, lake.panel)
    record_run(
        spark, lake, plan, data_last, target_rows, versions, version, key, sum(seconds.values())
    )
    run = summarise(spark, lake, plan, report, version, target_rows, seconds, written.kept)
    return replace(run, read_from=read_from)


def summarise(
    spark: SparkSession,
    lake: Lake,
    plan: Plan,
    report: PlanReport | None,
    version: int,
    target_rows: int,
    seconds: dict[str, float],
    silver_kept: list[str],
) -> PanelRun:
    summary = (
        delta_io.read(spark, lake.panel, version)
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
        version=version,
        plan=report,
        seconds_silver=seconds["silver"],
        seconds_changes=seconds["changes"],
        seconds_panel=seconds["panel"],
        seconds_targets=seconds["targets"],
        first_month=None if plan.first is None else months.label(plan.first),
        last_month=None if plan.first is None else months.label(plan.last),
        changes=plan,
        target_rows=target_rows,
        silver_kept=tuple(silver_kept),
    )
