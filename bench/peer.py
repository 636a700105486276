"""Our ingest and panel side by side with the single-node yardstick on the same raw files.

    .venv/bin/python -m bench.peer [--scale 20000x72] [--raw DIR] [--threads 2]

The yardstick is ``../shared/peers/duckdb_panel.py`` (a DuckDB script building a comparable
panel from the raw files, see ``../shared/peers/README.md``). In one run, on the same delivery
(generated without bad lines, as the peer asks, unless ``--raw`` names one): the peer's panel with
``--threads`` threads, then ``jobs/ingest.py`` and ``jobs/panel.py --full`` through spark-submit.sh.
DuckDB is installed in a scratch environment of its own (``work/bench/peer-venv``), never in
the project's. Writes bench/results/peer.{json,md} with the ratios issue 17 targets: our panel
(silver + gold, from bronze) against the peer's panel stages (monthly series, features, write:
the peer's read/parse stage is what our ingest does), and raw files -> panel (our ingest + panel
jobs) against the peer's whole run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import harness
from bench.harness import PEER_PANEL, ROOT, check, machine, run_job, run_summary, save
from bench.panel import panel_figures

WORK = ROOT / "work" / "bench" / "peer"
VENV = ROOT / "work" / "bench" / "peer-venv"


def peer_python() -> Path:
    """A scratch environment with DuckDB (created on first use, from PyPI)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "duckdb"], check=True)
    return python


def run_peer(raw: Path, out: Path, threads: int) -> dict:
    began = time.monotonic()
    done = subprocess.run(
        [str(peer_python()), str(PEER_PANEL), "--raw", str(raw), "--out", str(out),
         "--threads", str(threads)],
        capture_output=True, text=True,
    )  # fmt: skip
    check(done, "the peer")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["wall_seconds"] = round(time.monotonic() - began, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="20000x72", help="establishments x months")
    parser.add_argument("--raw", help="an existing delivery without bad lines (default: generated)")
    parser.add_argument("--threads", type=int, default=2, help="the peer's threads")
    args = parser.parse_args()
    if not PEER_PANEL.exists():
        sys.exit(f"the peer script is not there: {PEER_PANEL}")
    n, months = (int(v) for v in args.scale.split("x"))
    folder = WORK / args.scale
    raw = Path(args.raw) if args.raw else folder / "raw"
    if not args.raw and not (raw / "manifest.json").exists():
        print(f"{args.scale}: generating ...", flush=True)
        check(harness.generate(raw, n, months, 1, "--bad-line-rate", "0"), "generate")
    lake = folder / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)

    print(f"{args.scale}: the peer (DuckDB, {args.threads} threads) ...", flush=True)
    peer = run_peer(raw, folder / "peer_panel.parquet", args.threads)
    print(f"{args.scale}: our ingest ...", flush=True)
    ingested = check(harness.ingest(raw, lake), "ingest")
    print(f"{args.scale}: our panel ...", flush=True)
    panel = run_job(["jobs/panel.py", "--lake", str(lake), "--full"])
    check(panel, "panel")
    figures = panel_figures(panel.stdout)
    (folder / "peer_panel.parquet").unlink(missing_ok=True)

    stages = peer["seconds"]
    peer_panel = sum(v for k, v in stages.items() if k != "read_parse")
    ours_panel = figures["silver_seconds"] + figures["panel_seconds"]
    result = {
        "scale": args.scale,
        "machine": machine(),
        "peer": peer,
        "ingest": run_summary(ingested),
        "panel": {**run_summary(panel), **figures},
        "ratios": {
            "panel_from_bronze": round(ours_panel / peer_panel, 2),
            "panel_job_wall": round(panel.seconds / peer_panel, 2),
            "raw_to_panel": round((ingested.seconds + panel.seconds) / peer["total_seconds"], 2),
        },
    }
    r = result["ratios"]
    md = [
        "# Side by side with the DuckDB yardstick", "",
        f"Machine: {machine()}", "",
        f"Same raw files ({args.scale}, no bad line), one run: the peer with {args.threads} "
        f"threads (DuckDB {peer.get('duckdb')}), then our jobs through spark-submit.sh.", "",
        "| | seconds |", "|---|---|",
        f"| peer: read/parse | {stages.get('read_parse', 0):.0f} |",
        f"| peer: monthly series + features + write | {peer_panel:.0f} |",
        f"| peer: whole run | {peer['total_seconds']:.0f} |",
        f"| ours: ingest job (wall) | {ingested.seconds:.0f} |",
        f"| ours: panel job (wall) | {panel.seconds:.0f} |",
        f"| ours: silver + gold (in the panel job) | {ours_panel:.0f} |", "",
        f"Rows: peer {peer['rows']:,} x {peer['variables']} variables; ours "
        f"{figures['rows']:,} x {figures['variables']}.", "",
        "| ratio | ours / peer | target |", "|---|---|---|",
        f"| panel from bronze (silver + gold) / peer's panel stages | {r['panel_from_bronze']} "
        "| <= 2 |",
        f"| panel job wall / peer's panel stages | {r['panel_job_wall']} | |",
        f"| raw -> panel (ingest + panel jobs) / peer's whole run | {r['raw_to_panel']} | <= 3 |",
    ]  # fmt: skip
    path = save("peer", result, "\n".join(md) + "\n")
    print(path.read_text())


if __name__ == "__main__":
    main()
