"""File layout of every Delta table of a lake: data files of the latest version, total size,
min / median / max file size; optionally the panel job's time.

    .venv/bin/python -m bench.panel_files --lake LABEL=PATH [--lake LABEL=PATH ...]
        [--build LABEL] [--job-log LABEL=STDOUT] [--wall LABEL=SECONDS] [--note LABEL=TEXT]

Each lake is read from its Delta logs (the ``deltalake`` package: no Spark). ``--build LABEL``
first runs jobs/panel.py on that lake, timed; ``--job-log``/``--wall`` record a run made by
hand (its stdout and wall time); ``--note`` says how a lake was made or measured. Results are merged by label into
bench/results/panel_files.{json,md}: labels not given this time keep their figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from deltalake import DeltaTable

from bench.harness import RESULTS, machine, run_job, run_summary, save
from bench.panel import panel_figures

LAYERS = ("bronze", "silver", "gold", "ops")


def table_layout(path: Path) -> dict:
    sizes = DeltaTable(str(path)).get_add_actions(flatten=False).column("size_bytes").to_pylist()
    return {
        "files": len(sizes),
        "bytes": sum(sizes),
        "min_bytes": min(sizes, default=0),
        "median_bytes": int(statistics.median(sizes)) if sizes else 0,
        "max_bytes": max(sizes, default=0),
    }


def lake_layout(root: Path) -> dict[str, dict]:
    """``<layer>/<name>`` -> layout, for every Delta table of the lake."""
    tables = {}
    for layer in LAYERS:
        folder = root / layer
        for table in sorted(folder.iterdir()) if folder.is_dir() else []:
            if (table / "_delta_log").is_dir():
                tables[f"{layer}/{table.name}"] = table_layout(table)
    return tables


def _load() -> str:
    """The machine's load average over the last 15 minutes: wall times mean little without it."""
    return f"{os.getloadavg()[2]:.1f}"


def _mib(n: int) -> str:
    return f"{n / 2**20:,.2f}"


def render(runs: dict[str, dict]) -> str:
    lines = [
        "# Delta file layout of the lake",
        "",
        "Data files of each table's latest version (from its Delta log), sizes in MiB. "
        "Written by `bench/panel_files.py`.",
        "",
    ]
    jobs = {label: r["job"] for label, r in runs.items() if r.get("job")}
    if jobs:
        lines += [
            "## Panel job",
            "",
            "| lake | wall (s) | silver (s) | panel (s) | measured | load average (15 min, at the end) |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {label} | {j.get('seconds', 0):.0f} | {j.get('silver_seconds', '')} | "
            f"{j.get('panel_seconds', '')} | {runs[label]['date']} | {j.get('load', '')} |"
            for label, j in jobs.items()
        ]
        lines.append("")
    for label, run in runs.items():
        lines += [
            f"## {label}: `{run['lake']}`",
            "",
            f"Measured {run['date']}. {run.get('note', '')}".rstrip(),
            "",
            "| table | files | total (MiB) | min | median | max |",
            "|---|---|---|---|---|---|",
        ]
        for name, t in run["tables"].items():
            lines.append(
                f"| {name} | {t['files']} | {_mib(t['bytes'])} | {_mib(t['min_bytes'])} | "
                f"{_mib(t['median_bytes'])} | {_mib(t['max_bytes'])} |"
            )
        lines.append("")
    return "\n".join(lines)


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        label, sep, rest = value.partition("=")
        if not sep:
            sys.exit(f"{option} expects LABEL=VALUE, got {value!r}")
        pairs[label] = rest
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lake", action="append", required=True, metavar="LABEL=PATH")
    parser.add_argument("--build", action="append", default=[], metavar="LABEL")
    parser.add_argument("--job-log", action="append", default=[], metavar="LABEL=STDOUT")
    parser.add_argument("--wall", action="append", default=[], metavar="LABEL=SECONDS")
    parser.add_argument("--note", action="append", default=[], metavar="LABEL=TEXT")
    args = parser.parse_args()
    lakes = _pairs(args.lake, "--lake")
    logs, walls = _pairs(args.job_log, "--job-log"), _pairs(args.wall, "--wall")
    notes = _pairs(args.note, "--note")
    previous = RESULTS / "panel_files.json"
    runs = json.loads(previous.read_text())["runs"] if previous.exists() else {}
    for label, lake in lakes.items():
        job = runs.get(label, {}).get("job")  # a lake measured again keeps its job's figures
        if label in args.build:
            print(f"{label}: building the panel of {lake} ...", flush=True)
            run = run_job(["jobs/panel.py", "--lake", lake, "--full"])
            if run.returncode != 0:
                sys.exit(f"panel failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
            job = {**run_summary(run), **panel_figures(run.stdout), "load": _load()}
        elif label in logs:
            job = {**panel_figures(Path(logs[label]).read_text()), "seconds": float(walls[label])}
        tables = lake_layout(Path(lake))
        note = runs.get(label, {}).get("note", "")
        runs[label] = {"lake": lake, "date": machine()["date"], "tables": tables, "job": job}
        runs[label]["note"] = note
        panel = tables.get("gold/panel")
        if panel:
            print(f"{label}: gold/panel {panel['files']} files, {_mib(panel['bytes'])} MiB")
    for label, text in notes.items():  # also for a lake measured before
        if label not in runs:
            sys.exit(f"--note {label}: no such lake in this run or the previous results")
        runs[label]["note"] = text
    path = save("panel_files", {"machine": machine(), "runs": runs}, render(runs))
    print(f"written {path}")


if __name__ == "__main__":
    main()
