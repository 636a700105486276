"""Which bronze record is current.

Bronze keeps every record of every batch, with its ``batch_id``. When several
records share a natural key (``Parser.keys``: a corrected contribution for an
account and period, the same establishment in two Sirene stocks...), the current
one is the record of the latest batch — batch ids sort in delivery order — and,
within a batch, the last line of the last file. Silver tables and the panel read
bronze through this rule only.

jobs/maintain.py deletes the records this rule can do without (ingestion/repeats.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from parsers.registry import PARSERS

ORDER = ("batch_id", "source_file", "line_number")  # delivery order of a key's records
LINEAGE = (*ORDER, "ingested_at")  # where a record comes from, not what it says


def current(bronze: DataFrame, keys: Sequence[str]) -> DataFrame:
    """One row per natural key: the latest batch's, then the latest line's."""
    latest = Window.partitionBy(*keys).orderBy(*[F.col(c).desc() for c in ORDER])
    return (
        bronze.withColumn("_rank", F.row_number().over(latest))
        .where(F.col("_rank") == 1)
        .drop("_rank")
    )


def current_records(bronze: DataFrame, source: str) -> DataFrame:
    return current(bronze, PARSERS[source].keys)
