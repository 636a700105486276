"""URSSAF headcount per establishment, one ``eff<YYYYQM>`` column per month (wide).

A line is read whole: a cell that is not a headcount rejects the line, naming the
column. Accepted lines become one record per (siret, month) with a value.
"""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parsers.common import (
    HEADCOUNT,
    LINE_COLUMNS,
    Fields,
    first_error,
    headcount_value,
    optional,
    period_start,
    present,
)

REQUIRED = ("siret",)
KEYS = ("siret", "periode")
PREFIX = "eff"


def month_columns(header: list[str]) -> list[tuple[str, object]]:
    """(column, first day of its month) for every ``eff<period>`` column of a header."""
    out = []
    for name in header:
        if name.lower().startswith(PREFIX) and name[len(PREFIX) :].isdigit():
            out.append((name, period_start(name[len(PREFIX) :])))
    return out


def wide_records(f: Fields) -> tuple[F.Column, F.Column]:
    """(array of (periode, effectif) structs, error naming the first bad cell) of a wide line.

    Written with array functions so the plan stays small whatever the number of months.
    """
    columns = month_columns(f.header)
    cells = F.array(*[f(name) for name, _ in columns])
    months = F.array(*[F.lit(month) for _, month in columns])
    values = F.transform(cells, headcount_value)
    bad = F.array_position(F.transform(cells, lambda c: c.isNotNull() & ~c.rlike(HEADCOUNT)), True)
    names = F.array(*[F.lit(name) for name, _ in columns])
    error = F.when(
        bad > 0, F.concat(F.element_at(names, bad.cast("int")), F.lit(": not a headcount"))
    )
    records = F.zip_with(
        months, values, lambda m, v: F.struct(m.alias("periode"), v.alias("effectif"))
    )
    return records, error


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    records, error = wide_records(f)
    return lines.select(
        *LINE_COLUMNS,
        f("siret").alias("siret"),
        optional(f, "compte").alias("numero_compte"),
        optional(f, "ape_ins").alias("ape_ins"),
        optional(f, "dep").alias("departement"),
        records.alias("_records"),
        first_error(present(f, "siret"), error).alias("_reject"),
    )


def explode(accepted: DataFrame) -> DataFrame:
    """One record per (siret, month) with a value."""
    kept = [c for c in accepted.columns if c != "_records"]
    return accepted.select(
        *kept, F.explode(F.filter("_records", lambda r: r["effectif"].isNotNull())).alias("_r")
    ).select(*kept, "_r.periode", "_r.effectif")
