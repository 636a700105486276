"""The monitoring reference of a model, computed at training time and stored with it.

It describes the rows the model learnt from in the last ``reference_months`` of its training
window (at most ``reference_rows`` of them, a random sample): per variable its bin edges and
counts, and the same for the model's scores on those rows. Not the whole window: in its first
months a lag or a rolling window that reaches before the history's start cannot exist yet
(no lag of 18 months in the 18 months after the first delivered one), and a month scored later
would be flagged for that, which is not drift. Monitoring later compares a month with it
without rereading the training data. It holds counts and bin edges only (deciles of a variable
over thousands of rows), never a row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from common import months
from common.config import MonitoringSettings
from monitoring import drift
from training.predict import frame_matrix, load_booster

log = logging.getLogger(__name__)
ARTIFACT = "monitoring/reference.json"
SCORE = "score"


def tally(counts: pd.DataFrame, inner: dict[str, list]) -> dict:
    """{column: {"edges": [...], "counts": {"bin": rows}}} (JSON-ready) from ``bin_counts``."""
    tally = {v: dict(zip(g["bin"], g["rows"], strict=True)) for v, g in counts.groupby("variable")}
    return {
        c: {"edges": e, "counts": {str(b): int(n) for b, n in sorted(tally.get(c, {}).items())}}
        for c, e in inner.items()
    }


def _sample(frame: DataFrame, rows: int, wanted: int, seed: int) -> DataFrame:
    fraction = min(1.0, wanted / max(rows, 1))
    return frame.sample(fraction=fraction, seed=seed) if fraction < 1.0 else frame


def describe(
    frame: DataFrame,
    columns: list[str],
    edge_rows: int,
    rows: int,
    seed: int,
    derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> dict:
    """Per column (and per column ``derive`` adds to a batch): its inner bin edges and its rows
    per bin. The edges are the deciles of a random ``edge_rows`` of the ``rows`` (a bounded
    sample, on the driver); every row is counted, in the executors."""
    frame = frame.select(*columns)
    some = _sample(frame, rows, 1.2 * edge_rows, seed).limit(edge_rows).toPandas()
    inner = drift.edges(derive(some) if derive else some)  # at most edge_rows rows
    return tally(drift.bin_counts(frame, inner, derive=derive), inner)


def window(rows_by_month: dict[int, int], span: int | None) -> tuple[int, int, int]:
    """The first and last month indexes of the training window's last ``span`` months (all of
    it when None) and the rows in them, from the window's rows per month index."""
    last = max(rows_by_month)
    first = min(rows_by_month) if span is None else max(min(rows_by_month), last - span + 1)
    return first, last, sum(n for m, n in rows_by_month.items() if m >= first)


def build(rows: DataFrame, features: list[str], raw_model: bytes, cfg: MonitoringSettings) -> dict:
    """The reference of a model trained on ``rows`` (with ``periode``).

    One pass over the rows: the executors score each batch with the model and count every
    variable and the score in the bins; the bins' edges come from a bounded sample scored on
    the driver. The rows per month come first (one small aggregation: at most a row a month)."""
    month = months.index_column(F.col("periode"))
    per_month = rows.groupBy(month.alias("m")).count().collect()  # one row per month
    first, last, count = window({r["m"]: r["count"] for r in per_month}, cfg.reference_months)
    rows = rows.where(month >= first)
    sample = _sample(rows.select("periode", *features), count, cfg.reference_rows, cfg.seed)
    loaded: dict = {}  # in each task (and on the driver), the model is loaded at its first batch

    def score(batch: pd.DataFrame) -> pd.DataFrame:
        if "model" not in loaded:
            loaded["model"] = load_booster(raw_model)
        scores = loaded["model"].predict(frame_matrix(batch, features)).astype(float)
        return batch.assign(**{SCORE: scores})

    kept = min(count, cfg.reference_rows)
    described = describe(sample, features, cfg.edge_rows, kept, cfg.seed, derive=score)
    score_part = described.pop(SCORE)
    reference = {
        "rows": sum(score_part["counts"].values()),
        "sampled_from": count,  # the training rows of the window's last reference_months
        "first_month": months.label(first),
        "last_month": months.label(last),
        "edge_rows": cfg.edge_rows,
        "variables": described,
        "score": score_part,
    }
    log.info(
        "monitoring reference: %d rows of %d, %d variables",
        reference["rows"],
        count,
        len(described),
    )
    return reference
