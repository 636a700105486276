"""Shared by the benchmarks: run a job through spark-submit.sh, time it, and sample the
memory of its processes (the driver's Python, the JVM, the Python workers)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# the single-node yardstick (../shared/peers/README.md)
PEER_PANEL = ROOT.parent / "shared" / "peers" / "duckdb_panel.py"


@dataclass
class Run:
    command: list[str]
    seconds: float
    returncode: int
    peak_driver_python_mb: float  # the job's own Python process
    peak_jvm_mb: float  # driver JVM (in local mode it also runs the executors)
    peak_workers_mb: float  # Python workers, summed at each sample
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)


def _classify(proc: psutil.Process, job: str) -> str | None:
    try:
        cmd = " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    if "java" in proc.name() or cmd.startswith("java") or "/java " in cmd:
        return "jvm"
    if job in cmd and "python" in proc.name().lower():
        return "driver"
    if "pyspark.daemon" in cmd or "pyspark/daemon" in cmd or "pyspark.worker" in cmd:
        return "workers"
    return None


def run_job(args: list[str], env: dict[str, str] | None = None, interval: float = 0.5) -> Run:
    """``./spark-submit.sh <args>``, sampling memory every ``interval`` seconds."""
    job = next(a for a in args if a.endswith(".py"))
    command = [str(ROOT / "spark-submit.sh"), *args]
    began = time.monotonic()
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    peaks = {"driver": 0.0, "jvm": 0.0, "workers": 0.0}
    done = threading.Event()

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            totals = {"driver": 0.0, "jvm": 0.0, "workers": 0.0}
            try:
                for child in [root, *root.children(recursive=True)]:
                    kind = _classify(child, job)
                    if kind:
                        totals[kind] += child.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                pass
            for key, value in totals.items():
                peaks[key] = max(peaks[key], value)
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    done.set()
    sampler.join()
    return Run(command[1:], time.monotonic() - began, proc.returncode, round(peaks["driver"]),
               round(peaks["jvm"]), round(peaks["workers"]), stdout, stderr)  # fmt: skip


def check(run: Run | subprocess.CompletedProcess, what: str):
    """The run (of ``run_job`` or ``subprocess.run``), or the end of the benchmark with the end
    of its output when it failed."""
    if run.returncode != 0:
        sys.exit(f"{what} failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
    return run


def generate(raw: Path, establishments: int, months: int, seed: int = 1, *extra: str) -> Run:
    """``jobs/generate.py`` into ``raw`` (a world of ``establishments`` x ``months``), timed."""
    return run_job(["jobs/generate.py", "--establishments", str(establishments), "--months",
                    str(months), "--seed", str(seed), "--out", str(raw), *extra])  # fmt: skip


def ingest(raw: Path, lake: Path | str, batch: str = "bench") -> Run:
    """``jobs/ingest.py`` of the delivery ``raw`` into ``lake`` as batch ``batch``, timed."""
    return run_job(["jobs/ingest.py", "--raw", str(raw), "--batch", batch, "--lake", str(lake)])


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def save(name: str, payload: dict, markdown: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    path = RESULTS / f"{name}.md"
    path.write_text(markdown)
    return path


def run_summary(run: Run) -> dict:
    out = asdict(run)
    out.pop("stdout")
    out.pop("stderr")
    return out
