"""What every block of the world shares: the calendar, the macro and sector paths,
the crisis and public support (their calibration: generator/calibration.py).

Built once on the driver from the seed; its size depends on the number of
months, never on the number of establishments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HORIZON = 18  # months ahead covered by the ground-truth probability
RHO = 0.985  # persistence of a company's latent distress
SIGMA = 0.15  # monthly innovation of the latent distress
TAU = 0.7  # spread of the companies' long-run frailty
HAZARD_SLOPE = 2.5  # log-hazard per unit of latent distress
MAX_HAZARD = 0.3  # monthly hazard cap


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


def crisis_index(start_year: int, start_month: int, months: int) -> int:
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


def support_profile(total: int, start: int) -> np.ndarray:
    """Public support dampens failures for 15 months; a catch-up follows for a year."""
    multiplier = np.ones(total)
    multiplier[max(start, 0) : max(start + 15, 0)] = 0.45
    multiplier[max(start + 15, 0) : max(start + 27, 0)] = 1.25
    return multiplier
