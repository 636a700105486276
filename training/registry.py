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


def log_params(params: dict[str, str]) -> None:
    items = sorted(params.items())
    for i in range(0, len(items), 100):  # MLflow takes at most 100 params per call
        mlflow.log_params(dict(items[i : i + 100]))


def log_figures(figures: dict) -> None:
    """Each figure as ``plots/<name>.png``. A value may be a function drawing the figure: it is
    then drawn, saved and closed before the next is drawn, so no figure can draw on another."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, fig in figures.items():
            fig = fig() if callable(fig) else fig
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


def input_example(features: list[str]) -> pd.DataFrame:
    """One row with every variable missing: it shows the model's input (names, doubles) and is
    scored like any row, yet holds no company's data (business secrecy)."""
    return pd.DataFrame({f: np.array([np.nan], dtype=np.float64) for f in features})


def requirements() -> list[str]:
    """What loading a model needs, pinned to the versions that trained it: given to MLflow rather
    than inferred (inference loads the model in a subprocess, ~2 s per logged model)."""
    return [f"xgboost=={xgb.__version__}", f"numpy=={np.__version__}", f"pandas=={pd.__version__}"]


def log_booster(booster: xgb.Booster, features: list[str], registered_model: str, metadata: dict):
    """The xgboost flavour (loads without Spark), registered. Its signature declares the panel's
    own types (doubles, ``gold/panel``'s columns), so rows read from the panel by any client
    (delta-rs, pandas, Spark) can be scored as they are."""
    example = input_example(features)
    signature = infer_signature(example, np.array([0.5]))
    return mlflow.xgboost.log_model(
        booster,
        name="model",
        signature=signature,
        input_example=example,
        registered_model_name=registered_model,
        metadata=metadata,
        model_format="ubj",
        pip_requirements=requirements(),
    )


def log_panel_input(path: str, version: int, features: list[str], context: str) -> None:
    """The panel a run read, as an MLflow dataset: its Delta path and version (the UI shows it on
    the run). Metadata only: no row is read or logged."""
    from mlflow.data.delta_dataset_source import DeltaDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.types import ColSpec, DataType, Schema

    class PinnedDeltaSource(DeltaDatasetSource):
        """MLflow 3.17 drops a version 0 from the source it logs (``if version:``): keep it."""

        def to_dict(self) -> dict:
            return {**super().to_dict(), "delta_table_version": self.delta_table_version}

    schema = Schema([ColSpec(DataType.double, f) for f in features])
    source = PinnedDeltaSource(path=path, delta_table_version=version)
    dataset = MetaDataset(source, name=f"gold/panel@v{version}", schema=schema)
    mlflow.log_input(dataset, context=context)


SPLIT_MODEL = "split_model/model.ubj"  # a refit model's split model, the one its run measured


def log_split_model(booster: xgb.Booster) -> str:
    """The model the run measured on its test rows, when the registered one is refit on every
    labelled row: promotion compares it with later models on rows it never learnt from."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(SPLIT_MODEL).name
        booster.save_model(str(path))
        mlflow.log_artifact(str(path), artifact_path=str(Path(SPLIT_MODEL).parent))
    return SPLIT_MODEL


def champion(client: MlflowClient, name: str) -> tuple[str, xgb.Booster, dict | None] | None:
    """(version, model to compare, its recorded split) of the current champion, or None. The
    model to compare is the one its run measured (its split model when the registered one was
    refit); the split is None for versions registered before it was recorded."""
    try:
        version = client.get_model_version_by_alias(name, CHAMPION)
    except mlflow.exceptions.MlflowException:
        return None
    uri = f"models:/{name}/{version.version}"
    evaluation = (mlflow.models.get_model_info(uri).metadata or {}).get("evaluation")
    if evaluation and evaluation.get("model") == SPLIT_MODEL:
        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=SPLIT_MODEL, dst_path=tmp
            )
            booster = xgb.Booster()
            booster.load_model(path)
        return str(version.version), booster, evaluation
    return str(version.version), mlflow.xgboost.load_model(uri), evaluation


def set_aliases(client: MlflowClient, name: str, version: str, promote: bool) -> None:
    client.set_registered_model_alias(name, CHALLENGER, version)
    if promote:
        client.set_registered_model_alias(name, CHAMPION, version)
        log.info("model %s version %s is now the champion", name, version)


def features_payload(features: list[str], groups: dict[str, str]) -> dict:
    return {"features": features, "groups": {f: groups[f] for f in features}}


def dump(payload) -> str:
    return json.dumps(payload, indent=2, sort_keys=True)
