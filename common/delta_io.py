"""The small set of Delta reads and writes every job uses."""

from __future__ import annotations

from collections.abc import Sequence

from delta import exceptions as delta_errors
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

# Delta's commit conflicts: another writer committed first (optimistic concurrency). A first
# commit raced on an empty folder is reported as a protocol or metadata change.
COMMIT_CONFLICTS = (
    delta_errors.DeltaConcurrentModificationException,
    delta_errors.ConcurrentWriteException,
    delta_errors.MetadataChangedException,
    delta_errors.ProtocolChangedException,
    delta_errors.ConcurrentAppendException,
    delta_errors.ConcurrentDeleteReadException,
    delta_errors.ConcurrentDeleteDeleteException,
    delta_errors.ConcurrentTransactionException,
)


def commit_conflict(exc: BaseException) -> bool:
    """True when ``exc`` is a Delta commit conflict with a concurrent writer."""
    return isinstance(exc, COMMIT_CONFLICTS)


def exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


def read(spark: SparkSession, path: str, version: int | None = None) -> DataFrame:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def latest_version(spark: SparkSession, path: str) -> int:
    """Version number of the table's last commit (for data lineage)."""
    return DeltaTable.forPath(spark, path).history(1).select("version").head()[0]


def write(
    df: DataFrame,
    path: str,
    *,
    mode: str = "overwrite",
    partition_by: Sequence[str] = (),
    replace_where: str | None = None,
    properties: dict[str, str] | None = None,
) -> None:
    """Write ``df`` as a Delta table; ``replace_where`` replaces only matching rows."""
    writer = df.write.format("delta").mode(mode)
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    if replace_where is not None:
        writer = writer.option("replaceWhere", replace_where)
    for key, value in (properties or {}).items():
        writer = writer.option(key, value)
    writer.save(path)


def merge(
    spark: SparkSession,
    df: DataFrame,
    path: str,
    keys: Sequence[str],
    *,
    partition_by: Sequence[str] = (),
) -> None:
    """Upsert ``df`` on ``keys``: matched rows are updated, new rows inserted.

    The table is created from ``df`` on the first call.
    """
    if not exists(spark, path):
        write(df, path, mode="append", partition_by=partition_by)
        return
    condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(df.alias("s"), condition)
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
