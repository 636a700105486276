"""Figures of a monitoring run, from aggregates only (PSI per variable, score bins, alert
counts per month): no company appears in them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from common import months  # noqa: E402
from common.config import MonitoringSettings  # noqa: E402
from monitoring import drift  # noqa: E402
from scoring.alerts import LEVELS  # noqa: E402

COLOURS = {"ok": "tab:blue", "watch": "tab:orange", "alert": "tab:red"}


def top_variables(
    variables: pd.DataFrame,
    cfg: MonitoringSettings,
    top: int = 25,
    months: str = "the model's training rows",
):
    """The variables of highest PSI against ``months`` (the reference's window, or the previous
    month for the changes), coloured by status, with the two thresholds."""
    shown = variables.dropna(subset=["psi"]).nlargest(top, "psi").iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.3 * max(len(shown), 4) + 1.5))
    ax.barh(shown["item"], shown["psi"], color=[COLOURS[s] for s in shown["status"]])
    ax.axvline(cfg.psi_watch, color=COLOURS["watch"], linestyle=":", label="watch")
    ax.axvline(cfg.psi_alert, color=COLOURS["alert"], linestyle=":", label="alert")
    ax.set(
        title=f"Top {len(shown)} variables by PSI against {months}",
        xlabel="Population stability index",
    )
    ax.legend(loc="lower right")
    return fig


def score_distribution(reference: dict, current: pd.DataFrame, months: str = "training rows"):
    """Share of scores per reference decile bin: the training rows (``months``, the reference's
    window) against this month."""
    bins = len(reference["edges"]) + 1
    ref_share, _, ref_rows = drift.shares({int(k): v for k, v in reference["counts"].items()}, bins)
    counts = dict(zip(current["bin"], current["rows"], strict=True))
    cur_share, _, cur_rows = drift.shares(counts, bins)
    bounds = [0.0, *reference["edges"], 1.0]
    labels = [f"{bounds[i]:.2g} to {bounds[i + 1]:.2g}" for i in range(bins)]
    x = np.arange(bins)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.bar(x - 0.2, ref_share, width=0.4, label=f"{months} ({ref_rows:,})")
    ax.bar(x + 0.2, cur_share, width=0.4, label=f"this month ({cur_rows:,})")
    ax.set_xticks(x, labels, rotation=45, ha="right")
    ax.set(
        title="Score distribution by the reference's decile bins",
        xlabel="Score bin",
        ylabel="Share of establishments",
    )
    ax.legend()
    return fig


def alert_counts(history: pd.DataFrame):
    """Establishments per alert level and scored month."""
    table = history.pivot_table(index="month_index", columns="item", values="rows", aggfunc="sum")
    table = table.sort_index()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for level in LEVELS[1:]:
        if level in table:
            labels = [months.label(int(m)) for m in table.index]
            ax.plot(labels, table[level].fillna(0), marker="o", label=level)
    ax.set(title="Alerts per scored month", xlabel="Month", ylabel="Establishments")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    return fig
