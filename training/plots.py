"""Figures logged with each run: readable by a person (title, axes, legend), built from
aggregates only (curves, histograms, importances) and a sample for SHAP."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shap  # noqa: E402
import xgboost as xgb  # noqa: E402

from training.metrics import RESOLUTION, Curve, calibration  # noqa: E402


def pr_curves(curves: dict[str, Curve], positive_rate: float):
    fig, ax = plt.subplots(figsize=(7, 5))
    for name, c in curves.items():
        ax.plot(c.recall, c.precision, label=f"{name} (AP {c.average_precision():.3f})")
    ax.axhline(
        positive_rate, color="grey", linestyle=":", label=f"positive rate {positive_rate:.3f}"
    )
    ax.set(
        title="Precision-recall on the test set",
        xlabel="Recall",
        ylabel="Precision",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend()
    return fig


def roc_curves(curves: dict[str, Curve]):
    fig, ax = plt.subplots(figsize=(6, 6))
    for name, c in curves.items():
        ax.plot(
            np.r_[0, c.fp / max(c.negatives, 1)],
            np.r_[0, c.tp / max(c.positives, 1)],
            label=f"{name} (AUC {c.roc_auc():.3f})",
        )
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    ax.set(
        title="ROC curve on the test set", xlabel="False positive rate", ylabel="True positive rate"
    )
    ax.legend()
    return fig


def calibration_curve(histograms: dict[str, pd.DataFrame]):
    fig, ax = plt.subplots(figsize=(6, 6))
    top = 0.0
    for name, hist in histograms.items():
        cal = calibration(hist)
        ax.plot(cal["predicted"], cal["observed"], marker="o", label=name)
        top = max(top, cal["predicted"].max(), cal["observed"].max())
    ax.plot([0, top], [0, top], color="grey", linestyle=":", label="perfect calibration")
    ax.set(
        title="Calibration on the test set (deciles of score)",
        xlabel="Mean predicted probability",
        ylabel="Observed failure rate",
    )
    ax.legend()
    return fig


def importances(booster: xgb.Booster, top: int = 30):
    gains = pd.Series(booster.get_score(importance_type="total_gain")).sort_values().tail(top)
    fig, ax = plt.subplots(figsize=(8, 9))
    ax.barh(gains.index, gains.to_numpy())
    ax.set(
        title=f"Top {top} variables by total gain",
        xlabel="Total gain (sum over splits)",
        ylabel="Variable",
    )
    fig.tight_layout()
    return fig


def shap_summary(booster: xgb.Booster, sample: pd.DataFrame):
    values = shap.TreeExplainer(booster).shap_values(sample)
    shap.summary_plot(values, sample, max_display=20, show=False)
    fig = plt.gcf()
    fig.suptitle(f"SHAP values on {len(sample)} test rows (top 20 variables)")
    fig.tight_layout()
    return fig


def score_distribution(hist: pd.DataFrame):
    """Share of rows per score band, for failing (label 1) and other rows."""
    edges = np.r_[0, np.logspace(-4, 0, 25)]
    center = (hist["bin"].to_numpy() + 0.5) / RESOLUTION
    band = np.clip(np.searchsorted(edges, center, side="right") - 1, 0, len(edges) - 2)
    frame = (
        pd.DataFrame({"band": band, "pos": hist["positives"], "neg": hist["negatives"]})
        .groupby("band")
        .sum()
    )
    frame = frame.reindex(range(len(edges) - 1), fill_value=0)
    fig, ax = plt.subplots(figsize=(8, 5))
    x = edges[1:]
    ax.step(
        x,
        frame["neg"] / max(frame["neg"].sum(), 1),
        where="pre",
        label="no failure within 18 months",
    )
    ax.step(
        x, frame["pos"] / max(frame["pos"].sum(), 1), where="pre", label="failure within 18 months"
    )
    ax.set(
        xscale="log",
        title="Score distribution by label (test set)",
        xlabel="Score (probability, log scale)",
        ylabel="Share of rows",
    )
    ax.legend()
    return fig
