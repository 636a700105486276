"""Shared fixtures: one SparkSession for the whole run, built by the project's builder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pipeline_run import Demo, pipeline_conf

from common.config import PROJECT_ROOT, Settings, load_config
from common.spark import get_spark

TEST_CONF = PROJECT_ROOT / "conf" / "test.yaml"
SHARED = {"world", "trained"}  # session fixtures that take minutes to build


def pytest_itemcollected(item: pytest.Item) -> None:
    """A test that needs the shared world or its model is ``slow`` whatever its own cost (the
    world takes minutes to build): ``make test-fast`` leaves it out. Marked as each test is
    collected, before ``-m`` selects."""
    if SHARED & set(item.fixturenames):
        item.add_marker(pytest.mark.slow)


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


class World:
    """A small generated world taken through generate, ingest and panel, shared by the tests
    of the later stages (panel, training, scoring)."""

    def __init__(self, root: Path, settings: Settings, spark):
        from common.lake import Lake
        from features.pipeline import run_panel
        from generator.calibration import make_scenario
        from generator.delivery import Request, write_delivery
        from ingestion.pipeline import ingest_batch

        self.root = root
        self.request = Request(
            establishments=650,
            months=66,
            start="2016-01",
            seed=21,
            bad_line_rate=0.002,
            yearly_failure_rate=0.03,
        )
        scenario = make_scenario(
            self.request.seed,
            self.request.start,
            self.request.months,
            self.request.yearly_failure_rate,
        )
        self.raw, self.truth = root / "raw", root / "truth"
        self.manifest = write_delivery(spark, scenario, self.request, self.raw, self.truth)
        self.settings = settings.model_copy(
            update={"lake": settings.lake.model_copy(update={"root": str(root / "lake")})}
        )
        self.lake = Lake.from_settings(self.settings)
        self.batch = "2021-06"
        self.ingested = ingest_batch(
            spark,
            self.lake,
            PROJECT_ROOT / "expectations",
            root / "runs",
            str(self.raw),
            self.batch,
        )
        self.panel_run = run_panel(spark, self.lake, self.settings.panel)


@pytest.fixture(scope="session")
def world(spark, settings, tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("world"), settings, spark)


class Trained:
    """The world's panel trained on once (XGBoost with two workers, the baseline), in an
    MLflow store of its own; shared by the training and scoring tests."""

    def __init__(self, root: Path, world: World, spark):
        import mlflow

        from training.pipeline import train

        uri = f"sqlite:///{root / 'mlflow.db'}"
        self.settings = world.settings.model_copy(
            update={
                "mlflow": world.settings.mlflow.model_copy(
                    update={"tracking_uri": uri, "artifact_root": str(root / "artifacts")}
                ),
                "training": world.settings.training.model_copy(update={"num_workers": 2}),
            }
        )
        self.uri, self.world = uri, world
        self.result = train(spark, self.settings, truth_path=str(world.truth))
        mlflow.set_tracking_uri(uri)


@pytest.fixture(scope="session")
def trained(spark, world, tmp_path_factory):
    previous = os.environ.pop("MLFLOW_TRACKING_URI", None)
    yield Trained(tmp_path_factory.mktemp("mlflow"), world, spark)
    if previous is not None:
        os.environ["MLFLOW_TRACKING_URI"] = previous


@pytest.fixture(scope="session")
def local_demo(tmp_path_factory) -> Demo:
    """The whole pipeline, locally (local[2]) and with Spark's generated code, as in
    production; the reference of the cluster run."""
    root = tmp_path_factory.mktemp("local-demo")
    return Demo(root, pipeline_conf(root, generated_code=True))
