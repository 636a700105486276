"""Benchmark of jobs/ingest.py on generated deliveries.

    .venv/bin/python -m bench.ingest [--scales 20000x72,100000x96]

Generates each delivery (no bad lines), ingests it into a fresh lake, and writes
bench/results/ingest.{json,md}: wall time, lines per second per source and overall,
time spent reading, parsing, validating (great-expectations) and committing.
Target: the 100k x 96 batch in under 10 minutes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

from bench.harness import ROOT, generate, ingest, machine, run_summary, save

WORK = ROOT / "work" / "bench" / "ingest"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="20000x72,100000x96")
    args = parser.parse_args()
    results = []
    for scale in args.scales.split(","):
        n, months = (int(v) for v in scale.split("x"))
        folder = WORK / scale
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {scale} ...", flush=True)
        gen = generate(folder / "raw", n, months)
        if gen.returncode != 0:
            sys.exit(gen.stderr[-3000:])
        print(f"ingesting {scale} ...", flush=True)
        run = ingest(folder / "raw", folder / "lake")
        if run.returncode != 0:
            sys.exit(run.stdout[-3000:] + run.stderr[-3000:])
        report_path = next(line.split(maxsplit=1)[1] for line in run.stdout.splitlines()
                           if line.startswith("report:"))  # fmt: skip
        report = json.loads(open(report_path).read())
        lines = {f["source"]: f["lines_read"] for f in report["files"] if f["source"]}
        seconds = report["seconds"]
        results.append({
            "scale": scale, **run_summary(run), "phases": seconds, "lines": lines,
            "total_lines": sum(lines.values()),
        })  # fmt: skip
        print(f"  {run.seconds:.0f} s for {sum(lines.values()):,} lines", flush=True)
        shutil.rmtree(folder, ignore_errors=True)

    md = ["# Ingest benchmark", "", f"Machine: {machine()}", "",
          "| delivery | wall time (s) | lines | lines/s | read (s) | parse (s) | validate (s) | "
          "commit (s) | driver Python peak (MiB) | JVM peak (MiB) |", "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        p = r["phases"]
        md.append(f"| {r['scale']} | {r['seconds']:.0f} | {r['total_lines']:,} | "
                  f"{r['total_lines'] / r['seconds']:,.0f} | {p.get('read', 0):.0f} | {p.get('parse', 0):.0f} | "
                  f"{p.get('validate', 0):.0f} | {p.get('commit', 0):.0f} | {r['peak_driver_python_mb']} | "
                  f"{r['peak_jvm_mb']} |")  # fmt: skip
    md += ["", "Per source (lines, and lines per second of parse + validate + commit):", "",
           "| source | " + " | ".join(r["scale"] for r in results) + " |", "|---|" + "---|" * len(results)]  # fmt: skip
    for source in results[0]["lines"]:
        cells = []
        for r in results:
            p = r["phases"]
            busy = sum(p.get(f"{k}:{source}", 0) for k in ("parse", "validate", "commit")) or 1
            cells.append(f"{r['lines'][source]:,} ({r['lines'][source] / busy:,.0f}/s)")
        md.append(f"| {source} | " + " | ".join(cells) + " |")
    path = save("ingest", {"machine": machine(), "runs": results}, "\n".join(md) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
