"""Benchmark of scoring one month (jobs/score.py), with exact TreeSHAP explanations.

    .venv/bin/python -m bench.score [--lake DIR] [--period YYYY-MM]

Uses the lake kept by ``bench.panel --keep`` and the model that ``bench.train`` registered
in its MLflow store (work/bench/train/mlflow). Scores the period twice (the second run is
the idempotent rerun: same rows, nothing rewritten) and reports rows per second over the
whole job (Spark start-up and model loading included, so a lower bound) and peak memory.
Writes bench/results/score.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from bench.harness import RESULTS, machine, run_job, run_summary, save
from bench.train import DEFAULT, WORK


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lake", default=str(DEFAULT / "lake"))
    parser.add_argument("--period", help="default: the panel's last month")
    args = parser.parse_args()
    conf = WORK / "bench.yaml"
    if not conf.exists():
        sys.exit("run `python -m bench.train` first: it registers the model scored here")
    period = args.period or _last_month(args.lake)
    runs = []
    for attempt in ("first", "rerun"):
        run = run_job(["jobs/score.py", "--config", str(conf), "--lake", args.lake,
                       "--period", period])  # fmt: skip
        if run.returncode != 0:
            sys.exit(f"jobs/score.py failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
        rows = int(
            re.search(r"scored ([\d,]+) establishments", run.stdout).group(1).replace(",", "")
        )
        work = float(re.search(r"\) in (\d+) s \(scores", run.stdout).group(1))
        runs.append({"attempt": attempt, "lake": args.lake, "period": period,
                     **run_summary(run), "rows": rows, "rows_per_second": rows / run.seconds,
                     "scoring_seconds": work,
                     "scoring_rows_per_second": rows / max(work, 1)})  # fmt: skip
        print(f"{attempt}: {rows:,} rows in {run.seconds:.0f} s", flush=True)
    previous = RESULTS / "score.json"  # other lakes keep their earlier figures
    if previous.exists():
        earlier = json.loads(previous.read_text()).get("runs", [])
        runs = [r for r in earlier if r.get("lake", "") not in (args.lake, "")] + runs
    md = ["# Scoring benchmark", "", f"Machine: {machine()}", "",
          "One month scored by jobs/score.py with the model `bench.train` registered. *wall* is "
          "the whole job (Spark start-up, model loading from the registry, the checks); "
          "*scoring* is the job's own timing of the work: scores and exact TreeSHAP "
          "explanations in the executors, macro and micro explanations, alert levels, "
          "corrections, MERGE into gold/scores. The rerun is the idempotent second run.", "",
          "| lake | period | run | rows | wall (s) | scoring (s) | rows/s (scoring) | "
          "rows/s (whole job) | driver Python peak (MiB) | JVM peak (MiB) | Python workers peak (MiB) |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in runs:
        md.append(f"| `{r['lake']}` | {r['period']} | {r['attempt']} | {r['rows']:,} | "
                  f"{r['seconds']:.0f} | {r['scoring_seconds']:.0f} | "
                  f"{r['scoring_rows_per_second']:,.0f} | {r['rows_per_second']:,.0f} | "
                  f"{r['peak_driver_python_mb']} | {r['peak_jvm_mb']} | {r['peak_workers_mb']} |")  # fmt: skip
    path = save("score", {"machine": machine(), "runs": runs}, "\n".join(md) + "\n")
    print("\n".join(md))
    print(f"results: {path}")


def _last_month(lake: str) -> str:
    import pyarrow as pa
    from deltalake import DeltaTable, QueryBuilder

    # the panel has deletion vectors: delta-rs reads it through its query engine
    query = QueryBuilder().register("panel", DeltaTable(f"{lake}/gold/panel"))
    last = pa.table(query.execute("SELECT max(periode) AS last FROM panel").read_all())
    return str(last["last"][0].as_py())[:7]


if __name__ == "__main__":
    main()
