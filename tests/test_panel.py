"""The monthly panel on a small generated world: content, no look-ahead, partial rewrites."""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import reduce

import numpy as np
import pytest
from deltalake import DeltaTable
from frames import assert_same_panel, stale_panel
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from common import delta_io, months
from common.config import PanelConfig
from common.lake import Lake
from features import silver as S
from features.catalog import Variable, by_name, catalog, model_features
from features.health import variable_health
from features.incremental import Plan
from features.panel import (
    base_frame,
    building_panel,
    fiscal_rows_from,
    gold_schema,
    history_states,
    window_start,
    write_tasks,
)
from features.pipeline import (
    CatalogChanged,
    panel_settings,
    read_bronze,
    run_panel,
    write_months,
)

pytestmark = pytest.mark.slow


def test_panel_rows_keys_and_targets(spark, world) -> None:
    panel = delta_io.read(spark, world.lake.panel)
    names = {v.name for v in catalog()}
    assert names <= set(panel.columns)
    assert panel.groupBy("siret", "periode").count().where("count > 1").count() == 0
    run = world.panel_run
    assert run.months == 66 and 0.01 < run.positive_share < 0.08
    # the label is the first opening judgment within the next 18 months
    labelled = (
        panel.where("cible = 1")
        .select(F.months_between("date_premiere_ouverture", "periode").alias("ahead"))
        .agg(F.min("ahead"), F.max("ahead"))
        .first()
    )
    assert 0 < labelled[0] and labelled[1] < 19
    assert panel.where("signal_fort AND cible = 1").count() == 0
    last = panel.agg(F.max("month_index")).first()[0]
    assert panel.where(f"horizon_complet <> (month_index + 18 <= {last})").count() == 0
    # population: enough employees at some month of the last twelve, no public sector
    assert (
        panel.where("section_naf IN ('O', 'P') OR code_categorie_juridique LIKE '7%'").count() == 0
    )
    assert panel.where("effectif_max12 < 10").count() == 0


def test_the_panel_holds_exactly_the_population(spark, world) -> None:
    """Its (siret, month) rows, derived again here from the silver tables with Spark: reported
    that month (a headcount or a contribution), a headcount of at least ``min_employees`` in
    one of the last ``lookback_months`` months, not a public body nor an excluded sector,
    within the panel's months."""
    cfg, lake = world.settings.panel, world.lake
    month = S.MONTH_INDEX
    heads = delta_io.read(spark, lake.silver("headcount")).where(F.col("effectif").isNotNull())
    paid = (
        delta_io.read(spark, lake.silver("contributions"))
        .groupBy("siret", month)
        .agg(F.sum("cotisation_due").alias("due"))
        .where(F.col("due").isNotNull())
    )
    reported = heads.select("siret", month).union(paid.select("siret", month)).distinct()
    past = heads.select("siret", F.col(month).alias("then"), "effectif")
    window = (F.col("then") <= F.col(month)) & (F.col("then") > F.col(month) - cfg.lookback_months)
    peaks = (
        reported.join(past, "siret")
        .where(window)
        .groupBy("siret", month)
        .agg(F.max("effectif").alias("peak"))
    )
    context = delta_io.read(spark, lake.silver("establishments")).select(
        "siret", "section_naf", "code_categorie_juridique"
    )
    category = F.coalesce(F.col("code_categorie_juridique"), F.lit(""))
    public = reduce(lambda a, b: a | b, [category.startswith(p) for p in cfg.public_legal_prefixes])
    excluded = F.coalesce(F.col("section_naf").isin(*cfg.excluded_naf_sections), F.lit(False))
    last = heads.agg(F.max(month)).first()[0]
    expected = (
        peaks.where(F.col("peak") >= cfg.min_employees)
        .join(context, "siret", "left")
        .where(~public & ~excluded)
        .where(F.col(month).between(months.index(cfg.start), last))
        .select("siret", month)
    )
    rows = delta_io.read(spark, lake.panel).select("siret", month)
    assert expected.count() == world.panel_run.rows > 1000
    assert expected.exceptAll(rows).isEmpty() and rows.exceptAll(expected).isEmpty()


def test_the_computation_leaves_out_companies_that_never_employ_enough(spark, world) -> None:
    """The base frame of the last 13 months holds the companies with an establishment
    employing at least ``min_employees`` in a month a written row looks back to (derived
    again here), and no other: the others have no row in the population (the test above sees
    the same rows). The rule's bounds: tests/test_builders.py."""
    cfg, lake = world.settings.panel, world.lake
    silver = {n: delta_io.read(spark, lake.silver(n)) for n in S.TABLES}
    last = S.last_month(delta_io.read(spark, lake.bronze("effectif")))
    settings = dataclasses.replace(panel_settings(cfg, last), emit_from=last - 12)
    siren = F.substring("siret", 1, 9).alias("siren")
    eligible = (
        silver["headcount"]
        .where(F.col("effectif") >= cfg.min_employees)
        .where(F.col("month_index").between(last - 12 - cfg.lookback_months + 1, last))
        .select(siren)
        .distinct()
    )
    others = silver["headcount"].select(siren).distinct().exceptAll(eligible)
    assert others.count() > 20  # the world has such companies
    held = base_frame(silver, settings).select("siren").distinct()
    assert held.exceptAll(eligible).isEmpty() and eligible.exceptAll(held).isEmpty()


def test_no_variable_is_constant_or_a_copy(spark, world) -> None:
    health = variable_health(delta_io.read(spark, world.lake.panel))
    assert health.constant == [], " ".join(health.constant)
    assert health.copies == [], health.copies


def _after(frame, column: str, month: dt.date):
    return F.col(column) > F.lit(month)


def perturbed(bronze: dict, month: dt.date) -> dict:
    """Every record dated after ``month`` changed, and new ones added after it."""
    out = dict(bronze)

    def scale(frame, later, columns):
        cells = [
            F.when(later, F.col(c) * 3 + 7).otherwise(F.col(c)).alias(c)
            if c in columns
            else F.col(c)
            for c in frame.columns
        ]
        return frame.select(*cells)

    out["cotisation"] = scale(
        bronze["cotisation"], F.col("periode_debut") > month, {"du", "encaisse"}
    )
    out["debit"] = scale(
        bronze["debit"],
        F.col("periode_prise_en_compte") > month,
        {"part_ouvriere", "part_patronale"},
    )
    out["effectif"] = scale(bronze["effectif"], F.col("periode") > month, {"effectif"})
    out["effectif_ent"] = scale(bronze["effectif_ent"], F.col("periode") > month, {"effectif"})
    out["apconso"] = scale(
        bronze["apconso"], F.col("periode") > month, {"heures_consommees", "montant"}
    )
    out["apdemande"] = scale(
        bronze["apdemande"], F.col("date_statut") > month, {"hta", "effectif_autorise"}
    )
    out["delai"] = scale(bronze["delai"], F.col("date_creation") > month, {"montant_echeancier"})
    # a fiscal year filed after the month, and a late contribution record for an old period
    af = bronze["declarations_af"]
    late_year = (
        af.where(F.col("date_fin_exercice") < F.lit(month))
        .limit(50)
        .select(
            *[
                F.lit(month + dt.timedelta(days=40)).alias(c)
                if c == "date_fin_exercice"
                else F.col(c)
                for c in af.columns
            ]
        )
    )
    out["declarations_af"] = af.unionByName(late_year)
    cot = bronze["cotisation"]
    new = (
        cot.where(F.col("periode_debut") <= F.lit(month))
        .limit(50)
        .select(
            *[
                F.add_months(F.lit(month), 2).alias(c) if c == "periode_debut" else F.col(c)
                for c in cot.columns
            ]
        )
    )
    out["cotisation"] = out["cotisation"].unionByName(new)
    ccsf = bronze["ccsf"]
    out["ccsf"] = ccsf.unionByName(
        ccsf.limit(20).withColumn("date_traitement", F.lit(month + dt.timedelta(days=35)))
    )
    return out


def test_no_variable_looks_ahead(spark, world) -> None:
    bronze = read_bronze(spark, world.lake)
    last = S.last_month(bronze["effectif"])
    cut = dt.date(2019, 6, 30)
    # rows after the cut are not compared: the population stops there (the windows still see
    # every later input row, where a look-ahead would show); nor rows more than 24 months (the
    # longest window) before it, which no later input row can reach: computed, not emitted
    first = dt.date(2017, 7, 1)
    settings = dataclasses.replace(
        panel_settings(world.settings.panel, last),
        last_index=months.index("2019-06"),
        emit_from=months.index("2017-07"),
    )
    names = [v.name for v in catalog()]

    def rows(source: dict) -> dict:
        silver = {
            k: v.cache()
            for k, v in S.build_all(source, world.settings.panel.filing_lag_months, last).items()
        }
        with building_panel(silver, settings) as panel:
            panel = panel.where(F.col("periode") <= F.lit(cut))
            frame = panel.select("siret", "periode", *names).toArrow().to_pandas()  # computed once
        for table in silver.values():
            table.unpersist()
        assert frame["periode"].min() == first
        return frame.sort_values(["siret", "periode"]).reset_index(drop=True)

    # before: the world's panel as its job wrote it, from the same bronze and settings
    written = delta_io.read(spark, world.lake.panel).where(
        F.col("periode").between(F.lit(first), F.lit(cut))
    )
    before = written.select("siret", "periode", *names).toArrow().to_pandas()  # Arrow: ~2x quicker
    before = before.sort_values(["siret", "periode"]).reset_index(drop=True)
    after = rows(perturbed(bronze, cut))
    assert len(before) == len(after) > 1000
    assert (before[["siret", "periode"]] == after[["siret", "periode"]]).all().all()
    values_before, values_after = before[names].to_numpy(float), after[names].to_numpy(float)
    same = np.isclose(values_before, values_after, equal_nan=True, rtol=1e-9, atol=1e-9)
    changed = sorted({names[j] for j in np.where(~same)[1]})
    assert changed == []


def test_the_last_months_alone_equal_the_whole_build(spark, world) -> None:
    """An incremental run's months: computed from the months their bounded windows reach
    (window_start) and the state the earlier months leave to the unbounded variables
    (history_states), they equal the rows the full build wrote, cell for cell."""
    silver = {n: delta_io.read(spark, world.lake.silver(n)) for n in S.TABLES}
    last = S.last_month(read_bronze(spark, world.lake)["effectif"])
    first = last - 12
    settings = dataclasses.replace(panel_settings(world.settings.panel, last), emit_from=first)
    start = window_start(settings)
    assert months.index(world.request.start) < start < first  # some history is carried over
    assert history_states(silver, settings, start).count() > 500
    written = delta_io.read(spark, world.lake.panel).where(F.col("month_index") >= first)
    with building_panel(silver, settings) as panel:
        assert_same_panel(panel, written)


def test_spark_writes_the_rows_the_python_workers_wrote(spark, world, tmp_path) -> None:
    """``panel.writer: spark`` (Spark's Delta writer, for lakes on HDFS or object stores):
    the world's last months written that way equal those its job wrote with ``arrow``."""
    silver = {n: delta_io.read(spark, world.lake.silver(n)) for n in S.TABLES}
    last = S.last_month(read_bronze(spark, world.lake)["effectif"])
    lake = Lake(str(tmp_path / "lake"), world.settings.tables)
    settings = panel_settings(world.settings.panel, last)
    write_months(spark, lake, silver, settings, Plan("range", last - 2, last - 1), "spark")
    written = delta_io.read(spark, world.lake.panel).where(
        F.col("month_index").between(last - 2, last - 1)
    )
    assert_same_panel(delta_io.read(spark, lake.panel), written)
    assert delta_io.read(spark, lake.panel).schema == delta_io.read(spark, world.lake.panel).schema


def test_the_fiscal_year_is_joined_to_the_written_rows_unless_a_window_reads_it() -> None:
    """The rows an incremental run reads before its first month feed windows only: none reads
    a fiscal figure, so they go without the fiscal year (the equality tests above and in
    test_incremental.py compare such runs with full builds)."""
    full = panel_settings(PanelConfig(), months.index("2021-12"))
    monthly = dataclasses.replace(full, emit_from=months.index("2021-06"))
    assert fiscal_rows_from(catalog(), full) is None  # a full build: every row
    assert fiscal_rows_from(catalog(), monthly) == months.index("2021-06")
    # a catalog with a window over a fiscal figure reads it at earlier rows: every row again
    trend = Variable("fin_ca_moy3", "rolling_mean", "financial_health", "x", ("fin_ca",), (3,))
    assert fiscal_rows_from((*catalog(), trend), monthly) is None
    ratio = Variable("ca_sur_effectif", "ratio", "x", "x", ("fin_ca", "effectif"))
    lagged = Variable("ca_sur_effectif_lag1", "lag", "x", "x", ("ca_sur_effectif",), (1,))
    assert fiscal_rows_from((*catalog(), ratio, lagged), monthly) is None  # through a ratio


def test_variables_carry_their_description_as_column_comment(spark, world) -> None:
    described = spark.sql(f"DESCRIBE delta.`{world.lake.panel}`").collect()
    comments = {row["col_name"]: row["comment"] for row in described}
    variables = by_name()
    assert comments["dette_totale"] == variables["dette_totale"].description
    assert comments["cotisation_moy12"] == variables["cotisation_moy12"].description
    assert [n for n in variables if comments.get(n) != variables[n].description] == []
    assert comments["siret"] is None and comments["cible"] is None
    # the table is exactly the declared gold schema
    table = delta_io.read(spark, world.lake.panel).schema
    assert delta_io.schema_changes(gold_schema(), table) == []
    assert [f.name for f in table.fields] == [f.name for f in gold_schema().fields]


def test_tables_keep_only_the_statistics_their_reads_use(world) -> None:
    """A bronze file records its number of rows alone; a panel file the range of
    ``month_index`` too, which the trainings' reads skip files by (read without Spark)."""

    def statistics(path: str) -> tuple[set[str], int]:
        actions = DeltaTable(path).get_add_actions(flatten=True)
        names = actions.column_names
        kinds = ("min.", "max.", "null_count.")
        columns = {n.split(".", 1)[1] for n in names if n.startswith(kinds)}
        return columns, sum(actions.column("num_records").to_pylist())

    for source in ("cotisation", "effectif", "sirene"):
        columns, rows = statistics(world.lake.bronze(source))
        assert columns == set() and rows > 0, source
    columns, rows = statistics(world.lake.panel)
    assert columns == {"month_index"} and rows > 0


def test_a_small_panel_is_written_by_fewer_tasks_than_its_partitions(world) -> None:
    """Each task of the workers' write writes a file per month: a panel of few rows is
    written by fewer tasks (write_tasks), the world's (~30k rows) by one: a file a month."""
    rows = (0, 1, 100_000, 100_001, 450_000, 10**7)
    assert [write_tasks(n, 8) for n in rows] == [1, 1, 1, 2, 5, 8]
    assert [write_tasks(n, 8, cores=2) for n in rows] == [1, 1, 1, 2, 6, 8]
    assert write_tasks(250_000, 8, cores=4) == 4  # 3 tasks: one core would wait for the last
    assert write_tasks(10**7, 3) == write_tasks(10**7, 3, cores=2) == 3
    months_written = DeltaTable(world.lake.panel).get_add_actions(flatten=True)
    days = months_written.column("partition.periode").to_pylist()
    assert len(days) == len(set(days)) == world.request.months


def test_a_range_rebuild_refuses_a_changed_catalog(spark, settings, tmp_path) -> None:
    lake = Lake(str(tmp_path / "lake"), settings.tables)
    stale_panel(spark, lake.panel)
    message = (
        r"1 new column\(s\): dette_totale; 1 column\(s\) no longer produced: variable_retiree\)"
        r".*rebuild the whole panel \(jobs/panel.py without --from/--to\)"
    )
    with pytest.raises(CatalogChanged, match=message):
        run_panel(spark, lake, settings.panel, "2019-01", "2019-03")
    assert delta_io.latest_version(spark, lake.panel) == 0


def test_schema_changes_name_retyped_columns() -> None:
    old = StructType([StructField("a", DoubleType()), StructField("b", StringType())])
    new = StructType(
        [StructField("a", DoubleType(), metadata={"comment": "x"}), StructField("b", DoubleType())]
    )
    assert delta_io.schema_changes(old, old) == []
    assert delta_io.schema_changes(new, old) == [
        "1 column(s) of another type: b (string -> double)"
    ]


def test_the_panel_comparison_sees_one_cell_and_tolerates_the_last_bits(spark) -> None:
    schema = "siret string, periode date, x double, n int, s string"
    rows = [
        ("1", dt.date(2020, 1, 1), 1.0, 1, "a"),
        ("2", dt.date(2020, 1, 1), None, None, None),
        ("1", dt.date(2020, 2, 1), float("nan"), 2, "b"),
    ]
    a = spark.createDataFrame(rows, schema)

    def changed(i: int, **cells):
        return spark.createDataFrame(
            [
                (*r[:2], *(cells.get(k, v) for k, v in zip("xns", r[2:], strict=True)))
                if j == i
                else r
                for j, r in enumerate(rows)
            ],
            schema,
        )

    assert_same_panel(a, spark.createDataFrame(list(reversed(rows)), schema))  # order aside
    assert_same_panel(a, changed(0, x=1.0 + 1e-12))  # the last bits
    for i, cells, column in [
        (0, {"x": 1.001}, "x"),
        (2, {"x": None}, "x"),  # NaN is not null
        (1, {"x": 0.0}, "x"),
        (0, {"n": 3}, "n"),
        (1, {"s": "c"}, "s"),
    ]:
        with pytest.raises(AssertionError) as failed:
            assert_same_panel(a, changed(i, **cells))
        assert str(failed.value).startswith(f"{{'{column}': 1}}")
    with pytest.raises(AssertionError, match="different siret keys"):
        assert_same_panel(a, a.replace("2", "3", "siret"))


def test_variable_health_finds_constants_and_copies_on_a_tiny_panel(spark) -> None:
    names = model_features()
    rng = np.random.default_rng(3)
    rows = []
    for i in range(40):
        values = rng.normal(size=len(names))
        values[1] = 7.0  # constant
        values[2] = np.nan if i % 3 else values[0]  # missing, else a copy of the first one
        values[3] = values[0]  # a copy of the first one on every row
        values[4] = np.nan  # always missing
        rows.append((f"{i:014d}", i % 4, *[None if np.isnan(v) else float(v) for v in values]))
    schema = "siret string, month_index int, " + ", ".join(f"{n} double" for n in names)
    panel = spark.createDataFrame(rows, schema).repartition(3)  # batches in several tasks
    health = variable_health(panel)
    assert health.constant == [names[1], names[4]]
    assert health.copies == [[names[0], names[3]]]
    assert not health.ok
