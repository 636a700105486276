"""INSEE company stock (StockUniteLegale).

Only NAF rev. 2 activity codes are kept (other lines skipped). INSEE writes
``invalid_date`` for unknown dates: those are read as null; any other unusable
date is nulled and recorded.
"""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parsers.common import LINE_COLUMNS, Fields, iso_date, optional, present, when
from parsers.sirene import NAF_REV2

REQUIRED = (
    "siren",
    "categorieJuridiqueUniteLegale",
    "activitePrincipaleUniteLegale",
    "nomenclatureActivitePrincipaleUniteLegale",
    "etatAdministratifUniteLegale",
)
KEYS = ("siren",)


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    text = optional(f, "dateCreationUniteLegale")
    created = iso_date(F.when(text != "invalid_date", text), "dateCreationUniteLegale")
    naf = f("activitePrincipaleUniteLegale")
    return lines.select(
        *LINE_COLUMNS,
        f("siren").alias("siren"),
        F.coalesce(optional(f, "denominationUniteLegale"), F.lit("")).alias("raison_sociale"),
        optional(f, "prenom1UniteLegale").alias("prenom1_unite_legale"),
        optional(f, "nomUniteLegale").alias("nom_unite_legale"),
        f("categorieJuridiqueUniteLegale").alias("categorie_juridique"),
        created.value.alias("date_creation"),
        naf.alias("ape"),
        optional(f, "activitePrincipaleNAF25UniteLegale").alias("ape_naf25"),
        optional(f, "nicSiegeUniteLegale").alias("nic_siege"),
        optional(f, "categorieEntreprise").alias("categorie_entreprise"),
        (f("etatAdministratifUniteLegale") == "A").alias("est_actif"),
        present(f, "siren").alias("_reject"),
        when(
            (f("nomenclatureActivitePrincipaleUniteLegale") != "NAFRev2")
            | ~naf.rlike(NAF_REV2)
            | naf.isNull(),
            "activity code not NAF rev. 2",
        ).alias("_skip"),
        created.error.alias("_field_error"),
    )
