"""Build the silver tables and the monthly panel from the current bronze records.

Silver tables (monthly grain) go to <lake>/silver/<name>; the panel, one row per
(siret, month) of the population with every catalog variable and the 18-month
target, to <lake>/gold/panel, partitioned by month. With --from/--to only those
months of the panel are replaced; the others stay as they are.
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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings, spark = start(args, "panel")
    lake = Lake.from_settings(settings)
    try:
        run = run_panel(spark, lake, settings.panel, args.first, args.last)
    except (MissingInput, CatalogChanged) as exc:
        sys.exit(f"error: {exc}")
    print(f"panel written to {lake.panel} (Delta version {run.version})")
    print(
        f"  {run.rows:,} rows, {run.establishments:,} establishments, {run.months} months, "
        f"{len(catalog())} variables"
    )
    print(f"  positive 18-month labels {run.positive_share:.2%}, ", end="")
    print(f"strong signals {run.strong_share:.2%}")
    print(f"  plan: {run.plan}; silver {run.seconds_silver:.0f} s, panel {run.seconds_panel:.0f} s")
    if args.first or args.last:
        print(f"  months {run.first_month} to {run.last_month} replaced; the others untouched")
    spark.stop()


if __name__ == "__main__":
    main()
