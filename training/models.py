"""The two models: distributed XGBoost, and the reference system's logistic regression on
its standard variables (standardised), trained on the same split."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import xgboost as xgb
from pyspark import StorageLevel
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import Imputer, StandardScaler, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from xgboost.spark import SparkXGBClassifier

from common.config import TrainingSettings
from features.catalog import directions

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


COMPANY_WEIGHT = "_company_weight"


def with_company_weights(frame: DataFrame) -> DataFrame:
    """Adds ``COMPANY_WEIGHT``: 1 / (the company's establishments that month) among the rows, so
    that every company-month counts once, as on the agents' lists, and a failing company with
    forty establishments does not count forty times. Computed once per set of rows (a shuffle
    by company and month): every fit on them reuses it."""
    share = 1.0 / F.count(F.lit(1)).over(Window.partitionBy("siren", "periode"))
    return frame.withColumn(COMPANY_WEIGHT, share)


def company_weighted(frame: DataFrame, weight: str | None) -> tuple[DataFrame, str]:
    """The company weight (computed here when the rows do not carry it), times ``weight``."""
    if COMPANY_WEIGHT not in frame.columns:
        frame = with_company_weights(frame)
    if weight:
        frame = frame.withColumn(COMPANY_WEIGHT, F.col(COMPANY_WEIGHT) * F.col(weight))
    return frame, COMPANY_WEIGHT


BATCH_ROWS = 50_000  # about 170 MB of float32 features per Arrow batch at 868 variables


ROW_KEYS = ("siret", "periode")  # identify a panel row: its place must not depend on the run
FEATURES = "_features"  # the features of a row as one array, as the fit reads them


def mixed_batches(
    frame: DataFrame, num_workers: int, seed: int, rows: int | None = None
) -> tuple[DataFrame, int]:
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
    rows = frame.count() if rows is None else rows  # a whole pass when the caller does not know
    per_worker = max(1, -(-rows // num_workers))
    batches = max(1, -(-per_worker // BATCH_ROWS))
    # Hash partitions differ in size by a few hundred rows at most: the slack keeps a
    # partition from ending in a tiny extra batch.
    slack = max(1_000, per_worker // 50)
    return placed(frame, num_workers, seed), -(-(per_worker + slack) // batches)


@dataclass(frozen=True)
class FitInputs:
    """What a fit reads (``as_float32``), placed one partition per worker (``mixed_batches``):
    built once, it serves every fit on the same rows (the trials of a search)."""

    frame: DataFrame
    weight: str | None  # the weight column (None: unweighted)
    batch: int  # Arrow batch rows
    validated: bool  # holds validation rows (``_validation``)


def fit_inputs(
    train: DataFrame,
    validation: DataFrame | None,
    features: list[str],
    cfg: TrainingSettings,
    num_workers: int,
    row_count: int | None = None,
) -> FitInputs:
    """The training rows rebalanced, the validation rows beside them, as a fit reads them;
    ``row_count``, the number of training and validation rows when the caller knows it,
    saves a pass over them."""
    frame, weight = training_frame(train, validation, cfg)
    keys = [k for k in ROW_KEYS if k in frame.columns]
    # Company weights, when the rows do not carry them (a refit), are computed after the cast:
    # the shuffle by company and month then moves one float32 array, not 868 doubles (the
    # demo's refit: 129 MB shuffled instead of 203 MB, its rows ready in 8.9 s, not 14.1 s).
    company = []
    if cfg.company_weights:
        company = [COMPANY_WEIGHT if COMPANY_WEIGHT in frame.columns else "siren"]
    inputs = as_float32(frame, features, weight, keys + company)
    if cfg.company_weights:  # the rebalancing's weight, when any, is folded into it
        rebalancing = weight
        inputs, weight = company_weighted(inputs, rebalancing)
        inputs = inputs.drop("siren", *([rebalancing] if rebalancing else []))
    # subsampling changes the count
    known = row_count if cfg.balance.method != "subsample" else None
    inputs, batch = mixed_batches(inputs, num_workers, cfg.seed, known)
    return FitInputs(inputs.drop(*keys), weight, batch, validation is not None)


@contextmanager
def cached(inputs: FitInputs) -> Iterator[FitInputs]:
    """``inputs`` cached for the block: the fits after the first read the placed rows instead
    of reading, weighing, casting and shuffling them again. Cached under the fits' static
    planning (``static_plans``), so the cache keeps one partition per worker."""
    with static_plans(inputs.frame.sparkSession, inputs.batch):
        frame = inputs.frame.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        yield replace(inputs, frame=frame)
    finally:
        frame.unpersist()


def fit_xgboost(
    train: DataFrame,
    validation: DataFrame | None,
    features: list[str],
    cfg: TrainingSettings,
    num_workers: int,
    params: dict | None = None,
    row_count: int | None = None,
) -> xgb.Booster:
    """``fit_prepared`` on the training rows and, when given, the validation rows;
    ``row_count``, the number of training and validation rows when the caller knows it,
    saves a pass over them."""
    inputs = fit_inputs(train, validation, features, cfg, num_workers, row_count)
    return fit_prepared(inputs, features, cfg, num_workers, params)


def fit_prepared(
    inputs: FitInputs,
    features: list[str],
    cfg: TrainingSettings,
    num_workers: int,
    params: dict | None = None,
) -> xgb.Booster:
    """SparkXGBClassifier on prepared rows (``fit_inputs``), with ``params`` (default
    ``cfg.xgboost``).

    With validation rows, training stops early on them and the booster is cut at its best
    iteration (so every consumer, shap included, uses the same trees); without, it grows
    ``n_estimators`` trees (a refit whose number of trees was chosen before).
    """
    estimator = classifier(inputs.validated, inputs.weight, features, cfg, num_workers, params)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    model = fit_static(estimator, inputs.frame, inputs.batch)
    booster = model.get_booster()
    best = booster.attributes().get("best_iteration")
    if best is not None and inputs.validated:
        booster = booster[: int(best) + 1]
    booster.feature_names = features  # the array's positions, named: scoring reads them by name
    log.info(
        "XGBoost: %d trees (best iteration %s) with %d workers",
        booster.num_boosted_rounds(),
        best,
        num_workers,
    )
    return booster


def training_frame(
    train: DataFrame, validation: DataFrame | None, cfg: TrainingSettings
) -> tuple[DataFrame, str | None]:
    """The training rows rebalanced, the validation rows beside them (``_validation``), and
    the rebalancing's weight column (None when unweighted); ``fit_inputs`` adds the company
    weights."""
    rows, weight, _ = rebalanced(train, cfg)
    frame = rows
    if validation is not None:
        frame = rows.withColumn("_validation", F.lit(False)).unionByName(
            validation.withColumn("_validation", F.lit(True)), allowMissingColumns=True
        )
    if weight:
        frame = frame.withColumn(weight, F.coalesce(F.col(weight), F.lit(1.0)))
    return frame, weight


def classifier(
    validated: bool,
    weight: str | None,
    features: list[str],
    cfg: TrainingSettings,
    num_workers: int,
    params: dict | None = None,
) -> SparkXGBClassifier:
    """The estimator ``fit_prepared`` fits: early stopping on the rows flagged
    ``_validation`` when ``validated``; the workers print the losses every
    ``cfg.log_rounds`` rounds (XGBoost's ``verbose_eval``), not at each of hundreds."""
    return SparkXGBClassifier(
        features_col=FEATURES,
        label_col="cible",
        num_workers=num_workers,
        missing=np.nan,
        validation_indicator_col="_validation" if validated else None,
        early_stopping_rounds=cfg.early_stopping_rounds if validated else None,
        weight_col=weight,
        random_state=cfg.seed,
        verbose=cfg.log_rounds or False,
        **xgboost_params(features, cfg, params),
    )


def xgboost_params(features: list[str], cfg: TrainingSettings, params: dict | None) -> dict:
    """``params`` (default ``cfg.xgboost``) with the monotone constraints when configured."""
    params = dict(cfg.xgboost if params is None else params)
    constraints = monotone_constraints(features) if cfg.monotone else None
    if constraints:
        params["monotone_constraints"] = constraints
    return params


def as_float32(
    frame: DataFrame, features: list[str], weight: str | None, keys: list[str]
) -> DataFrame:
    """The columns a fit reads: the features as one array (``FEATURES``) at the precision
    XGBoost uses, the label, the validation flag, weight, and ``keys`` (columns passed
    through as they are); as SQL text, in one call to the JVM (868 columns built in Python
    cost ~1.5 s of round trips per fit).

    One array rather than 868 columns: xgboost.spark then stacks each Arrow batch into a
    row-major matrix, where with columns it hands XGBoost a pandas frame read column by column,
    and its quantile sketch of a frame is about twice as slow (one worker's half of the 20k
    split: 11.8 s -> 6.8 s)."""
    values = ", ".join(f"CAST(`{f}` AS FLOAT)" for f in features)
    return frame.selectExpr(
        f"array({values}) AS {FEATURES}",
        "cible",
        *(["_validation"] if "_validation" in frame.columns else []),
        *([f"`{weight}`"] if weight else []),
        *[f"`{k}`" for k in keys],
    )


@contextmanager
def static_plans(spark: SparkSession, batch: int) -> Iterator[None]:
    """Arrow batches of ``batch`` rows and adaptive execution off inside the block; the
    session's settings restored afterwards.

    xgboost.spark asks the input for its number of partitions (``rdd.getNumPartitions()``);
    under adaptive query execution that runs the whole shuffle once more before training.
    Without it the plan's partitioning is static: one partition per worker, known at once."""
    settings = {
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(batch),
        "spark.sql.adaptive.enabled": "false",
    }
    before = {key: spark.conf.get(key) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)


def fit_static(classifier: SparkXGBClassifier, inputs: DataFrame, batch: int):
    """``classifier.fit`` under ``static_plans``."""
    with static_plans(inputs.sparkSession, batch):
        return classifier.fit(inputs)


def monotone_constraints(features: list[str]) -> str | None:
    """XGBoost's positional constraints: +1 where the catalog declares that more of the variable
    never lowers the risk (social debt), 0 elsewhere; None when no variable is constrained."""
    signs = directions()
    values = [signs.get(f, 0) for f in features]
    return "(" + ",".join(str(v) for v in values) + ")" if any(values) else None


def placed(frame: DataFrame, partitions: int, seed: int) -> DataFrame:
    """Rows in partitions and an order set by a seeded hash of their key (``ROW_KEYS``, or every
    column without them): a model fitted on them does not depend on how they were read."""
    keys = [c for c in ROW_KEYS if c in frame.columns] or frame.columns
    place = F.xxhash64(*[F.col(k) for k in keys], F.lit(seed))
    return (
        frame.withColumn("_place", place)
        .repartition(partitions, "_place")
        .sortWithinPartitions("_place")
        .drop("_place")
    )


def fit_baseline(
    train: DataFrame, features: list[str], reg_param: float, seed: int = 7
) -> PipelineModel:
    """Median imputation, standardisation, logistic regression (the reference's baseline).

    The rows are placed by their key first: the optimiser's sums then run in the same order
    whatever the input's layout, so the same rows always give the same model."""
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
    keys = [k for k in ROW_KEYS if k in train.columns]
    partitions = int(train.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    rows = placed(train.select(*features, "cible", *keys), partitions, seed).drop(*keys)
    return pipeline.fit(rows)


def baseline_scores(model: PipelineModel, frame: DataFrame, keep: list[str]) -> DataFrame:
    scored = model.transform(frame)
    return scored.select(*keep, vector_to_array("probability")[1].alias("score"))
