"""Score one month of the panel with a registered model and write the alert list.

Loads the model by alias from the MLflow registry, scores the panel rows of the
period in the executors with exact TreeSHAP explanations summed by topic group,
sets the alert levels from the model's thresholds, applies the expert corrections
of the configuration, and MERGEs the period into <lake>/gold/scores.
"""

from __future__ import annotations

import argparse
import sys

from common.cli import job_parser, month, start
from common.lake import Lake
from scoring.pipeline import ScoringError, score_period


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("score", __doc__)
    parser.add_argument(
        "--period", required=True, type=month, metavar="YYYY-MM", help="the month to score"
    )
    parser.add_argument(
        "--model-alias",
        default="champion",
        metavar="ALIAS",
        help="registry alias of the model (default: champion)",
    )
    parser.add_argument(
        "--batch",
        metavar="ID",
        help="batch id recorded with the scores (default: the latest ingested)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings, spark = start(args, "score")
    try:
        run = score_period(spark, settings, args.period, args.model_alias, args.batch)
    except ScoringError as exc:
        spark.stop()
        sys.exit(f"error: {exc}")
    print("\n".join(run.lines(Lake.from_settings(settings).scores)))
    spark.stop()


if __name__ == "__main__":
    main()
