"""Checks that every variable of a built panel carries information: not constant, not a copy
of another. Counts only reach the driver (one row of aggregates)."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.catalog import model_features


@dataclass(frozen=True)
class Health:
    constant: list[str]  # never two different values (or always missing)
    copies: list[list[str]]  # groups of variables with identical values on every row

    @property
    def ok(self) -> bool:
        return not self.constant and not self.copies


def variable_health(panel: DataFrame) -> Health:
    names = model_features()
    fingerprint = [
        F.sum(
            F.pmod(
                F.xxhash64(F.coalesce(F.col(n), F.lit(-1e300)), "siret", "periode"), F.lit(2**31)
            )
        )
        for n in names
    ]
    stats = panel.agg(
        *[F.min(n).alias(f"lo{i}") for i, n in enumerate(names)],
        *[F.max(n).alias(f"hi{i}") for i, n in enumerate(names)],
        *[f.alias(f"h{i}") for i, f in enumerate(fingerprint)],
    ).first()
    constant = [
        n
        for i, n in enumerate(names)
        if stats[f"lo{i}"] is None or stats[f"lo{i}"] == stats[f"hi{i}"]
    ]
    groups: dict[int, list[str]] = {}
    for i, n in enumerate(names):
        groups.setdefault(stats[f"h{i}"], []).append(n)
    return Health(constant, [g for g in groups.values() if len(g) > 1])
