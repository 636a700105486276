"""Check that the stack works where the job runs: Spark, Delta, MLflow store, lake.

Writes a two-row Delta table at <lake>/ops/doctor, reads it back, checks the
MLflow tracking store answers, and prints versions and locations.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md

import mlflow
from pyspark.sql import functions as F

from common import delta_io
from common.cli import job_parser, start
from common.lake import Lake
from common.tracking import use_tracking

PACKAGES = ("pyspark", "delta-spark", "xgboost", "shap", "mlflow", "great-expectations")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return job_parser("doctor", __doc__).parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings, spark = start(args, "doctor")
    lake = Lake.from_settings(settings)
    path = lake.ops(settings.tables.doctor)

    probe = spark.range(2).select(F.col("id"), F.current_timestamp().alias("checked_at"))
    delta_io.write(probe, path)
    rows = delta_io.read(spark, path).count()
    version = delta_io.latest_version(spark, path)

    experiment_id = use_tracking(settings.mlflow)
    experiments = len(mlflow.search_experiments())

    sc = spark.sparkContext
    print("early-warning doctor")
    print(f"  master            {sc.master} (default parallelism {sc.defaultParallelism})")
    print(f"  spark.jars        {sc.getConf().get('spark.jars', '')}")
    print(f"  session time zone {spark.conf.get('spark.sql.session.timeZone')}")
    for pkg in PACKAGES:
        print(f"  {pkg:<17} {md.version(pkg)}")
    print(f"  delta table       {path} (version {version}, {rows} rows read back)")
    print(
        f"  mlflow            {settings.mlflow.tracking_uri} "
        f"(experiment id {experiment_id}, {experiments} experiment(s))"
    )
    print("doctor: OK")
    spark.stop()


if __name__ == "__main__":
    main()
