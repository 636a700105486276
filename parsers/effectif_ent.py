"""URSSAF headcount per company (SIREN), one ``eff<YYYYQM>`` column per month (wide)."""

from pyspark.sql import DataFrame

from parsers.common import LINE_COLUMNS, Fields, first_error, present
from parsers.effectif import explode, wide_records

REQUIRED = ("siren",)
KEYS = ("siren", "periode")
__all__ = ["REQUIRED", "KEYS", "parse", "explode"]


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    records, error = wide_records(f)
    return lines.select(
        *LINE_COLUMNS,
        f("siren").alias("siren"),
        records.alias("_records"),
        first_error(present(f, "siren"), error).alias("_reject"),
    )
