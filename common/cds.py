"""The drivers' class-data archive, built by ``make setup``:

    python -m common.cds

A JVM started from it maps the ~15,000 classes a driver loads to build its session and make
its first Delta write and read (Spark, Hadoop, Scala, Parquet...) instead of reading, parsing
and verifying them: measured on this machine, a session and its first Delta write and read
took 8.6 s instead of 12.1 s (JVM CPU 14.5 s instead of 21 s). Every job launched by
``spark-submit.sh``, the tests' session and every spark-submit a test starts begin so, when
the configuration says ``spark.class_data_sharing: true`` (``conf/local.yaml``).

The archive is written by a JVM when it exits (``-XX:ArchiveClassesAtExit``): a driver started
here in a process of its own, with the class path and Spark configuration folder of the
drivers that use it, builds a session, writes, reads and merges a small partitioned Delta
table, then stops. It belongs to this machine's JDK and pyspark: ``make setup`` builds it again
when they change; a JVM given a stale one ignores it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common.spark import CDS_ARCHIVE, CDS_CONF_DIR, cds_options


def workload(archive: Path) -> None:
    """A driver that writes ``archive`` when its JVM exits, after the work a job's start does."""
    from common import delta_io
    from common.config import PROJECT_ROOT, load_config
    from common.spark import get_spark

    cfg = load_config(PROJECT_ROOT / "conf" / "local.yaml").spark
    conf = {**cfg.conf, "spark.driver.extraJavaOptions": cds_options(archive, dump=True)}
    cfg = cfg.model_copy(update={"class_data_sharing": False, "conf": conf, "master": "local[2]"})
    spark = get_spark(cfg, app_name="class-data-archive")
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/table"
        frame = spark.range(1000).selectExpr("id", "id % 7 AS k", "CAST(id AS STRING) AS v")
        delta_io.write(frame, path, partition_by=("k",))
        delta_io.merge(spark, frame.where("k = 3"), path, keys=["id"])
        delta_io.read(spark, path).groupBy("k").count().collect()
        delta_io.latest_version(spark, path)
    spark.stop()


def build(archive: Path = CDS_ARCHIVE) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    CDS_CONF_DIR.mkdir(parents=True, exist_ok=True)
    part = archive.with_name(f"{archive.stem}.part{archive.suffix}")
    part.unlink(missing_ok=True)
    began = time.monotonic()
    # the JVM writes the archive as it exits: the driver runs in a process of its own
    env = {**os.environ, "SPARK_CONF_DIR": str(CDS_CONF_DIR)}
    command = [sys.executable, "-m", "common.cds", "--workload", str(part)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not part.is_file():
        sys.exit(f"error: the class-data archive was not written:\n{done.stderr[-3000:]}")
    part.rename(archive)
    size = archive.stat().st_size / 2**20
    sys.stdout.write(f"[setup] {archive} ({size:.0f} MiB) in {time.monotonic() - began:.0f} s\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--workload"]:
        workload(Path(sys.argv[2]))
    else:
        build()
