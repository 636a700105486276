"""Forcing a concurrent commit: a frame whose evaluation waits, the first time, until the test
has committed to the same table meanwhile (the writer's transaction has already read it)."""

from __future__ import annotations

import time
from concurrent.futures import Future
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def held_at_first_row(frame: DataFrame, folder: Path, column: str) -> DataFrame:
    """``frame`` whose evaluation, the first time only, creates ``folder/started`` and waits for
    ``folder/go``: the write reading it has opened its transaction, and the test commits
    meanwhile. ``column`` is a string column, passed through unchanged."""
    started, go = str(folder / "started"), str(folder / "go")

    def identity(value):  # no type hints: they would make Spark guess a pandas UDF
        import os
        import time

        try:
            os.close(os.open(started, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return value
        deadline = time.monotonic() + 120
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.05)
        return value

    return frame.withColumn(column, F.udf(identity, "string")(column))


def wait_until_held(folder: Path, held: Future, what: str) -> None:
    """Returns once the held write has started (its transaction has read the table)."""
    deadline = time.monotonic() + 120
    while not (folder / "started").exists():
        assert not held.done(), held.result()
        assert time.monotonic() < deadline, f"the held {what} never started"
        time.sleep(0.05)


def release(folder: Path) -> None:
    (folder / "go").touch()
