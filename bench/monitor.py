"""Benchmark of monitoring one month (jobs/monitor.py) at the bench lake's scale.

    .venv/bin/python -m bench.monitor [--lake DIR] [--period YYYY-MM] [--rebuild-reference]

Uses the lake kept by ``bench.panel --keep`` and the champion ``bench.train`` registered in
its MLflow store (work/bench/train/mlflow). A champion trained before monitoring existed has no
reference: its reference is then built here exactly as jobs/train.py builds it (the rows it
learnt from, at most ``monitoring.reference_rows``) and logged to its run, which times the
reference's cost at training. The period is scored if it is not yet (jobs/score.py), then
monitored twice (the second run is the rerun that replaces the month's rows), each timed as a
whole job with the peak memory of its processes. Writes bench/results/monitor.{json,md}.
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from bench.harness import machine, run_job, run_summary, save
from bench.score import _last_month
from bench.train import DEFAULT, WORK


def ensure_reference(conf: str, lake: str, rebuild: bool) -> float | None:
    """Seconds spent building and logging the champion's reference; None if it had one."""
    import mlflow
    from mlflow import MlflowClient

    from common.config import load_config
    from common.lake import Lake
    from common.spark import get_spark
    from monitoring import reference
    from training import registry
    from training.predict import booster_bytes
    from training.split import usable

    settings = load_config(conf, lake=lake)
    mlflow.set_tracking_uri(settings.mlflow.tracking_uri)
    client = MlflowClient()
    version = client.get_model_version_by_alias(settings.mlflow.registered_model, "champion")
    logged = {a.path for a in client.list_artifacts(version.run_id)}
    if reference.ARTIFACT.split("/")[0] in logged and not rebuild:
        return None
    uri = f"models:/{settings.mlflow.registered_model}/{version.version}"
    booster = mlflow.xgboost.load_model(uri)
    features = list(booster.feature_names)
    spark = get_spark(settings.spark, "bench-monitor-reference")
    began = time.monotonic()
    learnt = spark.read.format("delta").load(Lake.from_settings(settings).panel).where(usable())
    built = reference.build(learnt, features, booster_bytes(booster), settings.monitoring)
    with mlflow.start_run(run_id=version.run_id):
        registry.log_json(reference.ARTIFACT, built)
    seconds = time.monotonic() - began
    spark.stop()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lake", default=str(DEFAULT / "lake"))
    parser.add_argument("--period", help="default: the panel's last month")
    parser.add_argument(
        "--rebuild-reference", action="store_true", help="build and time the reference again"
    )
    args = parser.parse_args()
    conf = WORK / "bench.yaml"
    if not conf.exists():
        sys.exit("run `python -m bench.train` first: it registers the model monitored here")
    period = args.period or _last_month(args.lake)
    reference_seconds = ensure_reference(str(conf), args.lake, args.rebuild_reference)
    print(f"reference: {reference_seconds or 0:.0f} s", flush=True)
    common = ["--config", str(conf), "--lake", args.lake, "--period", period]
    scored = run_job(["jobs/score.py", *common])
    if scored.returncode != 0:
        sys.exit(f"jobs/score.py failed:\n{scored.stdout[-4000:]}\n{scored.stderr[-4000:]}")
    runs = []
    for attempt in ("first", "rerun"):
        run = run_job(["jobs/monitor.py", *common])
        if run.returncode != 0:
            sys.exit(f"jobs/monitor.py failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
        work = float(re.search(r"reference in (\d+) s", run.stdout).group(1))
        items = {
            m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4)))
            for m in re.finditer(
                r"  (\w+)\s+(\d+) items: (\d+) in alert, (\d+) to watch", run.stdout
            )
        }
        runs.append({"attempt": attempt, "lake": args.lake, "period": period,
                     **run_summary(run), "monitoring_seconds": work, "items": items})  # fmt: skip
        print(f"{attempt}: {run.seconds:.0f} s (monitoring {work:.0f} s)", flush=True)
    rows = int(
        re.search(r"scored ([\d,]+) establishments", scored.stdout).group(1).replace(",", "")
    )
    md = ["# Monitoring benchmark", "", f"Machine: {machine()}", "",
          f"Lake `{args.lake}`, period {period}: {rows:,} establishments scored. *wall* is the "
          "whole jobs/monitor.py (Spark start-up, the champion's reference from MLflow); "
          "*monitoring* is the job's own timing (variables, scores, sources, alerts, outcomes, "
          "the Delta table, the MLflow run and its plots). Target: under 120 s at 20k "
          "establishments, driver memory flat.", "",
          "| run | wall (s) | monitoring (s) | driver Python peak (MiB) | JVM peak (MiB) | "
          "Python workers peak (MiB) | items (in alert, to watch) |",
          "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in runs:
        summary = "; ".join(f"{k} {n}: {a}, {w}" for k, (n, a, w) in r["items"].items())
        md.append(f"| {r['attempt']} | {r['seconds']:.0f} | {r['monitoring_seconds']:.0f} | "
                  f"{r['peak_driver_python_mb']} | {r['peak_jvm_mb']} | {r['peak_workers_mb']} | "
                  f"{summary} |")  # fmt: skip
    if reference_seconds is not None:
        md += ["", f"Building the champion's reference (as jobs/train.py does after the refit): "
               f"{reference_seconds:.0f} s."]  # fmt: skip
    payload = {"machine": machine(), "runs": runs, "reference_seconds": reference_seconds,
               "rows": rows}  # fmt: skip
    path = save("monitor", payload, "\n".join(md) + "\n")
    print("\n".join(md))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
