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

import pandas as pd

from common.cli import job_parser, month, start
from monitoring.pipeline import MonitoringError, monitor

ALERT_EXIT = 4
SHOWN = 15  # variables in alert printed, by PSI


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


def exit_code(alerts: int, fail_on_alert: bool) -> int:
    return ALERT_EXIT if alerts and fail_on_alert else 0


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings, spark = start(args, "monitor")
    try:
        done = monitor(spark, settings, args.period, args.experiment)
    except MonitoringError as exc:
        spark.stop()
        sys.exit(f"error: {exc}")
    spark.stop()
    items = done.items[done.items["kind"] != "outcome"]
    print(
        f"monitored {args.period} against {settings.mlflow.registered_model} version "
        f"{done.model_version}'s reference in {done.seconds:.0f} s"
    )
    for kind, group in items.groupby("kind", sort=False):
        counts = group["status"].value_counts()
        print(
            f"  {kind:<9} {len(group):>4} items: {counts.get('alert', 0)} in alert, "
            f"{counts.get('watch', 0)} to watch"
        )
    alerts = done.in_alert()
    variables = alerts[alerts["kind"] == "variable"].sort_values("psi", ascending=False)
    shown = pd.concat([alerts[alerts["kind"] != "variable"], variables.head(SHOWN)])
    for r in shown.itertuples():
        detail = f"PSI {r.psi:.3f}" if r.psi == r.psi else f"{r.value:,.0f} vs {r.reference:,.1f}"
        if r.kind == "variable" and r.missing_share == r.missing_share:
            detail += f", missing {r.reference_missing_share:.1%} -> {r.missing_share:.1%}"
        print(f"  ALERT {r.kind} {r.item}: {detail}")
    if len(variables) > SHOWN:
        print(f"  ... and {len(variables) - SHOWN} more variables in alert (the table, the run)")
    outcomes = done.items[done.items["kind"] == "outcome"]
    for r in outcomes[outcomes["item"] == "precision_risque_fort"].itertuples():
        print(
            f"  list of {r.periode:%Y-%m}: {r.value:.1%} of its {r.reference:,.0f} risque_fort "
            "companies opened proceedings within 18 months"
        )
    print(f"written to {settings.lake.root}/ops/{settings.tables.monitoring}")
    experiment = args.experiment or settings.monitoring.experiment
    print(f"MLflow run {done.run_id} in experiment {experiment} (make mlflow-ui)")
    sys.exit(exit_code(len(alerts), args.fail_on_alert))


if __name__ == "__main__":
    main()
