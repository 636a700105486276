"""Value encodings of the raw files (the inverse of what the parsers decode)."""

from __future__ import annotations

import numpy as np

MONTHS_EN = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dates = np.asarray(dates, dtype="datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    months = dates.astype("datetime64[M]").astype(int) % 12 + 1
    days = (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    return years, months, days


def urssaf_date(dates: np.ndarray) -> list[str]:
    """``YYYMMDD`` with YYY = year - 1900: 2018-01-30 -> 1180130, 1999-04-01 -> 990401."""
    y, m, d = ymd(dates)
    return [f"{a - 1900}{b:02d}{c:02d}" for a, b, c in zip(y, m, d, strict=True)]


def plain_date(dates: np.ndarray) -> list[str]:
    """``YYYYMMDD``."""
    y, m, d = ymd(dates)
    return [f"{a:04d}{b:02d}{c:02d}" for a, b, c in zip(y, m, d, strict=True)]


def iso_date(dates: np.ndarray) -> list[str]:
    return [str(d) for d in np.asarray(dates, dtype="datetime64[D]")]


def french_date(dates: np.ndarray) -> list[str]:
    """``DD/MM/YYYY``."""
    y, m, d = ymd(dates)
    return [f"{c:02d}/{b:02d}/{a:04d}" for a, b, c in zip(y, m, d, strict=True)]


def procol_date(dates: np.ndarray) -> list[str]:
    """``26MAY2014``."""
    y, m, d = ymd(dates)
    return [f"{c:02d}{MONTHS_EN[b - 1]}{a:04d}" for a, b, c in zip(y, m, d, strict=True)]


def urssaf_period(year: np.ndarray, month: np.ndarray, quarterly: np.ndarray) -> list[str]:
    """``YYYYQM``: Q the quarter, M the month in it, 0 for the whole quarter."""
    quarter = (np.asarray(month) - 1) // 3 + 1
    in_quarter = np.where(quarterly, 0, (np.asarray(month) - 1) % 3 + 1)
    return [f"{y:04d}{q}{m}" for y, q, m in zip(year, quarter, in_quarter, strict=True)]


def decimal(values: np.ndarray, comma: bool | np.ndarray = False, places: int = 2) -> list[str]:
    """Amounts with ``places`` decimals and a decimal point or comma; NaN is empty."""
    commas = np.broadcast_to(np.asarray(comma), np.shape(values))
    out = []
    for v, c in zip(np.asarray(values, dtype=float), commas, strict=True):
        if np.isnan(v):
            out.append("")
        else:
            text = f"{v:.{places}f}"
            out.append(text.replace(".", ",") if c else text)
    return out


def integer(values: np.ndarray, thousands: str | None = None) -> list[str]:
    """Integers; NaN is empty; a thousands separator for values of 1000 and more."""
    out = []
    for v in np.asarray(values, dtype=float):
        if np.isnan(v):
            out.append("")
        elif thousands and abs(v) >= 1000:
            out.append(f"{int(v):,}".replace(",", thousands))
        else:
            out.append(str(int(v)))
    return out
