"""What an agent's list is worth: company-level measures of one month's alerts.

Agents call companies, not establishments: a company's score is its highest-scoring
establishment's, and its alert is that establishment's alert (as in the agents' list,
``scoring/export.py``). A company *fails* when its first opening judgment falls in the 18
months after the list's month; its *lead time* is the number of months from the list's month
to that judgment. Companies already in proceedings at the list's month are left out.

Every measure is computed in Spark; only counts, histograms and the top ``k`` rows reach
the driver, never the list itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from common.months import index_column
from training.metrics import Curve, score_histogram

ALERTED = ("risque_fort", "risque_modere")
COMPANY_COLUMNS = ("siren", "score", "alert", "alert_before_corrections", "failed", "lead_months")


def companies(establishments: DataFrame, month_index: int) -> DataFrame:
    """One row per company from scored establishment rows of one month.

    Input columns: ``siren``, ``siret``, ``score``, ``alert``, ``alert_before_corrections``
    (the level from the thresholds alone), ``cible`` (first opening
    judgment in the 18 months after), ``signal_fort`` (already in proceedings) and
    ``date_premiere_ouverture``. Output: ``COMPANY_COLUMNS``.
    """
    best = Window.partitionBy("siren").orderBy(F.col("score").desc(), F.col("siret"))
    lead = index_column(F.col("date_premiere_ouverture")) - F.lit(month_index)
    return (
        establishments.where(~F.col("signal_fort"))
        .withColumn("_rank", F.row_number().over(best))
        .where(F.col("_rank") == 1)
        .select(
            "siren",
            "score",
            "alert",
            "alert_before_corrections",
            F.col("cible").cast("int").alias("failed"),
            F.when(F.col("cible") == 1, lead).cast("int").alias("lead_months"),
        )
    )


def top(frame: DataFrame, k: int) -> DataFrame:
    """The ``k`` highest scores (ties: smallest SIREN first)."""
    return frame.orderBy(F.col("score").desc(), F.col("siren")).limit(k)


def precision_at(frame: DataFrame, k: int) -> float | None:
    """Share of failing companies among the ``k`` highest scores; None for an empty list."""
    if k <= 0:
        return None
    row = top(frame, k).agg(F.count(F.lit(1)).alias("n"), F.sum("failed").alias("p")).first()
    return (row["p"] or 0) / row["n"] if row["n"] else None


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class ListMeasures:
    companies: int
    positives: int
    aucpr: float | None
    roc_auc: float | None
    fort_size: int
    fort_precision: float | None
    fort_recall: float | None
    alert_size: int
    alert_precision: float | None
    alert_recall: float | None
    fort_size_before_corrections: int
    fort_precision_before_corrections: float | None
    precision_at_100: float | None
    precision_at_1pct: float | None
    median_lead_months: float | None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def in_list(level: str, column: str = "alert") -> Column:
    """The companies of the ``risque_fort`` list, or of the whole alert list (``alert``)."""
    return F.col(column) == "risque_fort" if level == "fort" else F.col(column).isin(*ALERTED)


def measures(frame: DataFrame, top_k: int = 100, top_share: float = 0.01) -> ListMeasures:
    """Ranking and list measures of one month's company rows (``COMPANY_COLUMNS``)."""
    counts = frame.agg(
        F.count(F.lit(1)).alias("n"),
        F.sum("failed").alias("p"),
        F.sum(in_list("fort").cast("int")).alias("fort"),
        F.sum((in_list("fort") & (F.col("failed") == 1)).cast("int")).alias("fort_tp"),
        F.sum(in_list("alert").cast("int")).alias("alert"),
        F.sum((in_list("alert") & (F.col("failed") == 1)).cast("int")).alias("alert_tp"),
        F.median(F.when(in_list("alert"), F.col("lead_months"))).alias("lead"),
        F.sum(in_list("fort", "alert_before_corrections").cast("int")).alias("model_fort"),
        F.sum(
            (in_list("fort", "alert_before_corrections") & (F.col("failed") == 1)).cast("int")
        ).alias("model_fort_tp"),
    ).first()
    n, p = counts["n"], counts["p"] or 0
    curve = Curve.from_histogram(score_histogram(frame, "score", label="failed"))
    both = curve.positives > 0 and curve.negatives > 0
    return ListMeasures(
        companies=n,
        positives=p,
        aucpr=curve.average_precision() if both else None,
        roc_auc=curve.roc_auc() if both else None,
        fort_size=counts["fort"] or 0,
        fort_precision=_share(counts["fort_tp"] or 0, counts["fort"] or 0),
        fort_recall=_share(counts["fort_tp"] or 0, p),
        alert_size=counts["alert"] or 0,
        alert_precision=_share(counts["alert_tp"] or 0, counts["alert"] or 0),
        alert_recall=_share(counts["alert_tp"] or 0, p),
        fort_size_before_corrections=counts["model_fort"] or 0,
        fort_precision_before_corrections=_share(
            counts["model_fort_tp"] or 0, counts["model_fort"] or 0
        ),
        precision_at_100=precision_at(frame, min(top_k, n)),
        precision_at_1pct=precision_at(frame, math.ceil(top_share * n)),
        median_lead_months=float(counts["lead"]) if counts["lead"] is not None else None,
    )


def churn(current: DataFrame, previous: DataFrame | None, level: str) -> float | None:
    """Share of this list's companies absent from the previous list (None: no previous list,
    or an empty list)."""
    if previous is None:
        return None
    now = current.where(in_list(level)).select("siren")
    size = now.count()
    if size == 0:
        return None
    before = previous.where(in_list(level)).select("siren")
    return now.join(before, "siren", "left_anti").count() / size


def lead_distribution(frame: DataFrame) -> dict[int, int]:
    """Failing companies of the alert list by lead time in months (at most 18 keys)."""
    rows = (
        frame.where(in_list("alert") & (F.col("failed") == 1))
        .groupBy("lead_months")
        .count()
        .collect()
    )
    return {int(r["lead_months"]): int(r["count"]) for r in rows if r["lead_months"] is not None}
