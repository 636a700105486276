"""MLflow wiring: the tracking store and the experiment, from configuration."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import mlflow

from common.config import MlflowSettings

log = logging.getLogger(__name__)

_SQLITE = "sqlite:///"
# The UI opens an experiment of this kind on its runs, metrics and charts; without it, MLflow 3
# may infer a GenAI experiment and open on traces.
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"


def use_tracking(cfg: MlflowSettings, experiment: str | None = None) -> str:
    """Point MLflow at the configured store and return the experiment's id.

    A local SQLite store gets its folder created; a new experiment gets its
    artifacts under ``artifact_root/<experiment>``. Every experiment is marked as model training
    (``mlflow.experimentKind``), so the UI shows its runs first.
    """
    # a job's log is read after the fact: no progress bars for artifact transfers
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if cfg.tracking_uri.startswith(_SQLITE):
        Path(cfg.tracking_uri[len(_SQLITE) :]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(cfg.tracking_uri)
    name = experiment or cfg.experiment
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        if found.tags.get(KIND_TAG) != KIND:
            mlflow.MlflowClient().set_experiment_tag(found.experiment_id, KIND_TAG, KIND)
        return found.experiment_id
    location = f"{cfg.artifact_root.rstrip('/')}/{name}"
    if "://" not in location:
        Path(location).mkdir(parents=True, exist_ok=True)
    log.info("creating MLflow experiment %r (artifacts in %s)", name, location)
    return mlflow.create_experiment(name, artifact_location=location, tags={KIND_TAG: KIND})
