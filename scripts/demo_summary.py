"""What `make demo` prints at the end: a short human summary of the run.

    ./spark-submit.sh scripts/demo_summary.py --config CONF --list FILE --period YYYY-MM

Counts, metrics and the top of the list with pseudonymised identifiers only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from common import delta_io, months
from common.cli import job_parser, start
from common.config import Settings
from common.lake import Lake
from common.secrecy import KEY_ENV, KEY_FILE_ENV, Pseudonymiser, SecrecyError, pseudonymiser
from common.tracking import use_tracking
from features.catalog import catalog
from ingestion import bookkeeping as books
from monitoring.pipeline import by_group
from scoring.alerts import LEVELS
from scoring.export import company_list


def main() -> None:
    parser = job_parser("scripts/demo_summary.py", __doc__)
    parser.add_argument("--list", required=True, type=Path)
    parser.add_argument("--period", required=True)
    args = parser.parse_args()
    try:
        pseudonym = pseudonymiser()
    except SecrecyError as exc:
        sys.exit(f"error: {exc}")
    settings, spark = start(args, "demo-summary")
    try:
        summarise(spark, settings, args.list, args.period, pseudonym)
    finally:
        spark.stop()


def summarise(
    spark: SparkSession, settings: Settings, listed_to: Path, period: str, pseudonym: Pseudonymiser
) -> None:
    """Print the summary of the demo's lake, its MLflow runs and its month ``period``, whose
    list was exported to ``listed_to``."""
    lake = Lake.from_settings(settings)
    runs = (
        books.committed_runs(delta_io.read(spark, lake.ingest_runs))
        .agg(
            F.sum("lines_read"),
            F.sum("lines_accepted"),
            F.sum("lines_quarantined"),
            F.sum("lines_skipped"),
        )
        .first()
    )
    panel = (
        delta_io.read(spark, lake.panel)
        .agg(F.count(F.lit(1)), F.countDistinct("siret"), F.countDistinct("periode"))
        .first()
    )
    experiment = use_tracking(settings.mlflow)
    metrics = {}
    for kind in ("xgboost", "baseline_logistic_regression"):  # the latest run of each kind
        latest = mlflow.search_runs(
            [experiment],
            f"tags.model_type = '{kind}'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if len(latest):
            metrics[kind] = latest.iloc[0]
    scores = delta_io.read(spark, lake.scores).where(
        F.col("periode") == F.lit(f"{period}-01").cast("date")
    )
    # at most 3 x 3 rows: each level, and the level the thresholds alone gave
    levels = scores.groupBy("alert", "alert_before_corrections").count().collect()
    alerts, before, moved = {}, {}, {"up": 0, "down": 0}
    for r in levels:
        now, b = r["alert"], r["alert_before_corrections"]
        alerts[now] = alerts.get(now, 0) + r["count"]
        before[b] = before.get(b, 0) + r["count"]
        step = LEVELS.index(now) - LEVELS.index(b)  # LEVELS: lowest first
        if step:
            moved["up" if step > 0 else "down"] += r["count"]
    drift, drifting, reference = {}, pd.Series([], dtype=object), None
    if delta_io.exists(spark, lake.monitoring):
        month = delta_io.read(spark, lake.monitoring).where(
            (F.col("periode") == F.lit(f"{period}-01").cast("date")) & (F.col("kind") != "outcome")
        )
        # one read: a month's items are the catalog's variables and a few counts
        items = month.select("kind", "status", "item", "psi", "mlflow_run_id").toPandas()
        groups = items.groupby(["kind", "status"])["psi"].agg(["size", "max"])
        drift = {key: (int(g["size"]), g["max"]) for key, g in groups.iterrows()}
        drifting = items.loc[(items["kind"] == "variable") & (items["status"] == "alert"), "item"]
        if len(items):  # the months of the training rows the run compared the month with
            run = mlflow.get_run(items["mlflow_run_id"].iloc[0])
            reference = run.data.params.get("reference.months")
    # the top of the list from the table (the list file is never loaded whole)
    listed = company_list(scores)
    count = listed.count()
    companies = [
        row.asDict(recursive=True)
        for row in listed.orderBy(F.col("probabilite").desc(), "siren").limit(5).collect()
    ]

    print("\n=== early-warning demo: summary ===")
    print(
        f"ingest    {runs[0]:,} lines read, {runs[1]:,} accepted, {runs[2]:,} quarantined, {runs[3]:,} skipped"
    )
    print(
        f"panel     {panel[0]:,} rows (establishment-months): {panel[1]:,} establishments over "
        f"{panel[2]} months, {len(catalog())} variables"
    )
    xgb, base = metrics.get("xgboost"), metrics.get("baseline_logistic_regression")
    if xgb is not None and base is not None:
        oracle = xgb.get("metrics.oracle_aucpr")
        line = f"model     test AUCPR {xgb['metrics.test_aucpr']:.3f} (baseline {base['metrics.test_aucpr']:.3f}"
        line += f", oracle {oracle:.3f})" if oracle == oracle and oracle is not None else ")"
        print(line + f"; positive rate {xgb['metrics.test_positive_rate']:.3f}")
        if xgb["metrics.test_aucpr"] > base["metrics.test_aucpr"]:
            print("          XGBoost beats the reference baseline on the test months")
        else:
            print(
                "          XGBoost does not beat the reference baseline on this world's test months "
                f"({int(xgb['metrics.test_rows'] * xgb['metrics.test_positive_rate'])} positive "
                "rows): too few failing companies to learn from; the 20k x 72 backtest "
                "(README, 'How good are the lists?') measures it"
            )
    print(
        f"alerts    {period}: "
        + ", ".join(
            f"{k} {alerts.get(k, 0):,}" for k in ("risque_fort", "risque_modere", "pas_d_alerte")
        )
    )
    print(
        f"          from the model's thresholds alone: risque_fort {before.get('risque_fort', 0):,}, "
        f"risque_modere {before.get('risque_modere', 0):,}; the expert corrections "
        f"(scoring.corrections) moved {moved['up']:,} establishments up a level, "
        f"{moved['down']:,} down"
    )
    if drift:

        def items_of(kind: str, status: str | None = None) -> int:
            return sum(n for (k, s), (n, _) in drift.items() if k == kind and status in (None, s))

        score = next((psi for (kind, _), (_, psi) in drift.items() if kind == "score"), None)
        against = f" against the champion's training rows of {reference}" if reference else ""
        print(
            f"drift     {period}{against}: {items_of('variable', 'alert')} of "
            f"{items_of('variable')} variables in alert, {items_of('variable', 'watch')} to "
            f"watch;\n          scores' PSI {score if score is not None else float('nan'):.2f}; "
            f"{items_of('source', 'alert')} source(s) in alert (ops/monitoring, experiment "
            f"{settings.monitoring.experiment})"
        )
        if len(drifting):
            print(f"          variables in alert by group: {by_group(drifting)}")
        if items_of("change"):
            previous = months.label(months.index(period) - 1)
            print(
                f"          since {previous} (what moved this month): "
                f"{items_of('change', 'alert')} of {items_of('change')} variables in alert, "
                f"{items_of('change', 'watch')} to watch"
            )
    if pseudonym.stable:
        print("top of the list (identifiers pseudonymised with the configured key):")
    else:
        print(
            "top of the list (identifiers pseudonymised with a random key of this run: they "
            f"change from run to run; set {KEY_ENV} or {KEY_FILE_ENV} for stable ones):"
        )
    for company in companies:
        groups = company.get("explication_macro") or {}
        main_group = max(groups, key=groups.get) if groups else "-"
        print(
            f"  {pseudonym(company['siren'])}  NAF {company['code_naf']}  region {company['region']}  "
            f"p={company['probabilite']:.3f}  {company['alerte']}  main driver: {main_group}"
        )
    print(f"list      {listed_to} ({count:,} companies; names companies: for the agents only)")
    run_dirs = Path(settings.ingest.runs_dir)
    for label, pattern in (
        (
            "report    the month's run (HTML, opens offline): ",
            f"monthly/{period}/*/report.html",
        ),
        ("          the training's: ", "train/*/report.html"),
        (
            "          data docs of the month's batch: ",
            f"ingest/{period}/*/gx/uncommitted/data_docs/local_site/index.html",
        ),
    ):
        found = sorted(run_dirs.glob(pattern))  # names start with the run's time: the last is last
        if found:
            print(f"{label}{found[-1]}")
    print(f"lake      {lake.root}")
    uri = settings.mlflow.tracking_uri
    print(
        f"MLflow    .venv/bin/mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port 5000"
        "   (or: make mlflow-ui)"
    )


if __name__ == "__main__":
    main()
