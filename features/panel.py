"""The monthly panel: one row per (siret, month) of the population, every catalog
variable, and the 18-month target.

How the plan stays small and shuffles few times:
1. the monthly sources are unioned (not joined) and repartitioned once by company
   (``siren``); a group-by on (siren, siret, month) then needs no other shuffle;
2. company-level data (company headcount, fiscal years) is partitioned the same way,
   so joining it does not move the panel; small tables (establishments, judgments,
   sector statistics) are broadcast;
3. the data is sorted within those partitions and every variable of the catalog
   is computed in one vectorised ``mapInPandas`` pass (features/compute.py): no
   shuffle, no window operator; a first, narrow pass gives the per-sector
   statistics that z-scores need (a small table: divisions x months), from the few columns
   they read;
4. a run that writes only the last months (incremental, ``--from``) reads only the months
   their bounded windows reach (``window_start``); the unbounded builders' state at that
   month comes from a narrow pass over the months before it, as one more row per
   establishment in the same union (``history_states``), so nothing wide is joined; the
   fiscal year (79 of the catalog's columns) is joined to the rows it writes only, as no
   window reads it (``fiscal_rows_from``);
5. the same pass writes the rows itself (``panel_files``, ``panel.writer: arrow``): each task
   writes a Parquet file per month with pyarrow and returns the files' descriptions, which
   the driver commits to the Delta table (common/parquet_files.py); the rows never come back
   to Spark. ``panel_rows`` gives the same rows as a DataFrame (``panel.writer: spark``:
   Spark's Delta writer, for a lake that only Hadoop's file systems reach).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import reduce

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from common.months import ORIGIN_YEAR, first_day_column, index_column
from common.parquet_files import FILES_SCHEMA, PartitionedFiles
from features.catalog import Variable, catalog
from features.compute import (
    DESCRIPTIVE,
    STATE_ROW,
    PanelSettings,
    chunk_columns,
    compute_chunk,
    history_state,
    reach,
    read_before,
    sector_columns,
    sector_inputs,
    sector_names,
    state_closure,
    state_columns,
)
from features.series import MONTHLY_TABLES, columns_of, series_of
from features.silver import COMBINE, MONTH_INDEX, SECTIONS

KEYS = ("siren", "siret", MONTH_INDEX)
# silver table -> its series columns (features/series.py); the company headcount joins apart
MONTHLY = {t: columns_of(t) for t in MONTHLY_TABLES if t != "company_headcount"}


def monthly_sources(
    silver: dict[str, DataFrame],
    partitions: int,
    months: Column | None = None,
    wanted: set[str] | None = None,
    states: DataFrame | None = None,
    companies: DataFrame | None = None,
) -> DataFrame:
    """All monthly series at (siren, siret, month), one union and one shuffle by company;
    only the ``months`` (a condition on the month index) and ``wanted`` series if given
    (every table still gives its rows), of the ``companies`` (``siren``) if given; with the
    rows of carried ``states`` (history_states), which go through the same shuffle."""
    frames, how = [], {}
    for name, columns in MONTHLY.items():
        frame = silver[name] if months is None else silver[name].where(months)
        kept = [c for c in columns if wanted is None or c in wanted]
        frames.append(frame.select("siret", MONTH_INDEX, *kept))
        # several accounts may serve one establishment: their rows combine as their series
        # declare, in the group-by below (combined apart, they were shuffled twice more);
        # the other tables give one row per establishment and month
        accounts = "numero_compte" in frame.columns
        how |= {s.name: COMBINE[s.combine] if accounts else F.max for s in series_of(name)}
    series = [c for cols in MONTHLY.values() for c in cols if wanted is None or c in wanted]
    if states is not None:
        frames.append(states)
        series += [c for c in states.columns if c not in ("siret", MONTH_INDEX)]
    union = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
    union = union.withColumn("siren", F.substring("siret", 1, 9))
    if companies is not None:
        union = union.join(F.broadcast(companies), "siren", "left_semi")
    union = union.repartition(partitions, "siren")
    return union.groupBy(*KEYS).agg(*[how.get(c, F.max)(c).alias(c) for c in series])


def eligible_companies(headcount: DataFrame, s: PanelSettings) -> DataFrame:
    """The companies (``siren``) with an establishment employing at least ``min_employees``
    in a month that a written row's look-back reaches. No establishment of another company
    is in the population (compute.population: that headcount in one of the last
    ``lookback_months`` months), and a company's rows only ever meet its own (company
    aggregates; sector statistics take population rows): the others' rows are left out
    before the computation (at 20k x 72, 9% of the rows of a full build, 26% of a monthly
    run's)."""
    first = s.start_index if s.emit_from is None else max(s.start_index, s.emit_from)
    reached = F.col(MONTH_INDEX).between(first - s.lookback_months + 1, s.last_index)
    employs = F.col("effectif") >= s.min_employees
    return (
        headcount.where(reached & employs)
        .select(F.substring("siret", 1, 9).alias("siren"))
        .distinct()
    )


FISCAL = "fin_"  # the prefix of the fiscal year's columns in the panel


def with_company_data(
    base: DataFrame, silver: dict[str, DataFrame], partitions: int, fiscal_from: int | None = None
) -> DataFrame:
    """Company headcount (same month) and the fiscal year known at the month; the fiscal year
    on the rows of months from ``fiscal_from`` only, when given (null before)."""
    company = silver["company_headcount"].repartition(partitions, "siren")
    base = base.join(company, ["siren", MONTH_INDEX], "left")
    years = silver["financials"].repartition(partitions, "siren").alias("y")
    known = (
        (F.col("p.siren") == F.col("y.siren"))
        & (F.col(f"p.{MONTH_INDEX}") >= F.col("y.disponible"))
        & (F.col("y.jusqua").isNull() | (F.col(f"p.{MONTH_INDEX}") <= F.col("y.jusqua")))
    )
    if fiscal_from is not None:
        known = known & (F.col(f"p.{MONTH_INDEX}") >= F.lit(fiscal_from))
    figures = [
        c for c in years.columns if c not in ("siren", "disponible", "jusqua", "date_fin_exercice")
    ]
    return (
        base.alias("p")
        .join(years, known, "left")
        .select(
            "p.*",
            *[F.col(f"y.{c}").alias(f"{FISCAL}{c}") for c in figures],
            (F.col(f"p.{MONTH_INDEX}") - index_column(F.col("y.date_fin_exercice"))).alias(
                f"{FISCAL}mois_depuis_cloture"
            ),
        )
    )


def with_context(base: DataFrame, establishments: DataFrame) -> DataFrame:
    """Static context of the establishment (broadcast: one row per establishment)."""
    e = F.broadcast(establishments.drop("siren"))
    month = first_day_column(F.col(MONTH_INDEX))
    section = F.array_position(F.split(F.lit(SECTIONS), ""), F.col("section_naf"))
    corsica = F.col("code_departement").isin("2A", "2B")
    departement = F.when(corsica, F.lit("20")).otherwise(F.col("code_departement"))
    return base.join(e, "siret", "left").select(
        *base.columns,
        *DESCRIPTIVE,
        (F.months_between(month, F.col("date_creation")) / 12).alias("age_etablissement"),
        (F.months_between(month, F.col("date_creation_entreprise")) / 12).alias("age_entreprise"),
        F.when(section > 0, section).cast("double").alias("naf_section"),
        F.col("division_naf").try_cast("double").alias("naf_division"),
        F.col("code_region").try_cast("double").alias("region"),
        departement.try_cast("double").alias("departement"),
        F.substring("code_categorie_juridique", 1, 2)
        .try_cast("double")
        .alias("categorie_juridique"),
        F.col("est_siege").cast("double").alias("siege"),
        F.month(month).cast("double").alias("mois_calendaire"),
    )


def chunks(fn):
    """Apply ``fn`` to whole companies: partitions are by company and sorted, and the rows of
    the company that ends a batch wait for the next batch (bounded memory)."""

    def run(batches):
        carry = None
        for batch in batches:
            rows = batch if carry is None else pd.concat([carry, batch], ignore_index=True)
            last = rows["siren"].iloc[-1]
            complete = rows["siren"].to_numpy() != last
            if complete.any():
                yield fn(rows.loc[complete].reset_index(drop=True))
            carry = rows.loc[~complete].reset_index(drop=True)
        if carry is not None and len(carry):
            yield fn(carry)

    return run


def window_start(s: PanelSettings) -> int | None:
    """The first month a run from ``s.emit_from`` reads: the months its variables' bounded
    windows and population reach before it (None: every month, a full build or a catalog
    whose unbounded builders read windowed variables)."""
    if s.emit_from is None or s.emit_from <= s.start_index:
        return None
    months = reach(catalog(), s)
    return None if months is None else s.emit_from - months


def fiscal_rows_from(variables: tuple[Variable, ...], s: PanelSettings) -> int | None:
    """The first month whose rows need the fiscal year: in a run from ``emit_from``, the rows
    of earlier months are read by windows and the population only, and when no window reads
    a fiscal figure (none of the ``read_before`` variables is one) those rows go without it:
    the range join matches the rows written only (7 months of 42 in a monthly run), and the
    fiscal columns are null before. None: every row (a full build, or a catalog whose windows
    read a fiscal figure)."""
    if s.emit_from is None or s.emit_from <= s.start_index:
        return None
    if any(name.startswith(FISCAL) for name in read_before(variables)):
        return None
    return s.emit_from


def history_states(
    silver: dict[str, DataFrame], s: PanelSettings, start: int, companies: DataFrame | None = None
) -> DataFrame:
    """Per establishment, the state the months before ``start`` leave to the unbounded
    variables (features/compute.history_state): a narrow pass over those months' series
    the variables read. One row per establishment, dated the month before ``start`` and
    marked ``STATE_ROW``: it joins the panel's rows as one more of the establishment's
    months (a join would move the wide panel again), and the computation takes it out."""
    variables = catalog()
    wanted = {v.name for v in state_closure(variables) if v.builder == "source"}
    history = monthly_sources(
        silver, s.partitions, F.col(MONTH_INDEX) < start, wanted, companies=companies
    )
    schema = "siret string, " + ", ".join(f"{c} double" for c in state_columns(variables))
    states = history.sortWithinPartitions(*KEYS).mapInPandas(
        chunks(lambda c: history_state(c, variables)), schema
    )
    return states.withColumns({MONTH_INDEX: F.lit(start - 1), STATE_ROW: F.lit(True)})


def base_frame(silver: dict[str, DataFrame], s: PanelSettings) -> DataFrame:
    """Every input of the catalog at (siren, siret, month) of the eligible companies,
    partitioned by company and sorted: from ``window_start`` on, with the carried state of
    the months before it."""
    start = window_start(s)
    months = None if start is None else F.col(MONTH_INDEX) >= start
    companies = eligible_companies(silver["headcount"], s)
    states = None if start is None else history_states(silver, s, start, companies)
    base = monthly_sources(silver, s.partitions, months, states=states, companies=companies)
    if start is not None:
        company = silver["company_headcount"].where(months)
        silver = {**silver, "company_headcount": company}
    base = with_company_data(base, silver, s.partitions, fiscal_rows_from(catalog(), s))
    base = with_context(base, silver["establishments"])
    first = F.broadcast(
        silver["judgments"].select(
            "siren", index_column(F.col("date_premiere_ouverture")).alias("mois_premiere_ouverture")
        )
    )
    return base.join(first, "siren", "left").sortWithinPartitions(*KEYS)


def sector_statistics(base: DataFrame, s: PanelSettings) -> pd.DataFrame:
    """Mean and standard deviation per NAF division and month of the z-scored variables."""
    variables = catalog()
    names = sector_names(variables)
    schema = "division_naf string, month_index int, " + ", ".join(f"{n} double" for n in names)
    narrow = base.select(*[c for c in sector_columns(variables) if c in base.columns])
    values = narrow.mapInPandas(chunks(lambda c: sector_inputs(c, variables, s)), schema)
    stats = values.groupBy("division_naf", MONTH_INDEX).agg(
        *[F.avg(n).alias(f"mean_{n}") for n in names],
        *[F.stddev(n).alias(f"std_{n}") for n in names],
    )
    return stats.toPandas()  # divisions x months: does not grow with the number of establishments


def panel_schema() -> str:
    variables = ", ".join(f"{v.name} double" for v in catalog())
    descriptive = ", ".join(f"{c} string" for c in DESCRIPTIVE)
    return (
        f"siren string, siret string, month_index int, {descriptive}, mois_premiere_ouverture int, "
        f"{variables}"
    )


def gold_schema() -> StructType:
    """The gold panel's columns, as written: each variable carries its catalog description
    as its comment (Delta keeps it; ``DESCRIBE`` and catalog browsers show it)."""
    return StructType(
        [
            StructField("siret", StringType()),
            StructField("siren", StringType()),
            StructField("periode", DateType()),
            StructField(MONTH_INDEX, IntegerType()),
            *[StructField(c, StringType()) for c in DESCRIPTIVE],
            *[
                StructField(v.name, DoubleType(), metadata={"comment": v.description})
                for v in catalog()
            ],
            StructField("cible", IntegerType()),
            StructField("signal_fort", BooleanType()),
            StructField("horizon_complet", BooleanType()),
            StructField("date_premiere_ouverture", DateType()),
        ]
    )


TARGETS = ("cible", "signal_fort", "horizon_complet", "date_premiere_ouverture")


def targets(month: Column, first_opening: Column, s: PanelSettings) -> dict[str, Column]:
    """The targets of a row of month ``month`` (index) whose company first went to court in
    month ``first_opening`` (index, null if never): the label (a first opening judgment in
    months m+1 .. m+horizon), the strong signal (already opened), whether the horizon has
    passed inside the data, the opening's month."""
    return {
        "cible": F.coalesce(
            (first_opening > month) & (first_opening <= month + s.horizon_months), F.lit(False)
        ).cast("int"),
        "signal_fort": F.coalesce(first_opening <= month, F.lit(False)),
        "horizon_complet": month + s.horizon_months <= F.lit(s.last_index),
        "date_premiere_ouverture": first_day_column(first_opening),
    }


def panel_rows(base: DataFrame, stats: pd.DataFrame, s: PanelSettings) -> DataFrame:
    """The gold panel (``gold_schema()``) from its base frame and the sector statistics:
    population rows, every variable, the targets. Pure: nothing is read, cached or run."""
    variables = catalog()
    rows = base.mapInPandas(chunks(lambda c: compute_chunk(c, variables, s, stats)), panel_schema())
    derived = {
        "periode": first_day_column(F.col(MONTH_INDEX)),
        **targets(F.col(MONTH_INDEX), F.col("mois_premiere_ouverture"), s),
    }
    # ``to`` orders, casts and comments the 868 columns in one call to the JVM (a select of
    # 868 cast-and-alias columns built in Python took ~4 s of round trips per panel)
    return rows.withColumns(derived).to(gold_schema())


def target_columns(
    month: np.ndarray, first_opening: np.ndarray, s: PanelSettings
) -> dict[str, np.ndarray]:
    """``targets`` on arrays, for the rows the Python workers write themselves: the same
    values (``first_opening`` as floats, NaN where no judgment; dates as days)."""
    first = np.asarray(first_opening, dtype="float64")
    month = np.asarray(month, dtype="int64")
    with np.errstate(invalid="ignore"):
        opened = np.where(np.isnan(first), 0, first).astype("int64")
        day = (np.datetime64(f"{ORIGIN_YEAR}-01", "M") + opened).astype("datetime64[D]")
        return {
            "cible": ((first > month) & (first <= month + s.horizon_months)).astype("int32"),
            "signal_fort": first <= month,
            "horizon_complet": month + s.horizon_months <= s.last_index,
            "date_premiere_ouverture": np.where(np.isnan(first), np.datetime64("NaT"), day),
        }


ROWS_PER_WRITE_TASK = 100_000  # base rows per task of the workers' write, for a small panel


def write_tasks(rows: int, partitions: int, cores: int = 1) -> int:
    """How many tasks write the panel's files from a base frame of ``rows`` rows in
    ``partitions`` partitions: each task writes a file per month, so a small panel is written
    by fewer tasks than it has partitions: one per ``ROWS_PER_WRITE_TASK`` rows, rounded up,
    then (above one) to a multiple of the application's ``cores``, so that no core waits
    for a last task alone. Otherwise a 650-establishment world was 528 files of ~50 rows,
    and every later read paid each file's 881 columns (docs/performance-log.md)."""
    tasks = max(1, min(partitions, -(-rows // ROWS_PER_WRITE_TASK)))
    return tasks if tasks == 1 else min(partitions, -(-tasks // cores) * cores)


def panel_files(
    base: DataFrame,
    stats: pd.DataFrame,
    s: PanelSettings,
    files: PartitionedFiles,
    last: int | None = None,
) -> DataFrame:
    """The rows of ``panel_rows`` (up to month ``last``) written by the Python workers
    themselves (common.parquet_files): a row per file written, for the driver to commit.
    ``base`` is the cached base frame (``panel_inputs``)."""
    variables = catalog()

    def rows(chunk: pd.DataFrame) -> dict[str, np.ndarray]:
        columns = chunk_columns(chunk, variables, s, stats)
        if last is not None:
            keep = columns[MONTH_INDEX] <= last
            columns = {name: values[keep] for name, values in columns.items()}
        columns.update(target_columns(columns[MONTH_INDEX], columns["mois_premiere_ouverture"], s))
        return columns

    cores = base.sparkSession.sparkContext.defaultParallelism
    tasks = write_tasks(base.count(), s.partitions, cores)  # the base is cached: a cheap count
    if tasks < s.partitions:  # whole partitions merged, no shuffle: companies stay whole
        base = base.coalesce(tasks)
    return base.mapInPandas(lambda batches: files.write(chunks(rows)(batches)), FILES_SCHEMA)


@contextmanager
def panel_inputs(
    silver: dict[str, DataFrame], s: PanelSettings
) -> Iterator[tuple[DataFrame, pd.DataFrame]]:
    """The base frame and the sector statistics of the panel, to use inside the block. The
    base frame is read twice (the sector statistics, a small table brought to the driver:
    divisions x months; then the variables), so it is cached for the block and released when
    the block ends."""
    base = base_frame(silver, s).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        yield base, sector_statistics(base, s)
    finally:
        base.unpersist()


@contextmanager
def building_panel(silver: dict[str, DataFrame], s: PanelSettings) -> Iterator[DataFrame]:
    """The gold panel of ``panel_rows``, to write or read inside the block."""
    with panel_inputs(silver, s) as (base, stats):
        yield panel_rows(base, stats, s)
