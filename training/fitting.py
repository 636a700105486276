"""Fitting the two models on a training and a validation set, the way every training does it
(``jobs/train.py`` and each cut-off of ``jobs/backtest.py``):

- XGBoost: each hyper-parameter trial (``training.search``, each overriding some of
  ``training.xgboost``) stops early on the validation rows; the first trial is kept unless
  another's validation AUCPR beats it by more than ``training.selection_se`` standard errors
  (``kept_trial``);
- the reference baseline (logistic regression on the reference set), on the same rows;
- the alert thresholds of each, chosen on its validation scores: ``risque_fort`` at the
  maximum F0.5, ``risque_modere`` at the maximum F2, each among the thresholds whose alerts
  hold at least ``training.threshold_min_positives`` validation positives;
- optionally (``training.refit``), the kept trial refit on every labelled row with the number
  of trees validation chose: the evaluation split measures, it does not throw data away.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import xgboost as xgb
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from common.config import TrainingSettings
from training.metrics import Curve, score_histogram
from training.models import (
    FitInputs,
    baseline_scores,
    cached,
    fit_baseline,
    fit_inputs,
    fit_prepared,
    fit_xgboost,
)
from training.predict import booster_bytes, predict

log = logging.getLogger(__name__)


def thresholds(validation: Curve, min_positives: int = 0) -> dict[str, float]:
    """Alert thresholds chosen on validation scores (``training.threshold_min_positives``:
    Curve.best_threshold)."""
    return {
        "risque_fort": validation.best_threshold(0.5, min_positives),
        "risque_modere": validation.best_threshold(2.0, min_positives),
    }


@dataclass
class Trial:
    overrides: dict
    params: dict
    booster: xgb.Booster
    validation: Curve
    seconds: float

    @property
    def validation_aucpr(self) -> float:
        return self.validation.average_precision()

    @property
    def trees(self) -> int:
        return self.booster.num_boosted_rounds()


@dataclass
class Fitted:
    """The kept XGBoost trial and the baseline, with their thresholds."""

    trials: list[Trial]
    best: Trial
    baseline: PipelineModel
    baseline_features: list[str]
    baseline_validation: Curve
    seconds: dict[str, float] = field(default_factory=dict)
    min_positives: int = 0  # training.threshold_min_positives

    @property
    def thresholds(self) -> dict[str, float]:
        return thresholds(self.best.validation, self.min_positives)

    @property
    def baseline_thresholds(self) -> dict[str, float]:
        return thresholds(self.baseline_validation, self.min_positives)


def search(
    train: DataFrame,
    validation: DataFrame,
    features: list[str],
    cfg: TrainingSettings,
    workers: int,
) -> list[Trial]:
    """One early-stopped fit per trial of ``cfg.search`` (``cfg.xgboost`` alone when empty)."""
    trials = []
    rows = train.count() + validation.count()  # once, for every trial
    prepared = fit_inputs(train, validation, features, cfg, workers, rows)
    searched = cfg.search or [{}]
    # cached when several fits read them (the first fills the cache)
    with cached(prepared) if len(searched) > 1 else nullcontext(prepared) as inputs:
        for i, overrides in enumerate(searched):
            trials.append(trial(validation, features, cfg, workers, overrides, inputs))
            log.info(
                "trial %d/%d %s: %d trees, validation AUCPR %.4f",
                i + 1,
                len(searched),
                overrides or "(training.xgboost)",
                trials[-1].trees,
                trials[-1].validation_aucpr,
            )
    return trials


def trial(
    validation: DataFrame,
    features: list[str],
    cfg: TrainingSettings,
    workers: int,
    overrides: dict,
    inputs: FitInputs,
) -> Trial:
    """One early-stopped fit on the prepared rows, ``overrides`` over ``cfg.xgboost``, and its
    validation curve."""
    params = {**cfg.xgboost, **overrides}
    began = time.monotonic()
    booster = fit_prepared(inputs, features, cfg, workers, params)
    scored = predict(validation, booster_bytes(booster), features, ["cible"])
    curve = Curve.from_histogram(score_histogram(scored, "score"))
    return Trial(overrides, params, booster, curve, time.monotonic() - began)


def standard_error(curve: Curve) -> float:
    """Standard error of a validation AUCPR: sqrt(AP (1 - AP) / positives), the binomial
    approximation (Boyd, Eng and Page, 2013, "Area under the precision-recall curve: point
    estimates and confidence intervals")."""
    ap = curve.average_precision()
    return math.sqrt(ap * (1 - ap) / max(curve.positives, 1))


def kept_trial(trials: list[Trial], selection_se: float) -> Trial:
    """The one-standard-error rule: the first trial (the base parameters) unless the best
    validation AUCPR beats it by more than ``selection_se`` standard errors of the best's; with
    a few hundred validation positives a trial otherwise wins by noise as often as by merit.
    ``selection_se`` 0: the best."""
    best = max(trials, key=lambda t: t.validation_aucpr)
    margin = selection_se * standard_error(best.validation)
    return best if best.validation_aucpr - trials[0].validation_aucpr > margin else trials[0]


def usable_features(rows: DataFrame, features: list[str]) -> list[str]:
    """The features with at least one value on ``rows`` (a median needs one)."""
    counts = rows.agg(*[F.count(f).alias(f) for f in features]).first()
    return [f for f in features if counts[f]]


def fit_pair(
    train: DataFrame,
    validation: DataFrame,
    features: list[str],
    reference: list[str],
    cfg: TrainingSettings,
    workers: int,
) -> Fitted:
    """XGBoost (its trials) and the baseline on the same rows, thresholds from validation."""
    seconds: dict[str, float] = {}
    began = time.monotonic()
    trials = search(train, validation, features, cfg, workers)
    best = kept_trial(trials, cfg.selection_se)
    if len(trials) > 1:
        leader = max(trials, key=lambda t: t.validation_aucpr)
        log.info(
            "kept trial %d of %d: validation AUCPR %.4f (the best %.4f; one standard error %.4f, "
            "training.selection_se %.1f)",
            trials.index(best) + 1,
            len(trials),
            best.validation_aucpr,
            leader.validation_aucpr,
            standard_error(leader.validation),
            cfg.selection_se,
        )
    seconds["xgboost_fit"] = time.monotonic() - began

    began = time.monotonic()
    kept = usable_features(train, reference)
    if len(kept) < len(reference):
        log.info(
            "baseline: %d of the %d reference variables have no value on the training rows "
            "and are left out",
            len(reference) - len(kept),
            len(reference),
        )
    baseline = fit_baseline(train, kept, cfg.baseline_reg_param, cfg.seed)
    curve = Curve.from_histogram(
        score_histogram(baseline_scores(baseline, validation, ["cible"]), "score")
    )
    seconds["baseline_fit"] = time.monotonic() - began
    return Fitted(trials, best, baseline, kept, curve, seconds, cfg.threshold_min_positives)


def refit(
    rows: DataFrame,
    features: list[str],
    cfg: TrainingSettings,
    workers: int,
    best: Trial,
    count: int | None = None,
) -> xgb.Booster:
    """The kept trial's parameters, its number of trees, on ``rows`` (no early stopping);
    ``count``: the number of rows, when known."""
    params = {**best.params, "n_estimators": best.trees}
    return fit_xgboost(rows, None, features, cfg, workers, params, count)
