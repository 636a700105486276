"""One batch, end to end: recognise, read, check, parse, validate, then commit.

Nothing is written to the lake before every file of the batch has been read,
checked and validated: a fatal file problem or a failed ``error`` rule rejects the
whole batch, which then leaves only its files' rows in ``ops/ingest_runs``
(``committed`` false, the files at fault ``refused``). The commit replaces the batch's
rows of each table (``replaceWhere`` on ``batch_id``), so a rerun converges, and ends
with ``ops/ingest_runs``.
A batch already committed from the same files is not ingested again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from functools import reduce
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io, parallel
from common.config import ConfigError
from common.lake import Lake
from ingestion import bookkeeping as books
from ingestion.discovery import RawFile, discover
from ingestion.parse import count_lines, parse_lines, parse_quarantine
from ingestion.preflight import file_problems, header_mismatch, missing_suites
from ingestion.quality import Outcome, Suite, Validator, breaks, load_suites, with_derived
from ingestion.reader import FileLines, read_lines
from parsers.registry import PARSERS, Parser
from reports.build import ingest_report, run_folder
from reports.facts import quarantine_reasons

log = logging.getLogger(__name__)
INTERNAL = {
    "raw",
    "_structure",
    "_field_count",
    "_fields",
    "_reject",
    "_skip",
    "_field_error",
    "_records",
    "_dq",
}
VALIDATED_AT_ONCE = 2  # sources validated at a time (great-expectations, from driver threads)


class BatchRejected(Exception):
    def __init__(
        self,
        batch_id: str,
        problems: list[str],
        report: Path | None = None,
        report_html: Path | None = None,
    ):
        self.problems, self.report, self.report_html = problems, report, report_html
        lines = "\n  ".join(problems)
        super().__init__(f"batch {batch_id} rejected, nothing committed:\n  {lines}")


class IngestFailed(Exception):
    """An ingest that committed nothing of its own: why, and the job's exit code (1 refused,
    3 lost its commit to another job)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


@dataclass
class BatchResult:
    batch_id: str
    files: list[books.FileReport]
    outcomes: list[Outcome] = field(default_factory=list)
    already_ingested: bool = False
    report: Path | None = None  # report.json
    report_html: Path | None = None  # the same, for a person: reports.build.ingest_report
    data_docs: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # phase (read, parse...) -> wall time

    def timed(self, phase: str, began: float) -> None:
        self.add_time(phase, time.monotonic() - began)

    def add_time(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + seconds, 2)

    def lines(self) -> list[str]:
        """The batch file by file, and the data-quality warnings, for the console."""
        head = (
            f"{'file':<34} {'source':<20} {'status':<12} {'read':>9} {'accepted':>9} "
            f"{'quarant.':>8} {'skipped':>7} {'nulled':>6} {'records':>10} "
            f"{'dq':>5}"
        )
        rows = [head, "-" * len(head)]
        for f in self.files:
            rows.append(
                f"{f.source_file:<34} {f.source or '-':<20} {f.status:<12} {f.lines_read:>9} "
                f"{f.lines_accepted:>9} {f.lines_quarantined:>8} {f.lines_skipped:>7} "
                f"{f.lines_field_nulled:>6} {f.records_written:>10} "
                f"{f'{f.dq_warnings}w' if f.dq_warnings else '':>5}"
            )
        failed = [o for o in self.outcomes if not o.success]
        if failed:
            rows.append("data-quality warnings:")
            rows += [
                f"  {o.source}: {o.rule.description} ({o.unexpected_count} of "
                f"{o.element_count} rows)"
                for o in failed
            ]
        return rows


@dataclass
class _File:
    raw: RawFile
    parser: Parser
    lines: FileLines
    report: books.FileReport
    parsed: DataFrame | None = None


@dataclass
class _Source:
    files: list[_File]
    records: DataFrame  # accepted records, persisted
    flagged: DataFrame  # the same with _dq: the data-quality quarantine reason, or null
    counts: dict[str, tuple[int, int]]  # per file: records kept, records quarantined by a rule


def _read(
    spark: SparkSession, raw_dir: str, at_once: int = 1
) -> tuple[list[_File], list[books.FileReport]]:
    """Every file of the delivery numbered and fingerprinted (reader.read_lines: one short
    Spark job each), ``at_once`` files at a time; the files no parser claims, reported."""
    known, unknown = [], []
    for raw in discover(spark, raw_dir):
        if raw.source is None:
            log.warning("%s: unknown file, skipped", raw.name)
            message = "no parser claims it (no known source by its name or manifest.json); skipped"
            unknown.append(
                books.FileReport(raw.name, None, "unknown_file", message, bytes=raw.size)
            )
        else:
            known.append(raw)

    def read(raw: RawFile) -> _File:
        log.info("reading %s (%s, %.1f MB)", raw.name, raw.source, raw.size / 1e6)
        lines = read_lines(spark, raw.path)
        report = books.FileReport(
            raw.name, raw.source, "ingested", fingerprint=lines.fingerprint, bytes=raw.size
        )
        return _File(raw, PARSERS[raw.source], lines, report)

    return parallel.each(read, known, at_once), unknown


def _without_duplicates(files: list[_File], known: dict[tuple[str, str], str]) -> list[_File]:
    """Skip a file identical to another of this batch or to one already ingested."""
    seen, kept = dict(known), []
    for f in files:
        key = (f.raw.source, f.lines.fingerprint)
        if key in seen:
            f.report.status, f.report.message = "duplicate", f"identical to {seen[key]}; skipped"
            log.warning("%s: %s", f.raw.name, f.report.message)
        else:
            seen[key] = f.raw.name
            kept.append(f)
    return kept


def _refuse(f: _File, problems: list[str]) -> None:
    """A file that stops the batch: the run report says why."""
    if problems:
        f.report.status, f.report.message = "refused", "; ".join(problems)


def _validate(
    source: str, records: DataFrame, suite: Suite, validator: Validator, today: dt.date
) -> tuple[list[Outcome], DataFrame, dict[str, tuple[int, int]]]:
    """great-expectations outcomes; records with ``_dq``, the quarantine reason or null; per
    file, the records kept and those quarantined."""
    outcomes = validator.validate(source, records)
    rules = [r for r in suite.rules if r.quarantine]
    reasons = [F.when(breaks(r, today), F.lit(r.description)) for r in rules]
    flagged = records.withColumn("_dq", F.coalesce(*reasons, F.lit(None).cast("string")))
    # One pass (a row per file): the records kept and quarantined, and the records breaking
    # each quarantine rule, whose predicate must agree with great-expectations' own count.
    dq = F.col("_dq").isNotNull()
    rows = (
        flagged.groupBy("source_file")
        .agg(
            F.sum((~dq).cast("int")).alias("written"),
            F.sum(dq.cast("int")).alias("dq"),
            *[F.sum(breaks(r, today).cast("int")).alias(f"r{i}") for i, r in enumerate(rules)],
        )
        .collect()
    )
    for i, rule in enumerate(rules):
        expected = next(o.unexpected_count for o in outcomes if o.rule is rule)
        found = sum(int(row[f"r{i}"] or 0) for row in rows)
        if found != expected:
            raise RuntimeError(
                f"{source}: {rule.name}: great-expectations counted {expected} rows, "
                f"the quarantine predicate {found}"
            )
    counts = {row["source_file"]: (int(row["written"] or 0), int(row["dq"] or 0)) for row in rows}
    return outcomes, flagged, counts


def _account(source: _Source) -> None:
    """Per file: records written and quarantined, lines accepted and quarantined."""
    for f in source.files:
        r = f.report
        r.records_written, r.records_quarantined = source.counts.get(f.raw.name, (0, 0))
        whole_lines = f.parser.explode is None  # wide files quarantine records, not lines
        r.lines_quarantined = r.lines_rejected + (r.records_quarantined if whole_lines else 0)
        r.lines_accepted = r.lines_read - r.lines_quarantined - r.lines_skipped


def _commit_source(
    lake: Lake, batch_id: str, name: str, source: _Source, stamp: F.Column, derived: set[str]
) -> DataFrame:
    """Write the bronze rows of a source; return its quarantine rows."""
    bronze = source.flagged.where(F.col("_dq").isNull())
    columns = [c for c in bronze.columns if c not in INTERNAL | derived]
    bronze = bronze.select(F.lit(batch_id).alias("batch_id"), *columns, stamp.alias("ingested_at"))
    books.replace_batch(bronze, lake.bronze(name), batch_id, partitioned=True)
    dq_rows = source.flagged.where(F.col("_dq").isNotNull())
    # A record of one line holds its text; a wide file's records (one per month) do not, and
    # get it back by a join with the lines. Joined for every source, every line was shuffled:
    # the 20k x 72 ingest's quarantine write took 8.6 s, 6.5 s since.
    if "raw" not in dq_rows.columns:
        lines = reduce(
            DataFrame.unionByName,
            [f.parsed.select("source_file", "line_number", "raw") for f in source.files],
        )
        dq_rows = dq_rows.select("source_file", "line_number", "_dq").join(
            lines, ["source_file", "line_number"], "left"
        )
    dq_rows = dq_rows.select(
        "source_file",
        "line_number",
        F.col("raw").alias("raw_line"),
        F.lit("quarantined").alias("disposition"),
        F.col("_dq").alias("reason"),
    )
    rows = reduce(DataFrame.unionByName, [parse_quarantine(f.parsed) for f in source.files])
    return rows.unionByName(dq_rows).select(
        F.lit(batch_id).alias("batch_id"),
        F.lit(name).alias("source"),
        "source_file",
        "line_number",
        "raw_line",
        "disposition",
        "reason",
        stamp.alias("ingested_at"),
    )


def _reject(
    spark: SparkSession,
    lake: Lake,
    run_dir: Path,
    result: BatchResult,
    problems: list[str],
    started: dt.datetime,
) -> BatchRejected:
    """The batch is rejected: its run report, and its files in ``ops/ingest_runs`` as not
    committed (those at fault ``refused``, the others ``not_committed``)."""
    for f in result.files:
        if f.status == "ingested":
            f.status, f.message = "not_committed", "the batch was rejected for another file"
    report = _write_report(run_dir / "report.json", result, problems)
    books.write_runs(spark, lake.ingest_runs, result.batch_id, result.files, started, False)
    return BatchRejected(result.batch_id, problems, report, result.report_html)


def _write_report(
    path: Path, result: BatchResult, problems: list[str], reasons: dict | None = None
) -> Path:
    """``report.json``, and ``report.html`` beside it (``result.report_html``); ``reasons``:
    the batch's top quarantine reasons per file (``reports.facts.quarantine_reasons``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    quality = [
        {
            "source": o.source,
            "expectation": o.rule.name,
            "description": o.rule.description,
            "severity": o.rule.severity,
            "success": o.success,
            "element_count": o.element_count,
            "unexpected_count": o.unexpected_count,
        }
        for o in result.outcomes
    ]
    files = [{k: v for k, v in asdict(f).items() if k != "extra"} for f in result.files]
    payload = {
        "batch_id": result.batch_id,
        "problems": problems,
        "files": files,
        "data_quality": quality,
        "seconds": result.seconds,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    result.report_html = ingest_report(
        path.parent, result.batch_id, files, quality, reasons or {}, problems
    )
    return path


def _check_order(previous: DataFrame | None, batch_id: str, force: bool) -> None:
    """A new batch whose id sorts before a committed one would never be current: the current
    record of a key is the latest batch's, and batch ids sort in delivery order."""
    if previous is None or force:
        return
    ids = previous.agg(
        F.max("batch_id").alias("latest"),
        F.max((F.col("batch_id") == batch_id).cast("int")).alias("known"),
    ).first()
    if ids["latest"] is not None and batch_id < ids["latest"] and not ids["known"]:
        raise BatchRejected(
            batch_id,
            [
                f"batch {batch_id} sorts before the last committed batch {ids['latest']}: batch "
                "ids sort in delivery order (a key's current record is the latest batch's), so its "
                f"records would never replace those of {ids['latest']}; give it an id after "
                f"{ids['latest']} (e.g. its delivery month), or use --force to ingest it anyway"
            ],
        )


def _already(previous: DataFrame | None, batch_id: str, files: list[_File], force: bool) -> bool:
    """True when the batch was committed from exactly these files (nothing to do)."""
    if previous is None or force:
        return False
    rows = previous.where((F.col("batch_id") == batch_id) & (F.col("status") != "unknown_file"))
    before = {(r["source_file"], r["fingerprint"]) for r in rows.collect()}
    if not before:
        return False
    if before == {(f.raw.name, f.lines.fingerprint) for f in files}:
        return True
    raise BatchRejected(
        batch_id,
        [f"batch {batch_id} was already ingested from other files; use --force to replace it"],
    )


def _known_files(previous: DataFrame | None, batch_id: str) -> dict[tuple[str, str], str]:
    if previous is None:
        return {}
    rows = previous.where((F.col("batch_id") != batch_id) & (F.col("status") == "ingested"))
    return {
        (r["source"], r["fingerprint"]): f"{r['source_file']} of batch {r['batch_id']}"
        for r in rows.collect()
    }


@dataclass
class _Run:
    """One ingest's context, shared by its steps."""

    spark: SparkSession
    lake: Lake
    batch_id: str
    run_dir: Path
    started: dt.datetime
    today: dt.date
    suites: dict[str, Suite]
    result: BatchResult
    at_once: int  # files parsed at a time (common.parallel)

    def reject(self, problems: list[str]) -> BatchRejected:
        return _reject(self.spark, self.lake, self.run_dir, self.result, problems, self.started)


def _check_files(run: _Run, kept: list[_File], expectations_dir: Path) -> None:
    """Before any parsing: every source has its suite, every file is usable (its encoding,
    header and separator); otherwise the batch is rejected."""
    sources = [(f.raw.name, f.raw.source) for f in kept]
    missing = missing_suites(sources, run.suites, expectations_dir)
    problems = list(missing.values())
    for f in kept:
        unusable = file_problems(f.raw.name, f.lines, f.parser)
        _refuse(f, ([missing[f.raw.source]] if f.raw.source in missing else []) + unusable)
        problems += unusable
    if problems:
        raise run.reject(problems)


def _parse_files(run: _Run, kept: list[_File]) -> None:
    """Each file's lines parsed (persisted) and counted, ``run.at_once`` files at a time; a
    header that fits none of its file's lines rejects the batch."""

    def parse(f: _File) -> tuple[list[str], float]:
        began = time.monotonic()
        f.parsed = parse_lines(f.lines, f.parser, f.raw.name).persist(StorageLevel.MEMORY_AND_DISK)
        counts = count_lines(f.parsed, f.report, f.lines.total_lines)
        mismatch = header_mismatch(f.raw.name, f.lines, f.parser, counts)
        _refuse(f, mismatch)
        return mismatch, time.monotonic() - began

    began = time.monotonic()
    mismatches: list[str] = []
    for f, (mismatch, seconds) in zip(kept, parallel.each(parse, kept, run.at_once), strict=True):
        mismatches += mismatch
        run.result.add_time(f"parse:{f.raw.source}", seconds)
    run.result.timed("parse", began)
    if mismatches:
        raise run.reject(mismatches)


def _validate_sources(run: _Run, kept: list[_File], sources: dict[str, _Source]) -> None:
    """Each source's records (persisted, into ``sources``) validated by its suite, the Data
    Docs built; a failed ``error`` rule rejects the batch."""
    result, began = run.result, time.monotonic()
    names = sorted({f.raw.source for f in kept})
    validator = Validator(run.run_dir, run.today, {name: run.suites[name] for name in names})

    def validate(name: str) -> tuple[_Source, list[Outcome], float]:
        group = [f for f in kept if f.raw.source == name]
        log.info("validating %s", name)
        started = time.monotonic()
        records = _records(group, run.suites[name]).persist(StorageLevel.MEMORY_AND_DISK)
        records.count()  # cached here, beside another source's great-expectations run
        outcomes, flagged, counts = _validate(name, records, run.suites[name], validator, run.today)
        return _Source(group, records, flagged, counts), outcomes, time.monotonic() - started

    # two sources at a time: one's records cached and its quarantine counted beside the other's
    # great-expectations run (docs/performance-log.md: the tests' small batches validate ~15%
    # sooner; at 20k x 72 both cores are already busy)
    for name, (source, outcomes, seconds) in zip(
        names, parallel.each(validate, names, VALIDATED_AT_ONCE), strict=True
    ):
        sources[name] = source
        result.add_time(f"validate:{name}", seconds)
        result.outcomes += outcomes
        broken = [o.rule.severity for o in outcomes if not o.success]
        for f in source.files:
            f.report.dq_warnings, f.report.dq_errors = broken.count("warn"), broken.count("error")
    result.timed("validate", began)
    result.data_docs = validator.build_docs()
    failed = [
        f"{o.source}: {o.rule.description} ({o.rule.name}: {o.unexpected_count} of "
        f"{o.element_count} rows)"
        for o in result.outcomes
        if not o.success and o.rule.severity == "error"
    ]
    if failed:
        for f in kept:
            _refuse(f, [p for p in failed if p.startswith(f"{f.raw.source}: ")])
        raise run.reject(failed)


def _commit(run: _Run, sources: dict[str, _Source], force: bool) -> None:
    """Each source's accepted records into its bronze table, then the batch's books: the
    quarantine, the data-quality results, the files of ``ops/ingest_runs``."""
    spark, lake, batch_id, result = run.spark, run.lake, run.batch_id, run.result
    stamp = F.lit(run.started).cast("timestamp")

    def commit(name: str) -> tuple[DataFrame, float]:
        log.info("committing %s", name)
        began = time.monotonic()
        _account(sources[name])
        derived = set(run.suites[name].derive)
        rows = _commit_source(lake, batch_id, name, sources[name], stamp, derived)
        return rows, time.monotonic() - began

    began = time.monotonic()
    quarantine = []
    # One source after the other, in the names' order: of two jobs committing the same batch
    # at once, one then always gets through (the first to commit a table is ahead on every
    # later one; the other stops at its first conflict). Sources committed in parallel, two
    # jobs could each win one table and both lose (seen on the e2e cluster, 2026-12-04).
    for name in sorted(sources):
        rows, seconds = commit(name)
        quarantine.append(rows)
        result.add_time(f"commit:{name}", seconds)
    result.timed("commit", began)
    began = time.monotonic()
    if force:  # a source no longer delivered in this batch loses the batch's old rows
        for name in set(PARSERS) - set(sources):
            books.delete_batch(spark, lake.bronze(name), batch_id)
    empty = spark.createDataFrame([], books.QUARANTINE_SCHEMA)
    rejected = reduce(DataFrame.unionByName, quarantine, empty)
    # the quarantine and the data-quality results side by side (two tables of their own); the
    # files' entries last: they are what says the batch was committed
    writes = [
        lambda: books.replace_batch(rejected, lake.quarantine, batch_id),
        lambda: books.write_dq(spark, lake.dq_results, batch_id, result.outcomes, run.started),
    ]
    parallel.each(lambda write: write(), writes, 2)
    books.write_runs(spark, lake.ingest_runs, batch_id, result.files, run.started)
    result.timed("commit", began)


def ingest_batch(
    spark: SparkSession,
    lake: Lake,
    expectations_dir: Path,
    runs_dir: Path,
    raw_dir: str,
    batch_id: str,
    *,
    force: bool = False,
    today: dt.date | None = None,
    at_once: int = 3,
) -> BatchResult:
    """Steps: read the files, check them, parse, validate, commit; a rejected batch commits
    nothing but its files' entries in ``ops/ingest_runs`` and its run report."""
    started = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    run_dir = run_folder(runs_dir, "ingest", batch_id, stamp=started)
    suites = load_suites(expectations_dir)
    previous = books.previous_runs(spark, lake.ingest_runs)
    _check_order(previous, batch_id, force)
    began = time.monotonic()
    files, unknown = _read(spark, raw_dir, at_once)
    result = BatchResult(batch_id, [f.report for f in files] + unknown)
    result.timed("read", began)
    if _already(previous, batch_id, files, force):
        result.already_ingested = True
        return result
    run = _Run(
        spark, lake, batch_id, run_dir, started, today or dt.date.today(), suites, result, at_once
    )
    kept = _without_duplicates(files, _known_files(previous, batch_id))
    _check_files(run, kept, expectations_dir)
    sources: dict[str, _Source] = {}
    try:
        _parse_files(run, kept)
        _validate_sources(run, kept, sources)
        _commit(run, sources, force)
    finally:
        for f in kept:
            if f.parsed is not None:
                f.parsed.unpersist()
        for source in sources.values():
            source.records.unpersist()
    reasons = quarantine_reasons(spark, lake, batch_id)
    result.report = _write_report(run_dir / "report.json", result, [], reasons)
    return result


def ingest_or_explain(
    spark: SparkSession,
    lake: Lake,
    expectations_dir: Path,
    runs_dir: Path,
    raw_dir: str,
    batch_id: str,
    *,
    force: bool = False,
    at_once: int = 3,
) -> BatchResult:
    """``ingest_batch``, its expected failures turned into ``IngestFailed``: a missing or
    changed suite, no raw folder, a rejected batch (with its report), a commit lost to a
    concurrent job (nothing duplicated)."""
    try:
        return ingest_batch(
            spark, lake, expectations_dir, runs_dir, raw_dir, batch_id, force=force, at_once=at_once
        )
    except (ConfigError, FileNotFoundError) as exc:  # a suite changed since the check, no raw
        raise IngestFailed(str(exc), 1) from exc
    except BatchRejected as exc:
        report = f"\nreport: {exc.report}" if exc.report else ""
        if exc.report_html:
            report += f"\nrun report: {exc.report_html}"
        raise IngestFailed(f"{exc}{report}", 1) from exc
    except Exception as exc:
        if not delta_io.commit_conflict(exc):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise IngestFailed(
            f"batch {batch_id}: another job committed to the same tables of {lake.root} at the "
            f"same time ({type(exc).__name__}: {first}).\n"
            "Nothing was duplicated: each table keeps either its previous rows of the batch or "
            "the other job's. Run the same command again once the other job has finished: "
            "a batch already complete is skipped.",
            3,
        ) from exc


def _records(files: list[_File], suite: Suite) -> DataFrame:
    """Accepted records of one source's files (one row per record)."""
    accepted = reduce(
        DataFrame.unionByName,
        [f.parsed.where(F.col("_reject").isNull() & F.col("_skip").isNull()) for f in files],
    )
    explode = files[0].parser.explode
    if explode is not None:
        accepted = explode(accepted.drop("raw"))
    return with_derived(accepted, suite)
