"""Bronze records the current-record rule can do without (run by jobs/maintain.py).

Some files are delivered whole every month (URSSAF's headcount files hold every month
column each time), so a bronze table would grow by its whole history at every batch.
``drop_repeated`` deletes a record when the next record of its key, in delivery order
(ingestion/current.py), holds the same values: the current records are unchanged, lineage
included (the last record of a key is never the one deleted). Records repeated only by the
table's latest batch are kept, so that batch can still be replaced (``ingest --force``) and
leave the state before it whole.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import and_

from delta.tables import DeltaTable
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from common import delta_io
from common.maintenance import discover_tables
from ingestion.current import LINEAGE, ORDER
from parsers.registry import PARSERS


def repeated(bronze: DataFrame, keys: Sequence[str], latest: str) -> DataFrame:
    """The records whose key's next record (in delivery order) holds the same values
    (every column but the lineage; nulls equal) and is not of batch ``latest`` (the
    table's last): their lineage and key columns, enough to find each one."""
    order = Window.partitionBy(*keys).orderBy(*ORDER)
    values = [c for c in bronze.columns if c not in LINEAGE and c not in keys]
    same = [F.col(c).eqNullSafe(F.lead(c).over(order)) for c in values]
    following = F.lead("batch_id").over(order)
    flagged = bronze.withColumn("_repeated", reduce(and_, same, following < F.lit(latest)))
    return flagged.where(F.coalesce("_repeated", F.lit(False))).select(*ORDER, *keys)


@dataclass(frozen=True)
class Dropped:
    table: str  # bronze/<source>
    records: int  # in the table before
    dropped: int  # repeated records deleted (0: the table was not changed)
    seconds: float


def drop_repeated(spark: SparkSession, path: str, source: str) -> Dropped:
    """Delete the ``repeated`` records of bronze table ``path`` (of ``source``): one commit,
    none when there are none."""
    began, keys = time.monotonic(), PARSERS[source].keys
    table = delta_io.read(spark, path)
    records, latest = table.agg(F.count(F.lit(1)), F.max("batch_id")).first()
    dropped = 0
    if records:
        dropped = _delete(spark, path, repeated(table, keys, latest), keys)
    return Dropped(f"bronze/{source}", records, dropped, time.monotonic() - began)


def _delete(spark: SparkSession, path: str, rows: DataFrame, keys: Sequence[str]) -> int:
    """Delete ``rows`` (lineage and key columns) from the table at ``path``; how many."""
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)  # counted, then merged
    try:
        dropped = rows.count()
        if dropped:
            found = " AND ".join(f"t.`{c}` <=> s.`{c}`" for c in (*ORDER, *keys))
            merge = DeltaTable.forPath(spark, path).alias("t").merge(rows.alias("s"), found)
            merge.whenMatchedDelete().execute()
    finally:
        rows.unpersist()
    return dropped


def drop_repeated_everywhere(spark: SparkSession, root: str) -> Iterator[Dropped]:
    """``drop_repeated`` on every bronze table of the lake at ``root`` whose records carry
    their lineage (a table written by ingest), one at a time."""
    for path in discover_tables(spark, root, ("bronze",)):
        source = path.rstrip("/").rsplit("/", 1)[1]
        if source not in PARSERS or not set(ORDER) <= set(delta_io.read(spark, path).columns):
            continue
        yield drop_repeated(spark, path, source)
