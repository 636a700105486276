"""URSSAF settlement plans before the CCSF commission."""

from pyspark.sql import DataFrame

from parsers.common import LINE_COLUMNS, Fields, first_error, optional, present, urssaf_date

REQUIRED = ("Compte", "Date_de_traitement", "Code_externe_stade")
KEYS = ("numero_compte", "date_traitement", "stade")


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    processed = urssaf_date(f("Date_de_traitement"), "Date_de_traitement")
    return lines.select(
        *LINE_COLUMNS,
        optional(f, "Siret").alias("siret"),
        f("Compte").alias("numero_compte"),
        optional(f, "Urssaf_gestion").alias("urssaf_gestion"),
        optional(f, "Dep").alias("departement"),
        processed.value.alias("date_traitement"),
        f("Code_externe_stade").alias("stade"),
        optional(f, "Code_externe_action").alias("action"),
        first_error(present(f, "Compte"), present(f, "Date_de_traitement"), processed.error).alias(
            "_reject"
        ),
    )
