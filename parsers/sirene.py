"""INSEE establishment stock (StockEtablissement, with geocoding columns).

Only activity codes of NAF rev. 2 (``NN.NNL``) are kept: other lines are skipped
(recorded in quarantine as skipped). Unusable coordinates or creation dates are
nulled and recorded; the rest of the line is kept.
"""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parsers.common import (
    LINE_COLUMNS,
    Fields,
    first_error,
    iso_date,
    lookup,
    number,
    optional,
    present,
    when,
)

REQUIRED = (
    "siren",
    "nic",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "codeCommuneEtablissement",
    "etatAdministratifEtablissement",
)
KEYS = ("siret",)
NAF_REV2 = r"^\d{2}\.\d{2}[A-Z]$"

STREET_TYPES = {
    "ALL": "ALLEE",
    "AV": "AVENUE",
    "BD": "BOULEVARD",
    "CAR": "CARREFOUR",
    "CHE": "CHEMIN",
    "CHS": "CHAUSSEE",
    "CITE": "CITE",
    "COR": "CORNICHE",
    "CRS": "COURS",
    "DOM": "DOMAINE",
    "DSC": "DESCENTE",
    "ECA": "ECART",
    "ESP": "ESPLANADE",
    "FG": "FAUBOURG",
    "GR": "GRANDE RUE",
    "HAM": "HAMEAU",
    "HLE": "HALLE",
    "IMP": "IMPASSE",
    "LD": "LIEU DIT",
    "LOT": "LOTISSEMENT",
    "MAR": "MARCHE",
    "MTE": "MONTEE",
    "PARC": "PARC",
    "PAS": "PASSAGE",
    "PASS": "PASSAGE",
    "PL": "PLACE",
    "PLN": "PLAINE",
    "PLT": "PLATEAU",
    "PRO": "PROMENADE",
    "PRV": "PARVIS",
    "QUA": "QUARTIER",
    "QUAI": "QUAI",
    "RES": "RESIDENCE",
    "RLE": "RUELLE",
    "ROC": "ROCADE",
    "RPT": "ROND POINT",
    "RTE": "ROUTE",
    "RUE": "RUE",
    "SEN": "SENTIER",
    "SQ": "SQUARE",
    "TPL": "TERRE PLEIN",
    "TRA": "TRAVERSE",
    "VLA": "VILLA",
    "VLGE": "VILLAGE",
    "ZA": "ZONE ARTISANALE",
    "ZAC": "ZONE D'AMENAGEMENT CONCERTE",
    "ZI": "ZONE INDUSTRIELLE",
}


def departement(code_commune: F.Column) -> F.Column:
    """Département of a commune code: three characters overseas (97x), two elsewhere."""
    return (
        F.when(F.length(code_commune) != 5, F.lit(None))
        .when(code_commune.startswith("97"), F.substring(code_commune, 1, 3))
        .otherwise(F.substring(code_commune, 1, 2))
    )


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    created = iso_date(optional(f, "dateCreationEtablissement"), "dateCreationEtablissement")
    lon, lat = (
        number(optional(f, "longitude"), "longitude"),
        number(optional(f, "latitude"), "latitude"),
    )
    street = optional(f, "typeVoieEtablissement")
    naf, nomenclature = (
        f("activitePrincipaleEtablissement"),
        f("nomenclatureActivitePrincipaleEtablissement"),
    )
    commune = f("codeCommuneEtablissement")
    return lines.select(
        *LINE_COLUMNS,
        F.concat(f("siren"), f("nic")).alias("siret"),
        f("siren").alias("siren"),
        f("nic").alias("nic"),
        (optional(f, "etablissementSiege") == "true").alias("siege"),
        optional(f, "numeroVoieEtablissement").alias("numero_voie"),
        F.coalesce(lookup(STREET_TYPES, street), street).alias("type_voie"),
        optional(f, "libelleVoieEtablissement").alias("voie"),
        optional(f, "libelleCommuneEtablissement").alias("commune"),
        commune.alias("code_commune"),
        optional(f, "codePostalEtablissement").alias("code_postal"),
        departement(commune).alias("departement"),
        naf.alias("ape"),
        created.value.alias("date_creation"),
        lon.value.alias("longitude"),
        lat.value.alias("latitude"),
        (f("etatAdministratifEtablissement") == "A").alias("est_actif"),
        first_error(present(f, "siren"), present(f, "nic")).alias("_reject"),
        when(
            (nomenclature != "NAFRev2") | ~naf.rlike(NAF_REV2) | naf.isNull(),
            "activity code not NAF rev. 2",
        ).alias("_skip"),
        first_error(created.error, lon.error, lat.error).alias("_field_error"),
    )
