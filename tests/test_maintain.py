"""jobs/maintain.py on a tiny lake: OPTIMIZE compacts, the content and time travel are kept,
VACUUM honours the retention, a retention shorter than the lineage period is refused, and
repeated bronze records go while the current ones stay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from common import delta_io
from common.maintenance import RetentionTooShort, check_retention, maintain
from ingestion.current import current
from ingestion.repeats import drop_repeated, drop_repeated_everywhere
from jobs.maintain import main
from parsers.registry import PARSERS

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


BRONZE = (
    "batch_id string, source_file string, line_number long, siret string, periode date, "
    "numero_compte string, effectif double, ingested_at timestamp"
)
AT = dt.datetime(2021, 1, 1)
HEADCOUNTS = [  # (batch, file, line, siret, month, account, headcount, dropped)
    # the same value in three batches: the first goes, the second stays (its next is the last)
    ("b1", "e.csv", 1, "00000000000001", JAN, "a", 5.0, True),
    ("b2", "e.csv", 1, "00000000000001", JAN, "a", 5.0, False),
    ("b3", "e.csv", 1, "00000000000001", JAN, "a", 5.0, False),
    # changed by the second batch: every record stays
    ("b1", "e.csv", 1, "00000000000001", FEB, "a", 5.0, False),
    ("b2", "e.csv", 1, "00000000000001", FEB, "a", 6.0, False),
    ("b3", "e.csv", 1, "00000000000001", FEB, "a", 6.0, False),
    # missing twice: nulls are equal; not in the last batch, the current record is b2's
    ("b1", "e.csv", 2, "00000000000002", JAN, "b", None, True),
    ("b2", "e.csv", 2, "00000000000002", JAN, "b", None, False),
    # within a batch, the later line repeats the earlier one: the earlier goes
    ("b1", "e.csv", 2, "00000000000002", FEB, "b", 3.0, False),
    ("b2", "e.csv", 2, "00000000000002", FEB, "b", 4.0, True),
    ("b2", "f.csv", 1, "00000000000002", FEB, "b", 4.0, False),
    # another column than the headcount changed: both stay
    ("b1", "e.csv", 3, "00000000000003", JAN, "c", 7.0, False),
    ("b2", "e.csv", 3, "00000000000003", JAN, "d", 7.0, False),
    # repeated by the last batch only: kept, so that batch can still be replaced
    ("b2", "e.csv", 4, "00000000000004", JAN, "e", 1.0, False),
    ("b3", "e.csv", 4, "00000000000004", JAN, "e", 1.0, False),
]


def _headcounts(spark, rows):
    return spark.createDataFrame([(*r[:7], AT) for r in rows], BRONZE)


@pytest.mark.slow  # several Spark jobs and a Delta MERGE: out of make test-fast
def test_repeated_bronze_records_go_and_the_current_ones_stay(spark, tmp_path: Path) -> None:
    tiny_lake(spark, tmp_path)  # its bronze/cotisation has no lineage: not an ingested table
    path = f"{tmp_path}/bronze/effectif"
    delta_io.write(_headcounts(spark, HEADCOUNTS), path, partition_by=["batch_id"])
    before, keys = delta_io.read(spark, path, 0), PARSERS["effectif"].keys

    done = list(drop_repeated_everywhere(spark, str(tmp_path)))

    assert [(d.table, d.records, d.dropped) for d in done] == [("bronze/effectif", 15, 3)]
    after = delta_io.read(spark, path)
    assertDataFrameEqual(after, _headcounts(spark, [r for r in HEADCOUNTS if not r[7]]))
    assertDataFrameEqual(current(after, keys), current(before, keys))
    # the state before the last batch is whole too: replacing that batch leaves it as it was
    older = F.col("batch_id") < "b3"
    assertDataFrameEqual(current(after.where(older), keys), current(before.where(older), keys))
    # nothing left to drop: no new version
    again = drop_repeated(spark, path, "effectif")
    assert (again.table, again.records, again.dropped) == ("bronze/effectif", 12, 0)
    assert delta_io.latest_version(spark, path) == 1
