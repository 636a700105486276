"""Month by month life of one block: latent distress, failures, and the observable
series that respond to them (headcount, contributions, social debt, payment
delays, CCSF plans, partial activity), plus the ground-truth probability.

Everything is vectorised over the block's companies or establishments; the only
Python loops are over months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator.events import DebtStates, debt_and_agreements, partial_activity
from generator.reference import SECTOR_GROUPS, SECTOR_PARAMS
from generator.scenario import HAZARD_SLOPE, HORIZON, MAX_HAZARD, RHO, SIGMA, Scenario
from generator.world import World

CONTRIBUTION_RATE = 0.43  # social contributions / gross wages
EMPLOYEE_SHARE = 0.33  # part ouvrière of a contribution
# chronic shortfall: share of the month's contributions left unpaid = slope * (z - from) + noise
CHRONIC_SLOPE = 0.25
CHRONIC_FROM = 1.0
CHRONIC_NOISE = 0.03
_EXPOSURE = np.array([SECTOR_PARAMS[g]["crisis"] for g in SECTOR_GROUPS])


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _days(values: np.ndarray) -> np.ndarray:
    return values.astype("timedelta64[D]")


@dataclass
class Judgments:
    company: np.ndarray
    date: np.ndarray  # datetime64[D]
    action: np.ndarray  # liquidation | redressement | sauvegarde
    stage: np.ndarray  # ouverture | plan_continuation | plan_sauvegarde | fin_procedure ...
    najug: np.ndarray  # DGFiP judgment kind
    in_urssaf: np.ndarray  # present in the URSSAF procol file
    in_dgfip: np.ndarray  # present in the DGFiP judgments file


@dataclass
class Dynamics:
    z: np.ndarray  # (companies, months) latent distress
    fail_month: np.ndarray  # first opening judgment month index, -1 if none in the window
    fail_date: np.ndarray  # datetime64[D], NaT if none
    stop_month: np.ndarray  # companies: month activity stops (liquidation), months if never
    active: np.ndarray  # (establishments, months)
    headcount: np.ndarray  # (establishments, months) true headcount
    reported: np.ndarray  # headcount as declared (NaN: unknown)
    due: np.ndarray
    paid: np.ndarray
    judgments: Judgments
    debts: DebtStates
    delais: dict[str, np.ndarray]
    ccsf: dict[str, np.ndarray]
    ap_requests: dict[str, np.ndarray]
    ap_consumption: dict[str, np.ndarray]
    truth: np.ndarray  # (companies, months) probability of a first opening in the next 18 months


def latent_levels(scenario: Scenario, world: World) -> np.ndarray:
    """Macro plus sector level of each company's latent distress, (companies, months + H)."""
    return scenario.macro[None, :] + scenario.sector[world.c_group]


def _latent(
    scenario: Scenario, world: World, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    n_c, months = world.n_companies, scenario.months
    mu = world.c_frailty
    x = np.empty((n_c, months))
    x[:, 0] = mu + SIGMA / np.sqrt(1 - RHO**2) * rng.standard_normal(n_c)
    for t in range(1, months):
        x[:, t] = RHO * x[:, t - 1] + (1 - RHO) * mu + SIGMA * rng.standard_normal(n_c)
    return x, latent_levels(scenario, world)


def _truth(
    scenario: Scenario, world: World, x: np.ndarray, levels: np.ndarray, foresight: bool = True
) -> np.ndarray:
    """P(first opening in m+1..m+18 | latent state at m), in closed form.

    The idiosyncratic part is Gaussian AR(1), so E[exp(b x_{m+k})] is exact. With
    ``foresight`` the macro and sector paths and the public support ahead are the
    scenario's, known to the oracle; without it they stay as they are at m (what is
    known at m, as for any model).
    """
    b, a, months = HAZARD_SLOPE, scenario.hazard_intercept, scenario.months
    mu = world.c_frailty[:, None]
    t = np.arange(months)
    cumulative = np.zeros_like(x)
    for k in range(1, HORIZON + 1):
        mean = RHO**k * x + (1 - RHO**k) * mu
        var = SIGMA**2 * (1 - RHO ** (2 * k)) / (1 - RHO**2)
        ahead = t + k if foresight else t  # levels run HORIZON months past the window
        expected = np.exp(a + b * (mean + levels[:, ahead]) + b * b * var / 2)
        cumulative += np.minimum(expected, MAX_HAZARD) * scenario.hazard_multiplier[ahead][None, :]
    probability = 1 - np.exp(-cumulative)
    probability[world.c_public] = 0.0
    return probability


def _failures(scenario, world, z, open_any, rng):
    """First opening judgment of each company: drawn from the monthly hazard."""
    months = scenario.months
    hazard = np.minimum(np.exp(scenario.hazard_intercept + HAZARD_SLOPE * z), MAX_HAZARD)
    hazard = hazard * scenario.hazard_multiplier[None, :months]
    created = (
        world.c_created.astype("datetime64[M]") - np.datetime64(scenario.month_label(0), "M")
    ).astype(int)
    eligible = (
        (np.arange(months)[None, :] >= created[:, None]) & ~world.c_public[:, None] & open_any
    )
    events = (rng.uniform(size=z.shape) < hazard) & eligible
    has = events.any(axis=1)
    fail_month = np.where(has, events.argmax(axis=1), -1)
    starts = scenario.month_starts
    day = rng.integers(0, 28, world.n_companies)
    fail_date = np.where(has, starts[np.maximum(fail_month, 0)] + _days(day), np.datetime64("NaT"))
    return fail_month, fail_date


def _judgments(scenario, world, z, fail_month, fail_date, rng):
    """Openings and the later stages of each failed company; the activity stop month."""
    months = scenario.months
    stop = np.full(world.n_companies, months + HORIZON)
    end = scenario.month_starts[months] - np.timedelta64(1, "D")  # last day of the window
    rows: list[tuple[int, np.datetime64, str, str, str]] = []
    for c in np.flatnonzero(fail_month >= 0):
        date = fail_date[c]
        zc = z[c, fail_month[c]]
        u = rng.uniform()
        p_liq = np.clip(0.55 + 0.08 * zc, 0.4, 0.85)
        action = (
            "liquidation"
            if u < p_liq
            else ("redressement" if u < p_liq + (1 - p_liq) * 0.85 else "sauvegarde")
        )
        najug = {"liquidation": "4", "redressement": "3", "sauvegarde": "8"}[action]
        rows.append((c, date, action, "ouverture", najug))
        later = date + np.timedelta64(int(rng.integers(180, 390)), "D")
        if action == "liquidation":
            stop[c] = fail_month[c] + int(rng.integers(0, 3))
            rows.append(
                (
                    c,
                    date + np.timedelta64(int(rng.integers(365, 1100)), "D"),
                    action,
                    "fin_procedure",
                    "7",
                )
            )
        elif action == "redressement":
            if rng.uniform() < 0.55:
                rows.append((c, later, action, "plan_continuation", "5"))
            else:  # converted: a later opening, not a new failure
                rows.append((c, later, "liquidation", "ouverture", "4"))
                stop[c] = (
                    int(
                        (
                            later.astype("datetime64[M]")
                            - np.datetime64(scenario.month_label(0), "M")
                        ).astype(int)
                    )
                    + 1
                )
                rows.append(
                    (
                        c,
                        later + np.timedelta64(int(rng.integers(365, 900)), "D"),
                        "liquidation",
                        "fin_procedure",
                        "7",
                    )
                )
        else:
            if rng.uniform() < 0.85:
                rows.append((c, later, action, "plan_sauvegarde", "5"))
            else:
                rows.append((c, later, "redressement", "ouverture", "3"))
        if rng.uniform() < 0.1:
            rows.append(
                (
                    c,
                    date + np.timedelta64(int(rng.integers(60, 150)), "D"),
                    action,
                    "prolongation",
                    "A",
                )
            )
    rows = [r for r in rows if r[1] <= end]
    n = len(rows)
    # each source misses a few judgments, never both the same one
    missing = rng.uniform(size=n)
    judgments = Judgments(
        company=np.array([r[0] for r in rows], dtype=int),
        date=np.array([r[1] for r in rows], dtype="datetime64[D]"),
        action=np.array([r[2] for r in rows], dtype=object),
        stage=np.array([r[3] for r in rows], dtype=object),
        najug=np.array([r[4] for r in rows], dtype=object),
        in_urssaf=missing >= 0.04,
        in_dgfip=(missing < 0.04) | (missing >= 0.08),
    )
    return judgments, stop


def _headcount(scenario, world, z, active, rng):
    n_e, months = world.n_establishments, scenario.months
    c = world.e_company
    drift = rng.normal(0.001, 0.002, n_e)
    log_size = np.empty((n_e, months))
    log_size[:, 0] = np.log(world.e_size0)
    crisis = scenario.crisis[:months]
    exposure = _EXPOSURE[world.c_group][c]
    for t in range(1, months):
        distress = np.maximum(z[c, max(t - 2, 0)] - 0.2, 0)
        log_size[:, t] = (
            log_size[:, t - 1]
            + drift
            + 0.02 * rng.standard_normal(n_e)
            - 0.03 * distress
            - 0.015 * crisis[t] * exposure
        )
        starting = world.e_start == t  # new establishments start at their initial size
        log_size[starting, t] = np.log(world.e_size0[starting])
    headcount = np.where(active, np.round(np.exp(log_size)), np.nan)
    reported = np.where(rng.uniform(size=headcount.shape) < 0.015, np.nan, headcount)
    return headcount, reported


def _contributions(scenario, world, z, active, headcount, rng):
    c = world.e_company
    months = scenario.months
    due = (
        headcount
        * world.e_wage[:, None]
        * CONTRIBUTION_RATE
        * (1 + 0.03 * rng.standard_normal(headcount.shape))
    )
    due = np.where(active, np.round(np.nan_to_num(due), 2), 0.0)
    regularisation = active & (rng.uniform(size=due.shape) < 0.003)
    due = np.where(regularisation, -np.round(due * rng.uniform(0.05, 0.5, due.shape), 2), due)

    z_lag = np.concatenate([z[:, :1], z[:, :-1]], axis=1)[c]
    public = world.c_public[c][:, None]
    p_event = np.where(public, 0.005, sigmoid(-4.3 + 1.5 * z_lag))
    event = active & (due > 0) & (rng.uniform(size=due.shape) < p_event)
    fraction = np.where(
        event, np.clip(0.3 + 0.2 * z_lag + 0.2 * rng.standard_normal(due.shape), 0.05, 1.0), 0.0
    )
    # a company in distress stops paying a part of every month's contributions, a part that
    # grows with its distress: the main trace latent distress leaves in the observable data
    chronic = np.clip(
        CHRONIC_SLOPE * (z_lag - CHRONIC_FROM) + CHRONIC_NOISE * rng.standard_normal(due.shape),
        0.0,
        0.95,
    )
    fraction = np.maximum(fraction, np.where(public, 0.0, chronic))
    owed = active & (due > 0) & (fraction > 0)
    crisis = scenario.crisis[None, :months] * _EXPOSURE[world.c_group][c][:, None]
    deferral = (
        active
        & (due > 0)
        & ~public
        & (rng.uniform(size=due.shape) < 0.6 * crisis + 0.1 * (z_lag > 1) * (crisis > 0))
    )
    unpaid_po = np.where(owed & ~deferral, due * fraction * EMPLOYEE_SHARE, 0.0)
    unpaid_pp = np.where(
        deferral,
        due * (1 - EMPLOYEE_SHARE),
        np.where(owed, due * fraction * (1 - EMPLOYEE_SHARE), 0.0),
    )
    paid = np.round(due - unpaid_po - unpaid_pp, 2)
    return due, paid, np.round(unpaid_po * 100), np.round(unpaid_pp * 100), deferral


def _to_quarters(world, unpaid: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Quarterly payers owe a quarter at once: move each quarter's unpaid to its last month."""
    months = scenario.months
    calendar_month = (scenario.start_month - 1 + np.arange(months)) % 12
    quarter_end = calendar_month % 3 == 2
    out = unpaid.copy()
    q = world.e_quarterly
    running = np.zeros(q.sum())
    for t in range(months):
        running += unpaid[q, t]
        out[q, t] = 0.0
        if quarter_end[t]:
            out[q, t] = running
            running = np.zeros(q.sum())
    return out


def simulate(scenario: Scenario, world: World, block: int) -> Dynamics:
    rng = np.random.default_rng([scenario.seed, 2, block])
    months = scenario.months
    x, levels = _latent(scenario, world, rng)
    z = x + levels[:, :months]
    t = np.arange(months)[None, :]
    closed = np.where(world.e_closed >= 0, world.e_closed, months + HORIZON)
    open_e = (t >= world.e_start[:, None]) & (t < closed[:, None])
    open_any = np.zeros((world.n_companies, months), dtype=bool)
    np.logical_or.at(open_any, world.e_company, open_e)
    fail_month, fail_date = _failures(scenario, world, z, open_any, rng)
    judgments, stop = _judgments(scenario, world, z, fail_month, fail_date, rng)
    active = open_e & (t < stop[world.e_company][:, None])
    headcount, reported = _headcount(scenario, world, z, active, rng)
    due, paid, po, pp, deferral = _contributions(scenario, world, z, active, headcount, rng)
    po, pp = _to_quarters(world, po, scenario), _to_quarters(world, pp, scenario)
    deferral = _to_quarters(world, deferral.astype(float), scenario) > 0
    debts, delais, ccsf = debt_and_agreements(
        scenario, world, z, active, due, po, pp, deferral, stop, fail_date, rng
    )
    ap_requests, ap_consumption = partial_activity(
        scenario, world, z, active, headcount, block, rng
    )
    return Dynamics(
        z=z,
        fail_month=fail_month,
        fail_date=fail_date,
        stop_month=stop,
        active=active,
        headcount=headcount,
        reported=reported,
        due=due,
        paid=paid,
        judgments=judgments,
        debts=debts,
        delais=delais,
        ccsf=ccsf,
        ap_requests=ap_requests,
        ap_consumption=ap_consumption,
        truth=_truth(scenario, world, x, levels),
    )


def present_truth(scenario: Scenario, world: World, dyn: Dynamics) -> np.ndarray:
    """The truth's closed form knowing the present only: each company's latent state at m
    exactly, the economy (macro and sector levels, public support) frozen at m. The best
    any model could do from what exists at m; the oracle (``Dynamics.truth``) also knows
    the economy's path over the horizon."""
    levels = latent_levels(scenario, world)
    x = dyn.z - levels[:, : scenario.months]
    return _truth(scenario, world, x, levels, foresight=False)
