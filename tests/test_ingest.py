"""Ingest: nothing lost, nothing duplicated, bad files stop the batch, batches replay."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from golden import FIXTURES, GOLDEN, assert_same_records, expected
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from common import delta_io
from common.config import PROJECT_ROOT, ConfigError
from common.lake import Lake
from ingestion.current import current_records
from ingestion.pipeline import BatchRejected, ingest_batch
from ingestion.quality import Rule, Suite, Validator, load_suites

EXPECTATIONS = PROJECT_ROOT / "expectations"
TODAY = dt.date(2026, 11, 26)
COTISATION_HEADER = "Urssaf_gestion;Dep;Siret;Compte;periode;mer;enc_direct;cotis_due\n"


def lake_for(tmp_path: Path, settings) -> Lake:
    return Lake(str(tmp_path / "lake"), settings.tables)


def settings_for(settings, lake: Lake, tmp_path: Path):
    """The settings a job run in this session reads: its lake, the suites, runs under tmp_path."""
    return settings.model_copy(
        update={
            "lake": settings.lake.model_copy(update={"root": lake.root}),
            "ingest": settings.ingest.model_copy(
                update={"expectations_dir": str(EXPECTATIONS), "runs_dir": str(tmp_path / "runs")}
            ),
        }
    )


def run(spark, lake: Lake, raw: Path, batch: str, tmp_path: Path, **kwargs):
    return ingest_batch(
        spark, lake, EXPECTATIONS, tmp_path / "runs", str(raw), batch, today=TODAY, **kwargs
    )


def ingest_job(launcher: list[str], conf, raw: Path, lake: Path, env: dict | None = None):
    """jobs/ingest.py of batch 2024-01 in a subprocess, started by ``launcher``."""
    options = {"--config": conf, "--raw": raw, "--batch": "2024-01", "--lake": lake}
    return subprocess.run(
        [*launcher, "jobs/ingest.py", *[str(v) for pair in options.items() for v in pair]],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def delivery(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


def cotisation_lines(n: int, siret_of=lambda i: f"{10000000000000 + i:014d}") -> str:
    return "".join(
        f"117;75;{siret_of(i)};{100000000000000000 + i};201811;1;{i},50;{i}\n" for i in range(n)
    )


def table_state(spark, lake: Lake) -> dict[str, tuple[int, list]]:
    """Version and sorted content of every table of the lake."""
    state = {}
    for layer in ("bronze", "ops"):
        for path in sorted((Path(lake.root) / layer).glob("*")):
            frame = delta_io.read(spark, str(path))
            rows = sorted(map(str, frame.collect()))
            state[f"{layer}/{path.name}"] = (delta_io.latest_version(spark, str(path)), rows)
    return state


# --- the reference's samples, through the whole ingest ------------------------------------------


SAMPLES = {
    **{source: sample for source, (sample, _) in GOLDEN.items()},
    "apconso": "apconsoTestData.csv",
    "effectif": "effectifTestData.csv",
    "effectif_ent": "effectifEntTestData.csv",
}


@pytest.mark.slow
def test_the_reference_samples_ingest_into_the_expected_records(spark, settings, tmp_path) -> None:
    raw = delivery(tmp_path / "raw", {s: (FIXTURES / s).read_bytes() for s in SAMPLES.values()})
    manifest = {"files": [{"file": sample, "source": source} for source, sample in SAMPLES.items()]}
    (raw / "manifest.json").write_text(json.dumps(manifest))  # their names are not recognisable
    lake = lake_for(tmp_path, settings)
    run(spark, lake, raw, "1902", tmp_path)

    runs = {r.source: r for r in delta_io.read(spark, lake.ingest_runs).collect()}
    assert set(runs) == set(SAMPLES)
    for source in GOLDEN:
        reference = expected(source)
        bronze = delta_io.read(spark, lake.bronze(source)).orderBy("line_number")
        assert_same_records([r.asDict() for r in bronze.collect()], reference["tuples"])
        report, r = reference["reports"][0], runs[source]
        assert r.lines_read == report["lines_parsed"]
        assert r.lines_quarantined + r.lines_field_nulled == report["lines_rejected"]
        assert r.lines_skipped == report["lines_skipped"]
    assert runs["effectif"].records_written == 112 + 112 + 93


# --- bad lines -----------------------------------------------------------------------------


@pytest.mark.slow
def test_bad_lines_are_quarantined_with_their_reason(spark, settings, tmp_path: Path) -> None:
    good = cotisation_lines(300)
    bad = (
        "117;75;10000000000900;100000000000000900;201811;1;5,5\n"  # truncated
        '117;75;"10000000000901;100000000000000901;201811;1;5,5;5\n'  # stray quote
        "117;75;10000000000902;100000000000000902;201811;1;5,5;5;extra\n"  # field count
        "117;75;10000000000903;100000000000000903;201811;1;5,5;12a5\n"  # non-numeric
        "117;75;10000000000904;100000000000000904;201875;1;5,5;5\n"  # impossible period
        "117;75;1000000000905;100000000000000905;201811;1;5,5;5\n"  # SIRET of 13 digits
        "117;75;10000000000906;100000000000000906;209911;1;5,5;5\n"  # in the future
    )
    raw = delivery(tmp_path / "raw", {"sigfaible_cotisation.csv": COTISATION_HEADER + good + bad})
    lake = lake_for(tmp_path, settings)
    result = run(spark, lake, raw, "2024-01", tmp_path)

    quarantine = delta_io.read(spark, lake.quarantine).orderBy("line_number")
    got = [(r.line_number, r.disposition, r.reason) for r in quarantine.collect()]
    assert got == [
        (302, "rejected", "expected 8 fields, found 7"),
        (303, "rejected", "unbalanced double quote"),
        (304, "rejected", "expected 8 fields, found 9"),
        (305, "rejected", "cotis_due: not an amount"),
        (306, "rejected", "periode: not an URSSAF period (YYQM)"),
        (307, "quarantined", "siret is not 14 digits"),
        (308, "quarantined", "periode_debut is in the future"),
    ]
    assert quarantine.where("line_number = 303").first().raw_line.startswith('117;75;"1000')
    # a record quarantined by a rule keeps its line's text too, exactly
    assert quarantine.where("line_number = 307").first().raw_line == bad.splitlines()[5]
    bronze = delta_io.read(spark, lake.bronze("cotisation"))
    assert bronze.count() == 300
    assert bronze.agg(F.max("line_number")).first()[0] == 301
    assert set(bronze.columns) >= {"batch_id", "source_file", "line_number", "ingested_at", "du"}
    runs = delta_io.read(spark, lake.ingest_runs).first()
    assert (runs.lines_read, runs.lines_accepted, runs.lines_quarantined) == (307, 300, 7)
    assert runs.lines_read == runs.lines_accepted + runs.lines_quarantined + runs.lines_skipped
    warnings = {o.rule.description: o.unexpected_count for o in result.outcomes if not o.success}
    assert warnings == {"periode_debut is in the future": 1}  # the SIRET rule allows 1%
    assert result.data_docs is not None and result.data_docs.exists()
    docs = "".join(p.read_text(errors="ignore") for p in result.data_docs.parent.rglob("*.html"))
    assert "1000000000905" not in docs  # no value in Data Docs: counts only


# --- whole files that cannot be used ---------------------------------------------------------


FATAL = {
    "empty": (b"", "the file is empty"),
    "separator": (
        COTISATION_HEADER.replace(";", ",").encode(),
        "wrong separator: expected ';' but the header looks separated by ','",
    ),
    "renamed": (
        COTISATION_HEADER.replace("cotis_due", "cotis_du").encode(),
        "missing required column 'cotis_due' (found 'cotis_du': renamed?)",
    ),
    "undecodable": (
        (COTISATION_HEADER + "117;75;10000000000001;1;201811;1;5;5\n").encode()
        + "117;75;10000000000002;2;201811;1;5;5;Société\n".encode("cp1252"),
        "line 3, character 42: not valid UTF-8",
    ),
    "latin-1 header": (
        COTISATION_HEADER.replace("Dep", "Département").encode("latin-1"),
        "line 1, character 17: not valid UTF-8",
    ),
    "blank header": (
        ("\n" + COTISATION_HEADER + "117;75;10000000000001;1;201811;1;5;5\n").encode(),
        "line 1, the header, is blank",
    ),
    "missing column": (
        (
            COTISATION_HEADER.replace("Compte;", "") + "117;75;10000000000001;201811;1;5;5\n"
        ).encode(),
        "missing required column 'Compte'",
    ),
    "extra header column": (
        (COTISATION_HEADER.replace("\n", ";nouvelle\n") + cotisation_lines(3)).encode(),
        "the header has 9 columns but no data line has 9 fields (they have 8, from line 2)",
    ),
    "column missing from the header": (
        (COTISATION_HEADER.replace(";mer", "") + cotisation_lines(3)).encode(),
        "the header has 7 columns but no data line has 7 fields (they have 8, from line 2)",
    ),
}


@pytest.fixture(scope="module")
def one_batch_lake(spark, settings, tmp_path_factory) -> Path:
    """A lake holding one committed batch, copied by the tests that need one."""
    root = tmp_path_factory.mktemp("one-batch")
    first = delivery(
        root / "first", {"sigfaible_ccsf.csv": (FIXTURES / "ccsfTestData.csv").read_text()}
    )
    run(spark, lake_for(root, settings), first, "2024-01", root)
    return root / "lake"


# A file found unusable when it is read (its bytes, its header) stops the batch before any line
# is parsed; one whose header disagrees with its lines is found when the lines are read by Spark.
FATAL_STAGES = {
    "read": [c for c in FATAL if "no data line" not in FATAL[c][1]],
    "parsed": [c for c in FATAL if "no data line" in FATAL[c][1]],
}


@pytest.mark.parametrize("stage", sorted(FATAL_STAGES))
def test_unusable_files_reject_the_batch_each_named_and_leave_the_lake(
    spark, settings, tmp_path, one_batch_lake, stage
) -> None:
    """One delivery holding one cotisation file per way a file can be unusable at that stage
    (and a usable procol file): each file is refused with its own problem, nothing is
    committed."""
    shutil.copytree(one_batch_lake, tmp_path / "lake")
    lake = lake_for(tmp_path, settings)
    before = table_state(spark, lake)
    cases = {case: FATAL[case] for case in FATAL_STAGES[stage]}
    names = {case: f"sigfaible_cotisation_2024{i:02d}.csv" for i, case in enumerate(cases, 1)}
    raw = delivery(
        tmp_path / "raw",
        {
            **{names[case]: content for case, (content, _) in cases.items()},
            "sigfaible_pcoll.csv": (FIXTURES / "procolTestData.csv").read_text(),
        },
    )
    with pytest.raises(BatchRejected) as rejected:
        run(spark, lake, raw, "2024-02", tmp_path)
    assert "nothing committed" in str(rejected.value)
    for case, (_, problem) in cases.items():
        assert f"{names[case]}: {problem}" in str(rejected.value), case
    after = table_state(spark, lake)
    runs_before, _ = before.pop("ops/ingest_runs"), after.pop("ops/ingest_runs")
    assert after == before  # no data table moved
    files = {f["source_file"]: f for f in json.loads(rejected.value.report.read_text())["files"]}
    for case, (_, problem) in cases.items():
        assert files[names[case]]["status"] == "refused", case
        assert problem in files[names[case]]["message"], case
    # ops/ingest_runs: the committed batch as it was, the rejected one's files not committed
    runs = delta_io.read(spark, lake.ingest_runs)
    assert sorted(map(str, runs.where("committed").collect())) == runs_before[1]
    refused = {r.source_file: r for r in runs.where("NOT committed").collect()}
    assert {n: (r.batch_id, r.status) for n, r in refused.items()} == {
        **{name: ("2024-02", "refused") for name in names.values()},
        "sigfaible_pcoll.csv": ("2024-02", "not_committed"),
    }
    for case, (_, problem) in cases.items():
        assert problem in refused[names[case]].message, case


@pytest.mark.slow  # several Spark jobs and Delta commits: out of make test-fast
def test_a_failed_error_rule_rejects_the_batch(spark, settings, tmp_path: Path) -> None:
    lines = cotisation_lines(
        100, siret_of=lambda i: f"{10000000000000 + i:014d}"[: 13 if i < 5 else 14]
    )
    raw = delivery(tmp_path / "raw", {"sigfaible_cotisation.csv": COTISATION_HEADER + lines})
    lake = lake_for(tmp_path, settings)
    with pytest.raises(BatchRejected, match=r"cotisation: siret is not 14 digits .* 5 of 100 rows"):
        run(spark, lake, raw, "2024-01", tmp_path)
    assert not (Path(lake.root) / "bronze").exists()
    assert sorted(p.name for p in (Path(lake.root) / "ops").iterdir()) == ["ingest_runs"]
    (refused,) = delta_io.read(spark, lake.ingest_runs).collect()
    assert (refused.source_file, refused.status, refused.committed) == (
        "sigfaible_cotisation.csv",
        "refused",
        False,
    )
    assert refused.message.startswith("cotisation: siret is not 14 digits")
    assert refused.lines_read == 100  # parsed and counted before validation refused it

    # the corrected delivery commits the batch: its rows replace the refused attempt's
    (raw / "sigfaible_cotisation.csv").write_text(COTISATION_HEADER + cotisation_lines(100))
    run(spark, lake, raw, "2024-01", tmp_path)
    runs = delta_io.read(spark, lake.ingest_runs).collect()
    assert [(r.status, r.committed, r.lines_accepted) for r in runs] == [("ingested", True, 100)]


def test_sources_validated_at_once_each_get_their_own_counts(spark, tmp_path: Path) -> None:
    """great-expectations run from several threads (as ingest validates two sources at a
    time): each source's outcomes are counted on its own records."""

    def suite(source: str) -> Suite:
        rule = Rule(
            expect="column_values_to_be_between",
            kwargs={"column": "x", "min_value": 0},
            severity="warn",
            description="x is not negative",
        )
        return Suite(source=source, rules=[rule])

    # source i: 10 + i rows, i of them negative
    frames = {
        f"s{i}": spark.createDataFrame([(-1 if r < i else r,) for r in range(10 + i)], "x int")
        for i in range(6)
    }
    validator = Validator(tmp_path / "gx", dt.date(2024, 1, 31), {n: suite(n) for n in frames})
    with ThreadPoolExecutor(max_workers=3) as pool:
        validated = list(pool.map(lambda n: validator.validate(n, frames[n]), frames))
    got = [
        [(o.source, o.element_count, o.unexpected_count, o.success) for o in v] for v in validated
    ]
    assert got == [[(f"s{i}", 10 + i, i, i == 0)] for i in range(6)]


# --- edge cases of a delivery that ingest ------------------------------------------------------


def cotisation_line(i: int, end: str = "\n", mer: bool = True) -> str:
    values = ["117", "75", f"{10000000000000 + i:014d}", f"{100 + i}", "201811", "1", "0", str(i)]
    return ";".join(values if mer else values[:5] + values[6:]) + end


@pytest.mark.slow
def test_edge_cases_of_a_delivery_are_ingested_and_counted(spark, settings, tmp_path) -> None:
    header = COTISATION_HEADER.rstrip("\n")
    raw = delivery(
        tmp_path / "raw",
        {
            # a byte-order mark, CRLF and LF line ends mixed, a blank line
            "sigfaible_cotisation.csv": "\ufeff"
            + header
            + "\r\n"
            + cotisation_line(1, end="\r\n")
            + cotisation_line(2)
            + "\r\n"
            + cotisation_line(3, end="\r\n"),
            "sigfaible_cotisation_202401.csv": COTISATION_HEADER,  # a header, no line
            # a new column: the lines that have it are read, the one without it is quarantined
            "sigfaible_cotisation_202402.csv": header
            + ";nouvelle\n"
            + cotisation_line(4, end=";a\n")
            + cotisation_line(5)
            + cotisation_line(6, end=";b\n"),
            # an optional column (mer) absent from the header and the lines
            "sigfaible_cotisation_202403.csv": COTISATION_HEADER.replace(";mer", "")
            + cotisation_line(7, mer=False),
            "rapport.pdf": b"%PDF-1.4\n\xff\xfe\x00binary\n",  # no parser claims it
        },
    )
    lake = lake_for(tmp_path, settings)
    run(spark, lake, raw, "2024-01", tmp_path)

    runs = delta_io.read(spark, lake.ingest_runs).select(
        "source_file",
        "status",
        "lines_read",
        "blank_lines",
        "lines_accepted",
        "lines_quarantined",
        "lines_skipped",
        "records_written",
    )
    counts = (
        "source_file string, status string, lines_read long, blank_lines long, "
        "lines_accepted long, lines_quarantined long, lines_skipped long, "
        "records_written long"
    )
    assertDataFrameEqual(
        runs,
        spark.createDataFrame(
            [
                ("rapport.pdf", "unknown_file", 0, 0, 0, 0, 0, 0),
                ("sigfaible_cotisation.csv", "ingested", 3, 1, 3, 0, 0, 3),
                ("sigfaible_cotisation_202401.csv", "ingested", 0, 0, 0, 0, 0, 0),
                ("sigfaible_cotisation_202402.csv", "ingested", 3, 0, 2, 1, 0, 2),
                ("sigfaible_cotisation_202403.csv", "ingested", 1, 0, 1, 0, 0, 1),
            ],
            counts,
        ),
    )
    unknown = delta_io.read(spark, lake.ingest_runs).where("source_file = 'rapport.pdf'").first()
    assert unknown.message.startswith("no parser claims it")
    assert unknown.bytes == (raw / "rapport.pdf").stat().st_size

    bronze = delta_io.read(spark, lake.bronze("cotisation")).select(
        "source_file", "line_number", "numero_compte", "mer", "du"
    )
    assertDataFrameEqual(
        bronze,
        spark.createDataFrame(
            [
                ("sigfaible_cotisation.csv", 2, "101", "1", 1.0),
                ("sigfaible_cotisation.csv", 3, "102", "1", 2.0),
                (
                    "sigfaible_cotisation.csv",
                    5,
                    "103",
                    "1",
                    3.0,
                ),  # no carriage return left in cotis_due
                ("sigfaible_cotisation_202402.csv", 2, "104", "1", 4.0),
                ("sigfaible_cotisation_202402.csv", 4, "106", "1", 6.0),
                ("sigfaible_cotisation_202403.csv", 2, "107", None, 7.0),
            ],
            "source_file string, line_number long, numero_compte string, mer string, du double",
        ),
    )
    quarantine = delta_io.read(spark, lake.quarantine)
    assert [
        (r.source_file, r.line_number, r.disposition, r.reason) for r in quarantine.collect()
    ] == [("sigfaible_cotisation_202402.csv", 3, "rejected", "expected 9 fields, found 8")]


def test_a_wide_files_quarantined_month_keeps_its_lines_text(spark, settings, tmp_path) -> None:
    """A headcount line is one record per month: a month quarantined by a rule is stored with
    the text of the line it came from."""
    header = "compte;siret;rais_soc;ape_ins;dep;eff201811;eff201812;eff201813;base;UR_EMET\n"
    lines = [
        "101;10000000000001;a;1234a;75;12;12;13;b;117",
        "102;10000000000002;b;1234a;75;20;-7;21;b;117",  # a negative headcount
        "103;10000000000003;c;1234a;75;5;5;5;b;117",
    ]
    raw = delivery(tmp_path / "raw", {"sigfaible_effectif_siret.csv": header + "\n".join(lines)})
    lake = lake_for(tmp_path, settings)
    run(spark, lake, raw, "2024-01", tmp_path)
    quarantine = delta_io.read(spark, lake.quarantine).collect()
    assert [(r.line_number, r.disposition, r.reason, r.raw_line) for r in quarantine] == [
        (3, "quarantined", "negative or implausible headcount", lines[1])
    ]
    assert delta_io.read(spark, lake.bronze("effectif")).count() == 3 * 3 - 1


# --- data-quality suites cannot be skipped ---------------------------------------------------


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_without_suites_nothing_is_ingested(spark, settings, tmp_path: Path, state) -> None:
    folder = tmp_path / "expectations"
    if state == "empty":
        folder.mkdir()
        (folder / "README.md").write_text("the suites moved")  # not a suite
    raw = delivery(
        tmp_path / "raw", {"sigfaible_cotisation.csv": COTISATION_HEADER + cotisation_lines(3)}
    )
    lake = lake_for(tmp_path, settings)
    message = {
        "missing": f"expectations folder not found: {folder} (ingest.expectations_dir)",
        "empty": f"expectations folder {folder} holds no data-quality suite (*.yaml)",
    }
    with pytest.raises(ConfigError, match=re.escape(message[state])):
        ingest_batch(spark, lake, folder, tmp_path / "runs", str(raw), "2024-01", today=TODAY)
    assert not Path(lake.root).exists()


def test_two_suites_for_one_source_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "expectations"
    folder.mkdir()
    for name in ("cotisation.yaml", "cotisation_v2.yaml", "debit.yaml"):
        shutil.copy(
            EXPECTATIONS / ("debit.yaml" if name == "debit.yaml" else "cotisation.yaml"),
            folder / name,
        )
    with pytest.raises(ConfigError) as refused:
        load_suites(folder)
    assert str(refused.value) == (
        f"{folder / 'cotisation_v2.yaml'}: source 'cotisation' already has a suite, cotisation.yaml"
    )


def test_a_source_without_a_suite_rejects_the_batch(spark, settings, tmp_path: Path) -> None:
    folder = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS, folder, ignore=shutil.ignore_patterns("cotisation.yaml"))
    raw = delivery(
        tmp_path / "raw",
        {
            "sigfaible_cotisation.csv": COTISATION_HEADER + cotisation_lines(3),
            "sigfaible_cotisation_202402.csv": COTISATION_HEADER + cotisation_lines(2),
            "sigfaible_pcoll.csv": (FIXTURES / "procolTestData.csv").read_text(),
        },
    )
    lake = lake_for(tmp_path, settings)
    with pytest.raises(BatchRejected) as rejected:
        ingest_batch(spark, lake, folder, tmp_path / "runs", str(raw), "2024-01", today=TODAY)
    problem = (
        f"cotisation: no data-quality suite in {folder} (expected cotisation.yaml, with "
        "'source: cotisation'); files: sigfaible_cotisation.csv, "
        "sigfaible_cotisation_202402.csv"
    )
    assert rejected.value.problems == [problem]
    assert sorted(p.relative_to(lake.root).as_posix() for p in Path(lake.root).glob("*/*")) == [
        "ops/ingest_runs"
    ]
    runs = delta_io.read(spark, lake.ingest_runs).where("NOT committed")
    assert sorted((r.source_file, r.status) for r in runs.collect()) == [
        ("sigfaible_cotisation.csv", "refused"),
        ("sigfaible_cotisation_202402.csv", "refused"),
        ("sigfaible_pcoll.csv", "not_committed"),
    ]
    files = {f["source_file"]: f for f in json.loads(rejected.value.report.read_text())["files"]}
    assert [
        (name, f["status"]) for name, f in sorted(files.items()) if f["status"] == "refused"
    ] == [("sigfaible_cotisation.csv", "refused"), ("sigfaible_cotisation_202402.csv", "refused")]
    assert files["sigfaible_cotisation.csv"]["message"] == problem


@pytest.mark.integration
def test_the_job_stops_before_spark_without_suites(tmp_path: Path) -> None:
    folder = tmp_path / "no-expectations"
    conf = tmp_path / "conf.yaml"
    conf.write_text(
        f"extends: {PROJECT_ROOT / 'conf' / 'test.yaml'}\ningest:\n  expectations_dir: {folder}\n"
    )
    raw = delivery(tmp_path / "raw", {"sigfaible_cotisation.csv": COTISATION_HEADER})
    # through spark-submit.sh: the job's exit code is the command's
    result = ingest_job([str(PROJECT_ROOT / "spark-submit.sh")], conf, raw, tmp_path / "lake")
    output = result.stdout + result.stderr  # spark-submit merges the job's stderr into stdout
    assert result.returncode == 1, output[-3000:]
    assert (
        f"error: expectations folder not found: {folder} (ingest.expectations_dir); "
        "ingest does not run without its data-quality suites"
    ) in output.splitlines()
    assert "Traceback" not in output and "SparkContext" not in output
    assert not (tmp_path / "lake").exists()


# --- batches ---------------------------------------------------------------------------------


DEBIT_HEADER = (
    "Urssaf_gestion;Dep;num_cpte;Siren;Siret;Dt_immat;Etat_cpte;Cd_pro_col;Periode;"
    "Num_Ecn;Num_Hist_Ecn;Dt_trt_ecn;Mt_PO;Mt_PP;Cd_op_ecn;Motif_ecn;Recours_en_cours\n"
)


def debit_line(history: int, date: str, po: int, pp: int) -> str:
    return f"117;75;1;100000199;10000019900016;20100101;1;0;201811;100;{history};{date};{po};{pp};1;00;0\n"


@pytest.mark.slow
def test_batches_replay_corrections_and_duplicates(spark, settings, tmp_path: Path) -> None:
    lake = lake_for(tmp_path, settings)
    siret = "10000019900016"
    b1 = delivery(
        tmp_path / "b1",
        {
            "sigfaible_cotisation.csv": COTISATION_HEADER + f"117;75;{siret};1;201811;1;0;100\n"
            f"117;75;{siret};1;201812;1;200;200\n",
            "sigfaible_debits.csv": DEBIT_HEADER + debit_line(1, "1180215", 3300, 6700),
            "notes.txt": "not a source",
        },
    )
    b2 = delivery(
        tmp_path / "b2",
        {
            "sigfaible_cotisation_202402.csv": COTISATION_HEADER
            + f"117;75;{siret};1;201811;1;120;120\n",
            "sigfaible_debits.csv": DEBIT_HEADER
            + debit_line(1, "1180215", 3300, 6700)
            + debit_line(2, "1180320", 0, 0),
        },
    )
    first = run(spark, lake, b1, "2024-01", tmp_path)
    assert {f.source_file: f.status for f in first.files}["notes.txt"] == "unknown_file"
    run(spark, lake, b2, "2024-02", tmp_path)
    after_sequence = table_state(spark, lake)

    # the same batch again: nothing happens, not even a new table version
    again = run(spark, lake, b1, "2024-01", tmp_path)
    assert again.already_ingested
    assert table_state(spark, lake) == after_sequence
    # a new batch whose id sorts before the last one would never be current: refused
    with pytest.raises(
        BatchRejected,
        match="batch 2023-12 sorts before the last committed "
        r"batch 2024-02: .*or use --force",
    ):
        run(spark, lake, b1, "2023-12", tmp_path)
    assert table_state(spark, lake) == after_sequence

    # the current record of a key is the latest batch's; every debt state is kept
    cotisation = current_records(delta_io.read(spark, lake.bronze("cotisation")), "cotisation")
    assert sorted((str(r.periode_debut), r.du, r.batch_id) for r in cotisation.collect()) == [
        ("2018-01-01", 120.0, "2024-02"),
        ("2018-02-01", 200.0, "2024-01"),
    ]
    debit = current_records(delta_io.read(spark, lake.bronze("debit")), "debit")
    assert sorted((r.numero_historique, r.part_patronale) for r in debit.collect()) == [
        (1, 67.0),
        (2, 0.0),
    ]
    assert delta_io.read(spark, lake.bronze("debit")).count() == 3  # both deliveries kept

    # replaying the older batch by force gives the same current view
    run(spark, lake, b1, "2024-01", tmp_path, force=True)
    replayed = current_records(delta_io.read(spark, lake.bronze("cotisation")), "cotisation")
    assert sorted(map(str, replayed.drop("ingested_at").collect())) == sorted(
        map(str, cotisation.drop("ingested_at").collect())
    )

    # other files for an ingested batch need --force
    with pytest.raises(BatchRejected, match="already ingested from other files"):
        run(spark, lake, b2, "2024-01", tmp_path)

    # a file delivered again, identical, under a new batch: reported, not duplicated
    b3 = delivery(
        tmp_path / "b3", {"sigfaible_debits.csv": (b2 / "sigfaible_debits.csv").read_text()}
    )
    third = run(spark, lake, b3, "2024-03", tmp_path)
    assert third.files[0].status == "duplicate"
    assert "identical to sigfaible_debits.csv of batch 2024-02" in third.files[0].message
    assert delta_io.read(spark, lake.bronze("debit")).where("batch_id = '2024-03'").count() == 0


# --- a whole generated delivery ----------------------------------------------------------------


@pytest.mark.slow
def test_a_generated_batch_reconciles_with_the_manifest(spark, world) -> None:
    """The shared world's delivery (generated with bad lines), as its fixture ingested it."""
    manifest, lake, result = world.manifest, world.lake, world.ingested
    assert sum(f["bad_lines"] for f in manifest["files"]) > 100
    runs = {r.source_file: r for r in delta_io.read(spark, lake.ingest_runs).collect()}
    assert set(runs) == {f["file"] for f in manifest["files"]}
    for entry in manifest["files"]:
        r = runs[entry["file"]]
        assert r.status == "ingested"
        assert r.lines_read == entry["lines"], entry["file"]
        assert r.blank_lines == entry["blank_lines"], entry["file"]
        # every injected bad line is rejected, and nothing else (warn rules quarantine none here)
        assert r.lines_rejected == entry["bad_lines"], entry["file"]
        assert r.lines_read == r.lines_accepted + r.lines_quarantined + r.lines_skipped
    quarantine = delta_io.read(spark, lake.quarantine)
    assert quarantine.where("disposition = 'rejected'").count() == sum(
        f["bad_lines"] for f in manifest["files"]
    )
    assert all(o.success or o.rule.severity == "warn" for o in result.outcomes)
    dq = delta_io.read(spark, lake.dq_results)
    assert (
        dq.count() == sum(1 for _ in result.outcomes)
        and dq.where(F.col("batch_id") == world.batch).count() > 0
    )


@pytest.mark.slow  # the job's own code, several Spark jobs and commits
def test_the_job_reports_a_rejected_batch(spark, settings, tmp_path: Path, capsys) -> None:
    # the job's own code in this session (its exit code through spark-submit.sh: above)
    from jobs import ingest as job

    raw = delivery(tmp_path / "raw", {"sigfaible_cotisation.csv": b""})
    args = job.parse_args(["--raw", str(raw), "--batch", "2024-01"])
    assert job.run(spark, settings_for(settings, lake_for(tmp_path, settings), tmp_path), args) == 1
    output = capsys.readouterr().err
    assert "batch 2024-01 rejected, nothing committed" in output
    assert "sigfaible_cotisation.csv: the file is empty" in output
    report = Path(output.split("report: ")[1].split()[0])
    assert json.loads(report.read_text())["problems"] == [
        "sigfaible_cotisation.csv: the file is empty"
    ]
    assert not (tmp_path / "lake" / "bronze").exists()  # only ops/ingest_runs records it


# --- two jobs ingesting the same batch at once -------------------------------------------------


@pytest.mark.slow  # several Spark jobs and Delta commits: out of make test-fast
def test_a_job_that_loses_its_commit_to_another_exits_3(
    spark, settings, tmp_path, monkeypatch, capsys
) -> None:
    """The conflict is forced: the job's bronze write waits, once its transaction has read the
    table, until another ingest of the same batch has committed; its commit must then fail,
    and the job say so (exit code 3) with nothing duplicated."""
    from holding import held_at_first_row, release, wait_until_held

    from ingestion import pipeline
    from jobs import ingest as job

    raw = delivery(
        tmp_path / "raw", {"sigfaible_cotisation.csv": COTISATION_HEADER + cotisation_lines(20)}
    )
    lake = lake_for(tmp_path, settings)
    held_dir = tmp_path / "held"
    held_dir.mkdir()
    job_settings = settings_for(settings, lake, tmp_path)
    args = job.parse_args(["--raw", str(raw), "--batch", "2024-02"])
    run(
        spark,
        lake,
        delivery(
            tmp_path / "first",
            {"sigfaible_cotisation.csv": COTISATION_HEADER + cotisation_lines(3)},
        ),
        "2024-01",
        tmp_path,
    )

    commit_source = pipeline._commit_source

    def held_commit(lake_, batch_id, name, source, stamp, derived):
        source.flagged = held_at_first_row(source.flagged, held_dir, "source_file")
        return commit_source(lake_, batch_id, name, source, stamp, derived)

    monkeypatch.setattr(pipeline, "_commit_source", held_commit)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(job.run, spark, job_settings, args)
        wait_until_held(held_dir, held, "bronze write")
        other = run(spark, lake, raw, "2024-02", tmp_path)  # the other job, start to end
        release(held_dir)
        code = held.result(timeout=300)
    err = capsys.readouterr().err
    assert code == 3, err[-3000:]
    assert "error: batch 2024-02: another job committed to the same tables" in err
    assert "Run the same command again" in err
    assert not other.already_ingested
    # the other job's commit stands, once: no row doubled
    bronze = delta_io.read(spark, lake.bronze("cotisation")).where("batch_id = '2024-02'")
    assert bronze.count() == bronze.dropDuplicates(["source_file", "line_number"]).count() == 20
    # run again, as the message says: the batch is complete, nothing to do
    assert job.run(spark, job_settings, args) == 0
    assert "already ingested from these files: nothing to do" in capsys.readouterr().out
