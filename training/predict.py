"""Scoring with an XGBoost booster in the executors (mapInPandas): probabilities and,
on demand, exact TreeSHAP contributions (``pred_contribs``). The booster travels as
bytes; rows never come to the driver."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xgboost as xgb
from pyspark.sql import DataFrame

from common import trim_zip_importers


def booster_bytes(booster: xgb.Booster) -> bytes:
    return bytes(booster.save_raw(raw_format="ubj"))


def load_booster(raw: bytes) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return booster


Explain = Callable[[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray], pd.DataFrame]


def predict(
    frame: DataFrame,
    raw: bytes,
    features: list[str],
    keep: list[str],
    explain: tuple[str, Explain] | None = None,
) -> DataFrame:
    """``keep`` columns and ``score`` (probability of the positive class).

    With ``explain`` = (schema of extra columns, function), the exact TreeSHAP
    contributions of each batch (``pred_contribs``: rows x features, and the bias)
    are passed to the function, which returns the batch with its extra columns:
    contributions never leave the executor as such.
    """
    schema = frame.select(*keep).schema.simpleString()[len("struct<") : -1].replace(":", " ")
    schema += ", score double" + (f", {explain[0]}" if explain else "")

    def run(batches):
        trim_zip_importers()  # the worker's rereads of pyspark.zip before each task
        booster = load_booster(raw)
        for batch in batches:
            matrix = frame_matrix(batch, features)
            out = batch[keep].copy()
            score = booster.predict(matrix).astype(float)
            out["score"] = score
            if explain:
                values = booster.predict(matrix, pred_contribs=True)
                out = explain[1](
                    out, values[:, :-1].astype(float), values[:, -1].astype(float), score
                )
            yield out

    return frame.select(*dict.fromkeys([*keep, *features])).mapInPandas(run, schema)


def frame_matrix(frame: pd.DataFrame, features: list[str]) -> xgb.DMatrix:
    return xgb.DMatrix(
        frame[features].to_numpy(dtype=np.float32, na_value=np.nan),
        feature_names=features,
        missing=np.nan,
    )
