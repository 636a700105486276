"""The operational tables of ingest: what each file of each batch became.

- ``ops/ingest_runs``: one row per file per batch (counts, status, fingerprint). Rows with
  ``committed`` true are written last and mark the batch as committed; a rejected batch
  leaves rows with ``committed`` false (its files, those at fault ``refused``), replaced by
  the batch's next attempt, and never touching a committed batch's rows;
- ``ops/quarantine``: every line (or, for wide files, record) not accepted as is,
  with its raw text and the reason; ``disposition`` says what happened to it:
  ``rejected`` (not in bronze), ``skipped`` (filtered by a documented rule),
  ``field_nulled`` (kept in bronze with an unusable optional value set to null),
  ``quarantined`` (broke a data-quality rule marked ``quarantine``);
- ``ops/dq_results``: the outcome of every data-quality rule of every batch.
Counts and reasons only: no identifier, name or amount outside the lake's tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io

if TYPE_CHECKING:  # great-expectations is not imported by the readers of these tables
    from ingestion.quality import Outcome

INGEST_RUNS_SCHEMA = (
    "batch_id string, source_file string, source string, status string, message string, "
    "fingerprint string, bytes long, lines_read long, blank_lines long, lines_accepted long, "
    "lines_quarantined long, lines_rejected long, lines_skipped long, lines_field_nulled long, "
    "records_written long, records_quarantined long, dq_warnings int, dq_errors int, "
    "committed_at timestamp, committed boolean"
)
COMMITTED_STATUSES = ("ingested", "unknown_file", "duplicate")
QUARANTINE_SCHEMA = (
    "batch_id string, source string, source_file string, line_number long, raw_line string, "
    "disposition string, reason string, ingested_at timestamp"
)
DQ_SCHEMA = (
    "batch_id string, source string, expectation string, columns string, description string, "
    "severity string, quarantine boolean, success boolean, element_count long, "
    "unexpected_count long, unexpected_percent double, validated_at timestamp"
)


@dataclass
class FileReport:
    source_file: str
    source: str | None
    # committed batch: ingested | unknown_file | duplicate; rejected batch: refused (the file is
    # at fault) | not_committed (the batch was rejected for another file) | unknown_file
    status: str
    message: str = ""
    fingerprint: str = ""
    bytes: int = 0
    lines_read: int = 0
    blank_lines: int = 0
    lines_accepted: int = 0
    lines_quarantined: int = 0
    lines_rejected: int = 0
    lines_skipped: int = 0
    lines_field_nulled: int = 0
    records_written: int = 0
    records_quarantined: int = 0
    dq_warnings: int = 0
    dq_errors: int = 0
    extra: dict = field(default_factory=dict, repr=False)

    def row(self, batch_id: str, at: dt.datetime, committed: bool) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "extra"}
        return {"batch_id": batch_id, **out, "committed_at": at, "committed": committed}


def committed_runs(runs: DataFrame) -> DataFrame:
    """The rows of committed batches (a lake written before ``committed`` existed has only
    those)."""
    if "committed" not in runs.columns:
        return runs
    return runs.where(F.coalesce(F.col("committed"), F.lit(True)))


def previous_runs(spark: SparkSession, path: str) -> DataFrame | None:
    """The committed batches' rows of ``ops/ingest_runs``, or None."""
    return committed_runs(delta_io.read(spark, path)) if delta_io.exists(spark, path) else None


def write_runs(
    spark,
    path: str,
    batch_id: str,
    reports: list[FileReport],
    at: dt.datetime,
    committed: bool = True,
) -> None:
    """A committed batch replaces every row of the batch; a rejected attempt replaces only the
    batch's uncommitted rows, so an earlier commit of the batch stays on record."""
    rows = [r.row(batch_id, at, committed) for r in reports]
    frame = spark.createDataFrame(rows, INGEST_RUNS_SCHEMA)
    if delta_io.exists(spark, path) and "committed" not in delta_io.read(spark, path).columns:
        spark.sql(f"ALTER TABLE delta.`{path}` ADD COLUMNS (committed boolean)")  # older lakes
    if committed or not delta_io.exists(spark, path):
        replace_batch(frame, path, batch_id)
    else:
        where = f"batch_id = '{batch_id}' AND committed = false"
        delta_io.write(frame, path, mode="overwrite", replace_where=where)


def write_dq(spark, path: str, batch_id: str, outcomes: list[Outcome], at: dt.datetime) -> None:
    rows = [
        {
            "batch_id": batch_id,
            "source": o.source,
            "expectation": o.rule.name,
            "columns": ",".join(
                str(o.rule.kwargs[k])
                for k in ("column", "column_A", "column_B")
                if k in o.rule.kwargs
            ),
            "description": o.rule.description,
            "severity": o.rule.severity,
            "quarantine": o.rule.quarantine,
            "success": o.success,
            "element_count": o.element_count,
            "unexpected_count": o.unexpected_count,
            "unexpected_percent": o.unexpected_percent,
            "validated_at": at,
        }
        for o in outcomes
    ]
    replace_batch(spark.createDataFrame(rows, DQ_SCHEMA), path, batch_id)


# A bronze table's files record their number of rows only, no column statistics (Delta's
# default: minimum, maximum and nulls of the first 32 columns, computed in every write). Its
# reads take whole batches (the partition) or the whole table, which statistics do not
# narrow; the 20k x 72 ingest's bronze writes took 30 s with them, 23 s without.
BRONZE_PROPERTIES = {"delta.dataSkippingNumIndexedCols": "0"}


def replace_batch(frame: DataFrame, path: str, batch_id: str, partitioned: bool = False) -> None:
    """Replace the batch's rows of a table (idempotent), creating the table if needed;
    ``partitioned``: a bronze table (partitioned by batch, ``BRONZE_PROPERTIES``)."""
    spark = frame.sparkSession
    by = ["batch_id"] if partitioned else []
    if not delta_io.exists(spark, path):
        properties = BRONZE_PROPERTIES if partitioned else None
        delta_io.write(frame, path, mode="overwrite", partition_by=by, properties=properties)
    else:
        delta_io.write(frame, path, mode="overwrite", replace_where=f"batch_id = '{batch_id}'")


def delete_batch(spark: SparkSession, path: str, batch_id: str) -> None:
    if delta_io.exists(spark, path):
        from delta.tables import DeltaTable

        DeltaTable.forPath(spark, path).delete(F.col("batch_id") == batch_id)
