"""What every block of the world shares: the calendar, the macro and sector paths,
the crisis, and the calibration of the failure hazard.

Built once on the driver from the seed; its size depends on the number of
months, never on the number of establishments.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from generator.reference import SECTOR_GROUPS, SECTOR_PARAMS

HORIZON = 18  # months ahead covered by the ground-truth probability
RHO = 0.985  # persistence of a company's latent distress
SIGMA = 0.15  # monthly innovation of the latent distress
TAU = 0.7  # spread of the companies' long-run frailty
HAZARD_SLOPE = 2.5  # log-hazard per unit of latent distress
MAX_HAZARD = 0.3  # monthly hazard cap
PILOT_BLOCK = 10**6  # blocks from here on are never part of a world: the calibration's pilot


@dataclass(frozen=True)
class Scenario:
    seed: int
    start_year: int
    start_month: int
    months: int
    yearly_failure_rate: float
    crisis_start: int  # month index of the acute crisis ("2020-03"), may be outside the window
    hazard_intercept: float
    # per month, over months + HORIZON (the truth looks 18 months ahead)
    macro: np.ndarray = field(repr=False)  # latent-distress level shared by all
    sector: np.ndarray = field(repr=False)  # (groups, months + HORIZON) sector levels
    crisis: np.ndarray = field(repr=False)  # share of activity stopped, 0..1
    hazard_multiplier: np.ndarray = field(repr=False)  # public support, then catch-up

    @property
    def month_starts(self) -> np.ndarray:
        """First day of each month of the window and the horizon after it."""
        first = np.datetime64(f"{self.start_year:04d}-{self.start_month:02d}", "M")
        return (first + np.arange(self.months + HORIZON)).astype("datetime64[D]")

    def month_label(self, t: int) -> str:
        return str(np.datetime64(f"{self.start_year:04d}-{self.start_month:02d}", "M") + t)


def _crisis_index(start_year: int, start_month: int, months: int) -> int:
    """Index of March 2020 when the window holds it, else a point 55% into the window."""
    index = (2020 - start_year) * 12 + (3 - start_month)
    return index if 0 <= index < months else int(months * 0.55)


def crisis_profile(total: int, start: int) -> np.ndarray:
    """Acute months, a second smaller wave seven months later, nothing elsewhere."""
    profile = np.zeros(total)
    for offset, level in enumerate([1.0, 0.8, 0.5, 0.3, 0.1, 0, 0, 0.4, 0.4, 0.2]):
        if 0 <= start + offset < total:
            profile[start + offset] = level
    return profile


def _support_profile(total: int, start: int) -> np.ndarray:
    """Public support dampens failures for 15 months; a catch-up follows for a year."""
    multiplier = np.ones(total)
    multiplier[max(start, 0) : max(start + 15, 0)] = 0.45
    multiplier[max(start + 15, 0) : max(start + 27, 0)] = 1.25
    return multiplier


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
    crisis_at = _crisis_index(year, month, months)
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
        hazard_multiplier=_support_profile(total, crisis_at),
    )
    from generator.world import build_world  # the pilot world uses the provisional scenario

    pilot = [build_world(provisional, PILOT_BLOCK + b, 1000) for b in range(4)]
    private = np.concatenate([~w.c_public for w in pilot])
    frailty = np.concatenate([w.c_frailty for w in pilot])[private]
    groups = np.concatenate([w.c_group for w in pilot])[private]
    intercept = calibrate_intercept(provisional, frailty, groups)
    return replace(provisional, hazard_intercept=intercept)
