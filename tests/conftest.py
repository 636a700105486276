"""Shared fixtures: one SparkSession for the whole run, built by the project's builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.config import PROJECT_ROOT, Settings, load_config
from common.spark import get_spark

TEST_CONF = PROJECT_ROOT / "conf" / "test.yaml"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """conf/test.yaml with a lake of its own under pytest's temporary folder."""
    return load_config(TEST_CONF, lake=str(tmp_path_factory.mktemp("lake")))


@pytest.fixture(scope="session")
def spark(settings: Settings):
    session = get_spark(settings.spark, app_name="tests")
    yield session
    session.stop()


@pytest.fixture()
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh SQLite tracking store and artifact folder for one test."""
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield load_config(TEST_CONF, lake=str(tmp_path / "lake")).mlflow.model_copy(
        update={"artifact_root": str(tmp_path / "artifacts")}
    )
    mlflow.set_tracking_uri(None)
