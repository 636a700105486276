"""The small set of Delta reads and writes every job uses."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from delta import exceptions as delta_errors
from delta.tables import DeltaTable
from py4j.protocol import Py4JError
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

log = logging.getLogger(__name__)

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


USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"


@contextmanager
def commit_metadata(spark: SparkSession, text: str) -> Iterator[None]:
    """Every Delta commit of the block records ``text`` as its user metadata (shown by
    ``DESCRIBE HISTORY``: why the commit was made)."""
    before = spark.conf.get(USER_METADATA, None)
    spark.conf.set(USER_METADATA, text)
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(USER_METADATA)
        else:
            spark.conf.set(USER_METADATA, before)


def exists(spark: SparkSession, path: str) -> bool:
    return DeltaTable.isDeltaTable(spark, path)


def read(spark: SparkSession, path: str, version: int | None = None) -> DataFrame:
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def _snapshot(spark: SparkSession, path: str):
    """The table's current snapshot, read from its log by Delta's ``DeltaLog.update`` (an
    internal JVM API of Delta 4.4, ~5 ms a call); None when the path holds no table, or the call
    fails (another Delta release, an unreadable log): the caller then takes the public way,
    ``history(1)``, which plans and runs a query each time (~120 ms) and names any error. The
    jobs and the tests ask for table versions hundreds of times."""
    jvm = spark.sparkContext._jvm
    try:
        delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
        none = jvm.scala.Option.empty()
        snapshot = delta_log.update(False, none, none)
        return snapshot if snapshot.version() >= 0 else None
    except (Py4JError, TypeError) as exc:  # TypeError: the class is not in the JVM
        log.debug("%s: no snapshot from DeltaLog (%s), through history(1)", path, exc)
        return None


def latest_version(spark: SparkSession, path: str) -> int:
    """Version number of the table's last commit (for data lineage)."""
    return commit_version(spark, path)[0]


def commit_version(spark: SparkSession, path: str) -> tuple[int, str]:
    """The table's last commit: version and time (ISO, UTC). A table deleted and created again
    at the same path starts again at version 0, at another time."""
    snapshot = _snapshot(spark, path)
    if snapshot is None:
        return last_commit(spark, path)[:2]
    at = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(snapshot.timestamp()))
    return int(snapshot.version()), at.isoformat()


def last_commit(spark: SparkSession, path: str) -> tuple[int, str, str | None]:
    """The table's last commit: version, time (ISO, UTC) and user metadata (a query: see
    ``commit_version`` when the metadata is not needed)."""
    row = DeltaTable.forPath(spark, path).history(1).head()
    return row["version"], row["timestamp"].isoformat(), row["userMetadata"]


def user_metadata(spark: SparkSession, path: str, version: int) -> str | None:
    """The user metadata of the table's commit ``version`` (None: none, or no such commit)."""
    history = DeltaTable.forPath(spark, path).history()
    entry = history.where(F.col("version") == version).select("userMetadata").first()
    return entry["userMetadata"] if entry else None


def restore(spark: SparkSession, path: str, version: int) -> None:
    """Make ``version`` the table's current state again (a new commit; history is kept)."""
    DeltaTable.forPath(spark, path).restoreToVersion(version)


def write(
    df: DataFrame,
    path: str,
    *,
    mode: str = "overwrite",
    partition_by: Sequence[str] = (),
    replace_where: str | None = None,
    properties: dict[str, str] | None = None,
    overwrite_schema: bool = False,
    optimize_write: bool = False,
    user_metadata: str | None = None,
) -> None:
    """Write ``df`` as a Delta table; ``replace_where`` replaces only matching rows.

    ``overwrite_schema`` replaces the table's schema (columns, types, comments) by ``df``'s;
    ``optimize_write`` shuffles the rows by partition value first (Delta's optimized write),
    so each partition gets a few large files instead of one small file per task;
    ``user_metadata`` is recorded in the commit (as ``commit_metadata`` does for a whole block,
    but for this write alone: safe when several threads write at once).
    """
    writer = df.write.format("delta").mode(mode)
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    if replace_where is not None:
        writer = writer.option("replaceWhere", replace_where)
    if overwrite_schema:
        writer = writer.option("overwriteSchema", "true")
    if optimize_write:
        writer = writer.option("optimizeWrite", "true")
    if user_metadata is not None:
        writer = writer.option("userMetadata", user_metadata)
    for key, value in (properties or {}).items():  # writer options; ``delta.*``: table properties
        writer = writer.option(key, value)
    writer.save(path)


def schema_changes(expected: StructType, actual: StructType) -> list[str]:
    """How ``actual`` differs from ``expected`` by column name and type (comments and
    nullability aside), one line per kind of change; empty when they agree."""
    want = {f.name: f.dataType.simpleString() for f in expected.fields}
    have = {f.name: f.dataType.simpleString() for f in actual.fields}

    def listed(names: list[str]) -> str:
        shown = ", ".join(names[:5])
        return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")

    added = [n for n in want if n not in have]
    removed = [n for n in have if n not in want]
    retyped = [f"{n} ({have[n]} -> {want[n]})" for n in want if n in have and want[n] != have[n]]
    changes = []
    if added:
        changes.append(f"{len(added)} new column(s): {listed(added)}")
    if removed:
        changes.append(f"{len(removed)} column(s) no longer produced: {listed(removed)}")
    if retyped:
        changes.append(f"{len(retyped)} column(s) of another type: {listed(retyped)}")
    return changes


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
