"""Typed, layered configuration.

A configuration file is YAML. It may start with ``extends: <file>`` (relative to
its own folder): the parent is loaded first and this file's keys are merged over
it, recursively. ``conf/local.yaml`` and ``conf/cluster.example.yaml`` both extend
``conf/base.yaml``. The merged mapping is validated into the frozen models below:
an unknown key or a value of the wrong type is an error naming the key and the
files read. Relative local paths in a file are resolved against the project
root, so a job gives the same answer whatever its working directory.

Only one environment variable is honoured: ``MLFLOW_TRACKING_URI`` (MLflow's
own), which overrides ``mlflow.tracking_uri``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.resources import project_root

# spark-submit.sh exports EARLY_WARNING_HOME: under spark-submit this module may be
# imported from the --py-files zip, which is not where conf/ and work/ live; without it (a
# cluster-mode driver), conf/ and expectations/ come out of the zip (common/resources.py).
PROJECT_ROOT = project_root()
DEFAULT_CONF = PROJECT_ROOT / "conf" / "local.yaml"


class ConfigError(ValueError):
    """A configuration file is missing, malformed, or does not fit the schema."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LakeSettings(_Section):
    root: str = Field(description="Root of the lake: a local path or a URI (hdfs://, s3a://...)")


class TableSettings(_Section):
    """Names of the tables inside their layer folder of the lake."""

    panel: str = "panel"
    scores: str = "scores"
    quarantine: str = "quarantine"
    ingest_runs: str = "ingest_runs"
    dq_results: str = "dq_results"
    monitoring: str = "monitoring"
    panel_runs: str = "panel_runs"
    monthly_runs: str = "monthly_runs"
    doctor: str = "doctor"


class SparkSettings(_Section):
    master: str = "local[*]"
    app_name: str = "early-warning"
    driver_memory: str = "4g"
    executor_memory: str | None = None
    executor_cores: int | None = None
    executor_instances: int | None = None
    shuffle_partitions: int = 8
    ui_enabled: bool = True
    console_progress: bool = True
    log_level: str = "WARN"
    class_data_sharing: bool = Field(
        default=False,
        description="drivers start from the class-data archive `make setup` builds (this machine)",
    )
    compile_huge_methods: bool = Field(
        default=True,
        description="the JIT compiles methods of over 8,000 bytes of bytecode "
        "(-XX:-DontCompileHugeMethods on the driver and executors): Spark's generated code for "
        "a wide projection is such a method, otherwise interpreted",
    )
    conf: dict[str, str] = Field(default_factory=dict, description="extra spark.* settings")


class MlflowSettings(_Section):
    tracking_uri: str
    artifact_root: str
    experiment: str = "early-warning"
    registered_model: str = "early-warning-xgb"


class GeneratorSettings(_Section):
    """Defaults of jobs/generate.py (its options override them)."""

    start: str = "2016-01"
    months: int = 72
    yearly_failure_rate: float = 0.014
    bad_line_rate: float = 0.0


class IngestSettings(_Section):
    runs_dir: str = Field(description="per-run outputs: reports and great-expectations Data Docs")
    expectations_dir: str = Field(description="data-quality suites, one YAML file per source")
    at_once: int = Field(3, ge=1, description="files parsed at a time")


class PanelConfig(_Section):
    """The monthly panel (jobs/panel.py)."""

    start: str = "2016-01"
    horizon_months: int = 18
    filing_lag_months: int = 6
    min_employees: int = 10
    lookback_months: int = 12
    excluded_naf_sections: list[str] = Field(default_factory=lambda: ["O", "P"])
    public_legal_prefixes: list[str] = Field(default_factory=lambda: ["4", "7"])
    partitions: int = 8
    silver_writers: int = Field(3, ge=1, description="silver tables written at once")
    writer: Literal["arrow", "spark"] = Field(
        "arrow",
        description="who writes the panel's files: arrow, the Python workers that compute "
        "the rows (pyarrow; a file per month and partition; the lake on a local or shared "
        "file system); spark, Spark's Delta writer (a file per month after a shuffle; any "
        "file system Hadoop reads)",
    )


class BalanceSettings(_Section):
    """Rebalancing of the training rows (evaluation always uses the untouched distribution)."""

    method: Literal["none", "subsample", "weights"] = "none"
    positive_share: float = 0.35  # the reference oversampled positives to 35%


class TrainingSettings(_Section):
    """jobs/train.py: split, models, evaluation, registration."""

    test_months: int = 12  # the last months with a complete horizon
    gap_months: int = 18  # between the last training month and the first test month (>= horizon)
    validation_share: float = 0.2  # companies of the training period held out for early stopping
    test_share: float = 0.3  # companies kept out of training, evaluated on the test months
    num_workers: int | None = None  # XGBoost workers; default: the cores of the application
    xgboost: dict[str, float | int | str] = Field(default_factory=dict)
    # hyper-parameter trials: each entry overrides some of ``xgboost`` (empty: ``xgboost`` as
    # it is)
    search: list[dict[str, float | int | str]] = Field(default_factory=list)
    # the first trial is kept unless another beats its validation AUCPR by more than this many
    # standard errors (0: the best validation AUCPR)
    selection_se: float = Field(default=1.0, ge=0)
    company_weights: bool = True  # XGBoost rows weigh 1 / the company's establishments that month
    monotone: bool = False  # constrain the social-debt variables to never lower the risk
    refit: bool = True  # the registered model is refit on every labelled row
    min_train_months: int = 12  # fewer knowable training months is an error
    early_stopping_rounds: int = 30
    # XGBoost's workers print the training and validation losses every this many rounds, and
    # the last (0: never)
    log_rounds: int = Field(default=25, ge=0)
    balance: BalanceSettings = BalanceSettings()
    baseline_reg_param: float = 0.01
    # the alert thresholds' F-beta maxima are sought among thresholds whose alerts hold at
    # least this many validation positives (when validation has that many)
    threshold_min_positives: int = Field(default=30, ge=0)
    shap_sample: int = 2000
    auto_promote: bool = True  # champion when the test AUCPR beats the current champion's
    seed: int = 7


class CorrectionRule(_Section):
    """An expert correction ("redressement"): moves the alert one level when its condition holds."""

    name: str
    description: str
    condition: str  # Spark SQL expression over the panel's variables
    effect: Literal["up", "down"]


class ScoringSettings(_Section):
    """jobs/score.py and jobs/export_list.py."""

    lists_dir: str = "work/lists"  # jobs/monthly.py writes <lists_dir>/list_<YYYY-MM>.json
    top_variables: int = 3  # variables kept per group in the micro explanation
    corrections: list[CorrectionRule] = Field(default_factory=list)


class MonitoringSettings(_Section):
    """jobs/monitor.py, and the reference jobs/train.py stores with each model."""

    experiment: str = "early-warning-monitoring"  # MLflow experiment of the monitoring runs
    psi_watch: float = 0.1  # population stability index of a variable or of the scores
    psi_alert: float = 0.25
    missing_watch: float = 0.05  # change in a variable's missing share (absolute)
    missing_alert: float = 0.2
    count_watch: float = 0.25  # relative change of a count against the previous months' mean
    count_alert: float = 0.5
    previous_months: int = 6  # the months a count is compared with
    min_count: int = 30  # a count whose previous mean is lower gets no status (too noisy)
    # the reference describes the training rows of the window's last months (None: all of
    # them): its first months cannot hold lags reaching before the history's start
    reference_months: int | None = 12
    reference_rows: int = 200_000  # at most this many training rows (a random sample)
    edge_rows: int = 10_000  # the bin edges are the deciles of this many of them (on the driver)
    seed: int = 11


class MaintenanceSettings(_Section):
    """jobs/maintain.py: repeated bronze records, OPTIMIZE and VACUUM of every Delta table."""

    # training and scoring read the panel at a pinned version, recorded in MLflow: every
    # version this recent must stay readable (time travel keeps its log and its files)
    lineage_days: int = 400
    # VACUUM deletes the files unreferenced for longer; never below lineage_days x 24
    vacuum_retention_hours: int = 9600
    # before OPTIMIZE, delete the bronze records that the next record of their key repeats
    # (headcount files are delivered whole every month): the current records are unchanged
    drop_repeated_records: bool = True


class Settings(_Section):
    lake: LakeSettings
    tables: TableSettings = TableSettings()
    spark: SparkSettings = SparkSettings()
    mlflow: MlflowSettings
    generator: GeneratorSettings = GeneratorSettings()
    ingest: IngestSettings
    panel: PanelConfig = PanelConfig()
    training: TrainingSettings = TrainingSettings()
    scoring: ScoringSettings = ScoringSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    maintenance: MaintenanceSettings = MaintenanceSettings()
    sources: tuple[str, ...] = Field(default=(), description="files this config was read from")


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_layers(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[Path]]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: 'extends' loops back to a file already read")
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    parent = data.pop("extends", None)
    if parent is None:
        return data, [path]
    if not isinstance(parent, str):
        raise ConfigError(f"{path}: 'extends' must be a file name")
    base, files = _read_layers(path.parent / parent, (*seen, path))
    return _deep_merge(base, data), [*files, path]


def read_layers(path: str | Path) -> tuple[dict[str, Any], list[Path]]:
    """A configuration file merged with the files it extends (not validated), and those files."""
    return _read_layers(Path(path))


def resolve_path(value: str, base: Path = PROJECT_ROOT) -> str:
    """Absolute form of a local path; URIs (``scheme://``) are returned unchanged."""
    if "://" in value or value.startswith("file:"):
        return value
    return str((base / Path(value).expanduser()).resolve())


def _resolve_sqlite(uri: str) -> str:
    # sqlite:///relative/path.db is relative to the project root, like every other path.
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + resolve_path(uri[len(prefix) :])
    return uri


def _format_errors(exc: ValidationError, files: list[Path]) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {where}: unknown key")
        else:
            lines.append(f"  {where}: {err['msg']} (got {err.get('input')!r})")
    read = ", ".join(str(f) for f in files)
    return f"invalid configuration (read from {read}):\n" + "\n".join(lines)


def validated_layers(path: Path) -> tuple[Settings, list[Path]]:
    """A configuration file merged with the files it extends and validated, as written (its
    paths not resolved); the files read."""
    data, files = read_layers(path)
    try:
        return Settings.model_validate({**data, "sources": tuple(str(f) for f in files)}), files
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, files)) from None


def load_config(path: str | Path | None = None, *, lake: str | None = None) -> Settings:
    """Load, merge and validate a configuration file.

    ``lake`` (the jobs' ``--lake``) overrides ``lake.root``; a relative value is
    taken relative to the current directory, as a person typing it expects.
    """
    settings, files = validated_layers(Path(path) if path else DEFAULT_CONF)
    tracking_uri = os.environ.get("MLFLOW_TRACKING_URI") or settings.mlflow.tracking_uri
    root = resolve_path(lake, Path.cwd()) if lake else resolve_path(settings.lake.root)
    if settings.panel.writer == "arrow":
        from common.parquet_files import UnsupportedLocation, local_folder

        try:
            local_folder(root)
        except UnsupportedLocation as exc:
            read = ", ".join(str(f) for f in files)
            raise ConfigError(f"invalid configuration (read from {read}): {exc}") from None
    return settings.model_copy(
        update={
            "lake": LakeSettings(root=root),
            "ingest": settings.ingest.model_copy(
                update={
                    "runs_dir": resolve_path(settings.ingest.runs_dir),
                    "expectations_dir": resolve_path(settings.ingest.expectations_dir),
                }
            ),
            "scoring": settings.scoring.model_copy(
                update={"lists_dir": resolve_path(settings.scoring.lists_dir)}
            ),
            "mlflow": settings.mlflow.model_copy(
                update={
                    "tracking_uri": _resolve_sqlite(tracking_uri),
                    "artifact_root": resolve_path(settings.mlflow.artifact_root),
                }
            ),
        }
    )


def flatten(settings: BaseModel, prefix: str = "") -> dict[str, str]:
    """Every effective setting as ``section.key -> str`` (for logs and MLflow params)."""
    flat: dict[str, str] = {}
    for name, value in settings:
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            flat.update(flatten(value, f"{key}."))
        elif isinstance(value, dict):
            flat.update({f"{key}.{k}": str(v) for k, v in sorted(value.items())})
        elif name != "sources":
            flat[key] = str(value)
    return flat
