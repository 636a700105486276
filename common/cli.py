"""What every job's command line shares: ``--config``, ``--lake``, ``--log-level``."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Callable
from typing import NoReturn

from pyspark.sql import SparkSession

from common.config import DEFAULT_CONF, ConfigError, Settings, load_config
from common.logs import setup_logging
from common.spark import SetupError, get_spark

log = logging.getLogger(__name__)


def month(value: str) -> str:
    """argparse type of a YYYY-MM option."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {value!r}")
    return value


def batch_id(value: str) -> str:
    """argparse type of a batch id."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
        raise argparse.ArgumentTypeError("letters, digits, '_', '.', '-' only (e.g. 2024-06)")
    return value


class _DeprecatedConf(argparse.Action):
    """``--conf PATH``, the old name of ``--config`` (it sat beside spark-submit's own
    ``--conf k=v``): still accepted for one release, with a warning on stderr."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        sys.stderr.write(f"{option_string} PATH is deprecated, use --config PATH\n")
        setattr(namespace, self.dest, values)


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config PATH`` and its deprecated alias ``--conf PATH``, both into ``config``."""
    parser.add_argument(
        "--config",
        default=str(DEFAULT_CONF),
        metavar="PATH",
        help="configuration file (default: conf/local.yaml)",
    )
    parser.add_argument(
        "--conf",
        dest="config",
        metavar="PATH",
        action=_DeprecatedConf,
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )


def job_parser(job: str, description: str) -> argparse.ArgumentParser:
    """The options every job shares; ``job`` is a job's name (``jobs/<job>.py``) or a script's
    path from the project root (``scripts/demo.py``)."""
    script = job if job.endswith(".py") else f"jobs/{job}.py"
    parser = argparse.ArgumentParser(
        prog=f"./spark-submit.sh {script}",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_option(parser)
    parser.add_argument(
        "--lake", metavar="PATH", help="lake root, overriding lake.root of the configuration"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    return parser


def add_delivery_options(parser: argparse.ArgumentParser) -> None:
    """``--raw DIR`` and ``--batch ID``: a delivery to ingest (jobs/ingest.py, jobs/monthly.py)."""
    parser.add_argument("--raw", required=True, metavar="DIR", help="folder of the delivery")
    parser.add_argument(
        "--batch",
        required=True,
        type=batch_id,
        metavar="ID",
        help="batch id; ids sort in delivery order (e.g. 2024-06)",
    )


def load_settings(args: argparse.Namespace) -> Settings:
    """Configuration for a job; a bad file ends the job with the reason, not a traceback."""
    setup_logging(args.log_level)
    try:
        return load_config(args.config, lake=args.lake)
    except ConfigError as exc:
        sys.exit(f"error: {exc}")


def start(args: argparse.Namespace, app_name: str) -> tuple[Settings, SparkSession]:
    settings = load_settings(args)
    try:
        spark = get_spark(settings.spark, app_name)
    except SetupError as exc:
        sys.exit(f"error: {exc}")
    log.info("configuration: %s; lake: %s", ", ".join(settings.sources), settings.lake.root)
    return settings, spark


def run_job(
    args: argparse.Namespace,
    app_name: str,
    run: Callable[[SparkSession, Settings, argparse.Namespace], int],
) -> NoReturn:
    """A job's ``main`` once its checks before Spark are done: the session, ``run`` (the job's
    work, which returns the exit code; scripts/demo.py calls it in a session of its own), the
    session stopped whatever happens, the process ended with the code."""
    settings, spark = start(args, app_name)
    try:
        code = run(spark, settings, args)
    finally:
        spark.stop()
    sys.exit(code)
