"""Benchmark of jobs/panel.py at several scales, with its I/O floor.

    .venv/bin/python -m bench.panel [--scales 5000x72,20000x72,80000x72]

For each scale: generate, ingest, build the panel (timed), then the I/O floor
(bench/panel_floor.py: same inputs read, a table of the panel's size written, no
computation). Writes bench/results/panel.{json,md}. Target: 20k x 72 in under 10
minutes, time about linear in establishments.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil

from bench import harness
from bench.harness import RESULTS, ROOT, check, machine, run_job, run_summary, save

WORK = ROOT / "work" / "bench" / "panel"


def panel_figures(out: str) -> dict:
    """The figures jobs/panel.py prints in its summary."""
    plan = re.search(r"plan: (\d+) shuffles, (\d+) broadcasts, planned in ([\d.]+) s", out)
    return {
        "rows": int(re.search(r"([\d,]+) rows", out).group(1).replace(",", "")),
        "variables": int(re.search(r"(\d+) variables", out).group(1)),
        "shuffles": int(plan.group(1)),
        "broadcasts": int(plan.group(2)),
        "planning_seconds": float(plan.group(3)),
        "silver_seconds": float(re.search(r"silver (\d+) s", out).group(1)),
        "panel_seconds": float(re.search(r"panel (\d+) s", out).group(1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="5000x72,20000x72,80000x72")
    parser.add_argument(
        "--keep", action="store_true", help="keep each scale's lake (bench/train.py reuses it)"
    )
    args = parser.parse_args()
    results = []
    previous = RESULTS / "panel.json"  # scales not run this time keep their earlier figures
    if previous.exists():
        ran = set(args.scales.split(","))
        results = [r for r in json.loads(previous.read_text())["runs"] if r["scale"] not in ran]
    for scale in args.scales.split(","):
        n, months = (int(v) for v in scale.split("x"))
        folder = WORK / scale
        shutil.rmtree(folder, ignore_errors=True)
        lake = str(folder / "lake")
        print(f"{scale}: generating and ingesting ...", flush=True)
        check(harness.generate(folder / "raw", n, months), "generate")
        check(harness.ingest(folder / "raw", lake), "ingest")
        print(f"{scale}: panel ...", flush=True)
        run = run_job(["jobs/panel.py", "--lake", lake, "--full"])
        check(run, "panel")
        figures = panel_figures(run.stdout)
        floor = run_job(["bench/panel_floor.py", "--lake", lake, "--out", str(folder / "floor")])
        check(floor, "floor")
        floor_s = float(re.search(r"written in ([\d.]+) s", floor.stdout).group(1))
        results.append({"scale": scale, "date": machine()["date"], **run_summary(run),
                        **figures, "floor_seconds": floor_s})  # fmt: skip
        panel_s = figures["panel_seconds"]
        print(
            f"  {run.seconds:.0f} s total, panel {panel_s:.0f} s, floor {floor_s:.0f} s", flush=True
        )
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    results.sort(key=lambda r: [int(v) for v in r["scale"].split("x")])
    md = ["# Panel benchmark", "", f"Machine: {machine()}", "",
          "Wall time is the whole job (Spark start, silver tables, panel); *panel* is computing and "
          "writing the gold table; the floor reads the same inputs and writes a table of the "
          "panel's size with no computation.", "",
          "| establishments x months | wall (s) | silver (s) | panel (s) | floor (s) | panel / floor | rows | "
          "rows/s (panel) | variables x rows / s | shuffles | planning (s) | driver Python peak (MiB) | JVM peak (MiB) |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    smallest = results[0]
    for r in results:
        md.append(f"| {r['scale']} | {r['seconds']:.0f} | {r['silver_seconds']:.0f} | {r['panel_seconds']:.0f} | "
                  f"{r['floor_seconds']:.0f} | {r['panel_seconds'] / max(r['floor_seconds'], 1):.1f} | {r['rows']:,} | "
                  f"{r['rows'] / r['panel_seconds']:,.0f} | {r['rows'] * r['variables'] / r['panel_seconds']:,.0f} | "
                  f"{r['shuffles']} | {r['planning_seconds']:.1f} | {r['peak_driver_python_mb']} | {r['peak_jvm_mb']} |")  # fmt: skip
    md += ["", "Growth with the number of establishments (relative to the smallest scale run):", "",
           "| establishments x months | establishments x | wall x | panel x | run on |", "|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        size = int(r["scale"].split("x")[0]) / int(smallest["scale"].split("x")[0])
        md.append(f"| {r['scale']} | {size:.0f} | {r['seconds'] / smallest['seconds']:.1f} | "
                  f"{r['panel_seconds'] / smallest['panel_seconds']:.1f} | {r.get('date', '?')} |")  # fmt: skip
    path = save("panel", {"machine": machine(), "runs": results}, "\n".join(md) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
