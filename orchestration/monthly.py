"""The month's cycle in one Spark application: ingest the delivery, update the panel
(incrementally), score the new month with the champion, monitor it, export its list.

Each step's outcome is appended to ``<lake>/ops/monthly_runs`` (batch, step, status, period,
seconds, what it did or why it failed). A rerun of the same batch skips the steps recorded
``done`` (for the same period) and starts at the first that is not: nothing already done is
changed. A step that fails leaves the tables it writes as they were before it: each of its Delta
tables whose version moved is restored to the version it had when the step began (``RESTORE``,
a new commit: the history keeps the failed attempt). A killed process cannot restore; its rerun
converges all the same, every step being idempotent (ingest skips a batch already ingested, the
panel compares silver with its last complete run, scores and monitoring replace the month's
rows, the list is written beside its file and renamed into place).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from common import delta_io, months, parallel
from common.config import Settings
from common.lake import Lake
from common.maintenance import discover_tables

log = logging.getLogger(__name__)

STEPS = ("ingest", "panel", "score", "monitor", "export")
PERIOD_STEPS = ("score", "monitor", "export")  # done for one period: redone for another
RUNS_SCHEMA = (
    "batch_id string, step string, status string, period string, started_at timestamp, "
    "seconds double, detail string, error string, restored string, application_id string"
)


class StepFailed(RuntimeError):
    """A step refused its input or could not finish: the message says why."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class MonthFailed(RuntimeError):
    """The cycle stopped at ``step``; ``restored`` tables are back at their version before it."""

    def __init__(
        self,
        step: str,
        message: str,
        code: int,
        restored: dict[str, int],
        created: list[str],
        unrestored: str | None,
    ):
        super().__init__(message)
        self.step, self.code = step, code
        self.restored, self.created, self.unrestored = restored, created, unrestored
        self.report: Path | None = None  # the run report, when it could be written


@dataclass(frozen=True)
class Request:
    raw: str
    batch: str
    period: str | None = None  # None: the data's last month once the panel is updated
    out: Path | None = None  # None: <scoring.lists_dir>/list_<period>.json
    alias: str = "champion"
    experiment: str | None = None  # None: monitoring.experiment
    force: bool = False  # re-ingest a batch already ingested from other files; redo every step


@dataclass
class Context:
    spark: SparkSession
    settings: Settings
    lake: Lake
    request: Request
    period: str | None = None


@dataclass(frozen=True)
class Done:
    detail: str  # one line, recorded in ops/monthly_runs (counts only: no identifier)
    lines: list[str] = field(default_factory=list)  # printed under the step
    result: object = None  # what the step's function returned (BatchResult, PanelRun...)


@dataclass(frozen=True)
class Outcome:
    step: str
    status: str  # done, or skipped (done by an earlier run of the batch)
    seconds: float
    detail: str
    result: object = None  # Done.result; None for a step skipped


@dataclass(frozen=True)
class Month:
    batch: str
    period: str
    outcomes: list[Outcome]
    alerts: int  # monitoring items in alert for the period
    report: Path | None = None  # the run report (HTML), next to its report.json


def _ingest(ctx: Context) -> Done:
    from ingestion.pipeline import IngestFailed, ingest_or_explain

    s, r = ctx.settings.ingest, ctx.request
    try:
        result = ingest_or_explain(
            ctx.spark,
            ctx.lake,
            Path(s.expectations_dir),
            Path(s.runs_dir),
            r.raw,
            r.batch,
            force=r.force,
            at_once=s.at_once,
        )
    except IngestFailed as exc:
        raise StepFailed(str(exc), exc.code) from exc
    if result.already_ingested:
        return Done(
            f"batch {r.batch} already ingested from these files: nothing to do", result=result
        )
    total = {
        k: sum(getattr(f, k) for f in result.files)
        for k in ("lines_read", "lines_accepted", "lines_quarantined")
    }
    detail = (
        f"{len(result.files)} files, {total['lines_read']:,} lines read, "
        f"{total['lines_accepted']:,} accepted, {total['lines_quarantined']:,} "
        "quarantined"
    )
    return Done(detail, [*result.lines(), f"report: {result.report}"], result)


def _panel(ctx: Context) -> Done:
    from features.catalog import catalog
    from features.pipeline import MissingInput, run_panel

    try:
        run = run_panel(ctx.spark, ctx.lake, ctx.settings.panel)
    except MissingInput as exc:
        raise StepFailed(str(exc)) from exc
    ctx.period = ctx.period or months.label(run.changes.last)
    detail = run.changes.describe()
    if run.target_rows:
        detail += f"; targets updated on {run.target_rows:,} rows of earlier months"
    return Done(detail, run.lines(ctx.lake, len(catalog())), run)


def _score(ctx: Context) -> Done:
    from scoring.pipeline import ScoringError, score_period

    try:
        run = score_period(
            ctx.spark, ctx.settings, ctx.period, ctx.request.alias, ctx.request.batch
        )
    except ScoringError as exc:
        raise StepFailed(str(exc)) from exc
    levels = ", ".join(f"{level} {n:,}" for level, n in sorted(run.alerts.items()))
    detail = (
        f"{run.rows:,} establishments scored with {run.model.name} version "
        f"{run.model.version} ({run.model.alias}): {levels}"
    )
    return Done(detail, run.lines(ctx.lake.scores), run)


def _monitor(ctx: Context) -> Done:
    from monitoring.pipeline import MonitoringError, monitor

    experiment = ctx.request.experiment or ctx.settings.monitoring.experiment
    try:
        done = monitor(ctx.spark, ctx.settings, ctx.period, experiment)
    except MonitoringError as exc:
        raise StepFailed(str(exc)) from exc
    status = done.items["status"].value_counts()
    detail = (
        f"{status.get('alert', 0)} items in alert, {status.get('watch', 0)} to watch; "
        f"MLflow run {done.run_id}"
    )
    model = ctx.settings.mlflow.registered_model
    return Done(detail, done.lines(ctx.period, model, ctx.lake.monitoring, experiment), done)


def _export(ctx: Context) -> Done:
    from scoring.export import NothingToExport, export_period

    out = ctx.request.out or Path(ctx.settings.scoring.lists_dir) / f"list_{ctx.period}.json"
    try:
        count = export_period(ctx.spark, ctx.lake, ctx.period, out)
    except NothingToExport as exc:
        raise StepFailed(str(exc)) from exc
    except OSError as exc:
        raise StepFailed(f"cannot write the list to {out}: {exc}") from exc
    return Done(f"{count:,} companies written to {out}", result=out)


RUN: dict[str, Callable[[Context], Done]] = {
    "ingest": _ingest,
    "panel": _panel,
    "score": _score,
    "monitor": _monitor,
    "export": _export,
}


def step_tables(spark: SparkSession, lake: Lake, step: str) -> list[str]:
    """The Delta tables ``step`` writes, restored if it fails (the ingest bookkeeping and the
    quarantine are records of the attempt: they stay)."""
    if step == "ingest":
        return discover_tables(spark, lake.root, ("bronze",))
    if step == "panel":
        return [*discover_tables(spark, lake.root, ("silver",)), lake.panel, lake.panel_runs]
    return {"score": [lake.scores], "monitor": [lake.monitoring]}.get(step, [])


def table_versions(spark: SparkSession, paths: list[str]) -> dict[str, int | None]:
    """Each table's current version; None for a table that does not exist (yet)."""
    return {
        p: delta_io.latest_version(spark, p) if delta_io.exists(spark, p) else None for p in paths
    }


# tables restored at a time: a RESTORE is mostly the driver's Delta bookkeeping (a few short
# jobs, ~3-4 s a table whatever its size), so a failed panel step's silver tables go back
# side by side (common.parallel: on a failure those not begun are left, as one by one)
RESTORED_AT_ONCE = 3


def restore(spark: SparkSession, before: dict[str, int | None]) -> tuple[dict[str, int], list[str]]:
    """Tables whose version moved since ``before`` back to it; returns those restored (path ->
    version) and the tables created since (left: there is no earlier version to go back to)."""
    now = table_versions(spark, list(before))
    moved = {p: v for p, v in before.items() if v is not None and now[p] != v}
    created = [p for p, v in before.items() if v is None and now[p] is not None]
    parallel.each(lambda p: delta_io.restore(spark, p, moved[p]), list(moved), RESTORED_AT_ONCE)
    return moved, created


def done_steps(spark: SparkSession, lake: Lake, batch: str) -> dict[str, dict]:
    """The steps whose latest record for ``batch`` is ``done`` (a tiny table)."""
    if not delta_io.exists(spark, lake.monthly_runs):
        return {}
    rows = (
        delta_io.read(spark, lake.monthly_runs)
        .where(F.col("batch_id") == batch)
        .orderBy("started_at")
        .collect()
    )
    latest = {r["step"]: r.asDict() for r in rows}  # the last record of each step wins
    return {step: r for step, r in latest.items() if r["status"] == "done"}


def record(spark: SparkSession, lake: Lake, row: dict) -> None:
    frame = spark.createDataFrame([row], RUNS_SCHEMA)
    delta_io.write(frame, lake.monthly_runs, mode="append")


def alerts_in(spark: SparkSession, lake: Lake, period: str) -> int:
    """Monitoring items in alert for ``period``, as the table holds them."""
    if not delta_io.exists(spark, lake.monitoring):
        return 0
    day = F.lit(f"{period}-01").cast("date")
    table = delta_io.read(spark, lake.monitoring)
    return table.where((F.col("periode") == day) & (F.col("status") == "alert")).count()


def _short(lake: Lake, path: str) -> str:
    return path.removeprefix(lake.root.rstrip("/") + "/")


def run_month(
    spark: SparkSession,
    settings: Settings,
    request: Request,
    say: Callable[[str], None] = log.info,
) -> Month:
    """Run the steps not done yet for ``request.batch``; raise ``MonthFailed`` at the first
    that fails, once its tables are restored and the failure recorded."""
    lake = Lake.from_settings(settings)
    ctx = Context(spark, settings, lake, request, request.period)
    earlier = {} if request.force else done_steps(spark, lake, request.batch)
    outcomes = []
    for number, step in enumerate(STEPS, 1):
        head = f"[{number}/{len(STEPS)}] {step}"
        done = earlier.get(step)
        if step == "panel" and done and ctx.period is None:
            ctx.period = done["period"]
        if done and (step not in PERIOD_STEPS or done["period"] == ctx.period):
            say(
                f"{head}: done by an earlier run of batch {request.batch}, skipped "
                f"({done['detail']})"
            )
            outcomes.append(Outcome(step, "skipped", 0.0, done["detail"]))
            continue
        say(f"{head}{f' {ctx.period}' if step in PERIOD_STEPS else ''} ...")
        before = table_versions(spark, step_tables(spark, lake, step))
        started = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # orders the step's records
        began = time.monotonic()
        row = {
            "batch_id": request.batch,
            "step": step,
            "started_at": started,
            "application_id": spark.sparkContext.applicationId,
        }
        try:
            result = RUN[step](ctx)
        except Exception as exc:
            row = {**row, "seconds": time.monotonic() - began}
            _fail(spark, lake, ctx, step, exc, before, row, outcomes)
        seconds = time.monotonic() - began
        record(
            spark,
            lake,
            {
                **row,
                "status": "done",
                "period": ctx.period,
                "seconds": seconds,
                "detail": result.detail,
            },
        )
        say("\n".join(f"    {line}" for line in result.lines))
        say(f"{head}: {result.detail} ({seconds:.0f} s)")
        outcomes.append(Outcome(step, "done", seconds, result.detail, result.result))
    report = write_report(ctx, outcomes)
    return Month(request.batch, ctx.period, outcomes, alerts_in(spark, lake, ctx.period), report)


def write_report(ctx: Context, outcomes: list[Outcome]) -> Path:
    """The month's run report (``report.html`` and ``report.json``) under
    ``<runs_dir>/monthly/<batch>/<time>-<pid>``: the steps, the batch, the panel by month, the
    period's alerts, the model and the monitoring (counts only)."""
    from features.catalog import catalog
    from reports.build import month_report, run_folder

    results = {o.step: o.result for o in outcomes if o.result is not None}
    scored, monitored = results.get("score"), results.get("monitor")
    folder = run_folder(ctx.settings.ingest.runs_dir, "monthly", ctx.request.batch)
    steps = [
        {"step": o.step, "status": o.status, "seconds": round(o.seconds, 1), "detail": o.detail}
        for o in outcomes
    ]
    return month_report(
        ctx.spark,
        ctx.lake,
        ctx.settings.mlflow.tracking_uri,
        folder,
        ctx.request.batch,
        ctx.period,
        steps,
        getattr(scored, "model", None),
        getattr(monitored, "run_id", None),
        len(catalog()),
    )


def _fail(
    spark: SparkSession,
    lake: Lake,
    ctx: Context,
    step: str,
    exc: Exception,
    before: dict[str, int | None],
    row: dict,
    outcomes: list[Outcome],
) -> None:
    if isinstance(exc, StepFailed):
        message, code = str(exc), exc.code
    else:  # unforeseen: the job shows the traceback too
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        message, code = f"{type(exc).__name__}: {first}", 1
    restored, created, unrestored = {}, [], None
    try:
        with delta_io.commit_metadata(
            spark, json.dumps({"monthly": f"batch {ctx.request.batch}: {step} failed, restored"})
        ):
            restored, created = restore(spark, before)
        record(
            spark,
            lake,
            {
                **row,
                "status": "failed",
                "period": ctx.period,
                "detail": "",
                "error": message[:2000],
                "restored": json.dumps({_short(lake, p): v for p, v in restored.items()}),
            },
        )
    except Exception as again:  # the session itself may be gone: the rerun converges anyway
        unrestored = f"{type(again).__name__}: {(str(again).splitlines() or [''])[0][:300]}"
        log.exception("could not restore the tables of step %s", step)
    failed = MonthFailed(
        step,
        message,
        code,
        {_short(lake, p): v for p, v in restored.items()},
        [_short(lake, p) for p in created],
        unrestored,
    )
    if unrestored is None:  # the session works: the report says what was done and what failed
        outcome = Outcome(step, "failed", row["seconds"], message.splitlines()[0][:300])
        try:
            failed.report = write_report(ctx, [*outcomes, outcome])
        except Exception:
            log.exception("could not write the run report of the failed run")
    raise failed from exc
