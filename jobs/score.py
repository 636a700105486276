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
    print(
        f"scored {run.rows:,} establishments for {run.period} with {run.model.name} "
        f"version {run.model.version} ({run.model.alias}) in {run.seconds:.0f} s "
        "(scores, explanations, alerts, MERGE)"
    )
    for level in ("risque_fort", "risque_modere", "pas_d_alerte"):
        print(
            f"  {level:<14} {run.alerts.get(level, 0):>8,}   before corrections "
            f"{run.alerts_before.get(level, 0):>8,}"
        )
    for name, count in sorted(run.corrections.items()):
        print(f"  correction {name}: {count:,}")
    print(
        f"written to {settings.lake.root}/gold/{settings.tables.scores} (MERGE on siret, periode)"
    )
    spark.stop()


if __name__ == "__main__":
    main()
