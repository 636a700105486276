"""A Delta table's files written by the Python workers, committed by the driver.

A ``mapInPandas`` pass that computes a wide table in pandas would otherwise hand every row back
to Spark (Arrow batches turned into rows), which shuffles them by partition value (Delta's
optimized write) and writes them through Parquet's Java writer. Here each task writes its own
rows with pyarrow instead, one file per partition value (split by a key column, buffered up
to ``buffer_bytes``, each flush a row group), and returns only the files' descriptions; the
driver then commits them to the Delta table in one transaction (``commit``): the files of
the months replaced are removed and the new ones added atomically, as Delta's own
``replaceWhere`` or overwrite would. On the 20k x 72 panel the variables and the write took
102.5 s this way against 218.1 s through Spark, side by side (docs/performance-log.md).

The price: each task writes a file per partition value (``panel.partitions`` files a month),
and the workers write with pyarrow's file systems (a local or shared file system; not
``hdfs://`` or ``s3a://`` as Hadoop names them). The commit uses Delta's transaction API in
the JVM (``DeltaLog``, ``OptimisticTransaction``; the actions are built from the JSON of the
Delta protocol): Delta 4.4's internal Scala API, as ``common.delta_io._snapshot``.

Files of a task that failed, or of a run that failed before its commit, are left in the
table's folder but in no version of the table: readers never see them, and ``VACUUM``
removes them.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

# what each task returns: one row per file written
FILES_SCHEMA = (
    "path string, partition_value string, records long, bytes long, modified long, stats string"
)
BUFFER_BYTES = 256 * 2**20  # a task's rows held before they are written (a row group per file)

_ARROW_TYPES = {  # Spark type -> pyarrow type factory name
    "string": "string",
    "double": "float64",
    "float": "float32",
    "int": "int32",
    "bigint": "int64",
    "date": "date32",
    "boolean": "bool_",
}


class UnsupportedLocation(ValueError):
    """The table's folder is not on a file system the Python workers write to."""


def local_folder(path: str) -> str:
    """The folder of ``path`` as the workers open it: a plain path or ``file:`` URI; any other
    scheme (``hdfs://``, ``s3a://``...) is refused with the way out."""
    parsed = urlparse(path)
    if parsed.scheme in ("", "file"):
        return parsed.path if parsed.scheme else path
    raise UnsupportedLocation(
        f"{path}: the Python workers write the panel's files to a local or shared file system "
        "only; set panel.writer: spark for a lake on HDFS or an object store"
    )


@dataclass(frozen=True)
class PartitionedFiles:
    """How a task writes its rows: to the table at ``root`` whose schema is ``schema_json``
    (a Spark ``StructType`` as JSON), partitioned by ``partition_column``, whose value for a
    row is ``label(row's key)``; ``stats_columns`` (numeric) get their minimum, maximum and
    null count in each file's Delta statistics, as Delta's ``dataSkippingStatsColumns``."""

    root: str
    schema_json: str
    partition_column: str
    key: str
    label: Callable[[int], str]
    stats_columns: tuple[str, ...] = ()
    compression: str = "zstd"
    dictionary: bool = False
    buffer_bytes: int = BUFFER_BYTES

    def arrow_schema(self):
        import pyarrow as pa

        fields = []
        for field in StructType.fromJson(json.loads(self.schema_json)).fields:
            if field.name == self.partition_column:
                continue
            name = _ARROW_TYPES.get(field.dataType.simpleString())
            if name is None:
                raise TypeError(f"{field.name}: {field.dataType.simpleString()} not written")
            fields.append(pa.field(field.name, getattr(pa, name)()))
        return pa.schema(fields)

    def write(self, frames: Iterable[dict[str, np.ndarray]]) -> Iterator[pd.DataFrame]:
        """Write the rows of ``frames`` (column name -> values; every column of the table
        but the partition column, and ``key``) and yield the files' descriptions
        (``FILES_SCHEMA``), once every frame is written."""
        writer = _TaskWriter(self)
        for frame in frames:
            writer.add(frame)
        yield writer.close()


class _TaskWriter:
    """One task's files: rows buffered by partition value, written as row groups."""

    def __init__(self, spec: PartitionedFiles) -> None:
        import pyarrow as pa

        self.spec = spec
        self.schema = spec.arrow_schema()
        self.folder = local_folder(spec.root)
        self.buffered: dict[int, list[pa.Table]] = {}
        self.size = 0
        self.files: dict[int, tuple] = {}  # key -> (writer, relative path, value)
        self.records: dict[int, int] = {}
        self.stats: dict[int, dict[str, list]] = {}  # key -> column -> [min, max, nulls]

    def add(self, frame: dict[str, np.ndarray]) -> None:
        import pyarrow as pa

        keys = np.asarray(frame[self.spec.key])
        if len(keys) == 0:
            return
        # sorted by key in numpy, then converted: 0.45 s for 38k rows x 868 doubles, against
        # 1.2 s converted then sorted by Arrow's take (docs/performance-log.md)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        table = pa.Table.from_arrays(
            [
                pa.array(np.asarray(frame[f.name])[order], type=f.type, from_pandas=True)
                for f in self.schema
            ],
            schema=self.schema,
        )
        cuts = np.flatnonzero(np.diff(keys)) + 1
        for begin, end in zip(np.r_[0, cuts], np.r_[cuts, len(keys)], strict=True):
            part = table.slice(begin, end - begin)
            self.buffered.setdefault(int(keys[begin]), []).append(part)
            self._observe(int(keys[begin]), part)
        self.size += table.nbytes
        if self.size > self.spec.buffer_bytes:
            self._flush()

    def _observe(self, key: int, part) -> None:
        import pyarrow.compute as pc

        self.records[key] = self.records.get(key, 0) + part.num_rows
        seen = self.stats.setdefault(key, {})
        for name in self.spec.stats_columns:
            column = part.column(name)
            low, high = pc.min_max(column).values()
            low, high = low.as_py(), high.as_py()
            before = seen.get(name, [None, None, 0])
            seen[name] = [
                _extreme(min, low, before[0]),
                _extreme(max, high, before[1]),
                before[2] + column.null_count,
            ]

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq
        from pyspark import TaskContext

        task = TaskContext.get()
        number = task.partitionId() if task is not None else 0
        for key, parts in self.buffered.items():
            if key not in self.files:
                value = self.spec.label(key)
                relative = (
                    f"{self.spec.partition_column}={value}/"
                    f"part-{number:05d}-{uuid.uuid4()}.c000.{self.spec.compression}.parquet"
                )
                os.makedirs(os.path.dirname(os.path.join(self.folder, relative)), exist_ok=True)
                file = pq.ParquetWriter(
                    os.path.join(self.folder, relative),
                    self.schema,
                    compression=self.spec.compression,
                    use_dictionary=self.spec.dictionary,
                    write_statistics=False,
                )
                self.files[key] = (file, relative, value)
            self.files[key][0].write_table(pa.concat_tables(parts), row_group_size=1 << 30)
        self.buffered, self.size = {}, 0

    def close(self) -> pd.DataFrame:
        self._flush()
        rows = []
        for key, (file, relative, value) in self.files.items():
            file.close()
            found = os.stat(os.path.join(self.folder, relative))
            stats = {"numRecords": self.records[key]}
            if self.spec.stats_columns:
                seen = self.stats[key]
                stats["minValues"] = {c: seen[c][0] for c in self.spec.stats_columns}
                stats["maxValues"] = {c: seen[c][1] for c in self.spec.stats_columns}
                stats["nullCount"] = {c: seen[c][2] for c in self.spec.stats_columns}
            rows.append(
                (
                    relative,
                    value,
                    self.records[key],
                    found.st_size,
                    int(found.st_mtime * 1000),
                    json.dumps(stats),
                )
            )
        return pd.DataFrame(
            rows, columns=["path", "partition_value", "records", "bytes", "modified", "stats"]
        )


def _extreme(pick: Callable, a, b):
    """``pick`` (min or max) of two values, either of which may be None (all nulls)."""
    return b if a is None else a if b is None else pick(a, b)


def commit(
    spark: SparkSession,
    path: str,
    files: list[Mapping],
    schema: StructType,
    partition_column: str,
    *,
    replaced: Callable[[str], bool] | None = None,
    predicate: str | None = None,
    properties: dict[str, str] | None = None,
) -> int:
    """Commit ``files`` (rows of ``FILES_SCHEMA``: Spark rows or dicts) to the Delta table
    at ``path`` in one transaction and return its version. With ``replaced`` (a partition
    value -> whether its files go), the files of those partitions are removed, as
    ``replaceWhere`` does (``predicate`` is its text, recorded in the history); without,
    every file is, and the table takes ``schema`` and ``properties`` (created if it does not
    exist), as an overwrite with ``overwriteSchema``. The commit's user metadata is the
    session's (``delta_io.commit_metadata``)."""
    jvm = spark.sparkContext._jvm
    delta = jvm.org.apache.spark.sql.delta
    txn = delta.DeltaLog.forTable(spark._jsparkSession, path).startTransaction()
    if replaced is None:
        metadata = _metadata(txn, schema, partition_column, properties)
        txn.updateMetadata(delta.actions.Action.fromJson(metadata), False)
    elif txn.readVersion() < 0:
        raise ValueError(f"{path}: no table to replace months of")
    else:  # as replaceWhere's check: rows outside the replaced partitions would be duplicates
        outside = sorted(
            {r["partition_value"] for r in files if not replaced(r["partition_value"])}
        )
        if outside:
            raise ValueError(f"{path}: files written outside the partitions replaced: {outside}")
    removed = []
    existing = txn.filterFiles().iterator()
    while existing.hasNext():
        file = existing.next()
        if replaced is None or replaced(file.partitionValues().apply(partition_column)):
            removed.append(file.remove())
    added = [delta.actions.Action.fromJson(_add(row, partition_column)) for row in files]
    none = jvm.scala.Option.empty()
    operation = delta.DeltaOperations.Write(
        jvm.org.apache.spark.sql.SaveMode.Overwrite,
        jvm.scala.Some(_seq(jvm, [partition_column])),
        jvm.scala.Some(predicate) if predicate else none,
        *[none] * 6,
    )
    return int(txn.commit(_seq(jvm, [*removed, *added]), operation))


def _metadata(txn, schema: StructType, partition_column: str, properties: dict | None) -> str:
    """The ``metaData`` action of an overwrite: the table's id and creation time kept (a new
    table gets new ones), its properties with ``properties`` on top."""
    current = txn.metadata() if txn.readVersion() >= 0 else None
    configuration = {}
    if current is not None:
        entries = current.configuration().iterator()
        while entries.hasNext():
            entry = entries.next()
            configuration[entry._1()] = entry._2()
    configuration.update(properties or {})
    created = current.createdTime() if current is not None else None
    if created is not None and created.isDefined():
        created = created.get()
    else:
        created = int(time.time() * 1000)
    action = {
        "id": current.id() if current is not None else str(uuid.uuid4()),
        "format": {"provider": "parquet", "options": {}},
        "schemaString": schema.json(),
        "partitionColumns": [partition_column],
        "configuration": configuration,
        "createdTime": created,
    }
    return json.dumps({"metaData": action})


def _add(row: Mapping, partition_column: str) -> str:
    return json.dumps(
        {
            "add": {
                "path": row["path"],
                "partitionValues": {partition_column: row["partition_value"]},
                "size": row["bytes"],
                "modificationTime": row["modified"],
                "dataChange": True,
                "stats": row["stats"],
            }
        }
    )


def _seq(jvm, items: list):
    listed = jvm.java.util.ArrayList()
    for item in items:
        listed.add(item)
    return jvm.scala.jdk.javaapi.CollectionConverters.asScala(listed).toList()
