"""Walk-forward backtest: at each cut-off month, train XGBoost and the baseline on what was
knowable then, score that month's population with alerts and corrections as jobs/score.py
does, and measure each model's company list against the judgments of the next 18 months.

Writes <lake>/gold/backtest (one row per cut-off and model), <lake>/gold/backtest_companies
(the lists) and an MLflow parent run (one child run per cut-off, plots on the parent).
Cut-offs whose 18-month outcome window is not complete in the data are refused.
"""

from __future__ import annotations

import argparse
import sys

from common import months
from common.cli import job_parser, month, start
from training.backtest import run

COLUMNS = (
    ("cut-off", 7, lambda r: str(r["cutoff"])[:7]),
    ("model", 8, lambda r: r["model"]),
    ("companies", 9, lambda r: f"{r['companies']:,}"),
    ("failing", 7, lambda r: f"{r['positives']:,}"),
    ("AUCPR", 6, lambda r: _f(r["aucpr"])),
    ("P@100", 6, lambda r: _f(r["precision_at_100"])),
    ("fort", 5, lambda r: _n(r["fort_size"])),
    ("prec.", 6, lambda r: _f(r["fort_precision"])),
    ("recall", 6, lambda r: _f(r["fort_recall"])),
    ("alerts", 6, lambda r: _n(r["alert_size"])),
    ("prec.", 6, lambda r: _f(r["alert_precision"])),
    ("recall", 6, lambda r: _f(r["alert_recall"])),
    ("lead", 5, lambda r: _f(r["median_lead_months"], 1)),
    ("churn", 6, lambda r: _f(r["churn_alert"], 2)),
)


def _f(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _n(value) -> str:
    return "-" if value is None else f"{value:,}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("backtest", __doc__)
    parser.add_argument(
        "--from",
        dest="first",
        required=True,
        type=month,
        metavar="YYYY-MM",
        help="first cut-off month",
    )
    parser.add_argument(
        "--to",
        dest="last",
        required=True,
        type=month,
        metavar="YYYY-MM",
        help="last cut-off month (at most the data's last month minus the 18-month horizon)",
    )
    parser.add_argument(
        "--every", type=int, default=3, metavar="N", help="months between cut-offs (default 3)"
    )
    parser.add_argument(
        "--experiment",
        metavar="NAME",
        help="MLflow experiment (default: <mlflow.experiment>-backtest)",
    )
    parser.add_argument(
        "--search",
        action="store_true",
        help="run the hyper-parameter trials of training.search at every cut-off (default: "
        "training.xgboost alone, much faster)",
    )
    parser.add_argument(
        "--truth",
        metavar="PATH",
        help="the generator's ground truth (Delta): the oracle is measured too",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings, spark = start(args, "backtest")
    try:
        result = run(
            spark,
            settings,
            args.first,
            args.last,
            args.every,
            args.experiment,
            args.truth,
            search=args.search,
        )
    except ValueError as exc:
        spark.stop()
        sys.exit(f"error: {exc}")
    print(
        f"backtest of {len(result.cutoffs)} cut-offs on panel version {result.panel_version}: "
        "company-level lists (a company = its highest-scored establishment), failures = first "
        "opening judgments within 18 months of the cut-off; 'fort' = the risque_fort list, "
        "'alerts' = risque_fort + risque_modere; lead = median months from the list to the "
        "judgment of the failures caught; churn = share of the alerts absent from the "
        "previous cut-off's"
    )
    print("  ".join(f"{name:>{width}}" for name, width, _ in COLUMNS))
    for row in result.rows:
        print("  ".join(f"{value(row):>{width}}" for _, width, value in COLUMNS))
    lake = settings.lake.root.rstrip("/")
    print(f"tables: {lake}/gold/backtest, {lake}/gold/backtest_companies")
    print(
        f"MLflow: run {result.run_id} (experiment {result.experiment_id}): one child run per "
        "cut-off; plots under plots/ of the parent run. Open with: make mlflow-ui"
    )
    print(f"cut-offs: {', '.join(months.label(c.month) for c in result.cutoffs)}")
    spark.stop()


if __name__ == "__main__":
    main()
