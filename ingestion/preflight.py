"""Checks that make a whole file unusable: they fail the batch before anything is
committed, naming the file and the problem."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ingestion.reader import FileLines
from parsers.common import period_start
from parsers.effectif import PREFIX
from parsers.registry import Parser

if TYPE_CHECKING:  # ingestion.parse imports this module
    from ingestion.parse import FieldCounts

_SEPARATORS = {";": "';'", ",": "','", "|": "'|'", "\t": "a tab"}


def split_header(header: str, separator: str) -> list[str]:
    return [c.strip().strip('"') for c in header.split(separator)]


def file_problems(name: str, lines: FileLines, parser: Parser) -> list[str]:
    """Reasons why the file cannot be used at all (empty when it can)."""
    fmt = parser.format
    if lines.header is None or (lines.total_lines <= 1 and not lines.header.strip()):
        return [f"{name}: the file is empty"]
    if lines.first_undecodable is not None:
        return [
            f"{name}: line {lines.first_undecodable}, character {lines.undecodable_at}: "
            "not valid UTF-8 (convert the file, e.g. iconv -f CP1252 -t UTF-8)"
        ]
    header = lines.header
    if not header.strip():
        return [f"{name}: line 1, the header, is blank (the file must start with its header)"]
    if fmt.separator not in header:
        found = [label for sep, label in _SEPARATORS.items() if sep in header]
        hint = f" but the header looks separated by {found[0]}" if found else ""
        return [f"{name}: wrong separator: expected {_SEPARATORS[fmt.separator]}{hint}"]
    columns = split_header(header, fmt.separator)
    lower = {c.lower() for c in columns}
    problems = []
    for required in parser.required:
        if required.lower() not in lower:
            close = difflib.get_close_matches(required, columns, n=1, cutoff=0.6)
            hint = f" (found '{close[0]}': renamed?)" if close else ""
            problems.append(f"{name}: missing required column '{required}'{hint}")
    if fmt.wide_months:
        months = [c for c in columns if c.lower().startswith(PREFIX)]
        bad = [
            c
            for c in months
            if not re.fullmatch(r"\d+", c[len(PREFIX) :]) or period_start(c[len(PREFIX) :]) is None
        ]
        problems += [f"{name}: column '{c}' is not a month (eff + YYYYQM)" for c in bad]
        if not months:
            problems.append(f"{name}: no monthly column (eff + YYYYQM)")
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    problems += [f"{name}: column '{c}' appears twice" for c in duplicated]
    return problems


def missing_suites(
    files: Iterable[tuple[str, str]], suites: Collection[str], folder: Path
) -> dict[str, str]:
    """Per source of the delivery (``files``: name, source) without a data-quality suite, the
    problem: its files would be committed unchecked."""
    by_source: dict[str, list[str]] = {}
    for name, source in files:
        if source not in suites:
            by_source.setdefault(source, []).append(name)
    return {
        source: f"{source}: no data-quality suite in {folder} (expected {source}.yaml, "
        f"with 'source: {source}'); files: {', '.join(sorted(names))}"
        for source, names in sorted(by_source.items())
    }


def header_mismatch(name: str, lines: FileLines, parser: Parser, counts: FieldCounts) -> list[str]:
    """The header matches none of the data lines: a column missing from or extra in it."""
    if counts.fitting or counts.first_misfit is None:
        return []
    columns = len(split_header(lines.header or "", parser.format.separator))
    found = (
        f"{counts.fewest}"
        if counts.fewest == counts.most
        else (f"{counts.fewest} to {counts.most}")
    )
    return [
        f"{name}: the header has {columns} columns but no data line has {columns} fields "
        f"(they have {found}, from line {counts.first_misfit}): a column missing from, "
        "or extra in, the header?"
    ]
