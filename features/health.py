"""Checks that every variable of a built panel carries information: not constant, not a copy
of another. One pass over the panel; aggregates only reach the driver (one row per variable)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.catalog import model_features
from features.silver import MONTH_INDEX


@dataclass(frozen=True)
class Health:
    constant: list[str]  # never two different values (or always missing)
    copies: list[list[str]]  # groups of variables with identical values on every row

    @property
    def ok(self) -> bool:
        return not self.constant and not self.copies


SUMMARY = "name string, lo double, hi double, fingerprint long"
MISSING = np.uint64(0x7FF8DEADBEEF0001)  # the bits a missing value hashes as


def _mixed(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, element-wise on unsigned 64-bit integers (wrapping)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def summaries(names: list[str]):
    """Per Arrow batch of panel rows and per variable: min and max of the values present (+inf
    and -inf when none is) and a fingerprint (a sum of hashes of the value and the row's key),
    equal for identical columns whatever the batches."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in batches:
            key = pd.util.hash_pandas_object(frame[["siret", MONTH_INDEX]], index=False)
            values = frame[names].to_numpy(dtype="float64")
            missing = np.isnan(values)
            bits = np.where(missing, MISSING, values.view(np.uint64))
            hashed = _mixed(bits ^ key.to_numpy(np.uint64)[:, None]) >> np.uint64(33)
            yield pd.DataFrame(
                {
                    "name": names,
                    "lo": np.where(missing, np.inf, values).min(axis=0),
                    "hi": np.where(missing, -np.inf, values).max(axis=0),
                    "fingerprint": hashed.sum(axis=0, dtype=np.uint64).astype(np.int64),
                }
            )

    return run


def variable_health(panel: DataFrame) -> Health:
    """Every model variable's min, max and fingerprint, in one pass: each batch of rows is
    summarised in pandas, the summaries (one row per variable and batch) combined by Spark."""
    names = model_features()
    rows = panel.select("siret", MONTH_INDEX, *[F.col(n).cast("double") for n in names])
    stats = {
        r["name"]: r
        for r in rows.mapInPandas(summaries(names), SUMMARY)
        .groupBy("name")
        .agg(
            F.min("lo").alias("lo"),
            F.max("hi").alias("hi"),
            F.sum("fingerprint").alias("fingerprint"),
        )
        .collect()  # one row per variable: does not grow with the panel
    }
    # lo == hi: one value; lo > hi (+inf, -inf): none
    constant = [n for n in names if stats[n]["lo"] >= stats[n]["hi"]]
    groups: dict[int, list[str]] = {}
    for n in names:
        groups.setdefault(stats[n]["fingerprint"], []).append(n)
    return Health(constant, [g for g in groups.values() if len(g) > 1])
