"""The one place that builds a SparkSession.

Two ways in:
- plain Python (tests, notebooks): this module sets everything, master and
  resources included, from the configuration, and puts the Delta jars fetched
  by ``make setup`` on the classpath;
- ``spark-submit`` (``./spark-submit.sh`` or a cluster's own): the master, the
  resources and the jars given on the command line win; this module only adds
  what is missing (Delta extension and catalog, UTC time zone...).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

from common.config import PROJECT_ROOT, SparkSettings

log = logging.getLogger(__name__)

JARS_LOCK = PROJECT_ROOT / "jars.lock"
JARS_DIR = PROJECT_ROOT / ".cache" / "jars"

# Settings that belong to whoever launches the application: never overridden
# when spark-submit already set them.
RESOURCE_KEYS = (
    "spark.master",
    "spark.driver.memory",
    "spark.executor.memory",
    "spark.executor.cores",
    "spark.executor.instances",
    "spark.sql.shuffle.partitions",
)


class SetupError(RuntimeError):
    """The environment prepared by ``make setup`` is missing or incomplete."""


def jar_coordinates(lock: Path = JARS_LOCK) -> list[str]:
    """Maven coordinates listed in ``jars.lock``."""
    lines = [line.split("#", 1)[0].strip() for line in lock.read_text().splitlines()]
    return [line.split()[0] for line in lines if line]


def delta_jars(lock: Path = JARS_LOCK, folder: Path = JARS_DIR) -> list[str]:
    """Local paths of the jars of ``jars.lock``, failing clearly when not fetched."""
    paths = []
    for coords in jar_coordinates(lock):
        _group, artifact, version = coords.split(":")
        jar = folder / f"{artifact}-{version}.jar"
        if not jar.is_file():
            raise SetupError(f"missing {jar} ({coords}): run `make setup` to fetch it")
        paths.append(str(jar))
    return paths


def under_spark_submit() -> bool:
    """True when this Python process was launched by spark-submit."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def session_settings(cfg: SparkSettings, app_name: str | None = None) -> dict[str, str]:
    """Every Spark setting the project wants, before deferring to spark-submit."""
    settings = {
        "spark.app.name": app_name or cfg.app_name,
        "spark.master": cfg.master,
        "spark.driver.memory": cfg.driver_memory,
        "spark.sql.shuffle.partitions": str(cfg.shuffle_partitions),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": str(cfg.ui_enabled).lower(),
        "spark.ui.showConsoleProgress": str(cfg.console_progress).lower(),
        # Delta tables are written by path; no Hive metastore or local warehouse folder.
        "spark.sql.warehouse.dir": str(PROJECT_ROOT / "work" / "spark-warehouse"),
    }
    optional = {
        "spark.executor.memory": cfg.executor_memory,
        "spark.executor.cores": cfg.executor_cores,
        "spark.executor.instances": cfg.executor_instances,
    }
    settings.update({k: str(v) for k, v in optional.items() if v is not None})
    settings.update(cfg.conf)
    return settings


def get_spark(cfg: SparkSettings, app_name: str | None = None) -> SparkSession:
    """Build (or return the running) SparkSession with Delta configured."""
    wanted = session_settings(cfg, app_name)
    # pandas-on-Spark and Arrow conversions need it on driver and workers alike.
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    if under_spark_submit():
        SparkContext._ensure_initialized()
        submitted = SparkConf()  # spark.* properties spark-submit put in the JVM
        for key in RESOURCE_KEYS:
            if submitted.contains(key):
                wanted.pop(key)
    else:
        wanted["spark.jars"] = ",".join(delta_jars())
        # Python workers run the driver's interpreter (the project's .venv) unless told otherwise.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # log4j2.properties of the JVM about to be launched
        os.environ.setdefault("SPARK_CONF_DIR", str(PROJECT_ROOT / "conf" / "spark"))
    builder = SparkSession.builder
    for key, value in wanted.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(cfg.log_level)
    log.info(
        "Spark %s on %s (%s cores by default)",
        spark.version,
        spark.sparkContext.master,
        spark.sparkContext.defaultParallelism,
    )
    return spark
