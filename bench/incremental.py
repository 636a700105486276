"""Benchmark of the month (jobs/monthly.py: ingest, incremental panel, score, monitor, export)
against a full rebuild of the same lake's panel, in one run.

    .venv/bin/python -m bench.incremental [--raw DIR] [--work DIR]

The delivery kept by ``bench.panel --keep`` (20k x 72 by default) is cut in two monthly
deliveries (generator/monthly.py: the history, then the last month with the debt movements
processed that month and regularisations of earlier contributions, at the generator's
default rates). The history is ingested into a new lake, the panel built (a full build: no
earlier run) and a champion trained on it (one trial of the default parameters, in an MLflow
store of the benchmark's own: the model is only there to be scored with). The last month then
goes through jobs/monthly.py; finally the panel is rebuilt with --full. Each job is timed whole
with the peak memory of its processes; the monthly command's steps with its own timings.
Writes bench/results/incremental.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

from bench.harness import ROOT, check, machine, run_job, run_summary, save
from common import months
from generator.monthly import Split, split_delivery

DEFAULT_RAW = ROOT / "work" / "bench" / "panel" / "20000x72" / "raw"


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
    conf = args.work / "bench.yaml"
    conf.write_text(
        f"extends: {ROOT / 'conf' / 'local.yaml'}\n"
        f"mlflow:\n  tracking_uri: sqlite:///{args.work / 'mlflow.db'}\n"
        f"  artifact_root: {args.work / 'artifacts'}\n"
        "training:\n  search: []\n"
    )
    common = ["--config", str(conf), "--lake", lake]
    runs = {}
    # batch ids sort in delivery order (the current-record rule): the history is the month
    # before the last
    history = months.label(months.index(last) - 1)
    steps = [
        (f"ingest {history}", ["jobs/ingest.py", "--raw", str(first), "--batch", history]),
        ("first build", ["jobs/panel.py"]),
        ("train", ["jobs/train.py", "--promote"]),
        (f"monthly {last}", ["jobs/monthly.py", "--raw", str(second), "--batch", last,
                             "--out", str(args.work / f"list_{last}.json")]),
        ("full rebuild", ["jobs/panel.py", "--full"]),
    ]  # fmt: skip
    for label, job in steps:
        runs[label] = check(run_job([*job, *common]), label)
        print(f"{label}: {runs[label].seconds:.0f} s", flush=True)
    monthly, full = runs[f"monthly {last}"], runs["full rebuild"]
    (args.work / "monthly.log").write_text(monthly.stdout + monthly.stderr)  # what a user sees
    step_seconds = {
        m.group(1): float(m.group(2))
        for m in re.finditer(r"^\[\d/5\] (\w+): .* \((\d+) s\)$", monthly.stdout, re.M)
    }
    described = re.search(r"run: (.*)", monthly.stdout).group(1)
    rows = [
        {
            "run": name,
            **run_summary(run),
            **(
                {
                    f"{step}_seconds": _seconds(rf"{step} (\d+) s", run.stdout)
                    for step in ("silver", "changes", "panel", "targets")
                }
                if name in ("first build", "full rebuild", f"monthly {last}")
                else {}
            ),
        }
        for name, run in runs.items()
    ]
    ratio = step_seconds["panel"] / full.seconds
    whole = monthly.seconds / full.seconds
    second_lines = sum(e["lines"] for e in counts["second"])
    md = ["# Incremental panel benchmark", "", f"Machine: {machine()}", "",
          f"Delivery `{args.raw}` ({manifest['window']['first_month']} to {last}) cut in two: "
          f"the history, then {last} ({second_lines:,} lines: that month, the debt movements "
          "processed in it, the headcount files again, regularisations of 2% of the previous "
          "six months' contribution lines). Wall times are whole jobs (Spark start-up "
          "included); for the monthly command, the panel columns are its panel step's.", "",
          "| run | wall (s) | silver (s) | changes (s) | months (s) | targets (s) | "
          "driver Python peak (MiB) | JVM peak (MiB) |",
          "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        steps = " | ".join(f"{r.get(f'{s}_seconds', '')}"
                           for s in ("silver", "changes", "panel", "targets"))  # fmt: skip
        md.append(f"| {r['run']} | {r['seconds']:.0f} | {steps} | {r['peak_driver_python_mb']} "
                  f"| {r['peak_jvm_mb']} |")  # fmt: skip
    md += ["", "Steps of the monthly command (s): "
           + ", ".join(f"{k} {v:.0f}" for k, v in step_seconds.items())
           + f"; the rest of its {monthly.seconds:.0f} s is Spark's start-up and the records.",
           "", f"Its panel step: {described}", "",
           f"**Incremental panel step / full rebuild: {ratio:.2f}** (target 0.15); "
           f"**whole monthly command / full rebuild: {whole:.2f}** (target 0.25). Same lake, "
           "same run; the full rebuild is the whole jobs/panel.py --full job."]  # fmt: skip
    payload = {"machine": machine(), "raw": str(args.raw), "last_month": last,
               "second_delivery_lines": second_lines, "runs": rows, "ratio": ratio,
               "monthly_ratio": whole, "monthly_steps": step_seconds,
               "incremental": described}  # fmt: skip
    path = save("incremental", payload, "\n".join(md) + "\n")
    print("\n".join(md))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
