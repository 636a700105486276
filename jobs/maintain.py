"""Drop repeated bronze records, then OPTIMIZE and VACUUM every Delta table of the lake
(<lake>/{bronze,silver,gold,ops}/<name>).

First, unless maintenance.drop_repeated_records is false, each bronze table loses the records
that the next record of their natural key repeats (same values, an older batch than the
table's last): files delivered whole every month no longer make bronze grow by their whole
history; the current records, which silver reads, are unchanged.

OPTIMIZE compacts each table's small files into larger ones (same rows, a new version);
VACUUM then deletes the files no version of the retention period needs. The retention is
maintenance.vacuum_retention_hours and may not be shorter than maintenance.lineage_days:
training and scoring read the panel at a pinned version recorded in MLflow, and time travel
to it must keep working. Each table's log and removed files are kept as long (table
properties delta.logRetentionDuration and delta.deletedFileRetentionDuration).
"""

from __future__ import annotations

import argparse
import sys

from common.cli import job_parser, load_settings, start
from common.maintenance import RetentionTooShort, check_retention, maintain
from ingestion.repeats import drop_repeated_everywhere


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("maintain", __doc__)
    parser.add_argument(
        "--retention-hours",
        type=int,
        metavar="H",
        help="VACUUM retention (default: maintenance.vacuum_retention_hours); "
        "never under maintenance.lineage_days x 24",
    )
    return parser.parse_args(argv)


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cfg = load_settings(args).maintenance
    hours = cfg.vacuum_retention_hours if args.retention_hours is None else args.retention_hours
    try:
        check_retention(hours, cfg.lineage_days)
    except RetentionTooShort as exc:
        sys.exit(f"error: {exc}")
    settings, spark = start(args, "maintain")
    root = settings.lake.root
    repeated = "repeated bronze records dropped, " if cfg.drop_repeated_records else ""
    print(f"maintaining {root}: {repeated}OPTIMIZE, then VACUUM keeping {hours} hours of history")
    if cfg.drop_repeated_records:
        for d in drop_repeated_everywhere(spark, root):
            print(
                f"  {d.table}: {d.dropped:,} of {d.records:,} records repeated by a later "
                f"batch's record of their key: dropped; {d.seconds:.0f} s"
            )
    tables = 0
    for t in maintain(spark, root, hours):
        tables += 1
        print(
            f"  {t.table}: {t.before.current} files ({_size(t.before.bytes)}) -> "
            f"{t.optimized.current} ({_size(t.optimized.bytes)}) after OPTIMIZE; "
            f"{t.before.stored} files stored -> {t.after.stored} after VACUUM; {t.seconds:.0f} s"
        )
    print(f"{tables} tables maintained")
    spark.stop()


if __name__ == "__main__":
    main()
