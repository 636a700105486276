"""MLflow: runs, artifacts, the registered model and its aliases.

What is logged is configuration, lineage, aggregates and figures: no SIRET, SIREN,
company name or individual amount (the model's signature is a schema, not rows).
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow import MlflowClient
from mlflow.models import infer_signature

log = logging.getLogger(__name__)
CHALLENGER, CHAMPION = "challenger", "champion"
PROMOTE_METRIC = "test_aucpr"


def log_params(params: dict[str, str]) -> None:
    items = sorted(params.items())
    for i in range(0, len(items), 100):  # MLflow takes at most 100 params per call
        mlflow.log_params(dict(items[i : i + 100]))


def log_figures(figures: dict[str, plt.Figure]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, fig in figures.items():
            path = Path(tmp) / f"{name}.png"
            fig.savefig(path, dpi=110, bbox_inches="tight")
            plt.close(fig)
            mlflow.log_artifact(str(path), artifact_path="plots")


def log_json(name: str, payload) -> None:
    mlflow.log_dict(payload, name)


def log_table(name: str, frame: pd.DataFrame) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        frame.to_csv(path, index=False)
        mlflow.log_artifact(str(path))


def log_booster(booster: xgb.Booster, features: list[str], registered_model: str, metadata: dict):
    """The xgboost flavour (loads without Spark), with a schema-only signature; registered."""
    schema = pd.DataFrame({f: np.array([0.0], dtype=np.float32) for f in features})
    signature = infer_signature(schema, np.array([0.5]))
    return mlflow.xgboost.log_model(
        booster, name="model", signature=signature, registered_model_name=registered_model,
        metadata=metadata, model_format="ubj",
    )  # fmt: skip


def champion_metric(client: MlflowClient, name: str) -> tuple[str | None, float | None]:
    """(version, test AUCPR) of the current champion, or (None, None)."""
    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except mlflow.exceptions.MlflowException:
        return None, None
    run = client.get_run(version.run_id)
    return str(version.version), run.data.metrics.get(PROMOTE_METRIC)


def set_aliases(client: MlflowClient, name: str, version: str, promote: bool) -> None:
    client.set_registered_model_alias(name, CHALLENGER, version)
    if promote:
        client.set_registered_model_alias(name, CHAMPION, version)
        log.info("model %s version %s is now the champion", name, version)


def features_payload(features: list[str], groups: dict[str, str]) -> dict:
    return {"features": features, "groups": {f: groups[f] for f in features}}


def dump(payload) -> str:
    return json.dumps(payload, indent=2, sort_keys=True)
