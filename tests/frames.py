"""Panels for the tests: two compared cell for cell (equality contracts: cluster vs local,
incremental vs full rebuild), one written by an older catalog."""

from __future__ import annotations

from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType

from common import delta_io
from features.panel import gold_schema


def assert_same_panel(a, b, rel: float = 1e-9) -> None:
    """Row for row on (siret, periode); doubles within ``rel`` (relative, absolute below 1):
    sums over a sector and month are added in the order the shuffle delivers them, so two
    runs may differ in the last bits."""
    keys = ["siret", "periode"]
    assert sorted(a.columns) == sorted(b.columns)
    rows = a.count()
    assert b.count() == rows
    types = dict(a.dtypes)
    checks = []
    for c in a.columns:
        if c in keys:
            continue
        x, y = F.col(f"a.{c}"), F.col(f"b.{c}")
        if types[c] in ("double", "float"):
            same = (
                (x.isNull() & y.isNull())
                | (F.isnan(x) & F.isnan(y))
                | (x == y)
                | (F.abs(x - y) <= rel * F.greatest(F.lit(1.0), F.abs(x)))
            )
        else:
            same = x.eqNullSafe(y)
        checks.append(F.sum(F.when(F.coalesce(same, F.lit(False)), 0).otherwise(1)).alias(c))
    joined = a.alias("a").join(b.alias("b"), keys, "full_outer")
    found = joined.agg(F.count(F.lit(1)).alias("_rows"), *checks).first().asDict()
    assert found.pop("_rows") == rows  # the same keys on both sides
    different = {c: n for c, n in found.items() if n}
    assert not different, different


def stale_panel(spark, path: str, overwrite_schema: bool = False) -> None:
    """An empty panel written by an older catalog: one variable it did not have, one it had."""
    fields = [f for f in gold_schema().fields if f.name != "dette_totale"]
    old = StructType([*fields, StructField("variable_retiree", DoubleType())])
    delta_io.write(spark.createDataFrame([], old), path, partition_by=["periode"],
                   overwrite_schema=overwrite_schema)  # fmt: skip
