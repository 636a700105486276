"""`make demo`'s pipeline in one Spark application (scripts/demo.sh writes the configuration
and starts it): generate a world, ingest its history, build the panel, train, run its last
month through jobs/monthly.py, and print the summary (scripts/demo_summary.py).

    ./spark-submit.sh scripts/demo.py --config CONF --dir DIR --establishments N \\
        --months M --start YYYY-MM [--failure-rate F]

Each step is a job's own code (the `run` of jobs/<job>.py), given the arguments printed above
it: that command runs the same step alone, as a data engineer runs the jobs. One application
instead of six saves what each job pays before and while its JVM warms up (the JVM, the
session, its first Delta reads and writes): about a quarter of the demo on 2 cores.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
import time
from pathlib import Path
from types import ModuleType

from demo_summary import summarise

from common import months
from common.cli import job_parser, month, start
from common.config import PROJECT_ROOT
from common.secrecy import SecrecyError, pseudonymiser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("scripts/demo.py", __doc__)
    parser.add_argument("--dir", required=True, type=Path, metavar="DIR", help="demo folder")
    parser.add_argument("--establishments", required=True, type=int, metavar="N")
    parser.add_argument("--months", required=True, type=int, metavar="M")
    parser.add_argument("--start", required=True, type=month, metavar="YYYY-MM")
    parser.add_argument("--failure-rate", type=float, metavar="F", help="default: the config's")
    args = parser.parse_args(argv)
    if args.months < 2:
        parser.error("--months must be at least 2: the history, then its last month")
    return args


def last_month(args: argparse.Namespace) -> str:
    """The world's last month: delivered on its own, as a month in production."""
    return months.label(months.index(args.start) + args.months - 1)


def steps(args: argparse.Namespace) -> list[tuple[str, str, list[str]]]:
    """(title, job, its arguments) of each step, in order."""
    d, conf = args.dir.resolve(), ["--config", str(Path(args.config).resolve())]
    if args.lake:
        conf += ["--lake", args.lake]
    last = last_month(args)
    history = months.label(months.index(last) - 1)  # the history's batch: to the month before
    failure = [] if args.failure_rate is None else ["--failure-rate", str(args.failure_rate)]
    world = f"{args.establishments} establishments x {args.months} months"
    return [
        (
            f"generate {world} (history to {history}, then the delivery of {last})",
            "generate",
            [
                *conf,
                *("--establishments", str(args.establishments), "--months", str(args.months)),
                *("--start", args.start, "--seed", "1", "--bad-line-rate", "0.002", *failure),
                *("--out", f"{d}/raw", "--truth", f"{d}/truth"),
                *("--split-last-month", f"{d}/raw_{last}"),
            ],
        ),
        (
            f"ingest the history (batch {history})",
            "ingest",
            [*conf, "--raw", f"{d}/raw", "--batch", history],
        ),
        ("panel", "panel", conf),
        ("train", "train", [*conf, "--truth", f"{d}/truth", "--promote"]),
        (
            f"the month {last} arrives: ingest, panel (what changed), score, monitor, export",
            "monthly",
            [*conf, "--raw", f"{d}/raw_{last}", "--batch", last, "--out", f"{d}/list_{last}.json"],
        ),
    ]


def job(name: str) -> ModuleType:
    """jobs/<name>.py as a module (its ``main`` is not run)."""
    spec = importlib.util.spec_from_file_location(
        f"job_{name}", PROJECT_ROOT / "jobs" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:  # before Spark: a key file that cannot be read ends the demo at once
        pseudonym = pseudonymiser()
    except SecrecyError as exc:
        sys.exit(f"error: {exc}")
    settings, spark = start(args, "demo")
    took = []
    try:
        for title, name, job_args in steps(args):
            print(f"\n=== {title} ===", flush=True)
            command = " ".join(shlex.quote(a) for a in job_args)
            print(f"(alone: ./spark-submit.sh jobs/{name}.py {command})", flush=True)
            module, began = job(name), time.monotonic()
            code = module.run(spark, settings, module.parse_args(job_args))
            took.append(f"{name} {time.monotonic() - began:.0f} s")
            if code:
                print(f"demo stopped: jobs/{name}.py ended with exit code {code}", file=sys.stderr)
                sys.exit(code)
        began, last = time.monotonic(), last_month(args)
        print(flush=True)
        summarise(spark, settings, args.dir.resolve() / f"list_{last}.json", last, pseudonym)
        took.append(f"summary {time.monotonic() - began:.0f} s")
    finally:
        spark.stop()
    print(f"steps     {', '.join(took)} (one Spark application)")


if __name__ == "__main__":
    main()
