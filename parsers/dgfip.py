"""Shared by the DGFiP tax-return files: one line per fiscal year and filing."""

from pyspark.sql import Column, DataFrame

from parsers.common import (
    LINE_COLUMNS,
    Fields,
    first_error,
    integer,
    iso_date,
    number,
    optional,
    present,
)


def parse_return(lines: DataFrame, f: Fields, figures: tuple[str, ...]) -> DataFrame:
    start = iso_date(f("date_deb_exercice"), "date_deb_exercice")
    end = iso_date(f("date_fin_exercice"), "date_fin_exercice")
    year = integer(optional(f, "annee_exercice"), "annee_exercice")
    values = {name: number(optional(f, name), name) for name in figures}
    errors: list[Column] = [
        present(f, "siren"),
        present(f, "date_fin_exercice"),
        start.error,
        end.error,
        year.error,
        *[v.error for v in values.values()],
    ]
    return lines.select(
        *LINE_COLUMNS,
        f("siren").alias("siren"),
        start.value.alias("date_deb_exercice"),
        end.value.alias("date_fin_exercice"),
        optional(f, "no_ocfi").alias("no_ocfi"),
        year.value.cast("int").alias("annee_exercice"),
        *[v.value.alias(name) for name, v in values.items()],
        first_error(*errors).alias("_reject"),
    )
