"""The score table: ``<lake>/gold/scores``, partitioned by period, Change Data Feed on.

Written by MERGE on (siret, periode) restricted to the period scored: re-scoring a
period replaces exactly that period's rows (rows that no longer exist are
deleted, unchanged rows are left as they are, so a rerun is a no-op), and two
periods can be scored at the same time (they touch different partitions).
"""

from __future__ import annotations

import logging
import time

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import (
    ArrayType,
    DateType,
    DoubleType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from common import delta_io

_MICRO = StructType(
    [
        StructField("groupe", StringType()),
        StructField("variable", StringType()),
        StructField("contribution", DoubleType()),
    ]
)
# Built from types, not DDL text: parsing DDL needs a live SparkContext at import time.
SCHEMA = StructType(
    [
        StructField("siret", StringType()),
        StructField("siren", StringType()),
        StructField("periode", DateType()),
        StructField("score", DoubleType()),
        StructField("base_score", DoubleType()),
        StructField("alert", StringType()),
        StructField("alert_before_corrections", StringType()),
        StructField("corrections", ArrayType(StringType())),
        StructField("macro_explanation", MapType(StringType(), DoubleType())),
        StructField("micro_explanation", ArrayType(_MICRO)),
        StructField("threshold_fort", DoubleType()),
        StructField("threshold_modere", DoubleType()),
        StructField("code_naf", StringType()),
        StructField("code_departement", StringType()),
        StructField("code_region", StringType()),
        StructField("model_name", StringType()),
        StructField("model_version", StringType()),
        StructField("mlflow_run_id", StringType()),
        StructField("panel_delta_version", LongType()),
        StructField("batch_id", StringType()),
        StructField("scored_at", TimestampType()),
    ]
)
log = logging.getLogger(__name__)
KEYS = ("siret", "periode")
TRACKED = [f for f in SCHEMA.fields if f.name not in (*KEYS, "scored_at")]


def _same(field) -> str:
    """Null-safe equality of a column in target and source (maps and arrays compared as JSON)."""
    if field.dataType.typeName() in ("map", "array"):
        return f"to_json(t.`{field.name}`) <=> to_json(s.`{field.name}`)"
    return f"t.`{field.name}` <=> s.`{field.name}`"


_CREATION_RACES = ("DELTA_TABLE_NOT_FOUND", "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION")


def ensure(spark: SparkSession, path: str, attempts: int = 5) -> DeltaTable:
    """The table, created on first use. Two jobs creating it at once (two periods scored
    concurrently on a new lake) race on the first commit: the loser either gets a commit
    conflict or, having seen the winner's ``_delta_log`` folder before its first commit,
    ``DELTA_TABLE_NOT_FOUND`` or ``DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION``; it waits, finds
    the table the winner created and goes on."""
    for attempt in range(1, attempts + 1):
        try:
            (
                DeltaTable.createIfNotExists(spark)
                .location(path)
                .addColumns(SCHEMA)
                .partitionedBy("periode")
                .property("delta.enableChangeDataFeed", "true")
                .execute()
            )
            break
        except Exception as exc:  # ProtocolChangedException, DELTA_TABLE_NOT_FOUND, ...
            racing = delta_io.commit_conflict(exc) or any(
                code in str(exc) for code in _CREATION_RACES
            )
            if not racing:
                raise
            if DeltaTable.isDeltaTable(spark, path):
                break
            if attempt == attempts:
                raise
            log.warning("%s: created concurrently by another job; waiting for its commit", path)
            time.sleep(attempt)
    return DeltaTable.forPath(spark, path)


def merge_period(
    spark: SparkSession, path: str, scores: DataFrame, period: str, attempts: int = 5
) -> int:
    """MERGE one period; returns the attempts it took. A MERGE with
    ``whenNotMatchedBySource`` reads the whole target, so Delta reports a conflict when
    another period's MERGE commits meanwhile (optimistic concurrency); the MERGE is
    idempotent, so it is simply retried on the new version, with a warning in the log."""
    table = ensure(spark, path)
    in_period = f"t.periode = DATE'{period}'"
    changed = " OR ".join(f"NOT ({_same(f)})" for f in TRACKED)
    for attempt in range(1, attempts + 1):
        try:
            (
                table.alias("t")
                .merge(
                    scores.alias("s"),
                    f"{in_period} AND t.siret = s.siret AND t.periode = s.periode",
                )
                .whenMatchedUpdateAll(condition=changed)
                .whenNotMatchedInsertAll()
                .whenNotMatchedBySourceDelete(condition=in_period)
                .execute()
            )
            return attempt
        except Exception as exc:  # ConcurrentAppendException, ConcurrentDeleteReadException, ...
            if not delta_io.commit_conflict(exc) or attempt == attempts:
                raise
            log.warning(
                "period %s: a concurrent commit on %s (%s); retrying the MERGE (%d/%d)",
                period,
                path,
                type(exc).__name__,
                attempt + 1,
                attempts,
            )
            time.sleep(2 * attempt)
