"""A seed's scenario, its failure hazard calibrated: the macro and sector paths are drawn
(generator/scenario.py), then the hazard intercept is solved on a pilot world built with the
provisional scenario (generator/world.py) so that the world fails at the target yearly rate.

Built once on the driver from the seed; its size depends on the number of months, never on
the number of establishments.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from generator.reference import SECTOR_GROUPS, SECTOR_PARAMS
from generator.scenario import (
    HAZARD_SLOPE,
    HORIZON,
    MAX_HAZARD,
    RHO,
    SIGMA,
    Scenario,
    crisis_index,
    crisis_profile,
    support_profile,
)
from generator.world import build_world

PILOT_BLOCK = 10**6  # blocks from here on are never part of a world: the calibration's pilot


def calibrate_intercept(scenario: Scenario, frailty: np.ndarray, groups: np.ndarray) -> float:
    """Hazard intercept giving the target yearly rate of first openings per company-year at risk.

    Solved by bisection on a pilot world of fixed size (it does not grow with the
    number of establishments): latent paths over the window, with the scenario's
    macro and sector levels and public support, and the expected number of first
    failures and of company-years before failure computed from survival curves.
    """
    rng = np.random.default_rng([scenario.seed, 98])
    months = scenario.months
    x = np.empty((frailty.size, months))
    x[:, 0] = frailty + SIGMA / np.sqrt(1 - RHO**2) * rng.standard_normal(frailty.size)
    for t in range(1, months):
        x[:, t] = (
            RHO * x[:, t - 1] + (1 - RHO) * frailty + SIGMA * rng.standard_normal(frailty.size)
        )
    z = x + scenario.macro[None, :months] + scenario.sector[groups, :months]
    multiplier = scenario.hazard_multiplier[None, :months]

    def rate(intercept: float) -> float:
        hazard = np.minimum(np.exp(intercept + HAZARD_SLOPE * z), MAX_HAZARD) * multiplier
        survival = np.cumprod(1 - hazard, axis=1)
        at_risk = np.concatenate([np.ones((z.shape[0], 1)), survival[:, :-1]], axis=1)
        return float((1 - survival[:, -1]).sum() / (at_risk.sum() / 12))

    low, high = -40.0, 5.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if rate(mid) < scenario.yearly_failure_rate else (low, mid)
    return (low + high) / 2


def make_scenario(
    seed: int, start: str, months: int, yearly_failure_rate: float = 0.01
) -> Scenario:
    year, month = (int(part) for part in start.split("-"))
    rng = np.random.default_rng([seed, 0])
    total = months + HORIZON
    crisis_at = crisis_index(year, month, months)
    crisis = crisis_profile(total, crisis_at)
    t = np.arange(total)
    # a slow business cycle plus the crisis shock, fading over a year
    macro = 0.12 * np.sin(2 * np.pi * (t / 60.0 + rng.uniform()))
    macro += 0.35 * np.convolve(crisis, np.exp(-np.arange(12) / 4.0))[:total]
    sector = np.zeros((len(SECTOR_GROUPS), total))
    for g, name in enumerate(SECTOR_GROUPS):
        shocks = rng.normal(0, 0.04, total)
        for i in range(1, total):
            sector[g, i] = 0.95 * sector[g, i - 1] + shocks[i]
        sector[g] += 0.25 * SECTOR_PARAMS[name]["crisis"] * crisis
    provisional = Scenario(
        seed=seed,
        start_year=year,
        start_month=month,
        months=months,
        yearly_failure_rate=yearly_failure_rate,
        crisis_start=crisis_at,
        hazard_intercept=0.0,
        macro=macro,
        sector=sector,
        crisis=crisis,
        hazard_multiplier=support_profile(total, crisis_at),
    )
    pilot = [build_world(provisional, PILOT_BLOCK + b, 1000) for b in range(4)]
    private = np.concatenate([~w.c_public for w in pilot])
    frailty = np.concatenate([w.c_frailty for w in pilot])[private]
    groups = np.concatenate([w.c_group for w in pilot])[private]
    intercept = calibrate_intercept(provisional, frailty, groups)
    return replace(provisional, hazard_intercept=intercept)
