"""Delta through the project's session builder: write, read, MERGE, time travel."""

import importlib.util
import re
import subprocess
import sys
import sysconfig
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.testing import assertDataFrameEqual

from common import delta_io, parallel
from common.lake import Lake
from common.spark import CDS_ARCHIVE, CDS_CONF_DIR, LOG4J

SCHEMA = "siret string, period string, amount double"
MERGE = "org.apache.spark.sql.delta.commands.MergeIntoCommand"
DAG = "org.apache.spark.scheduler.DAGScheduler"
RDD = "org.apache.spark.rdd.MapPartitionsRDD"
BLAS = "dev.ludovic.netlib.blas.InstanceBuilder"
RDD_RELEASED = (
    "RDD 88 was locally checkpointed, its lineage has been truncated and cannot be recomputed "
    "after unpersisting"
)


def test_session_is_configured_for_delta_and_utc(spark) -> None:
    assert spark.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.sparkContext.master == "local[2]"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.sparkContext.getConf().get("spark.ui.enabled") == "false"


def test_write_merge_and_time_travel(spark, settings) -> None:
    path = Lake.from_settings(settings).silver("stack_delta")
    first = spark.createDataFrame(
        [("00000000000001", "2020-01", 1.5), ("00000000000002", "2020-01", None)], SCHEMA
    )
    delta_io.write(first, path)
    assertDataFrameEqual(delta_io.read(spark, path), first)

    update = spark.createDataFrame(
        [("00000000000002", "2020-01", 7.0), ("00000000000003", "2020-02", -2.0)], SCHEMA
    )
    delta_io.merge(spark, update, path, keys=["siret", "period"])
    expected = spark.createDataFrame(
        [
            ("00000000000001", "2020-01", 1.5),
            ("00000000000002", "2020-01", 7.0),
            ("00000000000003", "2020-02", -2.0),
        ],
        SCHEMA,
    )
    assertDataFrameEqual(delta_io.read(spark, path), expected)
    assert delta_io.latest_version(spark, path) == 1
    assertDataFrameEqual(delta_io.read(spark, path, version=0), first)


def test_tables_are_written_plain_encoded_and_zstd_compressed(spark, settings) -> None:
    """The session's Parquet settings (common/spark.py) reach Delta's writer: data pages
    compressed by zstd, no dictionary pages; a reader outside Spark gets the rows back."""
    path = Lake.from_settings(settings).silver("stack_encoding")
    rows = [(f"{i:014d}", "2020-01", i / 7 if i % 5 else None) for i in range(500)]
    delta_io.write(spark.createDataFrame(rows, SCHEMA).coalesce(1), path)
    (data,) = Path(path).glob("*.parquet")
    meta = pq.ParquetFile(data).metadata
    assert meta.num_rows == 500
    for i in range(meta.num_columns):
        column = meta.row_group(0).column(i)
        assert column.compression == "ZSTD", column.path_in_schema
        assert column.dictionary_page_offset is None, column.path_in_schema
        assert "PLAIN_DICTIONARY" not in column.encodings, column.path_in_schema
    back = pq.read_table(data).to_pylist()
    assert [(r["siret"], r["period"], r["amount"]) for r in back] == rows


def test_replace_where_rewrites_only_matching_rows(spark, settings) -> None:
    path = Lake.from_settings(settings).silver("stack_replace")
    base = spark.createDataFrame(
        [("a", "2020-01", 1.0), ("a", "2020-02", 2.0), ("b", "2020-02", 3.0)], SCHEMA
    )
    delta_io.write(base, path, partition_by=["period"])
    patch = spark.createDataFrame([("c", "2020-02", 9.0)], SCHEMA)
    delta_io.write(patch, path, replace_where="period = '2020-02'")
    expected = spark.createDataFrame([("a", "2020-01", 1.0), ("c", "2020-02", 9.0)], SCHEMA)
    assertDataFrameEqual(delta_io.read(spark, path), expected)


def test_concurrent_writes_each_record_their_own_commit_metadata(spark, settings) -> None:
    """Silver tables are written several at a time (features/pipeline.write_silver): each
    write's user metadata is its own, even with a session-wide one set around them."""
    lake = Lake.from_settings(settings)
    frame = spark.createDataFrame([("a", "2020-01", 1.0)], SCHEMA)
    paths = {f"why {i}": lake.silver(f"stack_concurrent_{i}") for i in range(4)}
    with (
        delta_io.commit_metadata(spark, "the session's"),
        ThreadPoolExecutor(max_workers=4) as pool,
    ):
        done = [
            pool.submit(delta_io.write, frame, path, user_metadata=why)
            for why, path in paths.items()
        ]
        for future in done:
            future.result()
    assert {why: delta_io.last_commit(spark, path)[2] for why, path in paths.items()} == {
        why: why for why in paths
    }


def test_table_versions_from_the_log_agree_with_the_history(spark, settings, monkeypatch) -> None:
    """Versions and commit times read from Delta's log (its internal ``DeltaLog``, no query)
    equal what the public ``history`` says; a path with no table, or a Delta without that API,
    takes the public way (and a missing table is named)."""
    path = Lake.from_settings(settings).silver("stack_versions")
    for rows in ([("a", "2020-01", 1.0)], [("b", "2020-02", 2.0)]):
        delta_io.write(spark.createDataFrame(rows, SCHEMA), path, mode="append")
        row = DeltaTable.forPath(spark, path).history(1).head()
        assert delta_io._snapshot(spark, path) is not None  # the fast way is taken
        assert delta_io.latest_version(spark, path) == row["version"]
        assert delta_io.commit_version(spark, path) == (
            row["version"],
            row["timestamp"].isoformat(),
        )
    assert delta_io.latest_version(spark, path) == 1
    missing = f"{path}_missing"
    assert delta_io._snapshot(spark, missing) is None
    with pytest.raises(AnalysisException, match="(?i)not a delta table"):
        delta_io.latest_version(spark, missing)
    # another Delta release, without DeltaLog.update: the same answers, through history(1)
    monkeypatch.setattr(delta_io, "_snapshot", lambda spark, path: None)
    assert delta_io.latest_version(spark, path) == 1
    assert delta_io.commit_version(spark, path)[0] == 1


def test_the_driver_starts_from_the_class_data_archive_and_logs_as_configured(spark) -> None:
    """``make setup`` built the drivers' class-data archive (common/cds.py); the tests' driver
    maps its classes from it (the JDK's own archive alone shares ~1,300), and still logs as
    conf/spark/log4j2.properties says, though its Spark configuration folder is empty."""
    jvm = spark.sparkContext._jvm
    runtime = jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert f"-XX:SharedArchiveFile={CDS_ARCHIVE}" in list(runtime.getInputArguments())
    counters = subprocess.run(
        ["jcmd", str(runtime.getPid()), "PerfCounter.print"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    shared = int(re.search(r"java\.cls\.sharedLoadedClasses=(\d+)", counters).group(1))
    assert shared > 5000
    context = jvm.org.apache.logging.log4j.LogManager.getContext(False)
    source = context.getConfiguration().getConfigurationSource().getLocation()
    assert source == str(LOG4J)
    assert not any(CDS_CONF_DIR.iterdir())


@pytest.mark.parametrize(
    ("logger", "level", "message", "shown"),
    [
        # a MERGE's commit conflict, retried by the job (scoring.table), which says so itself
        (MERGE, "ERROR", "Fatal error in MERGE with materialized source in attempt 1", False),
        (MERGE, "ERROR", "any other error of a MERGE", True),
        (RDD, "WARN", RDD_RELEASED, False),
        (RDD, "WARN", "any other warning", True),
        (DAG, "WARN", "Broadcasting large task binary with size 1178.4 KiB", False),
        (DAG, "WARN", "any other warning of the scheduler", True),
        (BLAS, "WARN", "Failed to load implementation from:dev.ludovic.netlib.blas.JNIBLAS", False),
        (BLAS, "ERROR", "any error of the linear algebra", True),
    ],
)
def test_expected_jvm_warnings_stay_out_of_the_jobs_output(
    spark, logger: str, level: str, message: str, shown: bool
) -> None:
    """conf/spark/log4j2.properties, as the driver's log4j reads it: a few expected messages
    are dropped, every other message of the same loggers still shown."""
    jvm = spark.sparkContext._jvm
    log4j = jvm.org.apache.logging.log4j
    config = log4j.LogManager.getContext(False).getConfiguration().getLoggerConfig(logger)
    event = (
        log4j.core.impl.Log4jLogEvent.newBuilder()
        .setLoggerName(logger)
        .setLevel(log4j.Level.getLevel(level))
        .setMessage(log4j.message.SimpleMessage(message))
        .build()
    )
    assert config.getName() == logger
    passes_level = event.getLevel().isMoreSpecificThan(config.getLevel())
    assert (passes_level and not config.isFiltered(event)) == shown


def test_setup_compiled_the_bytecode_of_what_processes_import() -> None:
    """``make setup`` compiled the environment's packages once: where PYTHONDONTWRITEBYTECODE
    is set (as in many containers) nothing else caches what Python compiles, and every driver,
    Python worker and test run would compile its imports again. Each package module this run
    has imported has its bytecode next to it."""
    site = Path(sysconfig.get_paths()["purelib"])
    imported = {
        Path(module.__file__)
        for module in list(sys.modules.values())
        if (getattr(module, "__file__", None) or "").endswith(".py")
        and Path(module.__file__).is_relative_to(site)
    }
    assert len(imported) > 300  # pyspark, pandas, pyarrow, pydantic...
    missing = [p for p in imported if not Path(importlib.util.cache_from_source(p)).is_file()]
    assert not missing, sorted(str(p.relative_to(site)) for p in missing)[:10]


def test_work_run_a_few_at_a_time_stops_at_a_failure_once_the_work_under_way_ends() -> None:
    began, ended = [], []

    def work(item: int) -> int:
        began.append(item)
        if item == 2:
            raise ValueError(f"item {item} failed")
        time.sleep(0.5 if item == 1 else 0.1)
        ended.append(item)
        return item * 10

    assert parallel.each(work, [0, 1, 3], at_once=2) == [0, 10, 30]  # the items' order
    began.clear(), ended.clear()
    with pytest.raises(ValueError, match="item 2 failed"):
        parallel.each(work, [1, 2, 3, 4, 5, 6], at_once=2)
    assert 1 in ended  # under way when 2 failed: it was waited for, not abandoned
    assert 6 not in began  # not begun by then: left
