"""Which source each file of a delivery holds: by its name (the names the generator
writes and the reference system's, case-insensitive, optional date suffix) or by
the delivery's ``manifest.json``. Unknown files are reported and skipped."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pyspark.sql import SparkSession

from parsers.formats import FORMATS

MANIFEST = "manifest.json"
_EXTENSIONS = re.compile(r"\.(csv|txt|dat)$", re.IGNORECASE)


@dataclass(frozen=True)
class RawFile:
    name: str
    path: str
    size: int
    source: str | None  # None: not recognised


def recognise(name: str, manifest: dict[str, str] | None = None) -> str | None:
    """The source of a file name, or None. The manifest, when it names the file, wins."""
    if manifest and name in manifest:
        return manifest[name] if manifest[name] in FORMATS else None
    stem = _EXTENSIONS.sub("", name)
    matches = {
        fmt.source
        for fmt in FORMATS.values()
        for pattern in fmt.patterns
        if re.fullmatch(pattern, stem, re.IGNORECASE)
    }
    return matches.pop() if len(matches) == 1 else None


def _list(spark: SparkSession, folder: str) -> list[tuple[str, str, int]]:
    """(name, path, size) of the files of a folder, through Hadoop's file system (any URI)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(folder)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path) or not fs.getFileStatus(path).isDirectory():
        raise FileNotFoundError(f"raw delivery folder not found: {folder}")
    return sorted(
        (s.getPath().getName(), s.getPath().toString(), s.getLen())
        for s in fs.listStatus(path)
        if s.isFile()
    )


def _read_manifest(spark: SparkSession, folder: str) -> dict[str, str] | None:
    files = {name: path for name, path, _ in _list(spark, folder)}
    if MANIFEST not in files:
        return None
    text = "\n".join(r.value for r in spark.read.text(files[MANIFEST]).collect())  # a few KB
    entries = json.loads(text).get("files", [])
    return {e["file"]: e["source"] for e in entries if "file" in e and "source" in e}


def discover(spark: SparkSession, folder: str) -> list[RawFile]:
    """Every data file of the delivery with its source (hidden files and the manifest aside)."""
    manifest = _read_manifest(spark, folder)
    return [
        RawFile(name, path, size, recognise(name, manifest))
        for name, path, size in _list(spark, folder)
        if name != MANIFEST and not name.startswith((".", "_"))
    ]
