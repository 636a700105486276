from pathlib import Path

import pytest

from common.config import (
    PROJECT_ROOT,
    ConfigError,
    Settings,
    flatten,
    load_config,
    validated_layers,
)
from common.spark import HUGE_METHODS, session_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_local_config_layers_over_base() -> None:
    settings = load_config(PROJECT_ROOT / "conf" / "local.yaml")
    assert settings.spark.driver_memory == "6g"  # local.yaml
    assert settings.spark.app_name == "early-warning"  # base.yaml
    assert settings.lake.root == str(PROJECT_ROOT / "work" / "lake")
    assert settings.mlflow.tracking_uri == f"sqlite:///{PROJECT_ROOT}/work/mlflow/mlflow.db"
    assert [Path(s).name for s in settings.sources] == ["base.yaml", "local.yaml"]


def test_cluster_example_is_valid_and_keeps_uris() -> None:
    settings = load_config(PROJECT_ROOT / "conf" / "cluster.example.yaml")
    assert settings.lake.root == "hdfs:///data/early-warning/lake"
    assert settings.spark.executor_instances == 10
    assert settings.mlflow.artifact_root == "hdfs:///data/early-warning/mlflow-artifacts"
    assert settings.panel.writer == "spark"


def test_the_python_workers_write_the_panel_to_local_lakes_only(tmp_path: Path) -> None:
    conf = write(tmp_path / "hdfs.yaml", f"extends: {PROJECT_ROOT}/conf/base.yaml\n")
    assert load_config(conf, lake=str(tmp_path)).panel.writer == "arrow"
    with pytest.raises(ConfigError, match=r"hdfs.yaml.*s3a://b/lake.*set panel.writer: spark"):
        load_config(conf, lake="s3a://b/lake")
    spark = write(tmp_path / "spark.yaml", f"extends: {conf}\npanel:\n  writer: spark\n")
    assert load_config(spark, lake="s3a://b/lake").lake.root == "s3a://b/lake"


def test_unknown_key_is_an_error_naming_the_key(tmp_path: Path) -> None:
    conf = write(
        tmp_path / "bad.yaml", f"extends: {PROJECT_ROOT}/conf/base.yaml\nspark:\n  mastr: x\n"
    )
    with pytest.raises(ConfigError, match=r"spark\.mastr: unknown key"):
        load_config(conf)


def test_wrong_type_is_an_error_naming_the_key(tmp_path: Path) -> None:
    conf = write(
        tmp_path / "bad.yaml",
        f"extends: {PROJECT_ROOT}/conf/base.yaml\nspark:\n  shuffle_partitions: many\n",
    )
    with pytest.raises(ConfigError, match=r"spark\.shuffle_partitions: Input should be a valid"):
        load_config(conf)


def test_missing_file_and_extends_loop(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.yaml")
    write(tmp_path / "a.yaml", "extends: b.yaml\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ConfigError, match="loops back"):
        load_config(tmp_path / "a.yaml")


def test_lake_option_and_mlflow_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    settings = load_config(PROJECT_ROOT / "conf" / "local.yaml", lake="lk")
    assert settings.lake.root == str(tmp_path / "lk")
    assert settings.mlflow.tracking_uri == "http://127.0.0.1:5999"


def test_flatten_lists_every_effective_value() -> None:
    flat = flatten(load_config(PROJECT_ROOT / "conf" / "test.yaml"))
    assert flat["spark.master"] == "local[2]"
    assert flat["spark.conf.spark.databricks.delta.snapshotPartitions"] == "2"
    assert flat["tables.panel"] == "panel"
    assert "sources" not in flat


def test_loading_changes_only_the_paths_it_resolves(tmp_path: Path) -> None:
    """Every setting a file gives survives loading: only the paths (and the lake and MLflow
    overrides) are rewritten. ``ingest.at_once`` was once dropped by the loader."""
    conf = write(
        tmp_path / "set.yaml",
        f"extends: {PROJECT_ROOT}/conf/test.yaml\ningest:\n  at_once: 1\n",
    )
    validated = flatten(validated_layers(conf)[0])
    loaded = flatten(load_config(conf))
    resolved = {
        "lake.root",
        "ingest.runs_dir",
        "ingest.expectations_dir",
        "scoring.lists_dir",
        "mlflow.tracking_uri",
        "mlflow.artifact_root",
    }
    assert loaded.keys() == validated.keys()
    changed = {k for k in loaded if loaded[k] != validated[k]}
    assert changed <= resolved, changed
    assert loaded["ingest.at_once"] == "1"


def test_base_yaml_writes_out_the_codes_defaults() -> None:
    """conf/base.yaml spells out the settings with the values the code gives them, so a reader
    of either sees the same defaults; it alone fills the mappings and lists the code leaves
    empty (XGBoost's parameters, the search's trials, the expert corrections).
    ``training.company_weights`` once read false in the code and true in the file."""
    base = validated_layers(PROJECT_ROOT / "conf" / "base.yaml")[0]
    required = {s: getattr(base, s).model_dump() for s in ("lake", "mlflow", "ingest")}
    code = flatten(Settings.model_validate(required))
    written = flatten(base)
    filled = ("training.xgboost.", "training.search", "scoring.corrections")
    differ = {k for k in written if written[k] != code.get(k) and not k.startswith(filled)}
    assert not differ, {k: (written[k], code.get(k)) for k in differ}


def test_the_jit_compiles_huge_methods_on_the_driver_and_executors_unless_told_not_to() -> None:
    spark = load_config(PROJECT_ROOT / "conf" / "test.yaml").spark
    wanted = session_settings(spark)
    # appended to the configuration's own options (test.yaml: the parallel collector)
    assert wanted["spark.driver.extraJavaOptions"].split()[:2] == [
        "-XX:+UseParallelGC",
        HUGE_METHODS,
    ]
    assert wanted["spark.executor.extraJavaOptions"] == HUGE_METHODS
    off = session_settings(spark.model_copy(update={"compile_huge_methods": False}))
    assert HUGE_METHODS not in off["spark.driver.extraJavaOptions"]
    assert "spark.executor.extraJavaOptions" not in off


def test_the_running_driver_compiles_huge_methods(spark) -> None:
    """The option reaches the JVM the session runs in (not only its settings)."""
    management = spark.sparkContext._jvm.java.lang.management.ManagementFactory
    hotspot = management.getPlatformMXBean(
        spark.sparkContext._jvm.java.lang.Class.forName(
            "com.sun.management.HotSpotDiagnosticMXBean"
        )
    )
    assert hotspot.getVMOption("DontCompileHugeMethods").getValue() == "false"
