"""A generated delivery cut in two monthly deliveries: the history up to the month before
the last, then the last month with corrections to earlier months, as the monthly cycle
receives them (jobs/generate.py --split-last-month).

What the second delivery holds, and the real-world facts it reproduces:
- the lines of the last month of the sources delivered line by line per period:
  contributions (``periode``), partial-activity consumption (``MOIS``), judgments (``djug``);
- the debt lines *processed* in the last month (``Dt_trt_ecn``): URSSAF reports each debt
  movement when it is processed, so this month's lines revise the debts of earlier periods;
- the headcount files whole (every month column): URSSAF redelivers the headcount history,
  and the first delivery lacks the last month's column;
- regularisations: a share of the contribution lines of the previous months delivered
  again with the declared and collected amounts revised by one factor (employers correct an
  earlier month's declaration in a later DSN, "DSN de régularisation"; collections of a
  period keep arriving after its due date).
The other sources (register, demands, payment plans, tax returns...) stay whole in the first
delivery. The streams are read line by line: memory does not grow with the files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import months
from parsers.formats import EFFECTIF_PREFIX, FORMATS, RawFormat


def _urssaf_period(text: str) -> int | None:
    """``YYYYQM``: quarter Q, month M of it (as parsers/common.urssaf_period reads it)."""
    found = re.fullmatch(r"(\d{4})([1-4])([1-3])", text)
    if not found:
        return None
    return months.index(f"{found[1]}-{(int(found[2]) - 1) * 3 + int(found[3]):02d}")


def _urssaf_date(text: str) -> int | None:
    """``CYYMMDD`` (century digit 1: 2000s)."""
    found = re.fullmatch(r"([01])(\d{2})(\d{2})\d{2}", text)
    if not found or not 1 <= int(found[3]) <= 12:
        return None
    return months.index(f"{1900 + 100 * int(found[1]) + int(found[2])}-{found[3]}")


def _iso(text: str) -> int | None:
    try:
        return months.index(text.strip('"')[:7])
    except ValueError:
        return None


# source -> (column, its month) for the sources cut line by line
BY_LINE: dict[str, tuple[str, Callable[[str], int | None]]] = {
    "cotisation": ("periode", _urssaf_period),
    "debit": ("Dt_trt_ecn", _urssaf_date),
    "apconso": ("MOIS", _iso),
    "judgments": ("djug", _iso),
}
WIDE = ("effectif", "effectif_ent")
CORRECTED = "cotisation"
CORRECTED_AMOUNTS = ("enc_direct", "cotis_due")


@dataclass(frozen=True)
class Split:
    last_month: str  # the month of the second delivery
    correction_rate: float = 0.02  # share of the contribution lines revised
    correction_months: int = 6  # ... among the months before the last
    seed: int = 1


def _fields(line: str, fmt: RawFormat) -> list[str] | None:
    fields = line.split(fmt.separator)
    return fields if not fmt.quoted or all(f.count('"') % 2 == 0 for f in fields) else None


def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", newline="") as f:
        yield from f


def _revise(fields: list[str], header: list[str], factor: float) -> list[str] | None:
    """The line with its amounts times ``factor`` (None when an amount does not parse)."""
    out = list(fields)
    for column in CORRECTED_AMOUNTS:
        i = header.index(column)
        try:
            value = float(fields[i].replace(",", "."))
        except ValueError:
            return None
        out[i] = f"{value * factor:.2f}"
    return out


def _cut_by_line(source: str, src: Path, outs: tuple[Path, Path], split: Split, rng) -> list[int]:
    fmt = FORMATS[source]
    column, month_of = BY_LINE[source]
    last = months.index(split.last_month)
    counts = [0, 0]
    lines = _lines(src)
    head = next(lines)
    header = [h.strip('"') for h in head.rstrip("\r\n").split(fmt.separator)]
    at = header.index(column)
    with (
        open(outs[0], "w", encoding="utf-8", newline="") as first,
        open(outs[1], "w", encoding="utf-8", newline="") as second,
    ):
        first.write(head)
        second.write(head)
        for line in lines:
            fields = _fields(line.rstrip("\r\n"), fmt)
            month = month_of(fields[at]) if fields and len(fields) == len(header) else None
            if month is not None and month >= last:
                second.write(line)
                counts[1] += 1
                continue
            first.write(line)
            counts[0] += 1
            corrected = (
                source == CORRECTED
                and month is not None
                and month >= last - split.correction_months
                and rng.uniform() < split.correction_rate
            )
            if corrected:
                revised = _revise(fields, header, float(rng.uniform(0.9, 1.1)))
                if revised is not None:
                    second.write(fmt.separator.join(revised) + fmt.line_end)
                    counts[1] += 1
    return counts


def _cut_wide(source: str, src: Path, outs: tuple[Path, Path], split: Split) -> list[int]:
    """The first delivery without the last month's column; the second with every column."""
    fmt = FORMATS[source]
    lines = _lines(src)
    head = next(lines)
    header = head.rstrip("\r\n").split(fmt.separator)
    last = months.index(split.last_month)
    drop = {
        i
        for i, name in enumerate(header)
        if name.startswith(EFFECTIF_PREFIX)
        and _urssaf_period(name[len(EFFECTIF_PREFIX) :]) is not None
        and _urssaf_period(name[len(EFFECTIF_PREFIX) :]) >= last
    }
    counts = [0, 0]
    with (
        open(outs[0], "w", encoding="utf-8", newline="") as first,
        open(outs[1], "w", encoding="utf-8", newline="") as second,
    ):
        kept = [h for i, h in enumerate(header) if i not in drop]
        first.write(fmt.separator.join(kept) + fmt.line_end)
        second.write(head)
        for line in lines:
            second.write(line)
            counts[1] += 1
            fields = line.rstrip("\r\n").split(fmt.separator)
            if len(fields) == len(header):
                line = fmt.separator.join(f for i, f in enumerate(fields) if i not in drop)
                line += fmt.line_end
            first.write(line)  # a malformed line stays as it was: the ingest quarantines it
            counts[0] += 1
    return counts


def split_delivery(raw: Path, first: Path, second: Path, split: Split) -> dict:
    """Cut the delivery in ``raw`` into ``first`` (before ``split.last_month``) and ``second``
    (that month, corrections); write each one's manifest; return the line counts per file."""
    manifest = json.loads((raw / "manifest.json").read_text(encoding="utf-8"))
    rng = np.random.default_rng(split.seed)
    for folder in (first, second):
        folder.mkdir(parents=True, exist_ok=True)
    entries: tuple[list, list] = ([], [])
    for entry in manifest["files"]:
        source, name = entry["source"], entry["file"]
        outs = (first / name, second / name)
        if source in BY_LINE:
            counts = _cut_by_line(source, raw / name, outs, split, rng)
        elif source in WIDE:
            counts = _cut_wide(source, raw / name, outs, split)
        else:
            outs[0].write_bytes((raw / name).read_bytes())
            counts = [entry["lines"], None]
        for delivery, lines in zip(entries, counts, strict=True):
            if lines is not None:
                delivery.append({"file": name, "source": source, "lines": lines})
    last = months.index(split.last_month)
    windows = (
        (manifest["window"]["first_month"], months.label(last - 1)),
        (split.last_month, split.last_month),
    )
    for folder, files, (lo, hi) in zip((first, second), entries, windows, strict=True):
        (folder / "manifest.json").write_text(
            json.dumps(
                {
                    "generator": "early-warning synthetic delivery, cut by month",
                    "parameters": {**manifest["parameters"], "split": split.__dict__},
                    "window": {"first_month": lo, "last_month": hi},
                    "files": files,
                },
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )
    return {"first": entries[0], "second": entries[1]}
