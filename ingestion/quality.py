"""Data-quality rules: suites declared as data (``expectations/<source>.yaml``), run
with great-expectations on each batch before anything is committed.

A rule is a great-expectations expectation with three more keys:
- ``severity``: ``error`` rejects the batch when the expectation fails (with
  ``mostly``, when more rows than allowed break it); ``warn`` is recorded;
- ``quarantine``: the rows that break it go to the quarantine table, with the
  rule's description as the reason, instead of the bronze table;
- ``description``: the reason a person reads.
A suite may ``derive`` helper columns (Spark SQL expressions) its rules refer to.

Quarantining needs the rows, which great-expectations does not return at scale:
each quarantine rule is also translated into a Spark predicate, and the count of
rows it matches must equal great-expectations' unexpected count.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import great_expectations as gx
import yaml
from great_expectations.expectations.metadata_types import FailureSeverity
from pydantic import BaseModel, ConfigDict, ValidationError
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from common.config import ConfigError
from ingestion.datadocs import make_offline

log = logging.getLogger(__name__)

RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}  # counts, no values
_ROW_PREDICATES = {
    "column_values_to_not_be_null",
    "column_values_to_match_regex",
    "column_values_to_be_between",
    "column_values_to_be_in_set",
    "column_pair_values_to_be_equal",
}


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    expect: str  # great-expectations expectation, without "expect_": column_values_to_...
    kwargs: dict[str, Any]
    severity: Literal["error", "warn"]
    quarantine: bool = False
    description: str

    @property
    def name(self) -> str:
        return f"expect_{self.expect}"

    def resolved_kwargs(self, today: dt.date) -> dict[str, Any]:
        return {k: (today if v == "${today}" else v) for k, v in self.kwargs.items()}


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str
    derive: dict[str, str] = {}
    rules: list[Rule]


def _expectation_class(name: str):
    camel = "".join(part.capitalize() for part in name.split("_"))
    return getattr(gx.expectations, camel, None)


def load_suite(path: Path) -> Suite:
    """A suite file, checked: known expectations, their arguments, quarantine predicates."""
    try:
        suite = Suite.model_validate(yaml.safe_load(path.read_text()))
    except (ValidationError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for i, rule in enumerate(suite.rules, start=1):
        cls = _expectation_class(rule.name)
        if cls is None:
            raise ConfigError(f"{path}: rule {i}: unknown expectation '{rule.name}'")
        try:
            cls(**rule.resolved_kwargs(dt.date.today()))
        except Exception as exc:  # great-expectations' own validation of the arguments
            raise ConfigError(f"{path}: rule {i} ({rule.name}): {exc}") from None
        if rule.quarantine and rule.expect not in _ROW_PREDICATES:
            raise ConfigError(f"{path}: rule {i}: quarantine is not supported for {rule.name}")
    return suite


def load_suites(folder: Path) -> dict[str, Suite]:
    """Every suite of the folder, by source. No folder or no suite is an error, never an
    ingest that validates nothing (``ingest.expectations_dir``)."""
    if not folder.is_dir():
        raise ConfigError(
            f"expectations folder not found: {folder} (ingest.expectations_dir); "
            "ingest does not run without its data-quality suites"
        )
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        raise ConfigError(
            f"expectations folder {folder} holds no data-quality suite (*.yaml); "
            "ingest does not run without them"
        )
    suites: dict[str, Suite] = {}
    files: dict[str, Path] = {}
    for path in paths:
        suite = load_suite(path)
        if suite.source in suites:
            raise ConfigError(
                f"{path}: source '{suite.source}' already has a suite, {files[suite.source].name}"
            )
        suites[suite.source], files[suite.source] = suite, path
    return suites


def breaks(rule: Rule, today: dt.date) -> Column:
    """True for a row that the rule's expectation counts as unexpected."""
    k = rule.resolved_kwargs(today)
    if rule.expect == "column_pair_values_to_be_equal":
        a, b = F.col(k["column_A"]), F.col(k["column_B"])
        return ~(a.isNull() & b.isNull()) & (a.isNull() | b.isNull() | (a != b))
    col = F.col(k["column"])
    if rule.expect == "column_values_to_not_be_null":
        return col.isNull()
    if rule.expect == "column_values_to_match_regex":
        return col.isNotNull() & ~col.rlike(k["regex"])
    if rule.expect == "column_values_to_be_in_set":
        return col.isNotNull() & ~col.isin(*k["value_set"])
    low, high = k.get("min_value"), k.get("max_value")
    below = (col <= F.lit(low)) if k.get("strict_min") else (col < F.lit(low))
    above = (col >= F.lit(high)) if k.get("strict_max") else (col > F.lit(high))
    out = F.lit(False)
    if low is not None:
        out = out | below
    if high is not None:
        out = out | above
    return col.isNotNull() & out


def with_derived(frame: DataFrame, suite: Suite) -> DataFrame:
    if not suite.derive:
        return frame
    return frame.select("*", *[F.expr(e).alias(name) for name, e in suite.derive.items()])


@dataclass(frozen=True)
class Outcome:
    source: str
    rule: Rule
    success: bool
    element_count: int
    unexpected_count: int
    unexpected_percent: float


class Validator:
    """One great-expectations file context per run, under the run's output folder, with a
    validation definition for each of the run's sources.

    ``validate`` may be called from several threads: the validations themselves run one at a
    time (great-expectations 1.24 is not thread-safe: its configuration is read again during
    a run through a YAML parser it shares), while the callers' own Spark work goes on beside
    them."""

    def __init__(self, run_dir: Path, today: dt.date, suites: dict[str, Suite]):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.context = gx.get_context(mode="file", project_root_dir=str(run_dir))
        self.context.variables.progress_bars = {"globally": False, "metric_calculations": False}
        self.datasource = self.context.data_sources.add_or_update_spark(name="bronze")
        self.today = today
        self.suites = suites
        self._definitions = {name: self._definition(name, suite) for name, suite in suites.items()}
        self._running = threading.Lock()

    def validate(self, source: str, frame: DataFrame) -> list[Outcome]:
        with self._running:
            result = self._definitions[source].run(
                batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT
            )
        return self._outcomes(source, self.suites[source], result)

    def _definition(self, source: str, suite: Suite) -> gx.ValidationDefinition:
        asset = self.datasource.add_dataframe_asset(name=source)
        batch = asset.add_batch_definition_whole_dataframe(f"{source}-batch")
        gx_suite = self.context.suites.add_or_update(gx.ExpectationSuite(name=source))
        for number, rule in enumerate(suite.rules):
            severity = (
                FailureSeverity.CRITICAL if rule.severity == "error" else FailureSeverity.WARNING
            )
            cls = _expectation_class(rule.name)
            gx_suite.add_expectation(
                cls(
                    **rule.resolved_kwargs(self.today),
                    severity=severity,
                    description=rule.description,
                    meta={"rule": number, "severity": rule.severity, "quarantine": rule.quarantine},
                )
            )
        return self.context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=source, data=batch, suite=gx_suite)
        )

    @staticmethod
    def _outcomes(source: str, suite: Suite, result) -> list[Outcome]:
        outcomes = []
        by_rule = {r.expectation_config.meta["rule"]: r for r in result.results}
        for number, rule in enumerate(suite.rules):
            r = by_rule[number]
            if r.exception_info and r.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"{source}: {rule.name} failed to run: "
                    f"{r.exception_info.get('exception_message')}"
                )
            stats = r.result or {}
            outcomes.append(
                Outcome(
                    source,
                    rule,
                    bool(r.success),
                    int(stats.get("element_count", 0)),
                    int(stats.get("unexpected_count") or 0),
                    float(stats.get("unexpected_percent") or 0),
                )
            )
        return outcomes

    def build_docs(self) -> Path | None:
        self.context.build_data_docs()
        index = (
            Path(self.context.root_directory)
            / "uncommitted"
            / "data_docs"
            / "local_site"
            / "index.html"
        )
        if not index.exists():
            return None
        make_offline(index.parent)  # every asset served from the site: renders offline
        return index
