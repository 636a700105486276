"""jobs/maintain.py on a tiny lake: OPTIMIZE compacts, the content and time travel are kept,
VACUUM honours the retention, and a retention shorter than the lineage period is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.testing import assertDataFrameEqual

from common import delta_io
from common.maintenance import RetentionTooShort, check_retention, maintain
from jobs.maintain import main

SCHEMA = "siret string, periode date, dette double"
JAN, FEB = dt.date(2020, 1, 1), dt.date(2020, 2, 1)
FIRST = [("00000000000001", JAN, 1.5), ("00000000000002", FEB, None)]
SECOND = [("00000000000003", JAN, 0.0), ("00000000000001", FEB, -2.25)]


def tiny_lake(spark, root: Path) -> None:
    """gold/panel: two appends over two months (4 files); bronze/cotisation: three appends
    (3 files); a folder that is not a table and a layer-less table, both ignored."""
    for rows in (FIRST, SECOND):
        frame = spark.createDataFrame(rows, SCHEMA).coalesce(1)
        delta_io.write(frame, f"{root}/gold/panel", mode="append", partition_by=["periode"])
    for rows in (FIRST, SECOND, FIRST[:1]):
        frame = spark.createDataFrame(rows, SCHEMA).coalesce(1)
        delta_io.write(frame, f"{root}/bronze/cotisation", mode="append")
    delta_io.write(spark.createDataFrame(FIRST, SCHEMA), f"{root}/raw/not_a_layer")
    (root / "ops" / "notes").mkdir(parents=True)


@pytest.mark.slow  # several Spark jobs and Delta commits: out of make test-fast
def test_optimize_compacts_and_keeps_content_and_history(spark, tmp_path: Path) -> None:
    tiny_lake(spark, tmp_path)
    reports = {r.table: r for r in maintain(spark, str(tmp_path), 9600)}

    assert sorted(reports) == ["bronze/cotisation", "gold/panel"]
    panel, bronze = reports["gold/panel"], reports["bronze/cotisation"]
    assert (panel.before.current, panel.optimized.current, panel.after.current) == (4, 2, 2)
    assert (bronze.before.current, bronze.after.current) == (3, 1)
    # within the retention VACUUM deletes nothing: the compacted files stay for time travel
    assert (panel.before.stored, panel.after.stored) == (4, 6)
    assert (bronze.before.stored, bronze.after.stored) == (3, 4)

    path = f"{tmp_path}/gold/panel"
    expected = spark.createDataFrame(FIRST + SECOND, SCHEMA)
    assertDataFrameEqual(delta_io.read(spark, path), expected)
    assertDataFrameEqual(
        delta_io.read(spark, path, version=0), spark.createDataFrame(FIRST, SCHEMA)
    )
    properties = DeltaTable.forPath(spark, path).detail().first()["properties"]
    assert properties["delta.logRetentionDuration"] == "interval 9600 hours"
    assert properties["delta.deletedFileRetentionDuration"] == "interval 9600 hours"


@pytest.mark.slow  # several Spark jobs and Delta commits: out of make test-fast
def test_vacuum_deletes_what_the_retention_no_longer_covers(spark, tmp_path: Path) -> None:
    tiny_lake(spark, tmp_path)
    reports = {r.table: r for r in maintain(spark, str(tmp_path), 0)}

    panel = reports["gold/panel"]
    assert (panel.before.stored, panel.optimized.current, panel.after.stored) == (4, 2, 2)
    expected = spark.createDataFrame(FIRST + SECOND, SCHEMA)
    assertDataFrameEqual(delta_io.read(spark, f"{tmp_path}/gold/panel"), expected)


def test_a_retention_shorter_than_the_lineage_period_is_refused(tmp_path: Path) -> None:
    check_retention(9600, 400)
    with pytest.raises(RetentionTooShort, match=r"at least 9600 hours"):
        check_retention(9599, 400)
    # the job refuses before it starts Spark or touches the lake
    with pytest.raises(SystemExit, match=r"shorter than the lineage period.*lineage_days = 400"):
        main(["--lake", str(tmp_path), "--retention-hours", "168"])
    assert list(tmp_path.iterdir()) == []
