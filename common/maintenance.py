"""Delta table maintenance: OPTIMIZE (compaction of small files) and VACUUM (deletion of the
files no version within the retention needs) of every table of the lake.

Time travel needs two things of an old version: its log entries and its data files. Delta
keeps them 30 days (``delta.logRetentionDuration``) and 7 days
(``delta.deletedFileRetentionDuration``, VACUUM's default) unless told otherwise; training and
scoring read the panel at a pinned version recorded in MLflow, so both are set here to the
configured retention, which may not be shorter than the lineage period. VACUUM then keeps
what the table property says (Delta 4.4 ignores VACUUM's own retention argument unless 0).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

LAYERS = ("bronze", "silver", "gold", "ops")


class RetentionTooShort(ValueError):
    """A VACUUM retention that would break the time travel lineage relies on."""


@dataclass(frozen=True)
class Files:
    current: int  # data files of the table's latest version
    bytes: int  # their size
    stored: int  # data files in the table's folder: the latest version's and older ones'


@dataclass(frozen=True)
class Maintained:
    table: str  # <layer>/<name>
    before: Files
    optimized: Files  # after OPTIMIZE
    after: Files  # after VACUUM
    seconds: float


def check_retention(hours: int, lineage_days: int) -> None:
    """Refuse a retention under the lineage period (``maintenance.lineage_days``)."""
    floor = lineage_days * 24
    if hours < floor:
        raise RetentionTooShort(
            f"a VACUUM retention of {hours} hours is shorter than the lineage period: training "
            f"and scoring read the panel at a pinned Delta version recorded in MLflow, and time "
            f"travel must reach back maintenance.lineage_days = {lineage_days} days; use a "
            f"retention of at least {floor} hours (maintenance.vacuum_retention_hours)"
        )


def _fs(spark: SparkSession, path: str):
    """The Hadoop file system of ``path`` (local, hdfs://, s3a://...) and the path object."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def discover_tables(spark: SparkSession, root: str, layers: tuple[str, ...] = LAYERS) -> list[str]:
    """Every Delta table ``<root>/<layer>/<name>`` of the lake's ``layers``, layer by layer,
    by name."""
    tables = []
    for layer in layers:
        fs, folder = _fs(spark, f"{root.rstrip('/')}/{layer}")
        if not fs.exists(folder):
            continue
        names = sorted(s.getPath().getName() for s in fs.listStatus(folder) if s.isDirectory())
        for name in names:
            path = f"{root.rstrip('/')}/{layer}/{name}"
            if DeltaTable.isDeltaTable(spark, path):
                tables.append(path)
    return tables


def files(spark: SparkSession, path: str) -> Files:
    detail = DeltaTable.forPath(spark, path).detail().select("numFiles", "sizeInBytes").first()
    fs, folder = _fs(spark, path)
    found = fs.listFiles(folder, True)
    stored = 0
    while found.hasNext():
        name = found.next().getPath().toString()
        stored += name.endswith(".parquet") and "/_delta_log/" not in name
    return Files(current=detail[0], bytes=detail[1], stored=stored)


def keep_history(spark: SparkSession, path: str, hours: int) -> None:
    """Keep the log and the removed files of the last ``hours``, for VACUUM and checkpoints."""
    wanted = {
        "delta.logRetentionDuration": f"interval {hours} hours",
        "delta.deletedFileRetentionDuration": f"interval {hours} hours",
    }
    properties = DeltaTable.forPath(spark, path).detail().first()["properties"] or {}
    if any(properties.get(k) != v for k, v in wanted.items()):
        settings = ", ".join(f"'{k}' = '{v}'" for k, v in wanted.items())
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({settings})")


# VACUUM lists a table's folder in this many Spark tasks (Spark's default: 10,000, about
# 100 s of scheduling per table on two cores, even for a one-file table)
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"


def maintain(spark: SparkSession, root: str, hours: int) -> Iterator[Maintained]:
    """OPTIMIZE then VACUUM (retention ``hours``) every table of the lake, one at a time."""
    listing = spark.conf.get(LISTING_PARALLELISM)
    spark.conf.set(LISTING_PARALLELISM, str(spark.sparkContext.defaultParallelism))
    try:
        yield from _maintain(spark, root, hours)
    finally:
        spark.conf.set(LISTING_PARALLELISM, listing)


def _maintain(spark: SparkSession, root: str, hours: int) -> Iterator[Maintained]:
    for path in discover_tables(spark, root):
        began = time.monotonic()
        before = files(spark, path)
        keep_history(spark, path, hours)
        table = DeltaTable.forPath(spark, path)
        table.optimize().executeCompaction()
        optimized = files(spark, path)
        table.vacuum()  # keeps delta.deletedFileRetentionDuration (set above)
        yield Maintained(
            table=path[len(root.rstrip("/")) + 1 :],
            before=before,
            optimized=optimized,
            after=files(spark, path),
            seconds=time.monotonic() - began,
        )
