"""Splitting the panel without leakage.

- Usable rows: complete 18-month horizon, not already in proceedings (strong signals
  are excluded from training and evaluation).
- Out of time: the test months are the last ``test_months`` usable months; training
  and validation months end ``gap_months`` (at least the label horizon) before the
  first test month, so no training label reaches the test period.
- Grouped by company: each SIREN falls in one group (train, validation or test) by
  a hash of the SIREN and the seed, so all its establishments are on one side.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def usable() -> Column:
    """Rows with a complete horizon that are not already in proceedings."""
    return F.col("horizon_complet") & ~F.col("signal_fort")


@dataclass(frozen=True)
class Boundaries:
    train_last: int  # last month index of training and validation
    test_first: int
    test_last: int

    def describe(self) -> dict[str, str]:
        def label(i: int) -> str:
            return f"{2000 + i // 12:04d}-{i % 12 + 1:02d}"

        return {
            "train_last_month": label(self.train_last),
            "test_first_month": label(self.test_first),
            "test_last_month": label(self.test_last),
        }


def boundaries(last_usable: int, test_months: int, gap_months: int, horizon: int) -> Boundaries:
    if gap_months < horizon:
        raise ValueError(
            f"gap_months ({gap_months}) must be at least the label horizon ({horizon})"
        )
    test_first = last_usable - test_months + 1
    return Boundaries(test_first - gap_months - 1, test_first, last_usable)


def company_bucket(seed: int) -> Column:
    """A number in [0, 1) from the SIREN: the same company always lands in the same group."""
    return F.pmod(F.xxhash64(F.col("siren"), F.lit(seed)), F.lit(10_000)) / 10_000


def assign(
    panel: DataFrame, b: Boundaries, validation_share: float, test_share: float, seed: int
) -> DataFrame:
    """Adds ``fold``: train, validation, test, or null (rows used nowhere)."""
    bucket = company_bucket(seed)
    month = F.col("month_index")
    in_training_period = usable() & (month <= b.train_last)
    in_test_period = usable() & month.between(b.test_first, b.test_last)
    fold = (
        F.when(in_test_period & (bucket < test_share), "test")
        .when(
            in_training_period & (bucket >= test_share) & (bucket < test_share + validation_share),
            "validation",
        )
        .when(in_training_period & (bucket >= test_share + validation_share), "train")
    )
    return panel.withColumn("fold", fold)
