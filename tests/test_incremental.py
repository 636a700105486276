"""The month: a world delivered in two monthly batches, the second through the monthly command
(whose first attempt fails on purpose, and whose rerun resumes); the panel updated after each
equals a full rebuild of the same lake, cell for cell; which months a change reaches, on
hand-made silver tables."""

from __future__ import annotations

import json
import re
from functools import reduce
from pathlib import Path

import pytest
from browser import drawn_rows, rendered, visible
from delta.tables import DeltaTable
from frames import assert_same_panel, stale_panel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from common import delta_io, months
from common.config import PROJECT_ROOT
from common.lake import Lake
from common.maintenance import discover_tables
from features import silver as S
from features.catalog import by_name
from features.changes import MONTHLY as MONTHLY_TABLES
from features.changes import (
    changed_months,
    earliest_changes,
    earliest_of_prints,
    establishments_months,
    financials_months,
    judged_companies,
    month_prints,
)
from features.compute import PanelSettings
from features.incremental import Plan, changed_targets
from features.panel import gold_schema
from features.pipeline import SOURCES, prints_at, run_panel, silver_inputs
from generator.calibration import make_scenario
from generator.delivery import Request, write_delivery
from generator.monthly import Split, split_delivery
from ingestion.datadocs import external_loads
from ingestion.pipeline import ingest_batch
from orchestration.monthly import (
    STEPS,
    MonthFailed,
    run_month,
    step_tables,
    table_versions,
)
from orchestration.monthly import Request as MonthRequest

LAST = "2018-06"


class TwoBatches:
    """A small world cut in two deliveries (generator/monthly.py): the first ingested and
    followed by an incremental panel run; the second through the monthly command, whose first
    attempt fails on purpose in the panel step (building silver/debt, once at least two silver
    tables are written) and whose rerun resumes there; then the same lake rebuilt in full.
    Scored and monitored with the champion of the ``trained`` fixture."""

    def __init__(self, root: Path, trained_settings, spark):
        request = Request(
            establishments=240,
            months=30,
            start="2016-01",
            seed=8,
            bad_line_rate=0.002,
            yearly_failure_rate=0.08,
        )
        scenario = make_scenario(
            request.seed, request.start, request.months, request.yearly_failure_rate
        )
        write_delivery(spark, scenario, request, root / "raw", root / "truth")
        self.split = split_delivery(
            root / "raw", root / "first", root / "second", Split(LAST, correction_rate=0.05)
        )
        s = trained_settings
        self.settings = s.model_copy(
            update={
                "lake": s.lake.model_copy(update={"root": str(root / "lake")}),
                "ingest": s.ingest.model_copy(update={"runs_dir": str(root / "runs")}),
                "scoring": s.scoring.model_copy(update={"lists_dir": str(root / "lists")}),
            }
        )
        self.lake = Lake.from_settings(self.settings)
        ingest_batch(
            spark,
            self.lake,
            PROJECT_ROOT / "expectations",
            root / "runs",
            str(root / "first"),
            "2018-05",
        )
        self.runs = [run_panel(spark, self.lake, self.settings.panel)]
        self.before = checksums(spark, self.panel_tables(spark))
        self.silver_before = self.silver_versions(spark)

        self.request = MonthRequest(str(root / "second"), LAST)
        with pytest.MonkeyPatch.context() as patch, pytest.raises(MonthFailed) as failed:
            patch.setattr("features.silver.build", _failing_on(FAILING, S.build))
            run_month(spark, self.settings, self.request)
        self.failure = failed.value
        self.after_failure = checksums(spark, self.panel_tables(spark))
        self.bronze = table_versions(spark, step_tables(spark, self.lake, "ingest"))
        self.month = run_month(spark, self.settings, self.request)  # resumes at the panel
        self.runs.append(self.month.outcomes[1].result)
        self.incremental_version = self.runs[-1].version
        self.silver_after = self.silver_versions(spark)
        # a panel written by an older catalog: the next run must rebuild it all
        stale_panel(spark, self.lake.panel, overwrite_schema=True)
        self.full = run_panel(spark, self.lake, self.settings.panel)

    def panel_tables(self, spark) -> list[str]:
        return step_tables(spark, self.lake, "panel")

    def silver_versions(self, spark) -> dict[str, int]:
        return {n: delta_io.latest_version(spark, self.lake.silver(n)) for n in S.TABLES}


FAILING = "debt"  # the third silver table: the first two are written when it fails


def _failing_on(table: str, build):
    """``features.silver.build`` but for ``table``, whose building fails. Failing early in the
    step keeps the failed attempt cheap (its months are not computed) while it has written
    tables to restore."""

    def failing(name, *args, **kwargs):
        if name == table:
            raise RuntimeError(f"injected failure, building silver/{table}")
        return build(name, *args, **kwargs)

    return failing


def checksums(spark, paths: list[str]) -> dict[str, tuple[int, int]]:
    """Each table's row count and sum of row hashes: equal contents, equal checksums (every
    table in one Spark job)."""
    sums = []
    for path in paths:
        table = delta_io.read(spark, path)
        hashed = F.xxhash64(*[F.col(f"`{c}`") for c in table.columns]).cast("decimal(38,0)")
        sums.append(
            table.agg(F.count(F.lit(1)).alias("rows"), F.sum(hashed).alias("hash")).select(
                F.lit(path).alias("path"), "rows", "hash"
            )
        )
    return {
        r["path"]: (r["rows"], r["hash"]) for r in reduce(DataFrame.unionByName, sums).collect()
    }


@pytest.fixture(scope="module")
def batches(spark, trained, tmp_path_factory) -> TwoBatches:
    return TwoBatches(tmp_path_factory.mktemp("two-batches"), trained.settings, spark)


def test_the_second_delivery_holds_the_last_month_and_corrections(batches) -> None:
    second = {e["source"]: e["lines"] for e in batches.split["second"]}
    assert {"cotisation", "debit", "effectif", "effectif_ent"} <= set(second)
    assert all(n > 0 for n in second.values())


def test_the_incremental_panel_equals_a_full_rebuild(spark, batches) -> None:
    first, second = batches.runs
    assert first.changes.mode == "full"  # no earlier run
    assert second.changes.mode == "incremental"
    # the new month and corrections to earlier months, not the whole history
    assert 1 < second.changes.months < first.changes.months
    assert "new months" in second.changes.reasons and "contributions" in second.changes.reasons
    assert second.target_rows > 0  # the closing horizon (and new judgments) reached back
    # the monthly tables it rewrote compared by the fingerprints kept with their commits
    rewritten = {n for n in MONTHLY_TABLES if batches.silver_after[n] != batches.silver_before[n]}
    assert set(second.changes.fingerprinted) == rewritten != set()
    assert batches.full.changes.reasons == {"full": "the variable catalog changed"}
    incremental = delta_io.read(spark, batches.lake.panel, batches.incremental_version)
    assert_same_panel(incremental, delta_io.read(spark, batches.lake.panel, batches.full.version))


def test_the_month_rewrites_only_the_silver_tables_whose_sources_it_delivered(batches) -> None:
    delivered = {e["source"] for e in batches.split["second"]}
    rewritten = {n for n in S.TABLES if batches.silver_after[n] != batches.silver_before[n]}
    expected = {
        name
        for name, table in S.TABLES.items()
        if delivered & set(table.sources) or "last_month" in table.parameters  # a new month
    }
    assert rewritten == expected
    assert set(batches.runs[1].silver_kept) == set(S.TABLES) - expected != set()


def test_a_monthly_silver_table_keeps_its_fingerprints_with_its_commit(spark, batches) -> None:
    for name in MONTHLY_TABLES:
        path = batches.lake.silver(name)
        version = delta_io.latest_version(spark, path)
        kept = prints_at(spark, path, version)
        assert kept == month_prints(delta_io.read(spark, path, version)) and len(kept) > 12


def test_a_silver_table_depends_on_its_sources_parameters_and_code(monkeypatch) -> None:
    commits = {s: (3, "2021-06-05T10:00:00") for s in SOURCES}
    parameters = {"filing_lag_months": 6, "last_month": 257}
    base = {n: silver_inputs(n, commits, parameters) for n in S.TABLES}

    def changed(commits=commits, parameters=parameters) -> set[str]:
        return {n for n in S.TABLES if silver_inputs(n, commits, parameters) != base[n]}

    assert changed() == set()
    assert changed({**commits, "debit": (4, "2021-07-05T10:00:00")}) == {"debt"}
    # a table deleted and ingested again: version 3 again, at another time
    assert changed({**commits, "sirene_ul": (3, "2021-07-05T10:00:00")}) == {"establishments"}
    assert changed({**commits, "procol": (4, "2021-07-05T10:00:00")}) == {"judgments"}
    assert changed(parameters={**parameters, "last_month": 258}) == {"debt"}
    assert changed(parameters={**parameters, "filing_lag_months": 4}) == {"financials"}
    monkeypatch.setattr("features.pipeline.silver_code", lambda: "another version")
    assert changed() == set(S.TABLES)


def test_a_failed_step_leaves_the_tables_it_writes_as_they_were(spark, batches) -> None:
    failure = batches.failure
    assert failure.step == "panel" and failure.code == 1
    assert "RuntimeError: injected failure" in str(failure)
    # the silver tables written before the failure: restored, none created. They are written
    # a few at a time (panel.silver_writers, 3 here): the two begun with the failing one are
    # finished and restored; whether a later one had begun by then depends on timing
    written = list(S.TABLES)[: list(S.TABLES).index(FAILING)]
    restored = set(failure.restored)
    assert {f"silver/{n}" for n in written} <= restored != set()
    assert restored <= {f"silver/{n}" for n in S.TABLES if n != FAILING}
    assert failure.created == [] and failure.unrestored is None
    assert batches.after_failure == batches.before
    records = delta_io.read(spark, batches.lake.monthly_runs).orderBy("started_at").collect()
    first = [(r["step"], r["status"]) for r in records][:2]
    assert first == [("ingest", "done"), ("panel", "failed")]
    failed = records[1]
    assert "injected failure" in failed["error"] and failed["seconds"] > 0
    assert json.loads(failed["restored"]) == failure.restored
    # the restore is a commit of its own, saying why
    history = DeltaTable.forPath(spark, batches.lake.silver(written[0])).history().collect()
    restores = [h for h in history if h["operation"] == "RESTORE"]
    assert [json.loads(h["userMetadata"]) for h in restores] == [
        {"monthly": f"batch {LAST}: panel failed, restored"}
    ]


def test_a_rerun_resumes_at_the_failed_step(spark, batches) -> None:
    month = batches.month
    assert [(o.step, o.status) for o in month.outcomes] == [
        ("ingest", "skipped"),
        ("panel", "done"),
        ("score", "done"),
        ("monitor", "done"),
        ("export", "done"),
    ]
    assert month.period == LAST
    # the ingest done by the failed attempt is not redone
    assert table_versions(spark, list(batches.bronze)) == batches.bronze
    scored = month.outcomes[2].result
    scores = delta_io.read(spark, batches.lake.scores).where(f"periode = DATE'{LAST}-01'")
    assert scored.rows == scores.count() > 0
    assert {r["batch_id"] for r in scores.select("batch_id").distinct().collect()} == {LAST}
    listed = json.loads(month.outcomes[4].result.read_text(encoding="utf-8"))
    assert 0 < len(listed) <= scored.rows and listed[0]["periode"] == LAST
    records = delta_io.read(spark, batches.lake.monthly_runs).where("status = 'done'")
    assert sorted(r["step"] for r in records.collect()) == sorted(STEPS)


def test_a_month_done_is_not_redone(spark, batches) -> None:
    tables = discover_tables(spark, batches.lake.root)
    before = table_versions(spark, tables)
    again = run_month(spark, batches.settings, batches.request)
    assert [o.status for o in again.outcomes] == ["skipped"] * len(STEPS)
    assert again.period == LAST and table_versions(spark, tables) == before


def test_each_run_is_recorded_with_the_months_it_rewrote_and_why(spark, batches) -> None:
    runs = delta_io.read(spark, batches.lake.panel_runs).orderBy("run_at").collect()
    assert [r["mode"] for r in runs][:3] == ["full", "incremental", "full"]
    second = runs[1]
    assert second["last_month"] == LAST and second["data_last_month"] == LAST
    assert second["months_rewritten"] == batches.runs[1].changes.months
    assert second["first_month"] == months.label(batches.runs[1].changes.first)
    assert "new months" in json.loads(second["reasons"])
    assert second["panel_version"] == batches.incremental_version
    assert second["target_rows_updated"] == batches.runs[1].target_rows
    # the panel's commits say why they were made
    history = DeltaTable.forPath(spark, batches.lake.panel).history().collect()
    notes = [json.loads(h["userMetadata"]) for h in history if h["userMetadata"]]
    assert any(
        n.get("panel", "").startswith("incremental: ") and second["first_month"] in n["panel"]
        for n in notes
    )


def test_a_full_rebuild_replaces_a_changed_schema(spark, batches) -> None:
    table = delta_io.read(spark, batches.lake.panel)
    assert delta_io.schema_changes(gold_schema(), table.schema) == []
    assert [f.name for f in table.schema.fields] == [f.name for f in gold_schema().fields]
    assert table.schema["dette_totale"].metadata == {
        "comment": by_name()["dette_totale"].description
    }


def test_a_run_with_nothing_new_rewrites_nothing(spark, batches) -> None:
    silver = batches.silver_versions(spark)
    run = run_panel(spark, batches.lake, batches.settings.panel)
    assert run.changes.mode == "unchanged" and run.changes.first is None
    assert run.target_rows == 0 and run.version == batches.full.version
    assert run.silver_kept == tuple(S.TABLES) and batches.silver_versions(spark) == silver


def test_a_month_range_is_replaced_and_the_rest_untouched(spark, batches, tmp_path) -> None:
    import shutil

    shutil.copytree(batches.lake.root, tmp_path / "lake")
    lake = Lake(str(tmp_path / "lake"), batches.lake.tables)
    before = delta_io.read(spark, lake.panel, version=delta_io.latest_version(spark, lake.panel))
    outside = before.where("periode < '2017-01-01' OR periode > '2017-03-01'")
    expected_outside = sorted(
        map(str, outside.select("siret", "periode", "dette_totale", "effectif").collect())
    )
    # a stricter population for the rewritten months only
    stricter = batches.settings.panel.model_copy(update={"min_employees": 30})
    run = run_panel(spark, lake, stricter, "2017-01", "2017-03")
    assert (run.first_month, run.last_month) == ("2017-01", "2017-03")
    after = delta_io.read(spark, lake.panel)
    inside = after.where("periode BETWEEN '2017-01-01' AND '2017-03-01'")
    assert inside.count() > 0 and inside.where("effectif_max12 < 30").count() == 0
    assert (
        before.where(
            "periode BETWEEN '2017-01-01' AND '2017-03-01' AND effectif_max12 < 30"
        ).count()
        > 0
    )
    kept = after.where("periode < '2017-01-01' OR periode > '2017-03-01'")
    assert (
        sorted(map(str, kept.select("siret", "periode", "dette_totale", "effectif").collect()))
        == expected_outside
    )
    assert run.changes.mode == "range"


# --- which months a change reaches, on hand-made silver tables -------------------------------

MONTHLY = "siret string, month_index int, effectif double"
SETTINGS = PanelSettings(
    start_index=200,
    last_index=220,
    horizon_months=18,
    min_employees=10,
    lookback_months=12,
    excluded_naf_sections=(),
    public_legal_prefixes=(),
    partitions=1,
)


def _silver(spark, **changes):
    """Unchanged silver tables but for ``changes`` (name -> rows)."""
    tables = {
        "headcount": [("A", 210, 12.0), ("A", 211, 12.0), ("B", 205, 30.0)],
        "contributions": [("A", 210, 100.0)],
        "debt": [],
        "company_headcount": [],
        "partial_activity": [],
        "payment_delays": [],
        "financials": [
            ("1", "2017-12-31", 216, None),
            ("2", "2016-12-31", 204, 215),
            ("2", "2017-12-31", 216, None),
        ],
        "establishments": [("A", "1", "1010Z"), ("B", "2", "2020Z")],
        "judgments": [("1", "2018-03-10")],
    }
    tables.update(changes)
    schemas = {
        "financials": "siren string, date_fin_exercice string, disponible int, jusqua int",
        "establishments": "siret string, siren string, code_naf string",
        "judgments": "siren string, date_premiere_ouverture string",
    }
    return {n: spark.createDataFrame(rows, schemas.get(n, MONTHLY)) for n, rows in tables.items()}


def _least(frame) -> int | None:
    return frame.agg(F.min("m")).first()[0]


@pytest.mark.slow  # several Spark jobs and Delta commits: out of make test-fast
def test_a_corrected_month_and_a_removed_one_reach_from_the_earliest(spark) -> None:
    old = _silver(spark)
    assert earliest_changes(old, _silver(spark)) == {}  # nothing changed: no month
    new = _silver(
        spark,
        headcount=[("A", 210, 12.0), ("A", 211, 13.0)],  # B's 205 removed
        contributions=[("A", 210, 100.0), ("A", 212, 90.0)],
    )
    assert earliest_changes(old, new) == {"headcount": 205, "contributions": 212}
    # the same from the fingerprints kept with the tables' commits
    kept = {n: (month_prints(old[n]), month_prints(new[n])) for n in ("headcount", "contributions")}
    assert earliest_changes(old, new, prints=kept) == {"headcount": 205, "contributions": 212}
    assert earliest_of_prints(month_prints(old["headcount"]), []) == 205  # a table emptied


def test_a_month_whose_rows_differ_in_any_way_is_found(spark) -> None:
    """The fingerprints see a value moved to another column (the other one null), a row
    repeated, and a row changed and changed back elsewhere in the same month."""
    schema = "siret string, month_index int, a double, b double"
    old = spark.createDataFrame([("A", 210, None, 5.0), ("A", 211, 1.0, 2.0)], schema)

    def months(rows) -> list[int]:
        changed = changed_months(old, spark.createDataFrame(rows, schema), "month_index")
        return sorted(r["m"] for r in changed.collect())

    assert months([("A", 210, None, 5.0), ("A", 211, 1.0, 2.0)]) == []
    assert months([("A", 210, 5.0, None), ("A", 211, 1.0, 2.0)]) == [210]
    assert months([("A", 210, None, 5.0), ("A", 211, 1.0, 2.0), ("A", 211, 1.0, 2.0)]) == [211]
    assert months([("A", 210, None, 5.0), ("A", 211, 2.0, 1.0)]) == [211]


def test_a_late_filing_reaches_from_the_month_it_becomes_known(spark) -> None:
    old = _silver(spark)["financials"]
    # company 1 files its 2018 year (known from 228): its 2017 year now ends at 227
    filed = [
        ("1", "2017-12-31", 216, 227),
        ("1", "2018-12-31", 228, None),
        ("2", "2016-12-31", 204, 215),
        ("2", "2017-12-31", 216, None),
    ]
    assert _least(financials_months(old, _silver(spark, financials=filed)["financials"])) == 228
    # company 2's 2016 figures corrected: from the month they were known
    corrected = [
        ("1", "2017-12-31", 216, None),
        ("2", "2016-12-31", 203, 215),
        ("2", "2017-12-31", 216, None),
    ]
    new = _silver(spark, financials=corrected)["financials"]
    assert _least(financials_months(old, new)) == 203


def test_a_register_change_reaches_from_the_establishments_first_reported_month(spark) -> None:
    old = _silver(spark)
    reported = [old["headcount"], old["contributions"]]
    moved = _silver(spark, establishments=[("A", "1", "4711A"), ("B", "2", "2020Z")])
    assert (
        _least(establishments_months(old["establishments"], moved["establishments"], reported))
        == 210
    )
    # a new establishment with nothing reported changes no row
    added = [("A", "1", "1010Z"), ("B", "2", "2020Z"), ("C", "3", "0111Z")]
    new = _silver(spark, establishments=added)["establishments"]
    assert _least(establishments_months(old["establishments"], new, reported)) is None


def test_judgments_change_targets_only(spark) -> None:
    new = _silver(spark, judgments=[("1", "2018-02-10"), ("2", "2018-06-01")])
    judged = judged_companies(_silver(spark)["judgments"], new["judgments"])
    assert sorted(r["siren"] for r in judged.collect()) == ["1", "2"]


def test_targets_of_earlier_months_are_updated_exactly(spark) -> None:
    # months 200..205 kept; company 2's first opening appears at month 206 (2017-03);
    # the horizon closes for month 202 (data now end at 220 = 202 + 18)
    panel = spark.createDataFrame(
        [
            (s, s[0], m, 0, False, m + 18 <= 219, None)
            for s in ("1a", "2a")
            for m in range(200, 206)
        ],
        "siret string, siren string, month_index int, cible int, signal_fort boolean, "
        "horizon_complet boolean, date_premiere_ouverture date",
    ).withColumn("periode", F.expr("add_months(date'2000-01-01', month_index)"))
    judgments = spark.createDataFrame(
        [("2", "2017-03-15")], "siren string, date_premiere_ouverture string"
    ).withColumn("date_premiere_ouverture", F.to_date("date_premiere_ouverture"))
    judged = spark.createDataFrame([("2",)], "siren string")
    plan = Plan("incremental", 205, 220, judged=judged, horizon_from=202)
    rows = changed_targets(panel, judgments, plan, SETTINGS).orderBy("siret", "periode").collect()
    found = [
        (r["siret"], months.index(str(r["periode"])), r["cible"], r["horizon_complet"])
        for r in rows
    ]
    # month 205 is rewritten whole (not here); 2a's 200..204 get the label (206 within 18
    # months), 1a only its closed horizon at 202
    assert found == [("1a", 202, 0, True)] + [("2a", m, 1, m <= 202) for m in range(200, 205)]


def test_full_cannot_be_combined_with_a_month_range(capsys) -> None:
    from jobs.panel import parse_args

    assert parse_args(["--full"]).full and not parse_args([]).full
    with pytest.raises(SystemExit):
        parse_args(["--full", "--from", "2020-01"])
    assert "--full rebuilds every month" in capsys.readouterr().err


def test_the_months_run_report_renders_offline_with_the_lakes_counts(spark, batches) -> None:
    report = batches.month.report
    facts = json.loads((report.parent / "report.json").read_text())
    assert report.parent.parent == Path(batches.settings.ingest.runs_dir) / "monthly" / LAST
    html = report.read_text()
    assert external_loads(html) == [] and "<script" not in html
    text = visible(rendered(report))
    headings = ("steps", f"files of batch {LAST}", "data quality by source", "panel")
    headings += (f"alerts of {LAST}", "model:", f"monitoring of {LAST}")
    for heading in headings:
        assert heading in text, heading
    runs = delta_io.read(spark, batches.lake.ingest_runs).where(F.col("batch_id") == LAST)
    read, accepted = runs.agg(F.sum("lines_read"), F.sum("lines_accepted")).first()
    assert f"all files {read:,} {accepted:,}" in text
    scored = delta_io.read(spark, batches.lake.scores).where(F.col("periode") == f"{LAST}-01")
    assert f"{LAST}: {scored.count():,} establishments scored" in text
    assert sum(facts["alerts"]["after"].values()) == scored.count()
    # the items in alert: what moved this month before the variables' drift since training
    kinds = [kind for kind, _, _ in facts["monitoring"]["alerts"]]
    assert "variable" in kinds and kinds[0] != "variable"
    assert kinds == sorted(kinds, key=lambda kind: kind == "variable")
    panel = delta_io.read(spark, batches.lake.panel)
    assert [m["establishments"] for m in facts["panel"]] == [
        r["count"] for r in panel.groupBy("periode").count().orderBy("periode").collect()
    ]
    # counts only: no SIREN or SIRET of the world in the report or its facts
    ids = {r["siret"] for r in panel.select("siret").distinct().collect()}
    ids |= {i[:9] for i in ids}
    written = html + (report.parent / "report.json").read_text()
    assert not set(re.findall(r"\d{9,14}", written)) & ids


def test_the_batchs_data_docs_render_offline(spark, batches) -> None:
    runs = Path(batches.settings.ingest.runs_dir) / "ingest" / LAST
    site = sorted(runs.glob("*/gx/uncommitted/data_docs/local_site"))[-1]
    rules = delta_io.read(spark, batches.lake.dq_results).where(F.col("batch_id") == LAST)
    per_source = {r["source"]: r["count"] for r in rules.groupBy("source").count().collect()}
    for page in site.rglob("*.html"):
        assert external_loads(page.read_text()) == [], page
    # the index's table is drawn by bootstrap-table: its rows exist only if the scripts ran
    assert drawn_rows(rendered(site / "index.html")) == len(per_source)
    source, count = sorted(per_source.items())[0]
    page = next((site / "validations" / source).rglob("*.html"))
    text = visible(rendered(page))
    assert f"Evaluated Expectations {count}" in text, text[:2000]
    description = rules.where(F.col("source") == source).first()["description"]
    assert description in text


def test_a_failed_month_writes_its_report_with_the_step_at_fault(batches) -> None:
    report = batches.failure.report
    facts = json.loads((report.parent / "report.json").read_text())
    assert [(s["step"], s["status"]) for s in facts["steps"]] == [
        ("ingest", "done"),
        ("panel", "failed"),
    ]
    assert "injected failure" in facts["steps"][1]["detail"]
    assert facts["period"] is None and "alerts" not in report.read_text()  # period not known
    assert "failed at step panel" in report.read_text()
    assert report != batches.month.report  # the rerun writes its own
