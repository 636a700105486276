"""Benchmark of jobs/panel.py on the project's standalone cluster against local[2].

    .venv/bin/python -m bench.cluster [--lake DIR]

The lake is the 20k x 72 one kept by ``bench.panel --scales 20000x72 --keep``. The panel
job runs twice on it with Spark event logs on: once with ``--master local[2]`` (one JVM,
two cores, ``conf/local.yaml``) and once on a standalone cluster of two workers of one core
each, started and stopped here with ``scripts/standalone-cluster.sh``
(``conf/standalone.yaml``, which extends the local file: same shuffle partitions). Reported: wall time, the job's own silver and panel times, and the
shuffle bytes written and read (local and remote, i.e. between executors) summed over
every task from the event log. Writes bench/results/cluster.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.harness import ROOT, machine, run_job, run_summary, save
from bench.panel import panel_figures

WORK = ROOT / "work" / "bench" / "cluster"
DEFAULT = ROOT / "work" / "bench" / "panel" / "20000x72" / "lake"
CLUSTER = str(ROOT / "scripts" / "standalone-cluster.sh")


def shuffle_bytes(event_dir: Path) -> dict[str, int]:
    """Shuffle bytes of every finished task of the application logged in ``event_dir``."""
    totals = {"written": 0, "read_local": 0, "read_remote": 0, "tasks": 0}
    logs = [p for p in event_dir.iterdir() if p.is_file()]
    if len(logs) != 1:
        sys.exit(f"expected one event log in {event_dir}, found {len(logs)}")
    with open(logs[0], encoding="utf-8") as f:
        for line in f:
            if '"SparkListenerTaskEnd"' not in line:
                continue
            metrics = json.loads(line).get("Task Metrics") or {}
            read = metrics.get("Shuffle Read Metrics", {})
            totals["written"] += metrics.get("Shuffle Write Metrics", {}).get(
                "Shuffle Bytes Written", 0
            )
            totals["read_local"] += read.get("Local Bytes Read", 0)
            totals["read_remote"] += read.get("Remote Bytes Read", 0)
            totals["tasks"] += 1
    return totals


def _panel(lake: str, name: str, options: list[str], conf: str) -> dict:
    events = WORK / f"events-{name}"
    shutil.rmtree(events, ignore_errors=True)
    events.mkdir(parents=True)
    run = run_job([
        *options, "--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={events}",
        "--conf", "spark.eventLog.rolling.enabled=false", "--conf", "spark.eventLog.compress=false",
        "jobs/panel.py", "--config", conf, "--lake", lake, "--full",
    ])  # fmt: skip
    if run.returncode != 0:
        sys.exit(f"panel on {name} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return {**run_summary(run), **panel_figures(run.stdout), "shuffle": shuffle_bytes(events)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lake", default=str(DEFAULT))
    args = parser.parse_args()
    if not Path(args.lake, "gold", "panel").exists():
        sys.exit(
            f"no panel under {args.lake}: run `python -m bench.panel --scales 20000x72 --keep`"
        )
    WORK.mkdir(parents=True, exist_ok=True)
    standalone = str(ROOT / "conf" / "standalone.yaml")

    print("panel on local[2] ...", flush=True)
    local = _panel(args.lake, "local", ["--master", "local[2]"], str(ROOT / "conf" / "local.yaml"))
    print(f"  {local['seconds']:.0f} s", flush=True)

    env = {**os.environ, "CLUSTER_DIR": str(WORK / "standalone")}
    subprocess.run([CLUSTER, "start"], env=env, check=True)
    try:
        print("panel on the standalone cluster (2 workers x 1 core) ...", flush=True)
        cluster = _panel(args.lake, "cluster", [], standalone)
        print(f"  {cluster['seconds']:.0f} s", flush=True)
    finally:
        subprocess.run([CLUSTER, "stop"], env=env, check=False)

    mib = 2**20
    md = [
        "# Panel on a standalone cluster vs local[2]", "",
        f"Machine: {machine()}", "",
        f"Lake: `{args.lake}` ({local['rows']:,} panel rows). local[2] runs with "
        "`conf/local.yaml` (one JVM, two cores, 6 GiB), the cluster with `conf/standalone.yaml` "
        "(same shuffle partitions; driver 3 GiB, executors 5 GiB): "
        "the cluster a master and two workers of one core each (`scripts/standalone-cluster.sh`), "
        "one executor per worker.", "",
        "| | wall (s) | silver (s) | panel (s) | shuffle written (MiB) | shuffle read local (MiB) "
        "| shuffle read remote (MiB) | tasks |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for name, r in (("local[2]", local), ("standalone, 2 workers", cluster)):
        s = r["shuffle"]
        md.append(
            f"| {name} | {r['seconds']:.0f} | {r['silver_seconds']:.0f} | {r['panel_seconds']:.0f} "
            f"| {s['written'] / mib:,.0f} | {s['read_local'] / mib:,.0f} "
            f"| {s['read_remote'] / mib:,.0f} | {s['tasks']:,} |"
        )
    ratio = cluster["seconds"] / local["seconds"]
    md += ["", f"Wall time ratio cluster / local[2]: **{ratio:.2f}**.", ""]
    path = save("cluster", {"machine": machine(), "local": local, "cluster": cluster,
                            "ratio": ratio}, "\n".join(md))  # fmt: skip
    print("\n".join(md))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
