"""What a new bronze state changes in the panel: silver tables compared before and after.

Every variable of a panel row reads its establishment's (and company's) months up to the
row's month, never later ones (features/builders.py); sector statistics read the month's
rows. So when the earliest changed input month is ``m``, the rows of months before ``m``
keep their variables, and the rows from ``m`` on are rewritten whole. The targets are the
exception: they look ahead (a judgment, the horizon), and are updated on their own.

The earliest month each silver table changes, from the rows in one version and not the
other (both ways, so a removed row counts as much as an added one; for the monthly tables
and ``financials``, the months whose fingerprints differ: rows and a sum of row hashes per
month, so the two versions are scanned, never shuffled whole; a monthly table's are kept with
the commit that writes it, so that a run compares those of its two versions without reading
either):
- monthly tables (``month_index``): the least month of those rows;
- ``financials``: the month a changed fiscal year becomes known (``disponible``); when only
  the month the next year takes over changes (``jusqua``, after a new filing), the month
  after the earlier of the two;
- ``establishments``: the first month an establishment whose register row changed has a
  headcount or a contribution (its every row carries its description);
- ``judgments`` change only targets: the companies whose first opening changed.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.series import MONTHLY_TABLES
from features.silver import MONTH_INDEX

MONTHLY = MONTHLY_TABLES  # the silver tables of monthly series (features/series.py)
# the monthly tables whose rows make an establishment's panel rows (population: reported)
REPORTED = ("headcount", "contributions")


def difference(old: DataFrame, new: DataFrame) -> DataFrame:
    """Rows of either frame missing from the other (as many times as they are missing)."""
    new = new.select(*old.columns)
    return old.exceptAll(new).unionByName(new.exceptAll(old))


def fingerprints(frame: DataFrame, month) -> DataFrame:
    """Per month (column ``m``, a column name or expression), the number of rows and the sum
    of their hashes: a multiset of rows per month in two numbers, from one scan and a tiny
    shuffle (a row's null columns enter its hash, so a value moved to another column shows)."""
    columns = [F.col(f"`{c}`") for c in frame.columns]
    hashed = F.xxhash64(*columns, *[c.isNull() for c in columns]).cast("decimal(38,0)")
    m = F.col(month) if isinstance(month, str) else month
    return frame.groupBy(m.alias("m")).agg(F.count(F.lit(1)).alias("n"), F.sum(hashed).alias("h"))


def changed_months(old: DataFrame, new: DataFrame, month) -> DataFrame:
    """The months (column ``m``) whose rows differ between the two frames: those whose
    fingerprints differ (a row added, removed or changed; as many times as it occurs).
    Equal fingerprints of different rows would need two 64-bit hash sums to coincide."""
    new = new.select(*old.columns)
    a, b = fingerprints(old, month).alias("a"), fingerprints(new, month).alias("b")
    same = F.col("a.n").eqNullSafe(F.col("b.n")) & F.col("a.h").eqNullSafe(F.col("b.h"))
    return a.join(b, "m", "full").where(~same).select("m")


def _months(frame: DataFrame, month) -> DataFrame:
    """The candidate months (one column ``m``) of a frame of changed rows."""
    return frame.select(F.col(month).alias("m") if isinstance(month, str) else month.alias("m"))


def financials_months(old: DataFrame, new: DataFrame) -> DataFrame:
    substance = [c for c in new.columns if c != "jusqua"]
    ends = ["siren", "date_fin_exercice", "jusqua"]
    return changed_months(old.select(*substance), new.select(*substance), "disponible").union(
        changed_months(old.select(*ends), new.select(*ends), F.col("jusqua") + 1)
    )


def establishments_months(old: DataFrame, new: DataFrame, reported: list[DataFrame]) -> DataFrame:
    changed = difference(old, new).select("siret").distinct()
    rows = reduce(DataFrame.unionByName, [r.select("siret", MONTH_INDEX) for r in reported])
    return _months(rows.join(changed, "siret", "left_semi"), MONTH_INDEX)


def judged_companies(old: DataFrame, new: DataFrame) -> DataFrame:
    """The companies (``siren``) whose first opening judgment changed, appeared or went."""
    return difference(old, new).select("siren").distinct()


Prints = list[list]  # a monthly table's fingerprints: [month, rows, hash sum], one per month


def month_prints(frame: DataFrame) -> Prints:
    """A monthly table's fingerprints (``fingerprints`` per ``month_index``), small enough to
    keep with the commit that writes the table (one entry per month, the sum as a string of
    up to 38 digits): the next run compares them without reading this version again."""
    rows = fingerprints(frame, MONTH_INDEX).collect()  # one row per month
    return sorted(([r["m"], int(r["n"]), str(r["h"])] for r in rows), key=lambda p: p[0] or 0)


def earliest_of_prints(old: Prints, new: Prints) -> int | None:
    """The earliest month whose fingerprints differ (changed_months on kept fingerprints;
    rows without a month are left out, as its join leaves them)."""
    before = {m: (n, h) for m, n, h in old if m is not None}
    after = {m: (n, h) for m, n, h in new if m is not None}
    return min(
        (m for m in before.keys() | after.keys() if before.get(m) != after.get(m)), default=None
    )


def earliest_changes(
    old: dict[str, DataFrame],
    new: dict[str, DataFrame],
    same: Collection[str] = (),
    prints: dict[str, tuple[Prints, Prints]] | None = None,
) -> dict[str, int]:
    """Per silver table, the earliest month (index) whose panel rows its change reaches;
    tables that did not change are left out (``judgments``: see judged_companies), and the
    tables of ``same`` (known unchanged: the same version) are not compared. A monthly table
    with ``prints`` (old and new fingerprints, kept with their commits) is compared from them;
    the others with one small job each (a union of all of them plans slower than it saves)."""
    prints = prints or {}
    found = {
        name: earliest_of_prints(*prints[name])
        for name in MONTHLY
        if name not in same and name in prints
    }
    candidates = {
        name: changed_months(old[name], new[name], MONTH_INDEX)
        for name in MONTHLY
        if name not in same and name not in prints
    }
    if "financials" not in same:
        candidates["financials"] = financials_months(old["financials"], new["financials"])
    if "establishments" not in same:
        candidates["establishments"] = establishments_months(
            old["establishments"], new["establishments"], [new[n] for n in REPORTED]
        )
    found |= {name: frame.agg(F.min("m")).first()[0] for name, frame in candidates.items()}
    return {name: m for name, m in found.items() if m is not None}
