"""Console logging for jobs: one format, Spark's and py4j's chatter kept down."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    for noisy in ("py4j", "urllib3", "alembic", "great_expectations", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
