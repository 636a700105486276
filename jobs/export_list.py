"""Export a period's alert list in the JSON shape of the agents' web application.

One object per company: its highest-scoring establishment, with siren, NAF code,
département, region, probability, alert level, the two thresholds, period, batch
and algorithm version, and for alerted companies the explanations and the expert
corrections. This file names companies: it is meant for the agents, not for logs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.cli import job_parser, month, start
from common.lake import Lake
from scoring.export import NothingToExport, export_period


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("export_list", __doc__)
    parser.add_argument("--period", required=True, type=month, metavar="YYYY-MM")
    parser.add_argument(
        "--out", required=True, type=Path, metavar="FILE", help="the JSON file to write"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings, spark = start(args, "export-list")
    try:
        count = export_period(spark, Lake.from_settings(settings), args.period, args.out)
    except NothingToExport as exc:
        spark.stop()
        sys.exit(f"error: {exc}")
    print(f"{count:,} companies written to {args.out}")
    spark.stop()


if __name__ == "__main__":
    main()
