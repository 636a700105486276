"""Business secrecy, end to end: `make demo`'s script on a small world, then every byte it
wrote outside the lake's tables is searched for the SIRETs, SIRENs and company names of the
generated data. The exported list is the one deliberate exception (it is for the agents)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT


def _identifiers(raw: Path) -> tuple[set[str], set[str]]:
    numbers, names = set(), set()
    with open(raw / "StockUniteLegale_utf8.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            numbers.add(row["siren"])
            for key in ("denominationUniteLegale", "nomUniteLegale"):
                if len(row[key]) >= 6:
                    names.add(row[key])
    with open(raw / "StockEtablissement_utf8_geo.csv", encoding="utf-8", newline="") as f:
        numbers |= {row["siret"] for row in csv.DictReader(f)}
    return numbers, names


def _hits(text: str, numbers: set[str], names: set[str]) -> set[str]:
    found = {t for t in re.findall(r"\d{9,14}", text) if t in numbers}
    found |= {n for n in names if n in text}
    return found


@pytest.mark.e2e
def test_the_pipeline_writes_no_identifier_outside_the_lake(local_demo) -> None:
    demo, console = local_demo.dir, local_demo.console
    assert local_demo.returncode == 0, console[-5000:]
    assert "=== early-warning demo: summary ===" in console
    assert "MLflow" in console and "test AUCPR" in console

    numbers, names = _identifiers(demo / "raw")
    assert len(numbers) > 350 and len(names) > 100
    written = [
        p
        for root in (demo, local_demo.mlflow, PROJECT_ROOT / "bench" / "results")
        for p in root.rglob("*")
        if p.is_file()
        and "lake" not in p.relative_to(root).parts[:1]
        and "raw" not in p.relative_to(root).parts[:1]
        and "truth" not in p.relative_to(root).parts[:1]
        and not p.name.startswith("list_")
    ]
    kinds = {p.suffix for p in written}
    assert {".db", ".json", ".png", ".html"} <= kinds, kinds  # the store, reports, data docs
    leaks = {"console": _hits(console, numbers, names)}
    for path in written:
        leaks[str(path)] = _hits(path.read_bytes().decode("utf-8", "ignore"), numbers, names)
    leaks = {k: v for k, v in leaks.items() if v}
    assert not leaks, {k: len(v) for k, v in leaks.items()}

    # the list is the exception, on purpose: it names the companies for the agents
    exported = next(demo.glob("list_*.json")).read_text()
    assert _hits(exported, numbers, set())
