"""The reference system's samples and how its expected records compare with ours."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from common.config import PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "osf"
GOLDEN = {  # source -> (sample, expected parse)
    "cotisation": ("cotisationTestData.csv", "expectedCotisation.json"),
    "debit": ("debitTestData.csv", "expectedDebit.json"),
    "delai": ("delaiTestData.csv", "expectedDelai.json"),
    "ccsf": ("ccsfTestData.csv", "expectedCcsf.json"),
    "procol": ("procolTestData.csv", "expectedProcol.json"),
    "apdemande": ("apdemandeTestData.csv", "expectedApdemande.json"),
    "sirene": ("sireneTestData.csv", "expectedSirene.json"),
    "sirene_ul": ("sireneULTestData.csv", "expectedSireneUL.json"),
}
RENAMED = {"DebitID": "debit_id"}


def expected(source: str) -> dict:
    return json.loads((FIXTURES / GOLDEN[source][1]).read_text())


def _value(value):
    if isinstance(value, str) and value.endswith("T00:00:00Z"):
        return dt.date.fromisoformat(value[:10])
    return value


def assert_same_records(rows: list[dict], tuples: list[dict]) -> None:
    """Our records (in line order) equal the reference's, field by field.

    The reference omits empty values (Go's omitempty): an omitted field must be
    null, empty or false on our side.
    """
    keys = sorted({k for t in tuples for k in t})
    assert len(rows) == len(tuples)
    for row, tup in zip(rows, tuples, strict=True):
        for key in keys:
            ours = row[RENAMED.get(key, key)]
            if key not in tup:
                assert ours in (None, "", False), (key, ours)
            elif isinstance(tup[key], float):
                assert ours == pytest.approx(tup[key]), key
            else:
                assert ours == _value(tup[key]), key
