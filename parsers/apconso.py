"""DGEFP partial-activity consumption, per request and month."""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parsers.common import LINE_COLUMNS, Fields, first_error, integer, iso_date, number, present

REQUIRED = ("ID_DA", "ETAB_SIRET", "HEURES", "MONTANTS", "EFFECTIFS", "MOIS")
KEYS = ("id_demande", "periode")


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    hours, amount = number(f("HEURES"), "HEURES"), number(f("MONTANTS"), "MONTANTS")
    staff, month = integer(f("EFFECTIFS"), "EFFECTIFS"), iso_date(f("MOIS"), "MOIS")
    return lines.select(
        *LINE_COLUMNS,
        f("ID_DA").alias("id_demande"),
        f("ETAB_SIRET").alias("siret"),
        F.trunc(month.value, "month").alias("periode"),  # MOIS is any day of the month
        hours.value.alias("heures_consommees"),
        amount.value.alias("montant"),
        staff.value.cast("int").alias("effectif"),
        first_error(
            present(f, "ETAB_SIRET"),
            present(f, "ID_DA"),
            present(f, "MOIS"),
            month.error,
            hours.error,
            amount.error,
            staff.error,
        ).alias("_reject"),
    )
