"""Build the silver tables and the monthly panel from the current bronze records.

Silver tables (monthly grain) go to <lake>/silver/<name>; the panel, one row per
(siret, month) of the population with every catalog variable and the 18-month
target, to <lake>/gold/panel, partitioned by month.

With no option, only what the bronze tables changed since the last run is rewritten:
the silver tables whose bronze tables (or code) changed, the months from the earliest
changed input month on (a new month, corrections, late filings), and before them the
targets that new judgments or the closing horizon change. The first run, and one after a
change of the catalog or of the panel settings, builds every month. --full rewrites every
silver table and every month; with --from/--to only those months are replaced. Each run is
recorded in <lake>/ops/panel_runs (months rewritten and why).

--explain NAME prints how one variable is computed, from the raw file and its column through
the silver table to the formula, with each function's file and line, and exits (no Spark).
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import SparkSession

from common.cli import job_parser, month, run_job
from common.config import Settings
from common.lake import Lake
from features import explain
from features.catalog import catalog
from features.pipeline import CatalogChanged, MissingInput, run_panel


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("panel", __doc__)
    parser.add_argument(
        "--from",
        dest="first",
        type=month,
        metavar="YYYY-MM",
        help="first month to (re)write (default: panel.start)",
    )
    parser.add_argument(
        "--to",
        dest="last",
        type=month,
        metavar="YYYY-MM",
        help="last month to (re)write (default: the last month of the data)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="rewrite every silver table and every month, whatever changed",
    )
    parser.add_argument(
        "--explain",
        metavar="NAME",
        action="append",
        help="print the derivation of variable NAME (repeatable) and exit, without Spark",
    )
    args = parser.parse_args(argv)
    if args.full and (args.first or args.last):
        parser.error("--full rebuilds every month: it cannot be combined with --from/--to")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.explain:
        explain.main(args.explain)
        return
    run_job(args, "panel", run)


def run(spark: SparkSession, settings: Settings, args: argparse.Namespace) -> int:
    """Write what the bronze tables require and print the run; the exit code: 0 done, 1 an
    input is missing or the catalog changed under a range run."""
    lake = Lake.from_settings(settings)
    try:
        done = run_panel(spark, lake, settings.panel, args.first, args.last, args.full)
    except (MissingInput, CatalogChanged) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(done.lines(lake, len(catalog()))))
    return 0


if __name__ == "__main__":
    main()
