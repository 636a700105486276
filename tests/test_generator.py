"""The generator: formats equal to the real files', determinism, a believable world."""

from __future__ import annotations

import ast
import csv
import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from bench.train_ceiling import trailing_mean
from common import delta_io
from common.config import PROJECT_ROOT
from generator.block import run_block
from generator.calibration import make_scenario
from generator.delivery import Request, write_delivery
from generator.dynamics import present_truth, simulate
from generator.render import month_columns
from generator.world import build_world, luhn_complete
from parsers.common import line_grammar
from parsers.formats import FORMATS

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "osf"
FIXTURE_OF = {
    "cotisation": "cotisationTestData.csv",
    "debit": "debitTestData.csv",
    "delai": "delaiTestData.csv",
    "ccsf": "ccsfTestData.csv",
    "procol": "procolTestData.csv",
    "apdemande": "apdemandeTestData.csv",
    "apconso": "apconsoTestData.csv",
    "sirene": "sireneTestData.csv",
    "sirene_ul": "sireneULTestData.csv",
}
REQUEST = Request(
    establishments=4000,
    months=48,
    start="2017-01",
    seed=11,
    bad_line_rate=0.01,
    yearly_failure_rate=0.01,
)


def first_line(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.readline().rstrip("\r\n")


@pytest.fixture(scope="module")
def delivery(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    scenario = make_scenario(
        REQUEST.seed, REQUEST.start, REQUEST.months, REQUEST.yearly_failure_rate
    )
    manifest = write_delivery(spark, scenario, REQUEST, root / "raw", root / "raw_truth")
    return root / "raw", root / "raw_truth", manifest


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(FIXTURE_OF))
def test_fixed_headers_equal_the_reference_samples(source: str) -> None:
    assert FORMATS[source].header_line() == first_line(FIXTURES / FIXTURE_OF[source])


def test_wide_headcount_headers_equal_the_reference_samples() -> None:
    siret = first_line(FIXTURES / "effectifTestData.csv")
    months = month_columns(make_scenario(1, "2010-01", 112))  # eff201011 ... eff201921
    assert FORMATS["effectif"].header_line(months) == siret
    siren = first_line(FIXTURES / "effectifEntTestData.csv")
    assert (
        FORMATS["effectif_ent"].header_line(month_columns(make_scenario(1, "2010-01", 5))) == siren
    )


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    doubled = [d * 2 - 9 if d * 2 > 9 else d * 2 for d in digits[1::2]]
    return (sum(digits[::2]) + sum(doubled)) % 10 == 0


def test_identifiers_pass_the_luhn_test() -> None:
    assert luhn_complete("73282932") == "732829320"  # a real SIREN
    assert all(luhn_valid(luhn_complete(f"{n:013d}")) for n in range(0, 10**13, 7_777_777_777))
    assert luhn_valid("10000019900016") and not luhn_valid("10000019900017")


@pytest.mark.slow
def test_every_file_starts_with_its_header_and_uses_its_line_ends(delivery) -> None:
    raw, _, manifest = delivery
    scenario = make_scenario(REQUEST.seed, REQUEST.start, REQUEST.months)
    for entry in manifest["files"]:
        fmt = FORMATS[entry["source"]]
        data = (raw / entry["file"]).read_bytes()
        assert data.decode("utf-8").split(fmt.line_end)[0] == fmt.header_line(
            month_columns(scenario)
        )
        lines = data.split(b"\n")
        assert lines[-1] == b""  # ends with a line end
        crlf = sum(line.endswith(b"\r") for line in lines[:-1])
        assert crlf == (len(lines) - 1 if fmt.line_end == "\r\n" else 0), entry["file"]
        assert len(lines) - 2 == entry["lines"] + entry["blank_lines"], entry["file"]


# --- the rules of sources.md: a strict reader finds exactly the injected bad lines ------------


def urssaf_date(text: str) -> dt.date:
    value = int(text)
    return dt.date(value // 10000 + 1900, value // 100 % 100, value % 100)


def urssaf_period(text: str) -> tuple[dt.date, int]:
    year = int(text[:-2]) if len(text) == 6 else 2000 + int(text[:2])
    quarter, month = int(text[-2]), int(text[-1])
    if (quarter, month) == (6, 2):
        return dt.date(year, 1, 1), 12
    if not 1 <= quarter <= 4 or not 0 <= month <= 3:
        raise ValueError(text)
    first = (quarter - 1) * 3 + max(month, 1)
    return dt.date(year, first, 1), 3 if month == 0 else 1


def amount(text: str) -> float:
    if not re.fullmatch(r"-?\d+([.,]\d+)?", text):
        raise ValueError(text)
    return float(text.replace(",", "."))


def iso(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def french(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d/%m/%Y").date()


def procol_date(text: str) -> dt.date:
    return dt.datetime.strptime(text.title(), "%d%b%Y").date()


def headcount(text: str) -> int:
    if not re.fullmatch(r"\d{1,3}(\D\d{3})*", text):
        raise ValueError(text)
    return int(re.sub(r"\D", "", text))


DATE_DECODERS = {  # date columns -> decoder, per sources.md
    "cotisation": urssaf_period,
    "debit": urssaf_date,
    "ccsf": urssaf_date,
    "delai": french,
    "procol": procol_date,
}


def checks_of(source: str, header: list[str]) -> dict:
    """Decoder of every column that must parse: numbers, dates, headcounts."""
    fmt = FORMATS[source]
    checks = {c: amount for c in fmt.numeric}
    checks.update({c: DATE_DECODERS.get(source, iso) for c in fmt.dates})
    if source == "debit":
        checks["Periode"] = urssaf_period
    checks.update({c: headcount for c in header if fmt.wide_months and c.startswith("eff")})
    return checks


def strict_rows(path: Path, source: str):
    """(fields or None when the line breaks the format) for each non-blank data line."""
    fmt = FORMATS[source]
    with open(path, encoding="utf-8", newline="") as f:
        header = next(csv.reader([f.readline().rstrip("\r\n")], delimiter=fmt.separator))
        for line in f:
            line = line.rstrip("\r\n")
            if not line:
                continue
            if not re.fullmatch(line_grammar(fmt), line):  # quotes: opened and closed
                yield header, None
                continue
            fields = next(csv.reader([line], delimiter=fmt.separator))
            yield header, fields if len(fields) == len(header) else None


@pytest.mark.slow
@pytest.mark.parametrize("source", sorted(FORMATS))
def test_generated_lines_parse_except_the_injected_bad_ones(delivery, source: str) -> None:
    raw, _, manifest = delivery
    entry = next(f for f in manifest["files"] if f["source"] == source)
    rejected = parsed = 0
    for header, fields in strict_rows(raw / entry["file"], source):
        ok = fields is not None
        if ok:
            row = dict(zip(header, fields, strict=True))
            checks = checks_of(source, header)
            try:
                for column, decode in checks.items():
                    if row[column]:
                        decode(row[column])
            except ValueError:
                ok = False
        parsed += ok
        rejected += not ok
    assert rejected == entry["bad_lines"]
    assert parsed + rejected == entry["lines"]
    if entry["lines"] > 2000:
        assert rejected > 0


# --- determinism ---------------------------------------------------------------------------


@pytest.mark.integration
def test_same_seed_gives_identical_files_whatever_the_cores(delivery, tmp_path: Path) -> None:
    raw, _, manifest = delivery
    other = tmp_path / "raw"
    result = subprocess.run(
        [
            str(PROJECT_ROOT / "spark-submit.sh"),
            "--master",
            "local[1]",
            "jobs/generate.py",
            "--config",
            "conf/test.yaml",
            "--establishments",
            str(REQUEST.establishments),
            "--months",
            str(REQUEST.months),
            "--start",
            REQUEST.start,
            "--seed",
            str(REQUEST.seed),
            "--bad-line-rate",
            str(REQUEST.bad_line_rate),
            "--failure-rate",
            str(REQUEST.yearly_failure_rate),
            "--out",
            str(other),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for entry in manifest["files"]:
        assert (other / entry["file"]).read_bytes() == (raw / entry["file"]).read_bytes(), entry
    assert (other / "manifest.json").read_bytes() == (raw / "manifest.json").read_bytes()


def _generator_imports() -> dict[str, set[str]]:
    """Each module of generator/ and the generator modules it imports, at any depth of its
    code (a function's own imports too), read from the source."""
    graph = {}
    for path in sorted((PROJECT_ROOT / "generator").glob("*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("generator."):
                imported.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                imported |= {
                    a.name.split(".")[1] for a in node.names if a.name.startswith("generator.")
                }
        graph[path.stem] = imported
    return graph


def test_the_generators_modules_import_one_way() -> None:
    graph = _generator_imports()
    assert not graph["scenario"] & {"world", "calibration"}  # the shared paths need no world
    assert {"scenario", "world"} <= graph["calibration"]
    order: list[str] = []  # depth-first: a module comes after every module it imports

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module not in order:
            for dependency in sorted(graph[module]):
                visit(dependency, (*path, module))
            order.append(module)

    for module in graph:
        visit(module, ())
    assert order.index("world") < order.index("calibration")


def test_a_block_does_not_depend_on_its_neighbours() -> None:
    scenario = make_scenario(5, "2018-01", 24)
    first = [c.text for c in run_block(scenario, 3, 200, 0.02)]
    again = [c.text for c in run_block(scenario, 3, 200, 0.02)]
    other = [c.text for c in run_block(scenario, 4, 200, 0.02)]
    assert first == again
    assert first != other


def test_present_truth_differs_from_the_oracle_only_by_the_economy_ahead() -> None:
    """Knowing the present only, the truth's closed form freezes the economy at the month:
    with a flat economy (no macro or sector path, no public support) it is the oracle;
    around the crisis, the oracle sees what is coming and the present does not."""
    scenario = make_scenario(3, "2019-01", 30)
    world = build_world(scenario, 0, 300)
    dyn = simulate(scenario, world, 0)
    present = present_truth(scenario, world, dyn)
    before = scenario.crisis_start - 6  # its horizon holds the crisis and the public support
    assert not np.allclose(present[:, before], dyn.truth[:, before], rtol=1e-3)
    flat = dataclasses.replace(
        scenario,
        macro=np.zeros_like(scenario.macro),
        sector=np.zeros_like(scenario.sector),
        hazard_multiplier=np.ones_like(scenario.hazard_multiplier),
    )
    dyn = simulate(flat, world, 0)
    np.testing.assert_allclose(present_truth(flat, world, dyn), dyn.truth, rtol=1e-9)


def test_trailing_mean_of_the_ceiling_benchmark_averages_the_months_available() -> None:
    values = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [0.0, 0.0, 6.0, 0.0, 3.0]])
    expected = np.array([[1.0, 1.5, 2.0, 3.0, 4.0], [0.0, 0.0, 2.0, 2.0, 3.0]])
    np.testing.assert_allclose(trailing_mean(values, 3), expected)
    np.testing.assert_allclose(trailing_mean(values, 5)[:, -1], values.mean(axis=1))


# --- a believable world --------------------------------------------------------------------


def read(raw: Path, source: str, **kwargs) -> pd.DataFrame:
    """A raw file through pandas, skipping the lines that break its format."""
    fmt = FORMATS[source]
    warnings.simplefilter("ignore", pd.errors.ParserWarning)  # the injected bad lines
    return pd.read_csv(
        raw / fmt.file_name,
        sep=fmt.separator,
        dtype=str,
        keep_default_na=False,
        on_bad_lines="skip",
        engine="python",
        index_col=False,
        quoting=csv.QUOTE_MINIMAL if fmt.quoted else csv.QUOTE_NONE,
        **kwargs,
    )


def first_openings(raw: Path) -> pd.Series:
    judgments = read(raw, "judgments")
    dgfip = judgments[judgments["najug"].isin(["3", "4", "8"])]
    dates = pd.to_datetime(dgfip["djug"], errors="coerce")
    procol = read(raw, "procol")
    opening = procol[procol["Lib_actx_stdx"].str.lower().str.contains("ouverture")]
    urssaf = pd.to_datetime(opening["Dt_effet"].str.title(), format="%d%b%Y", errors="coerce")
    both = pd.concat(
        [
            pd.Series(dates.values, index=dgfip["siren"].values),
            pd.Series(urssaf.values, index=opening["Siren"].values),
        ]
    ).dropna()
    return both.groupby(level=0).min()


@pytest.mark.slow
def test_failure_rate_and_labels_are_realistic(delivery, spark) -> None:
    raw, truth_path, _ = delivery
    openings = first_openings(raw)
    companies = read(raw, "sirene_ul")
    private = ~companies["categorieJuridiqueUniteLegale"].fillna("").str.match(r"^[47]")
    company_years = private.sum() * REQUEST.months / 12
    yearly = len(openings) / company_years
    assert 0.006 < yearly < 0.016, yearly

    truth = delta_io.read(spark, str(truth_path)).toPandas()
    known = truth.dropna(subset=["probability"])
    assert known["probability"].between(0, 1).all()
    # the truth's judgment dates are the openings the files carry
    failed = truth.dropna(subset=["first_judgment_date"]).groupby("siren")["first_judgment_date"]
    truth_dates = pd.to_datetime(failed.first())
    # each source misses a few judgments and bad lines lose some more: nearly all are found
    found = openings.reindex(truth_dates.index)
    assert (found == truth_dates).mean() > 0.95
    assert openings.index.isin(truth_dates.index).mean() > 0.95
    # oracle: informative, not perfect
    horizon = known[pd.to_datetime(known["month"]) <= pd.Timestamp("2019-06-01")]
    months_ahead = pd.to_datetime(horizon["first_judgment_date"]).dt.to_period("M").astype(
        "int64"
    ) - pd.to_datetime(horizon["month"]).dt.to_period("M").astype("int64")
    label = horizon["first_judgment_date"].notna() & months_ahead.between(1, 18)

    share = label.mean()
    assert 0.008 < share < 0.04, share
    ap = average_precision_score(label, horizon["probability"])
    assert 3 * share < ap < 0.9, (ap, share)


@pytest.mark.slow
def test_debt_and_partial_activity_precede_failures(delivery) -> None:
    raw, _, _ = delivery
    openings = first_openings(raw)
    before_crisis = pd.Timestamp("2020-01-01")  # the window's crisis starts in March 2020
    debit = read(raw, "debit")
    debit = debit[debit["Num_Hist_Ecn"] == "1"]
    processed = debit["Dt_trt_ecn"].map(
        lambda v: str(int(v) + 19000000) if str(v).isdigit() else None
    )
    debit = debit.assign(date=pd.to_datetime(processed, format="%Y%m%d", errors="coerce"))
    requests = read(raw, "apdemande")
    requests = requests.assign(
        siren=requests["ETAB_SIRET"].str[:9],
        date=pd.to_datetime(requests["DATE_DEB"], errors="coerce"),
    )

    def share_with_event(events: pd.DataFrame, key: str, sirens, window_end) -> float:
        hits = 0
        for siren in sirens:
            stop = window_end[siren] if isinstance(window_end, pd.Series) else window_end
            mine = events[events[key] == siren]
            hits += (
                (mine["date"] < stop) & (mine["date"] >= stop - pd.DateOffset(months=12))
            ).any()
        return hits / len(sirens)

    companies = read(raw, "sirene_ul")["siren"]
    survivors = companies[~companies.isin(openings.index)].sample(400, random_state=0)
    failed = openings[(openings > pd.Timestamp("2018-01-01")) & (openings < before_crisis)]
    debt_failed = share_with_event(debit, "Siren", failed.index, failed)
    debt_survivors = share_with_event(debit, "Siren", survivors, before_crisis)
    assert debt_failed > 2 * debt_survivors, (debt_failed, debt_survivors)
    ap_failed = share_with_event(requests, "siren", failed.index, failed)
    ap_survivors = share_with_event(requests, "siren", survivors, before_crisis)
    assert ap_failed > 1.5 * ap_survivors, (ap_failed, ap_survivors)


@pytest.mark.slow
def test_sizes_are_heavy_tailed_with_small_establishments(delivery) -> None:
    raw, _, _ = delivery
    wide = read(raw, "effectif")
    months = [c for c in wide.columns if c.startswith("eff")]
    values = wide[months].apply(
        lambda col: pd.to_numeric(col.str.replace(r"\D", "", regex=True), errors="coerce")
    )
    peak = values.max(axis=1)
    assert 0.05 < (peak < 10).mean() < 0.3
    assert peak.median() < 50
    assert peak.max() > 1000
    sirene = read(raw, "sirene")
    sections = sirene["activitePrincipaleEtablissement"].str[:2]
    assert sections.isin(["84", "85"]).mean() > 0.02  # public administration and education exist
    assert read(raw, "sirene_ul")["categorieJuridiqueUniteLegale"].str.startswith("7").any()


def test_manifest_is_json_with_counts(delivery) -> None:
    raw, _, manifest = delivery
    on_disk = json.loads((raw / "manifest.json").read_text())
    assert on_disk == manifest
    assert {f["file"] for f in on_disk["files"]} == {f.file_name for f in FORMATS.values()}
    for entry in on_disk["files"]:
        assert entry["bad_lines"] == sum(entry["bad_lines_by_kind"].values())
        assert entry["bytes"] == (raw / entry["file"]).stat().st_size
