"""DGFiP court judgments: date and kind. Kinds 1, 2, 3, 4 and 8 open a proceeding."""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parsers.common import LINE_COLUMNS, Fields, first_error, iso_date, lookup, present

REQUIRED = ("siren", "djug", "najug")
KEYS = ("siren", "date_jugement", "nature_jugement")
KINDS = {
    "1": "liquidation_de_biens",
    "2": "reglement_judiciaire",
    "3": "redressement_judiciaire",
    "4": "liquidation_judiciaire",
    "5": "plan",
    "6": "plan",
    "7": "autre_decision",
    "8": "sauvegarde",
    "A": "autre_decision",
}
OPENINGS = ("1", "2", "3", "4", "8")


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    decided = iso_date(f("djug"), "djug")
    kind = F.upper(f("najug"))
    return lines.select(
        *LINE_COLUMNS,
        f("siren").alias("siren"),
        decided.value.alias("date_jugement"),
        kind.alias("nature_jugement"),
        lookup(KINDS, kind).alias("libelle_jugement"),
        kind.isin(*OPENINGS).alias("ouverture"),
        first_error(
            present(f, "siren"), present(f, "djug"), present(f, "najug"), decided.error
        ).alias("_reject"),
    )
