"""Generate a synthetic monthly delivery: every raw file in its real format, a
manifest, and the generator's ground truth (a Delta table outside the delivery).

Same seed and scale give byte-identical raw files, whatever the number of cores.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from pyspark.sql import SparkSession

from common.cli import job_parser, month, run_job
from common.config import Settings
from generator.calibration import make_scenario
from generator.delivery import Request, write_delivery
from generator.monthly import Split, split_delivery


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("generate", __doc__)
    parser.add_argument(
        "--establishments",
        type=int,
        required=True,
        metavar="N",
        help="number of establishments (SIRETs) in the world",
    )
    parser.add_argument(
        "--months", type=int, metavar="M", help="months of history (default from config: 72)"
    )
    parser.add_argument(
        "--start", type=month, metavar="YYYY-MM", help="first month (default 2016-01)"
    )
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder of the raw files"
    )
    parser.add_argument(
        "--truth", type=Path, metavar="DIR", help="ground-truth Delta table (default: DIR_truth)"
    )
    parser.add_argument(
        "--bad-line-rate",
        type=float,
        metavar="R",
        help="share of data lines corrupted (default from config: 0)",
    )
    parser.add_argument(
        "--failure-rate",
        type=float,
        metavar="F",
        help="yearly rate of first openings (default: config)",
    )
    parser.add_argument(
        "--split-last-month",
        type=Path,
        metavar="DIR2",
        help="cut the delivery in two monthly deliveries: DIR holds the months "
        "before the last, DIR2 the last month and corrections to earlier "
        "months",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty DIR")
    args = parser.parse_args(argv)
    if args.establishments < 1:
        parser.error("--establishments must be at least 1")
    return args


def split_in_two(out: Path, second: Path, last: str) -> None:
    """The delivery in ``out`` becomes the months before ``last``; ``second`` gets that month
    and the corrections (generator/monthly.py)."""
    whole = out.with_name(out.name + ".whole")
    for folder in (whole, second):  # (--overwrite was given, or they are empty)
        shutil.rmtree(folder, ignore_errors=True)
    out.rename(whole)
    counts = split_delivery(whole, out, second, Split(last))
    shutil.rmtree(whole)
    lines = sum(e["lines"] for e in counts["second"])
    print(
        f"cut in two monthly deliveries: {out} (to the month before {last}), "
        f"{second} ({last} and corrections to earlier months: {lines} lines)"
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    for folder in (args.out, args.split_last_month):
        if folder and folder.exists() and any(folder.iterdir()) and not args.overwrite:
            sys.exit(f"error: {folder} is not empty (use --overwrite to replace it)")
    run_job(args, "generate", run)


def run(spark: SparkSession, settings: Settings, args: argparse.Namespace) -> int:
    """Write the delivery (and cut it in two with --split-last-month); the exit code, 0."""
    out = args.out.resolve()
    truth = (args.truth or out.with_name(out.name + "_truth")).resolve()
    defaults = settings.generator
    request = Request(
        establishments=args.establishments,
        months=args.months or defaults.months,
        start=args.start or defaults.start,
        seed=args.seed,
        bad_line_rate=defaults.bad_line_rate if args.bad_line_rate is None else args.bad_line_rate,
        yearly_failure_rate=args.failure_rate or defaults.yearly_failure_rate,
    )
    began = time.monotonic()
    scenario = make_scenario(
        request.seed, request.start, request.months, request.yearly_failure_rate
    )
    manifest = write_delivery(spark, scenario, request, out, truth)
    print(
        f"generated {request.establishments} establishments x {request.months} months "
        f"({manifest['window']['first_month']} to {manifest['window']['last_month']}) "
        f"in {time.monotonic() - began:.0f} s"
    )
    for f in manifest["files"]:
        print(
            f"  {f['file']:<34} {f['lines']:>10} lines {f['bad_lines']:>6} bad "
            f"{f['bytes']:>12} bytes"
        )
    print(f"raw files: {out}")
    print(f"manifest:  {out / 'manifest.json'}")
    if args.split_last_month:
        split_in_two(out, args.split_last_month.resolve(), manifest["window"]["last_month"])
    print(f"truth:     {truth} (Delta; read only by train and backtest, given --truth)")
    return 0


if __name__ == "__main__":
    main()
