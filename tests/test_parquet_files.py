"""A Delta table's files written with pyarrow and committed by the driver
(common/parquet_files.py), on tiny exact frames; the panel's targets computed on arrays."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from deltalake import DeltaTable
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

from common import delta_io, months
from common.config import PanelConfig
from common.parquet_files import PartitionedFiles, UnsupportedLocation, commit, local_folder
from features.panel import target_columns, targets
from features.pipeline import panel_settings

SCHEMA = StructType(
    [
        StructField("siret", StringType()),
        StructField("periode", DateType()),
        StructField("month_index", IntegerType()),
        StructField("x", DoubleType(), metadata={"comment": "a value"}),
        StructField("flag", BooleanType()),
        StructField("opened", DateType()),
    ]
)


def spec(root: str, buffer_bytes: int = 1 << 30) -> PartitionedFiles:
    return PartitionedFiles(
        root=root,
        schema_json=SCHEMA.json(),
        partition_column="periode",
        key="month_index",
        label=months.first_day,
        stats_columns=("month_index",),
        buffer_bytes=buffer_bytes,
    )


def frame(sirets: list[str], month: list[int], x: list[float]) -> dict[str, np.ndarray]:
    return {
        "siret": np.array(sirets, dtype=object),
        "month_index": np.array(month, dtype="int32"),
        "x": np.array(x),
        "flag": np.array([v > 1 for v in x]),
        "opened": np.array(["2020-03-01" if v > 2 else "NaT" for v in x], dtype="datetime64[D]"),
    }


def written(spark, path: str):
    rows = delta_io.read(spark, path).orderBy("periode", "siret").collect()
    return [(r.siret, r.periode, r.month_index, r.x, r.flag, r.opened) for r in rows]


def test_files_written_by_partition_and_committed_in_one_version(spark, tmp_path) -> None:
    path = str(tmp_path / "table")
    jan, feb, mar = months.index("2020-01"), months.index("2020-02"), months.index("2020-03")
    frames = [  # two chunks of one task; each month's rows in one file, a row group per flush
        frame(["b", "a", "a"], [feb, jan, feb], [1.0, float("nan"), 3.0]),
        frame(["c"], [jan], [2.5]),
    ]
    [files] = spec(path, buffer_bytes=1).write(frames)  # a flush after each chunk
    files = files.sort_values("partition_value").reset_index(drop=True)
    assert files["partition_value"].tolist() == ["2020-01-01", "2020-02-01"]
    assert files["records"].tolist() == [2, 2]
    stats = [json.loads(s) for s in files["stats"]]
    assert stats[0] == {
        "numRecords": 2,
        "minValues": {"month_index": jan},
        "maxValues": {"month_index": jan},
        "nullCount": {"month_index": 0},
    }
    version = commit(
        spark, path, files.to_dict("records"), SCHEMA, "periode", properties={"k.a": "1"}
    )
    assert version == 0
    d = dt.date
    got = written(spark, path)
    assert [(r[0], r[1], r[2], r[4], r[5]) for r in got] == [
        ("a", d(2020, 1, 1), jan, False, None),
        ("c", d(2020, 1, 1), jan, True, d(2020, 3, 1)),
        ("a", d(2020, 2, 1), feb, True, d(2020, 3, 1)),
        ("b", d(2020, 2, 1), feb, False, None),
    ]
    # NaN is written as null, as Spark takes a pandas UDF's NaN (the panel's missing values)
    assert [r[3] for r in got] == [None, 2.5, 3.0, 1.0]
    assert delta_io.read(spark, path).schema == SCHEMA  # comments included
    # each file holds one month, and its statistics let a read skip the others
    actions = DeltaTable(path).get_add_actions(flatten=True)  # read without Spark
    lows, highs = (actions.column(c).to_pylist() for c in ("min.month_index", "max.month_index"))
    assert sorted(lows) == [jan, feb] == sorted(highs)
    one = delta_io.read(spark, path).where(F.col("month_index") == feb)
    assert one.select(F.input_file_name()).distinct().count() == 1

    # the months of March replaced: a month with no file before, and February's file goes
    [more] = spec(path).write([frame(["d", "e"], [mar, feb], [4.0, 5.0])])
    with delta_io.commit_metadata(spark, "why: corrections"):
        version = commit(
            spark,
            path,
            more.to_dict("records"),
            SCHEMA,
            "periode",
            replaced=lambda day: day >= "2020-02-01",
            predicate="periode >= '2020-02-01'",
        )
    assert version == 1
    assert [(r[0], r[2]) for r in written(spark, path)] == [
        ("a", jan),
        ("c", jan),
        ("e", feb),
        ("d", mar),
    ]
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").orderBy("version").collect()
    assert [h.operation for h in history] == ["WRITE", "WRITE"]
    assert history[1].operationParameters["predicate"] == "periode >= '2020-02-01'"
    assert history[1].userMetadata == "why: corrections"
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").head()
    assert detail.numFiles == 3 and detail.properties == {"k.a": "1"}
    # version 0 is still readable as it was (time travel: the removed files are kept)
    assert delta_io.read(spark, path, version=0).count() == 4


def test_an_overwrite_keeps_the_table_and_takes_the_new_schema(spark, tmp_path) -> None:
    path = str(tmp_path / "table")
    jan = months.index("2020-01")
    [files] = spec(path).write([frame(["a"], [jan], [1.0])])
    commit(spark, path, files.to_dict("records"), SCHEMA, "periode", properties={"k.a": "1"})
    before = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").head()
    wider = StructType([*SCHEMA.fields, StructField("y", DoubleType())])
    commit(spark, path, [], wider, "periode", properties={"k.b": "2"})  # nothing written: empty
    after = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").head()
    assert (after.id, after.createdAt) == (before.id, before.createdAt)
    assert after.properties == {"k.a": "1", "k.b": "2"} and after.numFiles == 0
    assert delta_io.read(spark, path).schema == wider
    with pytest.raises(ValueError, match=r"outside the partitions replaced: \['2020-01-01'\]"):
        commit(spark, path, files.to_dict("records"), SCHEMA, "periode", replaced=lambda d: False)
    with pytest.raises(ValueError, match="no table to replace months of"):
        commit(spark, str(tmp_path / "none"), [], SCHEMA, "periode", replaced=lambda d: True)


def test_the_workers_write_to_local_or_shared_file_systems_only() -> None:
    assert local_folder("/data/lake/gold/panel") == "/data/lake/gold/panel"
    assert local_folder("file:///data/lake/gold/panel") == "/data/lake/gold/panel"
    for uri in ("hdfs:///data/lake/gold/panel", "s3a://bucket/lake/gold/panel"):
        with pytest.raises(UnsupportedLocation, match="set panel.writer: spark"):
            local_folder(uri)


def test_the_targets_on_arrays_equal_those_of_spark(spark) -> None:
    """``target_columns`` (the rows the workers write) and ``targets`` (Spark's columns,
    which label updates use): the same values, nulls included."""
    s = panel_settings(PanelConfig(horizon_months=18), last=40)
    month = [10, 10, 10, 10, 10, 22, 23]
    first = [None, 5, 10, 11, 28, 29, 41]
    rows = spark.createDataFrame(list(zip(month, first, strict=True)), "m int, f int")
    expected = rows.select(*[c.alias(n) for n, c in targets(F.col("m"), F.col("f"), s).items()])
    expected = [tuple(r) for r in expected.collect()]
    arrays = target_columns(
        np.array(month, dtype="int32"), np.array([np.nan if f is None else f for f in first]), s
    )
    dates = arrays["date_premiere_ouverture"]
    got = [
        (
            int(arrays["cible"][i]),
            bool(arrays["signal_fort"][i]),
            bool(arrays["horizon_complet"][i]),
            None if np.isnat(dates[i]) else dates[i].astype(dt.date),
        )
        for i in range(len(month))
    ]
    assert got == expected
    assert [g[0] for g in got] == [0, 0, 0, 1, 1, 1, 1]  # m+1 .. m+18, both ends in
