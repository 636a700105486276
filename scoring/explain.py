"""Readable explanations from exact TreeSHAP contributions (margin scale).

The margin contributions of a row sum, with the bias, to the model's margin. As
the reference system does, they are rescaled to the score: each contribution
gets its share of (score - base score), where the base score is the probability
of the bias alone. A person then reads "this group adds 12 points of
probability". Macro: one value per topic group (sum of its variables); micro:
the few largest variables of each group, by absolute contribution.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def rescaled(contributions: np.ndarray, bias: np.ndarray, score: np.ndarray) -> np.ndarray:
    """(rows, features) contributions in probability points, summing to score - base score."""
    total = contributions.sum(axis=1)
    gap = score - _sigmoid(bias)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(total != 0, gap / total, 0.0)
    return contributions * factor[:, None]


def group_matrix(features: list[str], groups: dict[str, str], names: list[str]) -> np.ndarray:
    """(features, groups) one-hot matrix."""
    matrix = np.zeros((len(features), len(names)))
    index = {g: i for i, g in enumerate(names)}
    for f, feature in enumerate(features):
        matrix[f, index[groups[feature]]] = 1.0
    return matrix


def macro(values: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """(rows, groups): the sum of each group's contributions."""
    return values @ membership


def micro(values: np.ndarray, membership: np.ndarray, top: int) -> list[np.ndarray]:
    """Per group, (rows, top) indexes of its features with the largest absolute values."""
    out = []
    for g in range(membership.shape[1]):
        members = np.flatnonzero(membership[:, g])
        k = min(top, len(members))
        part = np.abs(values[:, members])
        order = np.argsort(-part, axis=1, kind="stable")[:, :k]
        out.append(members[order])
    return out
