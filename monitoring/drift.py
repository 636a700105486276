"""Drift measures: bin edges, bin counts and the population stability index (PSI).

A reference is, per variable, the inner edges of its bins (deciles of the reference rows,
duplicates merged: a mass point such as zero makes one bin) and the count of reference rows
in each bin, missing values counted apart. The same edges bin the monitored rows; the PSI
compares the two distributions of known values, and the missing shares are compared apart.
Only these counts ever reach the driver: their size is the catalog's, not the data's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from common import trim_zip_importers

MISSING = -1  # the bin number of missing values
DECILES = [i / 10 for i in range(1, 10)]
FLOOR = 1e-4  # a share below this counts as this in the PSI (an empty bin is not infinite)
STATUSES = ("ok", "watch", "alert")


@dataclass(frozen=True)
class Thresholds:
    watch: float
    alert: float

    def status(self, value: float | None) -> str:
        if value is None or np.isnan(value):
            return "ok"
        return "alert" if value >= self.alert else "watch" if value >= self.watch else "ok"


def edges(sample: pd.DataFrame) -> dict[str, list]:
    """Inner bin edges per column of a sample: its deciles over the known values, each once.
    The sample is bounded (``monitoring.edge_rows``): deciles need no more, and computing them
    on the driver costs one Spark job, where quantile summaries of hundreds of columns at once
    would not fit an executor's memory."""
    out = {}
    for name in sample.columns:
        values = sample[name].to_numpy(dtype=float, na_value=np.nan)
        values = values[~np.isnan(values)]
        deciles = np.quantile(values, DECILES) if values.size else []
        out[name] = sorted({float(q) for q in deciles})
    return out


def bin_numbers(values: np.ndarray, inner: Sequence[float]) -> np.ndarray:
    """Bin of each value: 0 for x <= first edge, ..., len(inner) above the last; MISSING for
    NaN."""
    values = np.asarray(values, dtype=float)
    bins = np.searchsorted(np.asarray(inner, dtype=float), values, side="left")
    return np.where(np.isnan(values), MISSING, bins)


def bin_counts(
    frame: DataFrame,
    inner: dict[str, list],
    derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Rows per (variable, bin) of ``frame`` under the edges ``inner``; one pass, counted in the
    executors (numpy), summed by Spark; only the counts come to the driver. ``derive`` adds
    columns to each batch first (a model's score), from the batch's columns."""
    names = list(inner)
    read = [c for c in frame.columns if c in inner or derive is not None]

    def count(batches):
        trim_zip_importers()  # the worker's rereads of pyspark.zip before each task
        for batch in batches:
            batch = derive(batch) if derive else batch
            rows = []
            for name in names:
                values = batch[name].to_numpy(dtype=float, na_value=np.nan)
                found, tally = np.unique(bin_numbers(values, inner[name]), return_counts=True)
                rows += [(name, int(b), int(n)) for b, n in zip(found, tally, strict=True)]
            yield pd.DataFrame(rows, columns=["variable", "bin", "rows"])

    counted = frame.select(*read).mapInPandas(count, "variable string, bin int, rows long")
    summed = counted.groupBy("variable", "bin").agg(F.sum("rows").alias("rows")).toPandas()
    return summed.astype({"bin": int, "rows": int})  # variables x bins: bounded by the catalog


def shares(counts: dict[int, int], bins: int) -> tuple[np.ndarray, float, int]:
    """(share of each bin among known values, missing share, rows) from {bin: rows}."""
    known = np.array([counts.get(b, 0) for b in range(bins)], dtype=float)
    missing = counts.get(MISSING, 0)
    total = known.sum() + missing
    share = known / known.sum() if known.sum() else np.full(bins, np.nan)
    return share, (missing / total if total else np.nan), int(total)


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of two distributions over the same bins:
    sum((c - r) * ln(c / r)), shares floored at ``FLOOR``. NaN when either is unknown."""
    r, c = np.asarray(reference, dtype=float), np.asarray(current, dtype=float)
    if r.size == 0 or np.isnan(r).any() or np.isnan(c).any():
        return float("nan")
    r, c = np.maximum(r, FLOOR), np.maximum(c, FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def chance_psi(bins: int, known: float, reference_known: float) -> float:
    """The PSI two samples of ``known`` and ``reference_known`` values drawn from one law show
    on average over ``bins`` bins, by chance alone: (bins - 1) (1/n1 + 1/n2), the chi-square
    approximation of this divergence (simulated over ten decile bins: 0.047 for two samples of
    400, 0.18 for two of 100, where the formula gives 0.045 and 0.18)."""
    if min(known, reference_known) <= 0:
        return float("inf")
    return (bins - 1) * (1 / known + 1 / reference_known)


def compare(
    reference: dict,
    current: pd.DataFrame,
    min_known: int = 1,
    without_psi: Collection[str] = (),
    max_chance: float = float("inf"),
) -> pd.DataFrame:
    """Per variable of the reference: PSI, missing shares (reference, current) and rows.

    ``reference`` maps a variable to {"edges": [...], "counts": {bin: rows}}; ``current`` is
    ``bin_counts`` of the monitored rows under the same edges. The PSI is NaN when either side
    has fewer than ``min_known`` known values, or so few that chance alone would give a PSI of
    ``max_chance`` (``chance_psi``: a distribution of a handful of values is noise), and for
    the variables ``without_psi``; the missing shares compare in every case."""
    got = {v: dict(zip(g["bin"], g["rows"], strict=True)) for v, g in current.groupby("variable")}
    rows = []
    for name, ref in reference.items():
        bins = len(ref["edges"]) + 1
        ref_share, ref_missing, ref_rows = shares(
            {int(k): v for k, v in ref["counts"].items()}, bins
        )
        cur_share, cur_missing, cur_rows = shares(got.get(name, {}), bins)
        ref_known, cur_known = ref_rows * (1 - ref_missing), cur_rows * (1 - cur_missing)
        measurable = (
            min(ref_known, cur_known) >= min_known
            and chance_psi(bins, cur_known, ref_known) <= max_chance
            and name not in without_psi
        )
        rows.append(
            {
                "item": name,
                "psi": psi(ref_share, cur_share) if measurable else float("nan"),
                "missing_share": cur_missing,
                "reference_missing_share": ref_missing,
                "rows": cur_rows,
                "reference_rows": ref_rows,
            }
        )
    return pd.DataFrame(rows)
