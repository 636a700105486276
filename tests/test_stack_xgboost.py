"""xgboost.spark trained with two workers, and shap agreeing with xgboost's own contributions."""

import numpy as np
import pytest
import shap
import xgboost as xgb
from xgboost.spark import SparkXGBClassifier


@pytest.fixture(scope="module")
def frame(spark):
    rng = np.random.default_rng(7)
    n = 600
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    x2[::9] = np.nan  # native missing values, never filled
    label = (x1 - np.nan_to_num(x2) + rng.normal(scale=0.7, size=n) > 0.8).astype(int)
    rows = [
        (float(a), None if np.isnan(b) else float(b), int(y), i % 4 == 0)
        for i, (a, b, y) in enumerate(zip(x1, x2, label, strict=True))
    ]
    return spark.createDataFrame(rows, "x1 double, x2 double, label int, is_validation boolean")


@pytest.mark.slow
def test_spark_xgboost_with_two_workers_and_shap(spark, frame) -> None:
    classifier = SparkXGBClassifier(
        features_col=["x1", "x2"],
        label_col="label",
        num_workers=2,
        n_estimators=60,
        max_depth=3,
        learning_rate=0.3,
        validation_indicator_col="is_validation",
        early_stopping_rounds=5,
        eval_metric="logloss",
        missing=np.nan,
    )
    model = classifier.fit(frame)
    scored = model.transform(frame).select("label", "probability").toPandas()
    probability = np.array([v[1] for v in scored["probability"]])
    assert len(probability) == 600
    assert np.corrcoef(probability, scored["label"])[0, 1] > 0.5

    booster = model.get_booster()
    assert booster.feature_names == ["x1", "x2"]
    best = int(booster.attributes()["best_iteration"])
    # Keep the trees up to the best round only: shap reads best_iteration, Booster.predict
    # would otherwise use every tree. Slicing makes every consumer agree.
    booster = booster[: best + 1]

    sample = frame.select("x1", "x2").limit(50).toPandas()
    matrix = xgb.DMatrix(sample, missing=np.nan)
    contributions = booster.predict(matrix, pred_contribs=True)
    np.testing.assert_allclose(
        contributions.sum(axis=1), booster.predict(matrix, output_margin=True), atol=1e-5
    )
    shap_values = shap.TreeExplainer(booster).shap_values(sample)
    np.testing.assert_allclose(shap_values, contributions[:, :-1], atol=1e-5)
