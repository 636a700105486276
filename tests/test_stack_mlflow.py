"""MLflow with a real SQLite store: a run read back, a model registered and resolved by alias."""

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import xgboost as xgb
from mlflow import MlflowClient

from common.tracking import use_tracking


def test_run_is_logged_and_found_again(mlflow_store, tmp_path: Path) -> None:
    experiment_id = use_tracking(mlflow_store, "stack-check")
    note = tmp_path / "note.txt"
    note.write_text("hello")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({"max_depth": 4, "eta": 0.1})
        mlflow.log_metric("aucpr", 0.42)
        mlflow.log_artifact(str(note))

    runs = mlflow.search_runs(experiment_ids=[experiment_id])
    assert list(runs["run_id"]) == [run.info.run_id]
    assert runs.loc[0, "params.max_depth"] == "4"
    assert runs.loc[0, "metrics.aucpr"] == 0.42
    artifacts = [f.path for f in MlflowClient().list_artifacts(run.info.run_id)]
    assert artifacts == ["note.txt"]
    assert Path(mlflow_store.artifact_root, "stack-check").is_dir()
    assert use_tracking(mlflow_store, "stack-check") == experiment_id  # found, not re-created


def test_experiments_open_on_training_runs_not_genai_traces(mlflow_store) -> None:
    """MLflow 3's UI opens an experiment without a kind in its GenAI view (traces, tokens)."""
    created = use_tracking(mlflow_store, "stack-kind")
    client = MlflowClient()
    assert (
        client.get_experiment(created).tags["mlflow.experimentKind"] == "custom_model_development"
    )
    older = client.create_experiment("stack-kind-older")  # made before the tag existed
    assert "mlflow.experimentKind" not in client.get_experiment(older).tags
    assert use_tracking(mlflow_store, "stack-kind-older") == older
    assert client.get_experiment(older).tags["mlflow.experimentKind"] == "custom_model_development"


def test_model_registered_and_loaded_by_alias(mlflow_store) -> None:
    experiment_id = use_tracking(mlflow_store, "stack-registry")
    rng = np.random.default_rng(0)
    features = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    label = (features["a"] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(features, label=label), 5)

    with mlflow.start_run(experiment_id=experiment_id):
        info = mlflow.xgboost.log_model(
            booster, name="model", input_example=features.head(2), registered_model_name="stack-m"
        )
    client = MlflowClient()
    client.set_registered_model_alias("stack-m", "champion", info.registered_model_version)

    assert str(client.get_model_version_by_alias("stack-m", "champion").version) == "1"
    loaded = mlflow.xgboost.load_model("models:/stack-m@champion")
    sample = xgb.DMatrix(features.tail(5))
    np.testing.assert_allclose(loaded.predict(sample), booster.predict(sample))
