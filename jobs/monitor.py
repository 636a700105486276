"""Watch one month for drift, and record how past lists turned out.

Against the champion model's reference (its training rows, described when it was trained:
per variable bin edges and counts, and its score distribution): the population stability
index (PSI) and the change of missing share of every variable of the month's panel rows, and
the PSI of the month's scores. Against the previous months: the records of each monthly source
and the alerts per level. And for every scored month whose 18-month outcome is now complete,
the realised precision of its lists. Written to <lake>/ops/monitoring (one row per month and
item, replaced on a rerun) and to an MLflow run with plots, in the monitoring experiment.

Exit codes: 0 (even with items in alert: they are printed), 1 on an error, 4 with
--fail-on-alert when an item is in alert (for schedulers).
"""

from __future__ import annotations

import argparse
import sys

from common.cli import job_parser, month, start
from common.lake import Lake
from monitoring.pipeline import ALERT_EXIT, MonitoringError, exit_code, monitor


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("monitor", __doc__)
    parser.add_argument(
        "--period", required=True, type=month, metavar="YYYY-MM", help="the month to monitor"
    )
    parser.add_argument(
        "--experiment",
        metavar="NAME",
        help="MLflow experiment (default: monitoring.experiment of the configuration)",
    )
    parser.add_argument(
        "--fail-on-alert",
        action="store_true",
        help=f"exit with code {ALERT_EXIT} when an item is in alert",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings, spark = start(args, "monitor")
    try:
        done = monitor(spark, settings, args.period, args.experiment)
    except MonitoringError as exc:
        spark.stop()
        sys.exit(f"error: {exc}")
    spark.stop()
    experiment = args.experiment or settings.monitoring.experiment
    model, where = settings.mlflow.registered_model, Lake.from_settings(settings).monitoring
    print("\n".join(done.lines(args.period, model, where, experiment)))
    sys.exit(exit_code(len(done.in_alert()), args.fail_on_alert))


if __name__ == "__main__":
    main()
