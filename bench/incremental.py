"""Benchmark of the monthly panel update (jobs/panel.py without options) against a full rebuild
of the same lake, in one run.

    .venv/bin/python -m bench.incremental [--raw DIR] [--work DIR]

The delivery kept by ``bench.panel --keep`` (20k x 72 by default) is cut in two monthly
deliveries (generator/monthly.py: the history, then the last month with the debt movements
processed that month and regularisations of earlier contributions, at the generator's
default rates). Both are ingested into a new lake, the panel built after the first (a full
build: no earlier run), updated after the second (incremental), then rebuilt with --full.
Each panel run is a whole job timed with the peak memory of its processes. Writes
bench/results/incremental.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

from bench.harness import ROOT, machine, run_job, run_summary, save
from common import months
from generator.monthly import Split, split_delivery

DEFAULT_RAW = ROOT / "work" / "bench" / "panel" / "20000x72" / "raw"


def _check(run, what: str):
    if run.returncode != 0:
        sys.exit(f"{what} failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
    return run


def _seconds(pattern: str, text: str) -> float:
    return float(re.search(pattern, text).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW)
    parser.add_argument("--work", type=Path, default=ROOT / "work" / "bench" / "incremental")
    args = parser.parse_args()
    manifest = json.loads((args.raw / "manifest.json").read_text())
    last = manifest["window"]["last_month"]
    shutil.rmtree(args.work, ignore_errors=True)
    first, second, lake = args.work / "first", args.work / "second", str(args.work / "lake")
    counts = split_delivery(args.raw, first, second, Split(last))
    runs = {}
    # batch ids sort in delivery order (the current-record rule): the history is the month
    # before the last
    history = months.label(months.index(last) - 1)
    for folder, batch in ((first, history), (second, last)):
        runs[f"ingest {batch}"] = _check(
            run_job(["jobs/ingest.py", "--raw", str(folder), "--batch", batch, "--lake", lake]),
            f"ingest of {folder}",
        )
        label = "first build" if batch == history else "incremental"
        runs[label] = _check(run_job(["jobs/panel.py", "--lake", lake]), f"panel ({label})")
        print(f"{label}: {runs[label].seconds:.0f} s", flush=True)
    runs["full rebuild"] = _check(run_job(["jobs/panel.py", "--lake", lake, "--full"]), "--full")
    incremental, full = runs["incremental"], runs["full rebuild"]
    described = re.search(r"run: (.*)", incremental.stdout).group(1)
    rows = [
        {
            "run": name,
            **run_summary(run),
            **(
                {
                    f"{step}_seconds": _seconds(rf"{step} (\d+) s", run.stdout)
                    for step in ("silver", "changes", "panel", "targets")
                }
                if not name.startswith("ingest ")
                else {}
            ),
        }
        for name, run in runs.items()
    ]
    ratio = incremental.seconds / full.seconds
    second_lines = sum(e["lines"] for e in counts["second"])
    md = ["# Incremental panel benchmark", "", f"Machine: {machine()}", "",
          f"Delivery `{args.raw}` ({manifest['window']['first_month']} to {last}) cut in two: "
          f"the history, then {last} ({second_lines:,} lines: that month, the debt movements "
          "processed in it, the headcount files again, regularisations of 2% of the previous "
          "six months' contribution lines). Wall times are whole jobs (Spark start-up "
          "included).", "",
          "| run | wall (s) | silver (s) | changes (s) | months (s) | targets (s) | "
          "driver Python peak (MiB) | JVM peak (MiB) |",
          "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        steps = " | ".join(f"{r.get(f'{s}_seconds', '')}"
                           for s in ("silver", "changes", "panel", "targets"))  # fmt: skip
        md.append(f"| {r['run']} | {r['seconds']:.0f} | {steps} | {r['peak_driver_python_mb']} "
                  f"| {r['peak_jvm_mb']} |")  # fmt: skip
    md += ["", f"Incremental run: {described}", "",
           f"**Incremental / full rebuild: {ratio:.2f}** (whole jobs, same lake, same run; "
           "target 0.15)."]  # fmt: skip
    payload = {"machine": machine(), "raw": str(args.raw), "last_month": last,
               "second_delivery_lines": second_lines, "runs": rows, "ratio": ratio,
               "incremental": described}  # fmt: skip
    path = save("incremental", payload, "\n".join(md) + "\n")
    print("\n".join(md))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
