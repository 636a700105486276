"""Business secrecy. Pseudonyms are keyed hashes (common/secrecy.py). End to end: `make
demo`'s script on a small world, then every byte it wrote outside the lake's tables is
searched for the SIRETs, SIRENs and company names of the generated data. The exported list is
the one deliberate exception (it is for the agents)."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from common.secrecy import KEY_ENV, KEY_FILE_ENV, SecrecyError, pseudonymiser

SIREN = "732829320"  # a made-up number
KEY_A, KEY_B = "a" * 32, "b" * 32


def _unkeyed(siren: str) -> set[str]:
    """What an unkeyed hash would show: anyone can recompute it from every SIREN."""
    return {
        "E-" + hashlib.sha256(text.encode()).hexdigest()[:8]
        for text in (siren, f"early-warning:{siren}")
    }


def test_pseudonym_depends_on_the_key_and_is_stable_under_it() -> None:
    a = pseudonymiser({KEY_ENV: KEY_A})
    assert a.stable
    assert a(SIREN) == pseudonymiser({KEY_ENV: KEY_A})(SIREN)
    assert a(SIREN) != pseudonymiser({KEY_ENV: KEY_B})(SIREN)
    assert a(SIREN) != a("732829321")
    assert re.fullmatch(r"E-[0-9a-f]{8}", a(SIREN))
    assert a(SIREN) not in _unkeyed(SIREN)
    assert SIREN not in a(SIREN) and KEY_A not in repr(a)


def test_key_file_outside_the_project(tmp_path: Path) -> None:
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text(KEY_A + "\n")
    from_file = pseudonymiser({KEY_FILE_ENV: str(key_file)}, root=tmp_path / "project")
    assert from_file.stable
    assert from_file(SIREN) == pseudonymiser({KEY_ENV: KEY_A})(SIREN)  # the newline is not key
    with pytest.raises(SecrecyError, match="outside the project folder"):
        pseudonymiser({KEY_FILE_ENV: str(key_file)}, root=tmp_path)
    with pytest.raises(SecrecyError, match="no such file"):
        pseudonymiser({KEY_FILE_ENV: str(tmp_path / "missing.key")}, root=tmp_path / "project")


def test_short_key_is_refused() -> None:
    with pytest.raises(SecrecyError, match="shorter than 16 bytes"):
        pseudonymiser({KEY_ENV: "short"})


def test_without_a_key_each_run_draws_its_own() -> None:
    first, second = pseudonymiser({}), pseudonymiser({})
    assert not first.stable and not second.stable
    assert first(SIREN) != second(SIREN)
    assert first(SIREN) not in _unkeyed(SIREN)


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
    # the month's alerts, then those of the thresholds alone: the same establishments
    after = re.search(
        r"risque_fort ([\d,]+), risque_modere ([\d,]+), pas_d_alerte ([\d,]+)", console
    )
    alone = re.search(
        r"thresholds alone: risque_fort ([\d,]+), risque_modere ([\d,]+); .* moved ([\d,]+) "
        r"establishments up a level, ([\d,]+) down",
        console,
    )
    assert after and alone, console[-3000:]
    after, alone = [[int(g.replace(",", "")) for g in m.groups()] for m in (after, alone)]
    assert alone[0] + alone[1] <= sum(after) and alone[2] + alone[3] <= sum(after)
    if alone[2] + alone[3] == 0:  # no correction moved anyone: the same levels
        assert after[:2] == alone[:2]

    numbers, names = _identifiers(demo / "raw")
    assert len(numbers) > 350 and len(names) > 100
    written = [
        p
        for root in (demo, local_demo.mlflow, PROJECT_ROOT / "bench" / "results")
        for p in root.rglob("*")
        if p.is_file()
        and "lake" not in p.relative_to(root).parts[:1]
        and not p.relative_to(root).parts[0].startswith("raw")  # raw, raw_<month>: deliveries
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

    # the summary's top of the list: keyed pseudonyms (a random key: the demo sets none),
    # never the unkeyed hash anyone can recompute from the SIRENs
    assert "pseudonymised with a random key of this run" in console
    shown = set(re.findall(r"^  (E-[0-9a-f]{8})  NAF ", console, flags=re.MULTILINE))
    assert len(shown) == 5, console[-3000:]
    assert not shown & {p for n in numbers if len(n) == 9 for p in _unkeyed(n)}

    # the list is the exception, on purpose: it names the companies for the agents
    exported = next(demo.glob("list_*.json")).read_text()
    assert _hits(exported, numbers, set())
