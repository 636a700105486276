"""Bad lines, as real deliveries have them (sources.md, "Bad input").

Each corruption makes a line that a strict reader of its format must reject:
a truncated line, a stray (never closed) double quote, a wrong number of fields, a non-numeric
value in a numeric column, an impossible date in a date column.
"""

from __future__ import annotations

import re

import numpy as np

from parsers.formats import RawFormat

KINDS = ("truncated", "stray_quote", "field_count", "non_numeric", "bad_date")
_GARBAGE = ("N/A", "NC", "12a5", "#VALEUR!", "1O,5")


def _impossible_date(value: str) -> str:
    if re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
        return "31/02/" + value[-4:]
    if re.fullmatch(r'"?\d{4}-\d{2}-\d{2}"?', value):
        return value.replace(value.strip('"')[5:], "13-45")
    if re.fullmatch(r"\d{2}[A-Z]{3}\d{4}", value):
        return "31FEB" + value[-4:]
    if re.fullmatch(r"\d{6}", value) and value[4] in "123456":  # YYYYQM period
        return value[:4] + "71"
    return value[:-4] + "1345"  # URSSAF date YYYMMDD with month 13


def _split(line: str, fmt: RawFormat) -> list[str]:
    if not fmt.quoted:
        return line.split(fmt.separator)
    return re.findall(r'"[^"]*"|[^,]+|(?<=,)(?=,)|^(?=,)|(?<=,)$', line)


def corrupt(
    lines: list[str], fmt: RawFormat, header: list[str], rate: float, rng
) -> dict[str, int]:
    """Corrupt about ``rate`` of ``lines`` in place; return the count per kind."""
    counts = dict.fromkeys(KINDS, 0)
    if rate <= 0 or not lines:
        return counts
    numeric = [
        header.index(c)
        for c in header
        if c in fmt.numeric or (fmt.wide_months and c.startswith("eff"))
    ]
    dates = [header.index(c) for c in fmt.dates]
    kinds = [k for k in KINDS if (k != "non_numeric" or numeric) and (k != "bad_date" or dates)]
    for i in np.flatnonzero(rng.uniform(size=len(lines)) < rate):
        line, kind = lines[i], kinds[int(rng.integers(len(kinds)))]
        fields = _split(line, fmt)
        if len(fields) != len(header):  # cannot happen for lines we wrote; be safe
            continue
        if kind == "truncated":
            cut = line.rfind(fmt.separator)
            lines[i] = line[: int(rng.integers(max(cut // 2, 1), cut))]
        elif kind == "stray_quote":  # an opening quote never closed
            j = int(rng.integers(len(fields)))
            fields[j] = '"' + fields[j]
            lines[i] = fmt.separator.join(fields)
        elif kind == "field_count":
            lines[i] = line + fmt.separator + "X"
        elif kind == "non_numeric":
            j = numeric[int(rng.integers(len(numeric)))]
            fields[j] = str(rng.choice(_GARBAGE))
            if fmt.quoted:
                fields[j] = f'"{fields[j]}"'
            lines[i] = fmt.separator.join(fields)
        else:
            j = dates[int(rng.integers(len(dates)))]
            fields[j] = _impossible_date(fields[j]) if fields[j] else "1181345"
            lines[i] = fmt.separator.join(fields)
        counts[kind] += 1
    return counts
