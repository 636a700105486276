"""URSSAF social debt: the states of each negative gap ("écart négatif"), amounts in cents."""

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parsers.common import (
    LINE_COLUMNS,
    Fields,
    cents,
    first_error,
    integer,
    optional,
    plain_date,
    present,
    urssaf_date,
    urssaf_period,
)

REQUIRED = (
    "num_cpte",
    "Siret",
    "Periode",
    "Num_Ecn",
    "Num_Hist_Ecn",
    "Dt_trt_ecn",
    "Mt_PO",
    "Mt_PP",
)
KEYS = (
    "numero_compte",
    "periode_debut",
    "periode_fin",
    "numero_ecart_negatif",
    "numero_historique",
)


def processing_month(processed: F.Column) -> F.Column:
    """A state counts from the month of its processing date, the next one after the 20th:
    the month after that of the date 20 days earlier (the date read once)."""
    return F.add_months(F.trunc(F.date_sub(processed, 20), "month"), 1)


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    period = urssaf_period(f("Periode"), "Periode")
    processed = urssaf_date(f("Dt_trt_ecn"), "Dt_trt_ecn")
    registered = plain_date(optional(f, "Dt_immat"), "Dt_immat", "yyyyMMdd", "YYYYMMDD")
    history = integer(f("Num_Hist_Ecn"), "Num_Hist_Ecn")
    account_state = integer(optional(f, "Etat_cpte"), "Etat_cpte")
    po, pp = cents(f("Mt_PO"), "Mt_PO"), cents(f("Mt_PP"), "Mt_PP")
    debit_id = F.concat(
        f("Siret"),
        F.date_format(period.start, "yyyyMMdd"),
        F.date_format(period.end, "yyyyMMdd"),
        f("Num_Ecn"),
    )
    return lines.select(
        *LINE_COLUMNS,
        f("Siret").alias("siret"),
        optional(f, "Siren").alias("siren"),
        f("num_cpte").alias("numero_compte"),
        optional(f, "Urssaf_gestion").alias("urssaf_gestion"),
        optional(f, "Dep").alias("departement"),
        registered.value.alias("date_immatriculation"),
        account_state.value.cast("int").alias("etat_compte"),
        optional(f, "Cd_pro_col").alias("code_procedure_collective"),
        f("Periode").alias("periode"),
        period.start.alias("periode_debut"),
        period.end.alias("periode_fin"),
        f("Num_Ecn").alias("numero_ecart_negatif"),
        history.value.cast("int").alias("numero_historique"),
        processed.value.alias("date_traitement"),
        processing_month(processed.value).alias("periode_prise_en_compte"),
        po.value.alias("part_ouvriere"),
        pp.value.alias("part_patronale"),
        optional(f, "Cd_op_ecn").alias("code_operation_ecart_negatif"),
        optional(f, "Motif_ecn").alias("code_motif_ecart_negatif"),
        (optional(f, "Recours_en_cours") == "1").alias("recours_en_cours"),
        debit_id.alias("debit_id"),
        first_error(
            present(f, "num_cpte"),
            present(f, "Periode"),
            present(f, "Num_Ecn"),
            present(f, "Dt_trt_ecn"),
            period.error,
            processed.error,
            history.error,
            po.error,
            pp.error,
            registered.error,
            account_state.error,
        ).alias("_reject"),
    )
