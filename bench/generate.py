"""Benchmark of jobs/generate.py at several scales (establishments x months).

    .venv/bin/python -m bench.generate [--scales 5000x72,20000x72,100000x96]

Writes bench/results/generate.{json,md}: wall time, lines and bytes per file, peak
memory of the driver (Python and JVM) and of the Python workers. Target: 20k x 72 in
under 3 minutes, time about linear in the number of establishments.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from bench.harness import ROOT, generate, machine, run_summary, save

WORK = ROOT / "work" / "bench" / "generate"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="5000x72,20000x72,100000x96")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    results = []
    for scale in args.scales.split(","):
        n, months = (int(v) for v in scale.split("x"))
        out = WORK / f"{n}x{months}" / "raw"
        shutil.rmtree(out.parent, ignore_errors=True)
        print(f"generating {n} x {months} ...", flush=True)
        run = generate(out, n, months)
        if run.returncode != 0:
            sys.exit(f"generate failed for {scale}:\n{run.stderr[-4000:]}")
        manifest = json.loads((out / "manifest.json").read_text())
        files = {f["file"]: {"lines": f["lines"], "bytes": f["bytes"]} for f in manifest["files"]}
        results.append({
            "establishments": n, "months": months, **run_summary(run),
            "lines": sum(f["lines"] for f in files.values()),
            "bytes": sum(f["bytes"] for f in files.values()), "files": files,
        })  # fmt: skip
        print(f"  {run.seconds:.0f} s, {results[-1]['lines']:,} lines, "
              f"{results[-1]['bytes'] / 2**20:.0f} MiB", flush=True)  # fmt: skip
        if not args.keep:
            shutil.rmtree(out.parent, ignore_errors=True)

    lines = ["# Generator benchmark", "", f"Machine: {machine()}", "",
             "| establishments x months | wall time (s) | lines | MiB | lines/s | "
             "driver Python peak (MiB) | driver JVM peak (MiB) | workers peak (MiB) |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        lines.append(
            f"| {r['establishments']:,} x {r['months']} | {r['seconds']:.0f} | {r['lines']:,} | "
            f"{r['bytes'] / 2**20:.0f} | {r['lines'] / r['seconds']:,.0f} | "
            f"{r['peak_driver_python_mb']} | {r['peak_jvm_mb']} | {r['peak_workers_mb']} |"
        )
    lines += ["", "Lines per file:", "", "| file | " + " | ".join(
        f"{r['establishments']:,} x {r['months']}" for r in results) + " |",
        "|---|" + "---|" * len(results)]  # fmt: skip
    for name in results[0]["files"]:
        lines.append(
            f"| {name} | " + " | ".join(f"{r['files'][name]['lines']:,}" for r in results) + " |"
        )
    path = save("generate", {"machine": machine(), "runs": results}, "\n".join(lines) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
