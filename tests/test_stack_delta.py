"""Delta through the project's session builder: write, read, MERGE, time travel."""

from pyspark.testing import assertDataFrameEqual

from common import delta_io
from common.lake import Lake

SCHEMA = "siret string, period string, amount double"


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
