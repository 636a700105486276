"""Benchmark of bronze over monthly batches, before and after jobs/maintain.py drops
the records repeated by a later batch (ingestion/repeats.drop_repeated).

    .venv/bin/python -m bench.bronze_repeats [--raw DIR] [--work DIR]

The delivery kept by ``bench.panel --keep`` (20k x 72 by default) is cut in monthly
deliveries (generator/monthly.py, once per month: the history to the month before the last
``--monthly`` N, then each of those months with its debt movements, the headcount files
whole and regularisations of earlier contributions). They are ingested into a new lake in
order and the panel is built (a full build). jobs/maintain.py then drops the repeated records (and
OPTIMIZEs and VACUUMs every table); the next jobs/panel.py must find nothing to rewrite
(silver compared with the first build's: unchanged), and jobs/panel.py --full is timed on
the compacted bronze against the first build. Each job is timed whole. Writes
bench/results/bronze_repeats_<N>.{json,md}.
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


def _silver(text: str) -> dict[str, float]:
    """Per silver table, the seconds its build and write took (the job's log)."""
    found = re.finditer(r"silver/(\w+) written in (\d+) s", text)
    return {m.group(1): float(m.group(2)) for m in found}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW)
    parser.add_argument("--work", type=Path, default=ROOT / "work" / "bench" / "bronze_repeats")
    parser.add_argument(
        "--monthly", type=int, default=2, metavar="N", help="monthly deliveries after the history"
    )
    args = parser.parse_args()
    manifest = json.loads((args.raw / "manifest.json").read_text())
    last = months.index(manifest["window"]["last_month"])
    batches = [months.label(last - k) for k in range(args.monthly, -1, -1)]  # history first
    shutil.rmtree(args.work, ignore_errors=True)
    w = args.work
    rest = args.raw
    for k, month in enumerate(reversed(batches[1:])):  # the last month first
        cut = w / batches[0] if k == args.monthly - 1 else w / f"cut{k}"
        split_delivery(rest, cut, w / month, Split(month))
        rest = cut
    lake = str(w / "lake")
    common = ["--lake", lake]
    steps = [
        *[(f"ingest {b}", ["jobs/ingest.py", "--raw", str(w / b), "--batch", b])
          for b in batches],
        ("panel, first build", ["jobs/panel.py"]),
        ("maintain", ["jobs/maintain.py"]),
        ("panel after maintain", ["jobs/panel.py"]),
        ("panel --full after maintain", ["jobs/panel.py", "--full"]),
    ]  # fmt: skip
    runs = {}
    for label, job in steps:
        runs[label] = check(run_job([*job, *common]), label)
        print(f"{label}: {runs[label].seconds:.0f} s", flush=True)
        log = w / f"{label.replace(' ', '_').replace(',', '')}.log"
        log.write_text(runs[label].stdout + runs[label].stderr)
    maintained = runs["maintain"].stdout
    pattern = r"bronze/(\w+): ([\d,]+) of ([\d,]+) records repeated.*; (\d+) s"
    dropped = {
        m.group(1): (int(m.group(3).replace(",", "")), int(m.group(2).replace(",", "")),
                     int(m.group(4)))
        for m in re.finditer(pattern, maintained)
    }  # fmt: skip
    after = re.search(r"run: (.*)", runs["panel after maintain"].stdout).group(1)
    first, full = runs["panel, first build"], runs["panel --full after maintain"]
    silver_first = _silver(first.stdout + first.stderr)
    silver_full = _silver(full.stdout + full.stderr)
    total = {k: float(re.search(r"silver (\d+) s", r.stdout).group(1)) for k, r in
             (("first", first), ("full", full))}  # fmt: skip
    md = [
        "# Repeated bronze records",
        "",
        f"Machine: {machine()}",
        "",
        f"Delivery `{args.raw}` cut in {len(batches)} batches: {batches[0]} (the history), "
        f"then {', '.join(batches[1:])}, one month each; the panel built, then "
        "jobs/maintain.py, then jobs/panel.py twice. Wall times are whole jobs (Spark start-up "
        "included).",
        "",
        "| run | wall (s) | driver Python peak (MiB) | JVM peak (MiB) |",
        "|---|---|---|---|",
    ]
    md += [f"| {k} | {r.seconds:.0f} | {r.peak_driver_python_mb} | {r.peak_jvm_mb} |"
           for k, r in runs.items()]  # fmt: skip
    md += [
        "",
        "Bronze records per table, before and after (tables with none dropped left out; "
        f"the drop step of all {len(dropped)} bronze tables took "
        f"{sum(x[2] for x in dropped.values())} s of maintain's run):",
        "",
        "| table | records | dropped | left | seconds |",
        "|---|---|---|---|---|",
    ]
    md += [f"| {t} | {n:,} | {d:,} | {n - d:,} | {s} |" for t, (n, d, s) in dropped.items() if d]
    md += ["", "Silver tables, seconds to build and write (three at a time), first build -> "
           "full rebuild after maintain: "
           + ", ".join(f"{t} {silver_first.get(t, 0):.0f} -> {silver_full.get(t, 0):.0f}"
                       for t in sorted(silver_first))
           + f"; the silver step {total['first']:.0f} s -> {total['full']:.0f} s.", "",
           f"The panel run after maintain: {after}."]  # fmt: skip
    payload = {"machine": machine(), "raw": str(args.raw), "batches": batches,
               "runs": {k: run_summary(r) for k, r in runs.items()}, "dropped": dropped,
               "silver_seconds": {"first": silver_first, "full_after": silver_full},
               "silver_step": total, "after_maintain": after}  # fmt: skip
    path = save(f"bronze_repeats_{args.monthly}", payload, "\n".join(md) + "\n")
    print("\n".join(md))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
