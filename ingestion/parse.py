"""Line-level parsing of a file: split into fields, hand to the source's parser, and
say what becomes of each line (accepted, rejected, skipped, an optional field nulled)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ingestion.bookkeeping import FileReport
from ingestion.preflight import split_header
from ingestion.reader import FileLines
from parsers.common import Fields, structure_error, tokenize
from parsers.registry import Parser

log = logging.getLogger(__name__)


def parse_lines(lines: FileLines, parser: Parser, source_file: str) -> DataFrame:
    """One row per non-blank data line: typed columns, ``_reject``, ``_skip``, ``_field_error``."""
    fmt = parser.format
    header = split_header(lines.header, fmt.separator)
    data = lines.lines.where((F.col("line_number") > 1) & (F.trim("raw") != ""))
    fields = tokenize(F.col("raw"), fmt)
    tokens = data.select("line_number", "raw", fields.alias("_fields")).select(
        "*",
        structure_error(F.col("raw"), F.col("_fields"), len(header)).alias("_structure"),
        F.when(F.col("_fields").isNotNull(), F.size("_fields")).alias("_field_count"),
    )
    parsed = parser.parse(tokens, Fields(header, F.col("_fields")))
    for optional in ("_skip", "_field_error"):
        if optional not in parsed.columns:
            parsed = parsed.withColumn(optional, F.lit(None).cast("string"))
    # a line that cannot be split is rejected for that reason first
    return parsed.withColumn("_reject", F.coalesce("_structure", "_reject")).withColumn(
        "source_file", F.lit(source_file)
    )


@dataclass(frozen=True)
class FieldCounts:
    """How the data lines split, against the header: a header that matches no line is a
    column missing from, or extra in, the header (or the lines)."""

    fitting: int  # lines with as many fields as the header has columns
    first_misfit: int | None  # first line that splits into another number of fields
    fewest: int | None  # field counts of such lines
    most: int | None


def count_lines(parsed: DataFrame, report: FileReport, total_lines: int) -> FieldCounts:
    """Fill the report's line counts (one pass over the parsed lines)."""
    reject, skip = F.col("_reject").isNotNull(), F.col("_skip").isNotNull()
    nulled = F.col("_field_error").isNotNull()
    split = F.col("_field_count").isNotNull()  # null: unbalanced quotes
    misfit = split & F.col("_structure").isNotNull()
    row = parsed.agg(
        F.count(F.lit(1)).alias("read"),
        F.sum(reject.cast("int")).alias("rejected"),
        F.sum((~reject & skip).cast("int")).alias("skipped"),
        F.sum((~reject & ~skip & nulled).cast("int")).alias("nulled"),
        F.sum((split & F.col("_structure").isNull()).cast("int")).alias("fitting"),
        F.min(F.when(misfit, F.col("line_number"))).alias("first_misfit"),
        F.min(F.when(misfit, F.col("_field_count"))).alias("fewest"),
        F.max(F.when(misfit, F.col("_field_count"))).alias("most"),
    ).first()
    report.lines_read = int(row["read"] or 0)
    report.lines_rejected = int(row["rejected"] or 0)
    report.lines_skipped = int(row["skipped"] or 0)
    report.lines_field_nulled = int(row["nulled"] or 0)
    report.blank_lines = max(total_lines - 1 - report.lines_read, 0)
    log.info(
        "parsed %s: %d lines, %d rejected, %d skipped",
        report.source_file,
        report.lines_read,
        report.lines_rejected,
        report.lines_skipped,
    )
    return FieldCounts(int(row["fitting"] or 0), row["first_misfit"], row["fewest"], row["most"])


def parse_quarantine(parsed: DataFrame) -> DataFrame:
    """The lines not accepted as they are, with their disposition and reason."""
    disposition = (
        F.when(F.col("_reject").isNotNull(), "rejected")
        .when(F.col("_skip").isNotNull(), "skipped")
        .when(F.col("_field_error").isNotNull(), "field_nulled")
    )
    return parsed.where(disposition.isNotNull()).select(
        "source_file",
        "line_number",
        F.col("raw").alias("raw_line"),
        disposition.alias("disposition"),
        F.coalesce("_reject", "_skip", "_field_error").alias("reason"),
    )
