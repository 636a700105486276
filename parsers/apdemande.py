"""DGEFP partial-activity authorisation requests (quoted CSV, CRLF, blank lines)."""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

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

REQUIRED = ("ID_DA", "ETAB_SIRET", "DATE_STATUT", "DATE_DEB", "DATE_FIN", "HTA")
KEYS = ("id_demande",)
NUMBERS = {
    "HTA": "hta",
    "MTA": "mta",
    "S_HEURE_CONSOM_TOT": "heures_consommees",
    "S_MONTANT_CONSOM_TOT": "montant_consomme",
}
INTEGERS = {
    "EFF_ENT": "effectif_entreprise",
    "EFF_ETAB": "effectif",
    "EFF_AUTO": "effectif_autorise",
    "S_EFF_CONSOM_TOT": "effectif_consomme",
    "PERIMETRE_AP": "perimetre",
}
DATES = {"DATE_STATUT": "date_statut", "DATE_DEB": "periode_debut", "DATE_FIN": "periode_fin"}


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    numbers = {out: number(optional(f, col), col) for col, out in NUMBERS.items()}
    integers = {out: integer(optional(f, col), col) for col, out in INTEGERS.items()}
    dates = {out: iso_date(f(col), col) for col, out in DATES.items()}
    reason = integer(optional(f, "MOTIF_RECOURS_SE"), "MOTIF_RECOURS_SE").value  # 2 or 2.0
    return lines.select(
        *LINE_COLUMNS,
        f("ID_DA").alias("id_demande"),
        f("ETAB_SIRET").alias("siret"),
        *[d.value.alias(name) for name, d in dates.items()],
        *[d.value.alias(name) for name, d in numbers.items()],
        *[d.value.cast("int").alias(name) for name, d in integers.items()],
        # reasons 1..7 are known; another value drops the reason, not the line
        F.when(reason.between(1, 7), reason.cast("int")).alias("motif_recours_se"),
        optional(f, "RECOURS_ANTERIEUR").alias("recours_anterieur"),
        first_error(
            present(f, "ETAB_SIRET"),
            present(f, "ID_DA"),
            *[d.error for d in (*dates.values(), *numbers.values(), *integers.values())],
        ).alias("_reject"),
    )
