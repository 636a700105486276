"""Figures logged with each run: readable by a person (title, axes, legend), built from
aggregates only (curves, histograms, importances) and a sample for SHAP."""

from __future__ import annotations

import logging

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shap  # noqa: E402
import xgboost as xgb  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from training.metrics import RESOLUTION, Curve, calibration  # noqa: E402

# cut-off labels ("2019-12") are categories on purpose: without this, matplotlib logs a line per
# label and figure saying they look like dates
logging.getLogger("matplotlib.category").setLevel(logging.WARNING)


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


def shap_values(booster: xgb.Booster, sample: pd.DataFrame) -> np.ndarray:
    """SHAP values (log-odds) of the sample's rows, one column per variable."""
    return np.asarray(shap.TreeExplainer(booster).shap_values(sample))


def shap_summary(booster: xgb.Booster, sample: pd.DataFrame, top: int = 20):
    """Beeswarm of the ``top`` variables by mean |SHAP|, on a figure of its own (``shap`` draws
    on the current figure: without one of our own it would draw over the previous plot)."""
    values = shap_values(booster, sample)
    fig = plt.figure(figsize=(8, 9))
    shap.summary_plot(values, sample, max_display=top, show=False, plot_size=None)
    fig.suptitle(f"SHAP values on {len(sample):,} random test rows (top {top} variables)")
    fig.axes[0].set_xlabel("SHAP value (contribution to the log-odds of failure)")
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


MODEL_LABELS = {
    "xgboost": "XGBoost",
    "baseline": "baseline (logistic regression)",
    "oracle": "oracle (generator's truth)",
}


def over_cutoffs(rows: list[dict], metric: str, title: str, ylabel: str):
    """One line per model of a backtest measure, cut-off after cut-off."""
    frame = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(8, 5))
    for model, part in frame.groupby("model", sort=False):
        part = part.sort_values("cutoff")
        if part[metric].notna().any():
            ax.plot(
                [str(c)[:7] for c in part["cutoff"]],
                part[metric].astype(float),
                marker="o",
                label=MODEL_LABELS.get(model, model),
            )
    ax.set(title=title, xlabel="Cut-off month (the list's month)", ylabel=ylabel, ylim=(0, 1))
    ax.legend()
    fig.autofmt_xdate()
    return fig


def lead_times(leads: dict[str, dict[int, int]], horizon: int = 18):
    """Failing companies caught by each model's lists, by months between the list and the
    judgment."""
    fig, ax = plt.subplots(figsize=(8, 5))
    x = np.arange(1, horizon + 1)
    width = 0.8 / max(len(leads), 1)
    for i, (model, counts) in enumerate(leads.items()):
        ax.bar(
            x + (i - (len(leads) - 1) / 2) * width,
            [counts.get(int(m), 0) for m in x],
            width=width,
            label=MODEL_LABELS.get(model, model),
        )
    ax.set(
        title="Lead time of the failures caught by the alert lists (all cut-offs)",
        xlabel="Months from the list to the opening judgment",
        ylabel="Companies",
        xticks=x,
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return fig


def backtest_figures(rows: list[dict], leads: dict[str, dict[int, int]]) -> dict:
    return {
        "precision_risque_fort": over_cutoffs(
            rows,
            "fort_precision",
            "Precision of the 'risque fort' list (companies failing within 18 months)",
            "Precision",
        ),
        "precision_at_100": over_cutoffs(
            rows, "precision_at_100", "Precision of the 100 highest-scored companies", "Precision"
        ),
        "aucpr": over_cutoffs(
            rows, "aucpr", "Average precision over all companies (AUCPR)", "AUCPR"
        ),
        "lead_times": lead_times(leads),
    }
