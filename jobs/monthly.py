"""Run the month: ingest a delivery, update the panel, score, monitor and export the list.

In one Spark application, in this order, stopping at the first failure:
  1. ingest   the delivery (--raw) as batch --batch (jobs/ingest.py)
  2. panel    only the months the delivery changed, and the targets of earlier months
              (jobs/panel.py without options)
  3. score    the month (default: the data's last month) with the champion (jobs/score.py)
  4. monitor  its drift against the champion's reference (jobs/monitor.py)
  5. export   its list to <scoring.lists_dir>/list_<YYYY-MM>.json, or --out (jobs/export_list.py)

Each step is recorded in <lake>/ops/monthly_runs. A step that fails leaves the tables it
writes as they were before it (the Delta tables it changed are restored). Run the same command
again to resume: the steps already done for the batch are skipped.

Exit codes: 0 done; 1 a step failed (its name and the reason are printed); 3 another job
committed to the same tables (run again once it has finished); 4 with --fail-on-alert, when a
monitoring item of the month is in alert (the list is exported all the same).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from pyspark.sql import SparkSession

from common.cli import add_delivery_options, job_parser, load_settings, month, run_job
from common.config import ConfigError, Settings
from ingestion.quality import load_suites
from monitoring.pipeline import ALERT_EXIT, exit_code
from orchestration.monthly import MonthFailed, Request, StepFailed, run_month


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("monthly", __doc__)
    add_delivery_options(parser)
    options = (
        (
            "--period",
            dict(
                type=month,
                metavar="YYYY-MM",
                help="month to score, monitor and export (default: the data's last)",
            ),
        ),
        (
            "--out",
            dict(
                type=Path,
                metavar="FILE",
                help="the list's JSON file (default: <lists_dir>/list_<period>.json)",
            ),
        ),
        (
            "--model-alias",
            dict(
                default="champion",
                metavar="ALIAS",
                help="registry alias of the model (default: champion)",
            ),
        ),
        (
            "--experiment",
            dict(
                metavar="NAME",
                help="MLflow experiment of the monitoring run (default: monitoring.experiment)",
            ),
        ),
        (
            "--force",
            dict(
                action="store_true",
                help="re-ingest a batch already ingested from other files, and redo every step",
            ),
        ),
        (
            "--fail-on-alert",
            dict(
                action="store_true",
                help=f"exit with code {ALERT_EXIT} when a monitoring item is in alert",
            ),
        ),
    )
    for name, spec in options:
        parser.add_argument(name, **spec)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:  # no data-quality suite, no ingest: said before Spark starts
        load_suites(Path(load_settings(args).ingest.expectations_dir))
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    run_job(args, "monthly", run)


def run(spark: SparkSession, settings: Settings, args: argparse.Namespace) -> int:
    """Run the month's steps and print the outcome; the job's exit code (the module's doc)."""
    began = time.monotonic()
    request = Request(
        args.raw, args.batch, args.period, args.out, args.model_alias, args.experiment, args.force
    )
    try:
        done = run_month(spark, settings, request, say=lambda text: print(text, flush=True))
    except MonthFailed as exc:
        if not isinstance(exc.__cause__, StepFailed):
            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(failure(exc, args.batch), file=sys.stderr)
        return exc.code
    print(
        f"batch {done.batch}, month {done.period}: done in {time.monotonic() - began:.0f} s; "
        f"{done.alerts} monitoring items in alert"
    )
    print(f"run report: {done.report}")
    return exit_code(done.alerts, args.fail_on_alert)


def failure(exc: MonthFailed, batch: str) -> str:
    lines = [f"error: step {exc.step} failed: {exc}"]
    if exc.restored:
        shown = ", ".join(f"{t} to version {v}" for t, v in sorted(exc.restored.items()))
        lines.append(f"the tables it had changed are restored: {shown}")
    if exc.created:
        lines.append(f"tables it created are left (no earlier version): {', '.join(exc.created)}")
    if exc.unrestored:
        lines.append(f"the tables could not be restored ({exc.unrestored}); the rerun converges")
    lines.append(f"run the same command again to resume batch {batch} at step {exc.step}")
    if exc.report:
        lines.append(f"run report: {exc.report}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
