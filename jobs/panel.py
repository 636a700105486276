"""Build the silver tables and the monthly panel from the current bronze records.

Silver tables (monthly grain) go to <lake>/silver/<name>; the panel, one row per
(siret, month) of the population with every catalog variable and the 18-month
target, to <lake>/gold/panel, partitioned by month.

With no option, only what the bronze tables changed since the last run is rewritten:
the months from the earliest changed input month on (a new month, corrections, late
filings), and before them the targets that new judgments or the closing horizon change.
The first run, and one after a change of the catalog or of the panel settings, builds
everything. --full forces that; with --from/--to only those months are replaced. Each
run is recorded in <lake>/ops/panel_runs (months rewritten and why).
"""

from __future__ import annotations

import argparse
import sys

from common.cli import job_parser, month, start
from common.lake import Lake
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
    parser.add_argument("--full", action="store_true", help="rebuild every month, whatever changed")
    args = parser.parse_args(argv)
    if args.full and (args.first or args.last):
        parser.error("--full rebuilds every month: it cannot be combined with --from/--to")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings, spark = start(args, "panel")
    lake = Lake.from_settings(settings)
    try:
        run = run_panel(spark, lake, settings.panel, args.first, args.last, args.full)
    except (MissingInput, CatalogChanged) as exc:
        sys.exit(f"error: {exc}")
    print(f"panel written to {lake.panel} (Delta version {run.version})")
    print(
        f"  {run.rows:,} rows, {run.establishments:,} establishments, {run.months} months, "
        f"{len(catalog())} variables"
    )
    print(f"  positive 18-month labels {run.positive_share:.2%}, ", end="")
    print(f"strong signals {run.strong_share:.2%}")
    print(f"  run: {run.changes.describe()}")
    if run.target_rows:
        print(f"  targets updated on {run.target_rows:,} rows of earlier months")
    plan = f"plan: {run.plan}; " if run.plan else ""
    print(f"  {plan}silver {run.seconds_silver:.0f} s, changes {run.seconds_changes:.0f} s, "
          f"panel {run.seconds_panel:.0f} s, targets {run.seconds_targets:.0f} s")  # fmt: skip
    spark.stop()


if __name__ == "__main__":
    main()
