"""Alert levels from the model's thresholds, then the expert corrections.

Levels, from lowest: ``pas_d_alerte``, ``risque_modere`` (score at or above the F2
threshold), ``risque_fort`` (at or above the F0.5 threshold). Each correction whose
condition holds moves the level one step up or down, within those bounds, in the
order the rules are declared; the row records the level before corrections and
the names of the corrections applied.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from common.config import CorrectionRule

LEVELS = ("pas_d_alerte", "risque_modere", "risque_fort")


def level(score: Column, fort: float, modere: float) -> Column:
    """0, 1 or 2."""
    return F.when(score >= fort, 2).when(score >= modere, 1).otherwise(0)


def name(level_number: Column) -> Column:
    return F.element_at(F.array(*[F.lit(x) for x in LEVELS]), level_number + 1)


def corrected(before: Column, rules: list[CorrectionRule]) -> tuple[Column, Column]:
    """(level after the corrections, array of the names of the corrections applied)."""
    current, applied = before, []
    for rule in rules:
        holds = F.coalesce(F.expr(rule.condition), F.lit(False))
        step = 1 if rule.effect == "up" else -1
        bound = len(LEVELS) - 1 if step > 0 else 0
        moves = holds & (current != bound)
        current = F.when(moves, current + step).otherwise(current)
        applied.append(F.when(moves, F.lit(rule.name)))
    names = (
        F.filter(F.array(*applied), lambda x: x.isNotNull())
        if applied
        else F.array().cast("array<string>")
    )
    return current, names


def leveled(
    scored: DataFrame, thresholds: dict[str, float], rules: list[CorrectionRule]
) -> DataFrame:
    """``scored`` (a ``score`` column) with its ``alert`` after the corrections, its
    ``alert_before_corrections`` and the ``corrections`` applied, as ``gold/scores`` holds
    them; ``rules`` as ``flags`` rewrites them."""
    before = level(F.col("score"), thresholds["risque_fort"], thresholds["risque_modere"])
    after, applied = corrected(before, rules)
    return scored.select(
        "*",
        name(after).alias("alert"),
        name(before).alias("alert_before_corrections"),
        applied.alias("corrections"),
    )


def flags(rules: list[CorrectionRule]) -> tuple[list[Column], list[CorrectionRule]]:
    """Each rule's condition as a boolean column ``_rule<i>`` (null counts as false), and the
    rules rewritten to read those columns: conditions on the panel's variables are evaluated
    before scoring, so only the flags travel with the scores."""
    columns = [
        F.coalesce(F.expr(r.condition), F.lit(False)).alias(f"_rule{i}")
        for i, r in enumerate(rules)
    ]
    rewritten = [r.model_copy(update={"condition": f"_rule{i}"}) for i, r in enumerate(rules)]
    return columns, rewritten
