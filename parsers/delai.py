"""URSSAF payment-delay agreements. Holds a company name (business secret)."""

from pyspark.sql import DataFrame

from parsers.common import (
    LINE_COLUMNS,
    Fields,
    amount,
    first_error,
    integer,
    optional,
    plain_date,
    present,
)

REQUIRED = (
    "Numero_compte_externe",
    "Numero_structure",
    "Date_creation",
    "Date_echeance",
    "Duree_delai",
    "Montant_global_echeancier",
)
KEYS = ("numero_compte", "numero_contentieux")


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    created = plain_date(f("Date_creation"), "Date_creation", "dd/MM/yyyy", "DD/MM/YYYY")
    due = plain_date(f("Date_echeance"), "Date_echeance", "dd/MM/yyyy", "DD/MM/YYYY")
    days = integer(f("Duree_delai"), "Duree_delai")
    year = integer(optional(f, "Annee_creation"), "Annee_creation")
    total = amount(f("Montant_global_echeancier"), "Montant_global_echeancier")
    return lines.select(
        *LINE_COLUMNS,
        optional(f, "Siret").alias("siret"),
        f("Numero_compte_externe").alias("numero_compte"),
        f("Numero_structure").alias("numero_contentieux"),
        optional(f, "Urssaf_gestion").alias("urssaf_gestion"),
        optional(f, "Dep").alias("departement"),
        created.value.alias("date_creation"),
        due.value.alias("date_echeance"),
        days.value.cast("int").alias("duree_delai"),
        optional(f, "Denomination_premiere_ligne").alias("denomination"),
        optional(f, "Indic_6M").alias("indic_6m"),
        year.value.cast("int").alias("annee_creation"),
        total.value.alias("montant_echeancier"),
        optional(f, "Code_externe_stade").alias("stade"),
        optional(f, "Code_externe_action").alias("action"),
        first_error(
            present(f, "Numero_compte_externe"),
            present(f, "Numero_structure"),
            present(f, "Date_creation"),
            created.error,
            due.error,
            days.error,
            year.error,
            total.error,
        ).alias("_reject"),
    )
