"""Reading a raw file as numbered lines, in the executors.

Spark's text reader splits a big file into byte ranges; each range keeps its lines
in order. A first pass counts the lines of each range (and fingerprints the file):
the line number of a line is then the lines of the ranges before it plus its
position in its range. Only one small row per range reaches the driver.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

REPLACEMENT = "\ufffd"  # what the UTF-8 decoder puts in place of bytes it cannot read


@dataclass(frozen=True)
class FileLines:
    lines: DataFrame  # line_number (1 = header), raw: every line of the file
    header: str | None  # first line, byte-order mark removed; None for an empty file
    total_lines: int
    fingerprint: str  # content fingerprint: same file content, same fingerprint
    first_undecodable: int | None  # first line that is not valid UTF-8
    undecodable_at: int | None = None  # where in that line (character, from 1)


def read_lines(spark: SparkSession, path: str) -> FileLines:
    text = spark.read.text(path).select(
        F.regexp_replace("value", "\r$", "").alias("raw"),
        F.col("_metadata.file_block_start").alias("block"),
        F.monotonically_increasing_id().alias("id"),
    )
    blocks = (
        text.groupBy("block")
        .agg(
            F.min("id").alias("first_id"),
            F.min_by("raw", "id").alias("first_line"),  # the first block's: the header
            F.count(F.lit(1)).alias("n"),
            F.sum(F.pmod(F.xxhash64("raw"), F.lit(2_147_483_647))).alias("hash"),
            # the first undecodable line of the range, and where in it
            F.min(
                F.when(
                    F.col("raw").contains(REPLACEMENT),
                    F.struct(F.col("id"), F.instr("raw", REPLACEMENT).alias("at")),
                )
            ).alias("bad"),
        )
        .orderBy("block")
        .collect()
    )
    offsets, before = [], 0
    for b in blocks:
        offsets.append((b["block"], b["first_id"], before))
        before += b["n"]
    if not offsets:
        return FileLines(text.select(F.lit(0).alias("line_number"), "raw"), None, 0, "0:0", None)
    table = spark.createDataFrame(offsets, "block long, first_id long, before long")
    numbered = text.join(F.broadcast(table), "block", "inner").select(
        (F.col("id") - F.col("first_id") + F.col("before") + 1).alias("line_number"), "raw"
    )
    header = blocks[0]["first_line"].lstrip("\ufeff")
    bad = [
        (b["bad"]["id"] - first_id + start + 1, b["bad"]["at"])
        for b, (_, first_id, start) in zip(blocks, offsets, strict=True)
        if b["bad"] is not None
    ]
    line, at = min(bad) if bad else (None, None)
    fingerprint = f"{before}:{sum(b['hash'] for b in blocks)}"
    return FileLines(numbered, header, before, fingerprint, line, at)
