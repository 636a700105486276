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
LOG4J = PROJECT_ROOT / "conf" / "spark" / "log4j2.properties"
# The drivers' class-data archive (common/cds.py, built by `make setup`), and the empty Spark
# configuration folder such a driver starts with: the JVM shares no class with a class path
# holding a non-empty folder, so its logging is then named by a system property instead.
CDS_DIR = PROJECT_ROOT / ".cache" / "cds"
CDS_ARCHIVE = CDS_DIR / "driver.jsa"
CDS_CONF_DIR = CDS_DIR / "spark-conf"
# The JIT option that compiles methods of any size (spark.compile_huge_methods).
HUGE_METHODS = "-XX:-DontCompileHugeMethods"

# Settings the jobs depend on, kept whatever spark-submit was given: every other one that
# spark-submit already holds wins over the configuration's (spark-submit.sh passes the
# configuration's settings first and the command line's after them, so the command line
# wins, as its usage says; a plain spark-submit brings the cluster's spark-defaults.conf).
PROJECT_KEYS = (
    "spark.app.name",  # the job's own name (spark-submit names the application after its file)
    "spark.sql.extensions",
    "spark.sql.catalog.spark_catalog",
    "spark.sql.session.timeZone",
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
        # Parquet without dictionary pages, compressed by zstd: the panel's ~870 double
        # columns are mostly distinct values, so each page filled a dictionary only to
        # abandon it. On the demo's panel, against Spark's dictionary + snappy: writes 42%
        # quicker, full reads a third quicker, files 22% smaller (bench/parquet.py).
        # spark.conf may set them back.
        "spark.hadoop.parquet.enable.dictionary": "false",
        "spark.sql.parquet.compression.codec": "zstd",
    }
    optional = {
        "spark.executor.memory": cfg.executor_memory,
        "spark.executor.cores": cfg.executor_cores,
        "spark.executor.instances": cfg.executor_instances,
    }
    settings.update({k: str(v) for k, v in optional.items() if v is not None})
    settings.update(cfg.conf)
    java = {"spark.driver.extraJavaOptions": [], "spark.executor.extraJavaOptions": []}
    if cfg.compile_huge_methods:
        # The JVM leaves a method of over 8,000 bytes of bytecode to its interpreter, and the
        # code Spark generates for a projection of many expressions (a parser's typed columns
        # and reasons of rejection) is such a method: at 20k x 72, the debit file's parse went
        # from 21 s to 5 s once compiled, the ingest from 136 s to 122 s (README "Performance").
        for options in java.values():
            options.append(HUGE_METHODS)
    if cfg.class_data_sharing and CDS_ARCHIVE.is_file():
        java["spark.driver.extraJavaOptions"].append(cds_options(CDS_ARCHIVE))
    for key, options in java.items():
        if options:
            settings[key] = " ".join(filter(None, [settings.get(key), *options]))
    return settings


def cds_options(archive: Path, dump: bool = False) -> str:
    """JVM options of a driver that starts from the class-data archive ``archive`` (or, with
    ``dump``, writes it when it exits): the JVM then maps ~15,000 classes of Spark, Hadoop and
    Scala instead of reading, parsing and verifying them, ~3.5 s less per start (measured,
    docs/performance-log.md). A stale archive (another JDK or pyspark) is ignored by the JVM,
    silently: the driver starts as without it. Logging as ``conf/spark/log4j2.properties``
    says, named here since the driver's Spark configuration folder must be empty."""
    share = f"-XX:ArchiveClassesAtExit={archive}" if dump else f"-XX:SharedArchiveFile={archive}"
    return f"{share} -Xlog:cds=off -Xlog:cds+dynamic=off -Dlog4j2.configurationFile=file:{LOG4J}"


def conf_dir(settings: dict[str, str]) -> Path:
    """The SPARK_CONF_DIR of a driver launched with ``settings``: empty when it starts from the
    class-data archive, ``conf/spark`` (log4j2.properties) otherwise."""
    if "-XX:SharedArchiveFile=" in settings.get("spark.driver.extraJavaOptions", ""):
        CDS_CONF_DIR.mkdir(parents=True, exist_ok=True)
        return CDS_CONF_DIR
    return LOG4J.parent


def get_spark(cfg: SparkSettings, app_name: str | None = None) -> SparkSession:
    """Build (or return the running) SparkSession with Delta configured."""
    wanted = session_settings(cfg, app_name)
    # pandas-on-Spark and Arrow conversions need it on driver and workers alike.
    os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
    if under_spark_submit():
        SparkContext._ensure_initialized()
        submitted = SparkConf()  # spark.* properties spark-submit put in the JVM
        wanted = {k: v for k, v in wanted.items() if k in PROJECT_KEYS or not submitted.contains(k)}
    else:
        wanted["spark.jars"] = ",".join(delta_jars())
        # Python workers run the driver's interpreter (the project's .venv) unless told otherwise.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for key, value in wanted.items():
        builder = builder.config(key, value)
    if under_spark_submit() or "SPARK_CONF_DIR" in os.environ:
        spark = builder.getOrCreate()
    else:  # the JVM about to be launched: its logging, or the archive's empty folder
        os.environ["SPARK_CONF_DIR"] = str(conf_dir(wanted))
        try:
            spark = builder.getOrCreate()
        finally:  # not inherited by the processes this one starts (spark-submit.sh chooses)
            del os.environ["SPARK_CONF_DIR"]
    spark.sparkContext.setLogLevel(cfg.log_level)
    log.info(
        "Spark %s on %s (%s cores by default)",
        spark.version,
        spark.sparkContext.master,
        spark.sparkContext.defaultParallelism,
    )
    return spark
