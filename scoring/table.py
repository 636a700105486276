"""The score table: ``<lake>/gold/scores``, partitioned by period, Change Data Feed on.

Written by MERGE on (siret, periode) restricted to the period scored: re-scoring a
period replaces exactly that period's rows (rows that no longer exist are
deleted, unchanged rows are left as they are, so a rerun is a no-op), and two
periods can be scored at the same time (they touch different partitions).
"""

from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

SCHEMA = StructType.fromDDL(
    "siret string, siren string, periode date, score double, base_score double, alert string, "
    "alert_before_corrections string, corrections array<string>, "
    "macro_explanation map<string,double>, "
    "micro_explanation array<struct<groupe:string,variable:string,contribution:double>>, "
    "threshold_fort double, threshold_modere double, code_naf string, code_departement string, "
    "code_region string, model_name string, model_version string, mlflow_run_id string, "
    "panel_delta_version long, batch_id string, scored_at timestamp"
)
KEYS = ("siret", "periode")
TRACKED = [f for f in SCHEMA.fields if f.name not in (*KEYS, "scored_at")]


def _same(field) -> str:
    """Null-safe equality of a column in target and source (maps and arrays compared as JSON)."""
    if field.dataType.typeName() in ("map", "array"):
        return f"to_json(t.`{field.name}`) <=> to_json(s.`{field.name}`)"
    return f"t.`{field.name}` <=> s.`{field.name}`"


def ensure(spark: SparkSession, path: str) -> DeltaTable:
    (
        DeltaTable.createIfNotExists(spark)
        .location(path)
        .addColumns(SCHEMA)
        .partitionedBy("periode")
        .property("delta.enableChangeDataFeed", "true")
        .execute()
    )
    return DeltaTable.forPath(spark, path)


def merge_period(spark: SparkSession, path: str, scores: DataFrame, period: str) -> None:
    table = ensure(spark, path)
    in_period = f"t.periode = DATE'{period}'"
    changed = " OR ".join(f"NOT ({_same(f)})" for f in TRACKED)
    (
        table.alias("t")
        .merge(scores.alias("s"), f"{in_period} AND t.siret = s.siret AND t.periode = s.periode")
        .whenMatchedUpdateAll(condition=changed)
        .whenNotMatchedInsertAll()
        .whenNotMatchedBySourceDelete(condition=in_period)
        .execute()
    )
