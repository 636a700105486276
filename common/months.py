"""One month arithmetic for the whole project: months are counted from January 2000.

``month_index`` 0 is 2000-01; silver and gold tables carry it as ``month_index``, and
gold tables carry the month's first day as ``periode``. Python values and Spark columns
use the same origin, so the two never disagree.
"""

from __future__ import annotations

import re

from pyspark.sql import Column
from pyspark.sql import functions as F

ORIGIN_YEAR = 2000
_LABEL = re.compile(r"(\d{4})-(\d{2})(?:-\d{2})?")


def index(month: str) -> int:
    """Month index of ``YYYY-MM`` (or ``YYYY-MM-DD``: the day is ignored)."""
    found = _LABEL.fullmatch(str(month))
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise ValueError(f"expected a month YYYY-MM, got {month!r}")
    return (int(found.group(1)) - ORIGIN_YEAR) * 12 + int(found.group(2)) - 1


def label(month_index: int) -> str:
    """``YYYY-MM`` of a month index."""
    return f"{ORIGIN_YEAR + month_index // 12:04d}-{month_index % 12 + 1:02d}"


def first_day(month_index: int) -> str:
    """``YYYY-MM-01`` of a month index (a ``periode`` value)."""
    return f"{label(month_index)}-01"


def index_column(date: Column) -> Column:
    """Month index of a date column's month."""
    return (F.year(date) - ORIGIN_YEAR) * 12 + F.month(date) - 1


def first_day_column(month_index: Column) -> Column:
    """First day (a date) of a month-index column's month."""
    return F.add_months(F.lit(f"{ORIGIN_YEAR}-01-01").cast("date"), month_index)
