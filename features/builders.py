"""Named column builders: the only way variables are computed.

Every window builder works over one window specification — an establishment's
months in order (``siren, siret`` partitioned, ``month_index`` ordered) — with an
explicit RANGE frame on the month index. Frames count calendar months, not rows:
a month with no row (the establishment did not report) is a gap, never shifted
over. Only months before or at the row's month are ever read: no builder looks
ahead.

Builders registered in ``WINDOW`` and ``ROW`` return a Column from the input
columns and the variable's arguments. ``COMPANY`` and ``SECTOR`` builders are
evaluated by the panel job as grouped aggregates joined back.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import reduce

from pyspark.sql import Column, Window, WindowSpec
from pyspark.sql import functions as F

MONTH_INDEX = "month_index"  # months since 2000-01 (0 = January 2000)
KEYS = ("siren", "siret")

Builder = Callable[..., Column]
WINDOW: dict[str, Builder] = {}
ROW: dict[str, Builder] = {}
COMPANY = {
    "company_sum": F.sum,
    "company_max": F.max,
    "company_mean": F.avg,
    "company_count": F.count,
}
SECTOR = ("sector_zscore",)


def _register(table: dict[str, Builder]) -> Callable[[Builder], Builder]:
    def add(fn: Builder) -> Builder:
        table[fn.__name__] = fn
        return fn

    return add


def months(lo: int | None, hi: int) -> WindowSpec:
    """The establishment's rows with month_index in [m + lo, m + hi] (lo None: all before)."""
    spec = Window.partitionBy(*KEYS).orderBy(MONTH_INDEX)
    return spec.rangeBetween(Window.unboundedPreceding if lo is None else lo, hi)


# --- window builders (one input column) ------------------------------------------------------


@_register(WINDOW)
def lag(x: Column, n: int) -> Column:
    """Value n months before (null when that month has no row)."""
    return F.first(x).over(months(-n, -n))


@_register(WINDOW)
def rolling_mean(x: Column, n: int) -> Column:
    """Mean over the last n months, this one included, of the months with a value."""
    return F.avg(x).over(months(-(n - 1), 0))


@_register(WINDOW)
def rolling_sum(x: Column, n: int) -> Column:
    """Sum over the last n months, this one included (missing months count for nothing)."""
    return F.sum(x).over(months(-(n - 1), 0))


@_register(WINDOW)
def rolling_min(x: Column, n: int) -> Column:
    return F.min(x).over(months(-(n - 1), 0))


@_register(WINDOW)
def rolling_max(x: Column, n: int) -> Column:
    return F.max(x).over(months(-(n - 1), 0))


@_register(WINDOW)
def diff(x: Column, n: int) -> Column:
    """Change over n months."""
    return x - lag(x, n)


@_register(WINDOW)
def pct_change(x: Column, n: int) -> Column:
    """Relative change over n months; null when the earlier value is zero or missing."""
    before = lag(x, n)
    return F.when(before != 0, (x - before) / F.abs(before))


@_register(WINDOW)
def trend(x: Column, n: int) -> Column:
    """Least-squares slope per month over the last n months (needs three values)."""
    frame = months(-(n - 1), 0)
    t = F.when(x.isNotNull(), F.col(MONTH_INDEX).cast("double"))
    count = F.count(x).over(frame)
    st, sx = F.sum(t).over(frame), F.sum(x).over(frame)
    stx, stt = F.sum(t * x).over(frame), F.sum(t * t).over(frame)
    denominator = count * stt - st * st
    return F.when((count >= 3) & (denominator != 0), (count * stx - st * sx) / denominator)


@_register(WINDOW)
def months_since(x: Column) -> Column:
    """Months since the last month where the flag (> 0) was true (0 when it is true now)."""
    last = F.max(F.when(x > 0, F.col(MONTH_INDEX))).over(months(None, 0))
    return F.col(MONTH_INDEX) - last


@_register(WINDOW)
def spell(x: Column) -> Column:
    """How long the flag (> 0) has been true: months since it was last false, or since the
    month before the establishment's first one. 0 when false now, null when unknown now."""
    last_false = F.max(F.when(x <= 0, F.col(MONTH_INDEX))).over(months(None, 0))
    first = F.min(MONTH_INDEX).over(months(None, 0))
    since = F.col(MONTH_INDEX) - F.coalesce(last_false, first - 1)
    return F.when(x.isNull(), None).when(x <= 0, 0).otherwise(since)


@_register(WINDOW)
def cumulative_sum(x: Column) -> Column:
    """Sum since the establishment's first month in the panel."""
    return F.sum(x).over(months(None, 0))


# --- row builders ------------------------------------------------------------------------------


@_register(ROW)
def ratio(a: Column, b: Column) -> Column:
    """a / b; null when b is zero or missing."""
    return F.when(b != 0, a / b)


@_register(ROW)
def difference(a: Column, b: Column) -> Column:
    return a - b


@_register(ROW)
def total(*xs: Column) -> Column:
    """Sum of the inputs, a missing one counting as zero; null when all are missing."""
    summed = reduce(operator.add, [F.coalesce(x, F.lit(0.0)) for x in xs])
    return F.when(F.coalesce(*xs).isNotNull(), summed)


@_register(ROW)
def positive(x: Column) -> Column:
    """1.0 when x > 0, 0.0 when x <= 0, null when missing."""
    return F.when(x.isNotNull(), (x > 0).cast("double"))


@_register(ROW)
def scaled(x: Column, factor: float) -> Column:
    return x * F.lit(factor)
