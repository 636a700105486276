"""What the run reports and the offline Data Docs cost, on the lake ``bench.incremental``
leaves (20k x 72, its last month ingested, scored and monitored through jobs/monthly.py).

    .venv/bin/python -m bench.reports [--dir work/bench/incremental]

Times, in one Spark application: the month's report (its facts read from the lake: the
batch's files, rules and quarantine reasons, the panel by month, the month's alerts and
monitoring, then the HTML), and the Data Docs of the month's ingest made offline (the
vendored assets copied, every page rewritten). Sizes: the report, the assets per site.
Results: ``bench/results/reports.{json,md}``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from bench.harness import ROOT, machine, save


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "work" / "bench" / "incremental")
    args = parser.parse_args()

    from pyspark.sql import functions as F

    from common import delta_io
    from common.config import load_config
    from common.lake import Lake
    from common.spark import get_spark
    from features.catalog import catalog
    from ingestion.datadocs import VENDOR, make_offline
    from reports import facts
    from reports.build import month_report

    settings = load_config(args.dir / "bench.yaml", lake=str(args.dir / "lake"))
    spark = get_spark(settings.spark, app_name="bench-reports")
    lake = Lake.from_settings(settings)
    runs = delta_io.read(spark, lake.monthly_runs).where(F.col("status") == "done")
    last = runs.orderBy(F.desc("started_at")).first()
    batch, period = last["batch_id"], last["period"]
    steps = [
        {"step": r["step"], "status": r["status"], "seconds": r["seconds"], "detail": r["detail"]}
        for r in runs.where(F.col("batch_id") == batch).orderBy("started_at").collect()
    ]
    out = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    seconds = {}
    measured = {
        "batch facts": lambda: (
            facts.batch_files(spark, lake, batch),
            facts.batch_rules(spark, lake, batch),
            facts.quarantine_reasons(spark, lake, batch),
        ),
        "panel by month": lambda: facts.panel_months(spark, lake),
        "alerts": lambda: facts.period_alerts(spark, lake, period),
        "monitoring": lambda: facts.period_monitoring(spark, lake, period),
    }
    for name, gather in measured.items():
        began = time.monotonic()
        gather()
        seconds[name] = round(time.monotonic() - began, 2)
    began = time.monotonic()
    report = month_report(
        spark,
        lake,
        settings.mlflow.tracking_uri,
        out / "month",
        batch,
        period,
        steps,
        None,
        None,
        len(catalog()),
    )
    seconds["month report, whole"] = round(time.monotonic() - began, 2)
    panel_rows = delta_io.read(spark, lake.panel).count()
    spark.stop()

    sites = Path(settings.ingest.runs_dir) / "ingest" / batch
    built = sorted(sites.glob("*/gx/uncommitted/data_docs/local_site"))
    if built:  # a copy of the month's site, made offline (again, if it already is)
        site = out / "site"
        shutil.copytree(built[-1], site)
        began = time.monotonic()
        remaining = make_offline(site)
        seconds["data docs offline"] = round(time.monotonic() - began, 3)
        assert remaining == [], remaining
    payload = {
        "machine": machine(),
        "batch": batch,
        "period": period,
        "panel_rows": panel_rows,
        "seconds": seconds,
        "report_bytes": report.stat().st_size,
        "vendored_bytes_per_site": _size(VENDOR),
    }
    lines = [
        "# Run reports and offline Data Docs: costs",
        "",
        f"{machine()['date']}, {machine()['cpus']} cores; lake of `bench.incremental` "
        f"({panel_rows:,} panel rows), batch {batch}, month {period}.",
        "",
        "| what | seconds |",
        "| --- | ---: |",
        *[f"| {k} | {v} |" for k, v in seconds.items()],
        "",
        f"The month's report: {report.stat().st_size:,} bytes of HTML. The assets copied into "
        f"each Data Docs site: {_size(VENDOR):,} bytes.",
        "",
    ]
    print(save("reports", payload, "\n".join(lines)))


if __name__ == "__main__":
    main()
