"""URSSAF contributions due and paid, per account and period (euros)."""

from pyspark.sql import DataFrame

from parsers.common import (
    LINE_COLUMNS,
    Fields,
    amount,
    first_error,
    optional,
    present,
    urssaf_period,
)

REQUIRED = ("Siret", "Compte", "periode", "enc_direct", "cotis_due")
KEYS = ("numero_compte", "periode_debut", "periode_fin")


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    period = urssaf_period(f("periode"), "periode")
    paid = amount(f("enc_direct"), "enc_direct")
    due = amount(f("cotis_due"), "cotis_due")
    return lines.select(
        *LINE_COLUMNS,
        f("Siret").alias("siret"),
        f("Compte").alias("numero_compte"),
        optional(f, "Urssaf_gestion").alias("urssaf_gestion"),
        optional(f, "Dep").alias("departement"),
        f("periode").alias("periode"),
        period.start.alias("periode_debut"),
        period.end.alias("periode_fin"),
        period.months.alias("nb_mois"),
        optional(f, "mer").alias("mer"),
        paid.value.alias("encaisse"),
        due.value.alias("du"),
        first_error(
            present(f, "Compte"), present(f, "periode"), period.error, paid.error, due.error
        ).alias("_reject"),
    )
