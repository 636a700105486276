"""Independent Spark work run a few items at a time from driver threads.

Writing a small Delta table is mostly the driver's bookkeeping (a dozen short Spark jobs:
snapshot, write, commit, statistics) with the cores idle in between; a few such writes at once
keep them busy. Spark runs jobs submitted from several threads side by side (PySpark pins each
Python thread to a JVM thread), and Delta commits to different tables do not conflict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def each(fn: Callable[[Item], Result], items: Iterable[Item], at_once: int) -> list[Result]:
    """``fn`` of every item, ``at_once`` at a time, results in the items' order. On a failure
    the items not begun are left, and the failure (the first in the items' order) is raised
    once the work under way has ended: nothing keeps running behind the caller's back."""
    items = list(items)
    if at_once <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="each") as pool:
        futures = [pool.submit(fn, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()  # those not begun; the pool's exit waits for the others
    for future in futures:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()
    return [future.result() for future in futures]
