"""The two models: distributed XGBoost, and the reference system's logistic regression on
its standard variables (standardised), trained on the same split."""

from __future__ import annotations

import logging
import os

import numpy as np
import xgboost as xgb
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import Imputer, StandardScaler, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from xgboost.spark import SparkXGBClassifier

from common.config import TrainingSettings

log = logging.getLogger(__name__)


def rebalanced(train: DataFrame, cfg: TrainingSettings) -> tuple[DataFrame, str | None, float]:
    """Training rows rebalanced as configured; returns (rows, weight column, negative keep rate)."""
    method, share = cfg.balance.method, cfg.balance.positive_share
    if method == "none":
        return train, None, 1.0
    counts = train.agg(F.sum("cible").alias("p"), F.count(F.lit(1)).alias("n")).first()
    positives, negatives = float(counts["p"] or 0), float(counts["n"] - (counts["p"] or 0))
    if positives == 0 or negatives == 0:
        return train, None, 1.0
    if method == "subsample":  # keep a share of the negatives so positives make `share`
        keep = min(1.0, positives * (1 - share) / (share * negatives))
        rows = train.where((F.col("cible") == 1) | (F.rand(cfg.seed) < keep))
        return rows, None, keep
    weight = share * negatives / ((1 - share) * positives)  # positives weigh `share` of the total
    return (
        train.withColumn("_weight", F.when(F.col("cible") == 1, weight).otherwise(1.0)),
        "_weight",
        1.0,
    )


BATCH_ROWS = 50_000  # about 170 MB of float32 features per Arrow batch at 868 variables


ROW_KEYS = ("siret", "periode")  # identify a panel row: its place must not depend on the run


def mixed_batches(frame: DataFrame, num_workers: int, seed: int) -> tuple[DataFrame, int]:
    """One partition per worker, rows in a seeded pseudo-random order inside it, and the
    Arrow batch size that cuts each partition into equal batches of about ``BATCH_ROWS``.

    xgboost 3.2 fails (KeyError 'values') on an Arrow batch holding only training or only
    validation rows. Rows spread over one partition per worker (xgboost then does not
    repartition) in random order, cut into few large equal batches, give every batch both
    kinds (a batch of 50,000 rows misses a 1 % kind with probability e^-500), while the
    memory a batch takes stays bounded whatever the size of the data.

    Which worker gets a row, and where, is a hash of the row's key (``ROW_KEYS``, or every
    column when they are absent) and the seed: the same rows give the same model whatever
    the master, the input partitioning or the shuffle's fetch order.
    """
    keys = [c for c in ROW_KEYS if c in frame.columns] or frame.columns
    rows = frame.count()
    per_worker = max(1, -(-rows // num_workers))
    batches = max(1, -(-per_worker // BATCH_ROWS))
    # Hash partitions differ in size by a few hundred rows at most: the slack keeps a
    # partition from ending in a tiny extra batch.
    slack = max(1_000, per_worker // 50)
    place = F.xxhash64(*[F.col(k) for k in keys], F.lit(seed))
    shuffled = (
        frame.withColumn("_place", place)
        .repartition(num_workers, "_place")
        .sortWithinPartitions("_place")
        .drop("_place")
    )
    return shuffled, -(-(per_worker + slack) // batches)


def fit_xgboost(
    train: DataFrame,
    validation: DataFrame,
    features: list[str],
    cfg: TrainingSettings,
    num_workers: int,
) -> xgb.Booster:
    """SparkXGBClassifier with early stopping on the validation rows; returns the booster cut
    at its best iteration (so every consumer, shap included, uses the same trees)."""
    rows, weight, _ = rebalanced(train, cfg)
    frame = rows.withColumn("_validation", F.lit(False)).unionByName(
        validation.withColumn("_validation", F.lit(True)), allowMissingColumns=True
    )
    if weight:
        frame = frame.withColumn(weight, F.coalesce(F.col(weight), F.lit(1.0)))
    params = dict(cfg.xgboost)
    classifier = SparkXGBClassifier(
        features_col=features,
        label_col="cible",
        num_workers=num_workers,
        missing=np.nan,
        validation_indicator_col="_validation",
        early_stopping_rounds=cfg.early_stopping_rounds,
        weight_col=weight,
        random_state=cfg.seed,
        **params,
    )
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    keys = [k for k in ROW_KEYS if k in frame.columns]
    prepared = frame.select(
        *[F.col(f).cast("float").alias(f) for f in features],  # the precision XGBoost uses
        "cible",
        "_validation",
        *([weight] if weight else []),
        *keys,
    )
    prepared, batch = mixed_batches(prepared, num_workers, cfg.seed)
    prepared = prepared.drop(*keys)
    spark = prepared.sparkSession
    # xgboost.spark asks the input for its number of partitions (``rdd.getNumPartitions()``);
    # under adaptive query execution that runs the whole shuffle once more before training.
    # Without it the plan's partitioning is static: one partition per worker, known at once.
    settings = {"spark.sql.execution.arrow.maxRecordsPerBatch": str(batch),
                "spark.sql.adaptive.enabled": "false"}  # fmt: skip
    before = {key: spark.conf.get(key) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        model = classifier.fit(prepared)
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)
    booster = model.get_booster()
    best = booster.attributes().get("best_iteration")
    if best is not None:
        booster = booster[: int(best) + 1]
    log.info(
        "XGBoost: %d trees (best iteration %s) with %d workers",
        booster.num_boosted_rounds(),
        best,
        num_workers,
    )
    return booster


def fit_baseline(train: DataFrame, features: list[str], reg_param: float) -> PipelineModel:
    """Median imputation, standardisation, logistic regression (the reference's baseline)."""
    imputed = [f"_imp_{f}" for f in features]
    pipeline = Pipeline(
        stages=[
            Imputer(inputCols=features, outputCols=imputed, strategy="median"),
            VectorAssembler(inputCols=imputed, outputCol="_raw", handleInvalid="keep"),
            StandardScaler(inputCol="_raw", outputCol="_features", withMean=True, withStd=True),
            LogisticRegression(
                featuresCol="_features", labelCol="cible", regParam=reg_param, maxIter=200
            ),
        ]
    )
    return pipeline.fit(train.select(*features, "cible"))


def baseline_scores(model: PipelineModel, frame: DataFrame, keep: list[str]) -> DataFrame:
    scored = model.transform(frame)
    return scored.select(*keep, vector_to_array("probability")[1].alias("score"))
