"""What every parser shares: splitting a line into fields, finding a column by its
header name, and decoding the value encodings of sources.md as Spark columns.

A decoder returns the decoded value (null when empty or invalid) and an error
column (a reason a person understands, null when the value is empty or valid).
Everything here is a pure Column builder: no Python UDF, no action.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from parsers.formats import RawFormat

# Columns every parser passes through: the line's number and text, whether its fields
# could be split and into how many (set before the parser runs).
LINE_COLUMNS = ("line_number", "raw", "_structure", "_field_count")


@dataclass(frozen=True)
class Decoded:
    value: Column
    error: Column  # reason, or null


def _field_pattern(sep: str) -> str:
    s = re.escape(sep)
    # a field is quoted ("..." with "" for a quote), or unquoted and not starting with a quote
    return rf'(?:"(?:[^"]|"")*"|[^"{s}][^{s}]*|)'


def line_grammar(fmt: RawFormat) -> str:
    field = _field_pattern(fmt.separator)
    return rf"^{field}(?:{re.escape(fmt.separator)}{field})*$"


def tokenize(raw: Column, fmt: RawFormat) -> Column:
    """The line's fields, quotes removed; null when quotes are unbalanced. A line without a
    double quote has unquoted fields only (the grammar always holds): it is split at each
    separator, and the regular expressions run on the lines with quotes only. There, each
    field is matched with the separator before it (one put before the line's first): an
    empty first field would otherwise be an empty match, after which the matcher skips a
    character, the separator, and the line's other fields with it."""
    sep = re.escape(fmt.separator)
    fields = F.regexp_extract_all(
        F.concat(F.lit(fmt.separator), raw), F.lit(rf"{sep}({_field_pattern(fmt.separator)})"), 1
    )
    unquoted = F.transform(
        fields,
        lambda f: F.when(
            f.startswith('"'), F.regexp_replace(F.regexp_replace(f, r'^"|"$', ""), '""', '"')
        ).otherwise(f),
    )
    quoted = F.when(raw.rlike(line_grammar(fmt)), unquoted)
    return F.when(~raw.contains('"'), F.split(raw, sep, -1)).otherwise(quoted)


def structure_error(raw: Column, fields: Column, expected: int) -> Column:
    """Why a line cannot be split into the header's fields, or null."""
    return (
        F.when(fields.isNull(), F.lit("unbalanced double quote"))
        .when(
            F.size(fields) != expected,
            F.format_string(f"expected {expected} fields, found %d", F.size(fields)),
        )
        .otherwise(F.lit(None))
    )


class Fields:
    """Access to a line's fields by header name (case-insensitive)."""

    def __init__(self, header: list[str], fields: Column):
        self.header = list(header)
        self.index = {name.strip().lower(): i for i, name in enumerate(header)}
        self.fields = fields

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.index

    def __call__(self, name: str) -> Column:
        """The trimmed text of a column; empty text is null."""
        value = F.trim(F.try_element_at(self.fields, F.lit(self.index[name.lower()] + 1)))
        return F.when(value != "", value)


def first_error(*reasons: Column) -> Column:
    """The first reason that is not null (reasons in order of precedence)."""
    return F.coalesce(*reasons, F.lit(None).cast("string"))


def when(condition: Column, reason: str) -> Column:
    return F.when(condition, F.lit(reason))


def present(f: Fields, name: str) -> Column:
    """Error when a column that identifies the record is empty."""
    return when(f(name).isNull(), f"{name}: empty")


def optional(f: Fields, name: str) -> Column:
    """A column that older or partial extracts may lack: null when absent."""
    return f(name) if name in f else F.lit(None).cast("string")


def _decoded(text: Column, valid: Column, value: Column, column: str, expected: str) -> Decoded:
    error = F.when(text.isNotNull() & ~valid, F.lit(f"{column}: {expected}"))
    return Decoded(F.when(valid, value), error)


def urssaf_date(text: Column, column: str) -> Decoded:
    """``YYYMMDD`` with YYY = year - 1900: ``1180130`` is 2018-01-30, ``990401`` 1999-04-01."""
    number = F.when(text.rlike(r"^\d{5,7}$"), text.try_cast("int"))
    year, month, day = F.floor(number / 10000) + 1900, F.floor(number / 100) % 100, number % 100
    value = calendar_date(year.cast("int"), month.cast("int"), day.cast("int"))
    return _decoded(text, value.isNotNull(), value, column, "not an URSSAF date (YYYMMDD)")


def calendar_date(year: Column, month: Column, day: Column) -> Column:
    """The date of a year, month and day given as numbers; null when there is no such day
    (month 13, 31 April, 29 February of a common year). Computed: formatting the numbers as
    text to parse it again was the costliest of the debit file's columns."""
    first = F.when(month.between(1, 12), F.make_date(year, month, F.lit(1)))
    return F.when(day.between(1, F.dayofmonth(F.last_day(first))), F.date_add(first, day - 1))


def plain_date(text: Column, column: str, pattern: str, shape: str) -> Decoded:
    value = F.try_to_date(text, pattern)
    return _decoded(text, value.isNotNull(), value, column, f"not a date ({shape})")


def iso_date(text: Column, column: str) -> Decoded:
    """``YYYY-MM-DD``, optionally followed by a time, which is ignored."""
    day = F.substring(text, 1, 10)
    value = F.when(text.rlike(r"^\d{4}-\d{2}-\d{2}([T ].*)?$"), F.try_to_date(day, "yyyy-MM-dd"))
    return _decoded(text, value.isNotNull(), value, column, "not a date (YYYY-MM-DD)")


MONTH_ABBREVIATIONS = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)


def lookup(mapping: dict, key: Column) -> Column:
    """``mapping[key]`` as a Spark map literal (null when the key is unknown)."""
    return F.create_map(*[F.lit(x) for kv in mapping.items() for x in kv])[key]


def procol_date(text: Column, column: str) -> Decoded:
    """``26MAY2014`` (English month abbreviations, any case)."""
    upper = F.upper(text)
    months = {m: i for i, m in enumerate(MONTH_ABBREVIATIONS, start=1)}
    month = lookup(months, F.substring(upper, 3, 3))
    year, day = F.substring(upper, 6, 4).cast("int"), F.substring(upper, 1, 2).cast("int")
    value = F.when(upper.rlike(r"^\d{2}[A-Z]{3}\d{4}$"), calendar_date(year, month, day))
    return _decoded(text, value.isNotNull(), value, column, "not a date (DDMONYYYY)")


@dataclass(frozen=True)
class Period:
    start: Column  # first day of the period
    end: Column  # first day after the period
    months: Column
    error: Column


def urssaf_period(text: Column, column: str) -> Period:
    """``YYQM`` or ``YYYYQM``: quarter Q, month M of it (0: the whole quarter); QM=62: the year.

    The month is computed as the reference parser does, 3 (Q - 1) + M carried over the
    year, so ``199904`` is January 1999 as there: Q and M are read as digits 0 to 4 (Q 0
    and M 4, outside the format, are carried as the reference carries them), other digits
    are rejected.
    """
    valid = text.rlike(r"^(\d{2}|\d{4})([0-4][0-4]|62)$")
    digits = F.length(text)
    short = F.substring(text, 1, 2).try_cast("int")
    year = F.when(digits == 6, F.substring(text, 1, 4).try_cast("int")).otherwise(
        F.when(short < 50, short + 2000).otherwise(short + 1900)
    )
    quarter = F.substring(text, -2, 1).try_cast("int")
    month = F.substring(text, -1, 1).try_cast("int")
    whole_year = (quarter == 6) & (month == 2)
    offset = F.when(whole_year, 0).otherwise((quarter - 1) * 3 + F.greatest(month, F.lit(1)) - 1)
    months = F.when(whole_year, 12).when(month == 0, 3).otherwise(1)
    start = F.when(valid, F.add_months(F.make_date(year, F.lit(1), F.lit(1)), offset))
    error = F.when(text.isNotNull() & ~valid, F.lit(f"{column}: not an URSSAF period (YYQM)"))
    return Period(start, F.add_months(start, months), F.when(valid, months), error)


_SPACES = "\u00a0\u202f "


def amount(text: Column, column: str) -> Decoded:
    """Euros: decimal comma or point, optional space-like thousands separators."""
    plain = rf"^-?\d+([.,]\d+)?$|^-?\d{{1,3}}([{_SPACES}]\d{{3}})+([.,]\d+)?$"
    cleaned = F.regexp_replace(F.regexp_replace(text, f"[{_SPACES}]", ""), ",", ".")
    valid = text.rlike(plain)
    return _decoded(text, valid, cleaned.try_cast("double"), column, "not an amount")


def cents(text: Column, column: str) -> Decoded:
    """A number of cents, as euros: an integer, or with a decimal comma or point (the URSSAF
    files' amounts may carry either: ``195907.0`` is 1,959.07 euros)."""
    valid = text.rlike(r"^-?\d+([.,]\d+)?$")
    value = F.regexp_replace(text, ",", ".").try_cast("double") / 100
    return _decoded(text, valid, value, column, "not an amount in cents")


def integer(text: Column, column: str) -> Decoded:
    """An integer, also written as a float with a null fraction (``559.0``)."""
    valid = text.rlike(r"^-?\d+([.,]0+)?$")
    value = F.regexp_replace(text, r"[.,]0+$", "").try_cast("long")
    return _decoded(text, valid, value, column, "not an integer")


# digits alone (``1234``), groups of three after any non-digit separator (``1 234``), or a
# float with a null fraction of one or two digits (``12.0``: three would be a group, ``1.000``)
HEADCOUNT = r"^-?(\d+|\d{1,3}(\D\d{3})+|\d+[.,]0{1,2})$"


def headcount_value(text: Column) -> Column:
    """A headcount: digits, with or without a non-digit as thousands separator (``1234``,
    ``1 234``, ``1.234``), or written as a float (``12.0``), sign allowed."""
    digits = F.regexp_replace(text, r"^(-?\d+)[.,]0{1,2}$", "$1")  # 12.0 -> 12
    value = F.concat(
        F.when(text.startswith("-"), "-").otherwise(""), F.regexp_replace(digits, r"\D", "")
    ).try_cast("int")
    return F.when(text.rlike(HEADCOUNT), value)


def number(text: Column, column: str) -> Decoded:
    """A decimal number (point or comma), with an exponent or not (``1e-05``, as Python and
    many exports write small ratios)."""
    valid = text.rlike(r"^-?\d+([.,]\d+)?([eE][-+]?\d+)?$")
    value = F.regexp_replace(text, ",", ".").try_cast("double")
    return _decoded(text, valid, value, column, "not a number")


ParseFn = Callable[[DataFrame, Fields], DataFrame]


def period_start(text: str):
    """First day of an URSSAF period given as text (``YYYYQM``/``YYQM``), in Python.

    Used on header names (``eff201011``), never on data.
    """
    import datetime as dt

    match = re.fullmatch(r"(\d{2}|\d{4})([1-4])([0-3])", text)
    if not match:
        return None
    year = (
        int(match[1])
        if len(match[1]) == 4
        else (2000 if int(match[1]) < 50 else 1900) + int(match[1])
    )
    return dt.date(year, (int(match[2]) - 1) * 3 + max(int(match[3]), 1), 1)
