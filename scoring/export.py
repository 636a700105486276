"""The monthly list for the agents' web application: one JSON object per company.

A company is represented by its highest-scoring establishment of the period (its
alert, explanations and corrections); ``etablissements`` counts the company's
establishments scored. Explanations and corrections are given for alerted
companies only. The executors turn each company into a JSON object; the driver
receives them through Spark, one partition at a time and in the list's order
(``toLocalIterator``), and writes the JSON array as they come: the list never
sits whole in the driver's memory, and no file system shared between executors
and driver is needed (on a cluster, executors cannot write to the driver's disk).

This list names companies (siren, siret): it is the one output meant to leave the
lake with identifiers, for the agents who contact the firms.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from common import delta_io
from common.lake import Lake


class NothingToExport(RuntimeError):
    pass


def company_list(scores: DataFrame) -> DataFrame:
    best = Window.partitionBy("siren").orderBy(F.col("score").desc(), F.col("siret"))
    ranked = scores.withColumn("_rank", F.row_number().over(best)).withColumn(
        "etablissements", F.count(F.lit(1)).over(Window.partitionBy("siren"))
    )
    alerted = F.col("alert") != "pas_d_alerte"
    return ranked.where("_rank = 1").select(
        "siren",
        F.col("siret").alias("siret_le_plus_risque"),
        "etablissements",
        "code_naf",
        F.col("code_departement").alias("departement"),
        F.col("code_region").alias("region"),
        F.round("score", 6).alias("probabilite"),
        F.col("alert").alias("alerte"),
        F.col("alert_before_corrections").alias("alerte_avant_redressements"),
        F.col("threshold_fort").alias("seuil_risque_fort"),
        F.col("threshold_modere").alias("seuil_risque_modere"),
        F.date_format("periode", "yyyy-MM").alias("periode"),
        F.col("batch_id").alias("batch"),
        F.concat_ws(" v", "model_name", "model_version").alias("algorithme"),
        F.when(alerted, F.col("macro_explanation")).alias("explication_macro"),
        F.when(alerted, F.col("micro_explanation")).alias("explication_micro"),
        F.when(alerted, F.col("corrections")).alias("redressements"),
    )


def write_json_array(frame: DataFrame, out: Path, order: list) -> int:
    """``frame`` as a JSON array in one file, highest probability first; returns the count.

    Written beside ``out`` then renamed: a reader never sees half a list.
    """
    objects = frame.orderBy(*order).select(F.to_json(F.struct("*")).alias("value"))
    partial = out.with_name(f".{out.name}.partial")
    count = 0
    with open(partial, "w", encoding="utf-8") as target:
        target.write("[")
        # one partition at a time, in the sort's order (partitions come in range order)
        for row in objects.toLocalIterator(prefetchPartitions=False):
            target.write(("\n" if count == 0 else ",\n") + row.value)
            count += 1
        target.write("\n]\n")
    partial.replace(out)
    return count


def export_period(spark: SparkSession, lake: Lake, period: str, out: Path) -> int:
    """Write the list of ``period`` (YYYY-MM) to ``out``; returns the number of companies."""
    if not delta_io.exists(spark, lake.scores):
        raise NothingToExport(
            f"no score table in {lake.root}: score a period first (jobs/score.py)"
        )
    scores = delta_io.read(spark, lake.scores).where(
        F.col("periode") == F.lit(f"{period}-01").cast("date")
    )
    if scores.limit(1).count() == 0:
        raise NothingToExport(f"no scores for {period}: score it first (jobs/score.py)")
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_json_array(
        company_list(scores), out.resolve(), [F.col("probabilite").desc(), F.col("siren")]
    )
