"""URSSAF collective proceedings per establishment: action and stage of each judgment."""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parsers.common import LINE_COLUMNS, Fields, first_error, optional, present, procol_date, when

REQUIRED = ("Siret", "Dt_effet", "Lib_actx_stdx")
KEYS = ("siret", "date_effet", "action_procol", "stade_procol")
ACTIONS = ("liquidation", "redressement", "sauvegarde")


def split_label(label: F.Column) -> tuple[F.Column, F.Column]:
    """``Solde_procedure_redressement`` -> (redressement, solde_procedure), in either order."""
    lower = F.lower(label)
    words = F.split(lower, "_")
    action = F.coalesce(*[F.when(F.array_contains(words, a), F.lit(a)) for a in ACTIONS])
    stage = F.array_join(F.filter(words, lambda w: ~w.isin(*ACTIONS)), "_")
    return action, F.when(action.isNotNull(), F.when(stage != "", stage))


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    effective = procol_date(f("Dt_effet"), "Dt_effet")
    action, stage = split_label(f("Lib_actx_stdx"))
    return lines.select(
        *LINE_COLUMNS,
        f("Siret").alias("siret"),
        F.coalesce(optional(f, "Siren"), F.substring(f("Siret"), 1, 9)).alias("siren"),
        effective.value.alias("date_effet"),
        optional(f, "Cat_v2").alias("categorie"),
        action.alias("action_procol"),
        stage.alias("stade_procol"),
        first_error(
            present(f, "Siret"),
            present(f, "Dt_effet"),
            effective.error,
            when(
                action.isNull() | stage.isNull(),
                "Lib_actx_stdx: no action (liquidation, redressement, sauvegarde) and stage",
            ),
        ).alias("_reject"),
    )
