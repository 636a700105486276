"""Ingest one delivery of raw files into validated bronze Delta tables.

Each file's source is recognised from its name (or the delivery's manifest.json);
unknown files are reported and skipped. Lines that cannot be used go to
<lake>/ops/quarantine with the reason; data-quality rules (expectations/*.yaml)
run before anything is committed; a fatal file problem, a source without a suite
or a failed `error` rule rejects the whole batch. No suite at all ends the job
before Spark starts. Re-ingesting a batch from the same files does nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from common.cli import add_delivery_options, job_parser, load_settings, run_job
from common.config import ConfigError, Settings
from common.lake import Lake
from ingestion.pipeline import IngestFailed, ingest_or_explain
from ingestion.quality import load_suites


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("ingest", __doc__)
    add_delivery_options(parser)
    parser.add_argument(
        "--force", action="store_true", help="replace a batch already ingested from other files"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    expectations = Path(load_settings(args).ingest.expectations_dir)
    try:  # no data-quality suite, no ingest: said before Spark starts
        load_suites(expectations)
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    run_job(args, "ingest", run)


def run(spark: SparkSession, settings: Settings, args: argparse.Namespace) -> int:
    """Ingest the batch and print the outcome; the job's exit code: 0 done, 1 refused, 3 lost
    its commit to another job."""
    lake = Lake.from_settings(settings)
    expectations = Path(settings.ingest.expectations_dir)
    try:
        result = ingest_or_explain(
            spark,
            lake,
            expectations,
            Path(settings.ingest.runs_dir),
            args.raw,
            args.batch,
            force=args.force,
            at_once=settings.ingest.at_once,
        )
    except IngestFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    if result.already_ingested:
        print(f"batch {args.batch} was already ingested from these files: nothing to do")
    else:
        print(f"batch {args.batch} ingested into {lake.root}")
        print("\n".join(result.lines()))
        print(f"report:    {result.report}")
        if result.data_docs:
            print(f"data docs: {result.data_docs}")
        print(f"run report: {result.report_html}")
    return 0


if __name__ == "__main__":
    main()
