"""Evaluation from score histograms.

Scores are counted by (positives, negatives) per bin of width 1/RESOLUTION in
Spark; only the histogram (at most RESOLUTION + 1 rows per group, whatever the
number of rows scored) reaches the driver. ROC AUC, average precision, the
precision-recall and ROC curves, the best F-beta thresholds and calibration are
computed from it; two scores in the same bin count as tied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

RESOLUTION = 100_000


def score_histogram(
    frame: DataFrame, score: str, label: str = "cible", by: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Counts per (group..., bin): the driver receives a bounded table."""
    bin_ = F.least(F.floor(F.col(score) * RESOLUTION), F.lit(RESOLUTION)).cast("int")
    counts = (
        frame.where(F.col(score).isNotNull())
        .groupBy(*by, bin_.alias("bin"))
        .agg(
            F.sum(F.col(label).cast("long")).alias("positives"),
            F.sum((1 - F.col(label)).cast("long")).alias("negatives"),
        )
    )
    return counts.toPandas()


@dataclass(frozen=True)
class Curve:
    """Cumulative counts at each threshold, from the highest score down."""

    threshold: np.ndarray  # predicted positive when score >= threshold
    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int

    @classmethod
    def from_histogram(cls, hist: pd.DataFrame) -> Curve:
        h = hist.groupby("bin")[["positives", "negatives"]].sum().sort_index(ascending=False)
        return cls(
            h.index.to_numpy() / RESOLUTION,
            np.cumsum(h["positives"].to_numpy()),
            np.cumsum(h["negatives"].to_numpy()),
            int(h["positives"].sum()),
            int(h["negatives"].sum()),
        )

    @property
    def precision(self) -> np.ndarray:
        return self.tp / np.maximum(self.tp + self.fp, 1)

    @property
    def recall(self) -> np.ndarray:
        return self.tp / max(self.positives, 1)

    def average_precision(self) -> float:
        """Sum over thresholds of (recall gained) x precision, as scikit-learn computes it."""
        recall = np.r_[0.0, self.recall]
        return float(np.sum(np.diff(recall) * self.precision))

    def roc_auc(self) -> float:
        tpr = np.r_[0.0, self.tp / max(self.positives, 1)]
        fpr = np.r_[0.0, self.fp / max(self.negatives, 1)]
        return float(np.trapezoid(tpr, fpr))

    def f_beta(self, beta: float) -> np.ndarray:
        p, r = self.precision, self.recall
        with np.errstate(divide="ignore", invalid="ignore"):
            f = (1 + beta**2) * p * r / (beta**2 * p + r)
        return np.nan_to_num(f)

    def best_threshold(self, beta: float, min_positives: int = 0) -> float:
        """The threshold maximising F-beta (the highest such threshold on ties), among those
        whose alerts hold at least ``min_positives`` positives when the curve has that many:
        the maximum over the few highest scores is mostly chance (a precision measured on
        5 positives is ±40%), and picks a threshold that alerts almost no one."""
        f = self.f_beta(beta)
        if 0 < min_positives <= self.positives:
            f = np.where(self.tp >= min_positives, f, -1.0)
        return float(self.threshold[int(np.argmax(f))])

    def at(self, threshold: float) -> dict[str, float]:
        """Precision, recall, F0.5, F2 and share alerted when alerting at score >= threshold."""
        selected = self.threshold >= threshold
        tp = float(self.tp[selected][-1]) if selected.any() else 0.0
        fp = float(self.fp[selected][-1]) if selected.any() else 0.0
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / self.positives if self.positives else 0.0

        def f(beta: float) -> float:
            denominator = beta**2 * precision + recall
            return (1 + beta**2) * precision * recall / denominator if denominator else 0.0

        total = self.positives + self.negatives
        return {
            "precision": precision,
            "recall": recall,
            "f05": f(0.5),
            "f2": f(2.0),
            "alert_share": (tp + fp) / total if total else 0.0,
        }


def calibration(hist: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability and observed rate per group of scores of equal size."""
    h = hist.groupby("bin")[["positives", "negatives"]].sum().sort_index()
    n = h["positives"] + h["negatives"]
    group = np.minimum((np.cumsum(n) - 1) * bins // max(n.sum(), 1), bins - 1)
    center = (h.index.to_numpy() + 0.5) / RESOLUTION
    frame = pd.DataFrame({"group": group, "n": n, "pos": h["positives"], "sum_p": center * n})
    out = frame.groupby("group").sum()
    return pd.DataFrame(
        {"predicted": out["sum_p"] / out["n"], "observed": out["pos"] / out["n"], "rows": out["n"]}
    )


def brier(frame: DataFrame, score: str, label: str = "cible") -> float:
    return float(frame.agg(F.avg((F.col(score) - F.col(label)) ** 2)).first()[0])
