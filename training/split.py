"""Splitting the panel without leakage.

- Usable rows: complete 18-month horizon, not already in proceedings (strong signals
  are excluded from training and evaluation).
- Out of time: the test months are the last ``test_months`` usable months; training
  and validation months end ``gap_months`` (at least the label horizon) before the
  first test month, so no training label reaches the test period.
- Grouped by company: each SIREN falls in one group (train, validation or test) by
  a hash of the SIREN and the seed, so all its establishments are on one side.
- At a cut-off month ``c`` (the walk-forward backtest): only rows whose label window has
  closed by ``c`` (month + horizon <= c) are knowable, hence trainable.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from common import months


def usable() -> Column:
    """Rows with a complete horizon that are not already in proceedings."""
    return F.col("horizon_complet") & ~F.col("signal_fort")


@dataclass(frozen=True)
class Boundaries:
    train_last: int  # last month index of training and validation
    test_first: int
    test_last: int

    def describe(self) -> dict[str, str]:
        return {
            "train_last_month": months.label(self.train_last),
            "test_first_month": months.label(self.test_first),
            "test_last_month": months.label(self.test_last),
        }


def boundaries(last_usable: int, test_months: int, gap_months: int, horizon: int) -> Boundaries:
    if gap_months < horizon:
        raise ValueError(
            f"gap_months ({gap_months}) must be at least the label horizon ({horizon})"
        )
    test_first = last_usable - test_months + 1
    return Boundaries(test_first - gap_months - 1, test_first, last_usable)


def check_history(
    first_month: int, last_usable: int, b: Boundaries, min_train_months: int, horizon: int
) -> None:
    """A clear error when the panel is too short to leave ``min_train_months`` of training."""
    have = b.train_last - first_month + 1
    if have >= min_train_months:
        return
    test_months, gap = b.test_last - b.test_first + 1, b.test_first - b.train_last - 1
    need = min_train_months + gap + test_months + horizon
    raise ValueError(
        f"the panel is too short to train on: it runs from {months.label(first_month)} to "
        f"{months.label(last_usable + horizon)}, which leaves {max(have, 0)} training month(s); "
        f"the split needs {need} months ({min_train_months} training months "
        f"(training.min_train_months) + a gap of {gap} (training.gap_months) + "
        f"{test_months} test months (training.test_months) + the {horizon}-month label "
        f"horizon), i.e. data from {months.label(first_month)} to at least "
        f"{months.label(first_month + need - 1)}"
    )


def knowable_at(cutoff: int, horizon: int) -> Column:
    """Rows a model trained at the end of month ``cutoff`` may learn from: their label window
    (the ``horizon`` months after them) has closed, and they are not already in proceedings."""
    return (F.col("month_index") + horizon <= cutoff) & ~F.col("signal_fort")


def cutoff_schedule(first: int, last: int, every: int) -> list[int]:
    """Cut-off months from ``first`` to ``last``, every ``every`` months."""
    if every < 1:
        raise ValueError(f"--every must be at least 1 month (got {every})")
    if last < first:
        raise ValueError(f"--to ({months.label(last)}) is before --from ({months.label(first)})")
    return list(range(first, last + 1, every))


def check_cutoffs(
    cutoffs: list[int], data_first: int, data_last: int, horizon: int, min_train_months: int
) -> None:
    """Refuses cut-offs whose outcome window (the ``horizon`` months after) is not complete in
    the data, and cut-offs with fewer than ``min_train_months`` knowable months before them."""
    last_allowed = data_last - horizon
    first_allowed = data_first + min_train_months - 1 + horizon
    late = [c for c in cutoffs if c > last_allowed]
    if late:
        raise ValueError(
            f"cut-off {months.label(late[0])}: its {horizon}-month outcome window is not complete "
            f"in the data, which ends in {months.label(data_last)}; the last allowed cut-off is "
            f"{months.label(last_allowed)}"
        )
    early = [c for c in cutoffs if c < first_allowed]
    if early:
        raise ValueError(
            f"cut-off {months.label(early[0])} leaves fewer than {min_train_months} knowable "
            f"training months (training.min_train_months) after the panel's first month "
            f"{months.label(data_first)}; the first allowed cut-off is "
            f"{months.label(first_allowed)}"
        )


def company_bucket(seed: int) -> Column:
    """A number in [0, 1) from the SIREN: the same company always lands in the same group."""
    return F.pmod(F.xxhash64(F.col("siren"), F.lit(seed)), F.lit(10_000)) / 10_000


def assign_validation(rows: DataFrame, validation_share: float, seed: int) -> DataFrame:
    """Adds ``fold``: ``validation`` for a ``validation_share`` of the companies, else ``train``."""
    bucket = company_bucket(seed)
    return rows.withColumn(
        "fold", F.when(bucket < validation_share, "validation").otherwise("train")
    )


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
