"""The small set of Delta reads and writes every job uses."""

from __future__ import annotations

from collections.abc import Sequence

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession


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
