"""Writing a generated delivery: one raw file per source, the manifest, the ground truth.

Blocks are simulated in the executors (``mapInPandas``, one partition per block,
so the output does not depend on the number of cores). Each block's text is
written by Spark into a staging folder, partitioned by source; each source's
part files are then concatenated in block order behind the header, streaming,
into the single file a real delivery has. Only per-source counts reach the driver.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common import delta_io
from generator.block import TRUTH, TRUTH_COLUMNS, run_block
from generator.corrupt import KINDS
from generator.render import month_columns
from generator.scenario import Scenario
from generator.world import BLOCK_SIZE, block_sizes
from parsers.formats import FORMATS

log = logging.getLogger(__name__)

CHUNK_SCHEMA = "source string, block long, text string, lines long, blank long, " + ", ".join(
    f"bad_{k} long" for k in KINDS
)
TRUTH_SCHEMA = "siren string, month date, probability double, first_judgment_date date"


@dataclass(frozen=True)
class Request:
    establishments: int
    months: int
    start: str
    seed: int
    bad_line_rate: float
    yearly_failure_rate: float


def chunks(spark: SparkSession, scenario: Scenario, request: Request) -> DataFrame:
    """One row per (block, source): the text of that block's lines and their counts."""
    sizes = block_sizes(request.establishments)

    def produce(batches):
        for batch in batches:
            rows = []
            for block in batch["id"].tolist():
                for chunk in run_block(scenario, block, sizes[block], request.bad_line_rate):
                    line_end = FORMATS[chunk.source].line_end if chunk.source in FORMATS else "\n"
                    # the text writer ends each row with "\n"; CRLF files need the "\r"
                    text = chunk.text + ("\r" if line_end == "\r\n" else "")
                    rows.append(
                        {
                            "source": chunk.source,
                            "block": block,
                            "text": text,
                            "lines": chunk.lines,
                            "blank": chunk.blank,
                            **{f"bad_{k}": v for k, v in chunk.bad.items()},
                        }
                    )
            yield pd.DataFrame(rows, columns=[c.split()[0] for c in CHUNK_SCHEMA.split(", ")])

    blocks = spark.range(0, len(sizes), 1, numPartitions=len(sizes))
    return blocks.mapInPandas(produce, CHUNK_SCHEMA)


def _assemble(staging: Path, out: Path, source: str, header: str, line_end: str) -> int:
    """Header + part files in block order -> ``out``; returns the bytes written."""
    parts = sorted((staging / f"source={source}").glob("part-*"))
    with open(out, "wb") as target:
        target.write((header + line_end).encode("utf-8"))
        for part in parts:
            with open(part, "rb") as chunk:
                shutil.copyfileobj(chunk, target, length=1 << 20)
    return out.stat().st_size


def write_delivery(
    spark: SparkSession, scenario: Scenario, request: Request, out: Path, truth: Path
) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    frame = chunks(spark, scenario, request).persist(StorageLevel.DISK_ONLY)
    try:
        log.info(
            "simulating %d blocks of up to %d establishments",
            frame.rdd.getNumPartitions(),
            BLOCK_SIZE,
        )
        (
            frame.where((F.col("lines") + F.col("blank") > 0) | (F.col("source") == TRUTH))
            .where(F.length("text") > 0)
            .select("source", "text")
            .write.partitionBy("source")
            .text(str(staging))
        )
        counts = {
            r["source"]: r
            for r in frame.groupBy("source")
            .agg(*[F.sum(c).alias(c) for c in ["lines", "blank", *[f"bad_{k}" for k in KINDS]]])
            .collect()
        }
    finally:
        frame.unpersist()

    files = []
    for source, fmt in FORMATS.items():
        header = fmt.header_line(month_columns(scenario))
        size = _assemble(staging, out / fmt.file_name, source, header, fmt.line_end)
        row = counts.get(source)
        bad = {k: int(row[f"bad_{k}"] or 0) if row else 0 for k in KINDS}
        files.append(
            {
                "file": fmt.file_name,
                "source": source,
                "lines": int(row["lines"] or 0) if row else 0,
                "blank_lines": int(row["blank"] or 0) if row else 0,
                "bad_lines": sum(bad.values()),
                "bad_lines_by_kind": bad,
                "bytes": size,
            }
        )
        log.info(
            "wrote %s: %d lines, %d bad", fmt.file_name, files[-1]["lines"], files[-1]["bad_lines"]
        )

    truth_frame = spark.read.csv(str(staging / f"source={TRUTH}"), schema=TRUTH_SCHEMA)
    delta_io.write(truth_frame.select(*TRUTH_COLUMNS), str(truth))
    shutil.rmtree(staging, ignore_errors=True)
    manifest = {
        "generator": "early-warning synthetic delivery",
        "parameters": asdict(request),
        "window": {
            "first_month": scenario.month_label(0),
            "last_month": scenario.month_label(scenario.months - 1),
        },
        "files": files,
        "truth": {"format": "delta", "location": "outside the delivery (see README)"},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest
