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

from pyspark.sql import functions as F

from common import delta_io
from common.cli import job_parser, month, start
from common.lake import Lake
from scoring.export import company_list, write_json_array


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
    lake = Lake.from_settings(settings)
    if not delta_io.exists(spark, lake.scores):
        sys.exit(f"error: no score table in {lake.root}: score a period first (jobs/score.py)")
    scores = delta_io.read(spark, lake.scores).where(
        F.col("periode") == F.lit(f"{args.period}-01").cast("date")
    )
    if scores.limit(1).count() == 0:
        sys.exit(f"error: no scores for {args.period}: score it first (jobs/score.py)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    count = write_json_array(
        company_list(scores), args.out.resolve(), [F.col("probabilite").desc(), F.col("siren")]
    )
    print(f"{count:,} companies written to {args.out}")
    spark.stop()


if __name__ == "__main__":
    main()
