"""How the Parquet encoding of a wide table costs: one table (the panel by default) written
again as Delta with dictionary pages on or off and each compression codec, then read back
whole; write time, read time and size of each, on the same cached rows.

    .venv/bin/python -m bench.parquet [--lake LAKE | --table PATH] [--rounds 2]

``project`` is the session as the jobs build it (common/spark.py), the others override its
two settings; the encodings found in its files say the settings took effect. Results in
bench/results/parquet.{json,md}. Scratch copies go to work/bench/parquet/ and are removed.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import pyarrow.parquet as pq
from pyspark import StorageLevel

from bench.harness import ROOT, machine, save
from bench.panel_files import table_layout
from common import delta_io
from common.cli import job_parser, start
from common.lake import Lake

DICTIONARY, CODEC = "parquet.enable.dictionary", "spark.sql.parquet.compression.codec"
SCRATCH = ROOT / "work" / "bench" / "parquet"
# label -> (parquet.enable.dictionary, spark.sql.parquet.compression.codec); None: the session's
VARIANTS = {
    "project": (None, None),
    "dictionary + snappy (Spark's default)": ("true", "snappy"),
    "dictionary + zstd": ("true", "zstd"),
    "plain + snappy": ("false", "snappy"),
    "plain + zstd": ("false", "zstd"),
    "plain + lz4_raw": ("false", "lz4_raw"),
}


def _encodings(path: Path) -> list[str]:
    """Encodings of the double columns in one data file of the table."""
    meta = pq.ParquetFile(next(path.rglob("*.parquet"))).metadata
    found = set()
    for i in range(meta.num_columns):
        column = meta.row_group(0).column(i)
        if column.physical_type == "DOUBLE":
            found.update(column.encodings)
    return sorted(found)


def _measure(spark, df, numeric: list[str], dictionary, codec, out: Path) -> dict:
    session = spark.conf
    saved = {k: session.get(k, None) for k in (DICTIONARY, CODEC)}
    if dictionary is not None:
        session.set(DICTIONARY, dictionary)
        session.set(CODEC, codec)
    try:
        shutil.rmtree(out, ignore_errors=True)
        began = time.monotonic()
        delta_io.write(df, str(out))
        written = time.monotonic() - began
        began = time.monotonic()
        delta_io.read(spark, str(out)).select(*numeric).write.format("noop").mode(
            "overwrite"
        ).save()
        read = time.monotonic() - began
    finally:
        for key, value in saved.items():
            if value is None:
                session.unset(key)
            else:
                session.set(key, value)
    return {
        "write": written,
        "read": read,
        "bytes": table_layout(out)["bytes"],
        "encodings": _encodings(out),
    }


def render(payload: dict) -> str:
    lines = [
        "# Parquet encodings of a wide table",
        "",
        f"Machine: {payload['machine']}",
        "",
        f"Table: {payload['table']} ({payload['rows']:,} rows x {payload['columns']} columns, "
        f"{payload['numeric']} of them numeric), cached, written again as Delta; read back: "
        f"all numeric columns. Median of {payload['rounds']} rounds, after a warm-up write.",
        "",
        "| variant | write (s) | read (s) | size (MiB) | encodings of the doubles |",
        "|---|---|---|---|---|",
    ]
    for label, r in payload["variants"].items():
        lines.append(
            f"| {label} | {r['write']:.1f} | {r['read']:.1f} | {r['bytes'] / 2**20:,.0f} | "
            f"{', '.join(r['encodings'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = job_parser("bench.parquet", __doc__)
    parser.add_argument("--table", help="a Delta table (default: the lake's gold panel)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    settings, spark = start(args, "bench-parquet")
    table = args.table or Lake.from_settings(settings).panel
    df = delta_io.read(spark, table).persist(StorageLevel.MEMORY_AND_DISK)
    rows = df.count()
    numeric = [c for c, t in df.dtypes if t in ("double", "int", "bigint", "float")]
    SCRATCH.mkdir(parents=True, exist_ok=True)
    _measure(spark, df, numeric, None, None, SCRATCH / "warm-up")
    rounds: dict[str, list[dict]] = {label: [] for label in VARIANTS}
    for n in range(args.rounds):
        for label, (dictionary, codec) in VARIANTS.items():
            result = _measure(spark, df, numeric, dictionary, codec, SCRATCH / "t")
            rounds[label].append(result)
            print(f"round {n + 1}, {label}: write {result['write']:.1f} s, "
                  f"read {result['read']:.1f} s, {result['bytes'] / 2**20:.0f} MiB", flush=True)  # fmt: skip
    shutil.rmtree(SCRATCH, ignore_errors=True)
    variants = {
        label: {
            "write": statistics.median(r["write"] for r in results),
            "read": statistics.median(r["read"] for r in results),
            "bytes": results[-1]["bytes"],
            "encodings": results[-1]["encodings"],
        }
        for label, results in rounds.items()
    }
    payload = {"machine": machine(), "table": table, "rows": rows, "columns": len(df.columns),
               "numeric": len(numeric), "rounds": args.rounds, "variants": variants}  # fmt: skip
    print(f"written {save('parquet', payload, render(payload))}")
    spark.stop()


if __name__ == "__main__":
    main()
