"""Event histories of one block: social-debt gaps and their states, payment-delay
agreements, CCSF plans, partial-activity requests and their monthly consumption."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator.reference import SECTOR_GROUPS, SECTOR_PARAMS

AP_HOURLY_RATE = 7.74  # partial-activity allowance per hour (euros)
_EXPOSURE = np.array([SECTOR_PARAMS[g]["crisis"] for g in SECTOR_GROUPS])
_LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


@dataclass
class DebtStates:
    est: np.ndarray
    period: np.ndarray  # month index of the (last month of the) contribution period
    quarterly: np.ndarray
    gap_number: np.ndarray
    history: np.ndarray
    date: np.ndarray  # processing date, datetime64[D]
    po_cents: np.ndarray
    pp_cents: np.ndarray
    in_proceedings: np.ndarray


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _days(values) -> np.ndarray:
    return np.asarray(values).astype("timedelta64[D]")


def _month_index(dates: np.ndarray, scenario) -> np.ndarray:
    first = np.datetime64(scenario.month_label(0), "M")
    return (dates.astype("datetime64[M]") - first).astype(int)


def _rolling_mean_due(due: np.ndarray) -> np.ndarray:
    """Mean monthly contribution over the last 12 months (what a collector compares debt to)."""
    cumulative = np.cumsum(np.maximum(due, 0), axis=1)
    shifted = np.concatenate([np.zeros((due.shape[0], 12)), cumulative[:, :-12]], axis=1)[
        :, : due.shape[1]
    ]
    window = np.minimum(np.arange(1, due.shape[1] + 1), 12)
    return (cumulative - shifted) / window


def debt_and_agreements(scenario, world, z, active, due, po, pp, deferral, stop, fail_date, rng):
    """Gaps ("écarts négatifs") with their state histories, and the agreements debt triggers."""
    months = scenario.months
    starts = scenario.month_starts
    end = starts[months] - np.timedelta64(1, "D")
    c = world.e_company
    n_e = world.n_establishments

    g_e, g_t = np.nonzero((po + pp) > 0)  # row-major: by establishment, then period
    n_g = len(g_e)
    first_of_e = np.searchsorted(g_e, g_e)
    gap_number = 100 + np.arange(n_g) - first_of_e
    initial_pp = pp[g_e, g_t]
    deferred = deferral[g_e, g_t]
    first_date = starts[g_t + 1] + _days(rng.integers(5, 46, n_g))
    first_month = _month_index(first_date, scenario)
    rem_po, rem_pp = po[g_e, g_t].astype(float), initial_pp.astype(float)
    history = np.zeros(n_g, dtype=int)
    gap_stop = stop[c[g_e]]
    recorded: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def record(mask: np.ndarray, dates: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        history[idx] += 1
        recorded.append(
            (idx, history[idx].copy(), dates[idx], rem_po[idx].copy(), rem_pp[idx].copy())
        )

    mean_due = _rolling_mean_due(due)
    debt = np.zeros((n_e, months))
    delai_until = np.full(n_e, -1)
    delais: dict[str, list] = {k: [] for k in ("est", "created", "days", "amount")}
    ccsf_seen = np.zeros(n_e, dtype=bool)
    ccsf: dict[str, list] = {k: [] for k in ("est", "date", "stage")}
    repay_from = scenario.crisis_start + 7

    for u in range(months):
        record(first_month == u, first_date)
        owing = (first_month < u) & (rem_po + rem_pp > 0) & (u < gap_stop)
        zc = z[c[g_e], u]
        in_delai = delai_until[g_e] >= u
        r = rng.uniform(size=n_g)
        p_full = _sigmoid(0.8 - 1.4 * zc)
        p_partial = 0.2 + 0.3 * in_delai
        full = owing & ~deferred & (r < p_full)
        partial = owing & ~deferred & (r >= p_full) & (r < p_full + p_partial)
        instalment = owing & deferred & (u >= repay_from) & (r < np.where(zc < 1.5, 0.8, 0.3))
        keep = rng.uniform(0.2, 0.7, n_g)
        rem_po = np.where(full, 0.0, np.where(partial, np.round(rem_po * keep), rem_po))
        rem_pp = np.where(full, 0.0, np.where(partial, np.round(rem_pp * keep), rem_pp))
        rem_pp = np.where(instalment, np.maximum(rem_pp - np.round(initial_pp / 12), 0.0), rem_pp)
        dates = starts[u] + _days(rng.integers(0, 28, n_g))
        record(full | partial | instalment, dates)

        opened = first_month <= u
        debt[:, u] = np.bincount(
            g_e[opened], weights=(rem_po + rem_pp)[opened] / 100, minlength=n_e
        )

        asks = (
            active[:, u]
            & (delai_until < u)
            & (debt[:, u] > 2.5 * mean_due[:, u])
            & (mean_due[:, u] > 0)
        )
        asks &= rng.uniform(size=n_e) < 0.2
        idx = np.flatnonzero(asks)
        created = starts[u + 1] + _days(rng.integers(0, 20, idx.size))
        length = rng.integers(90, 721, idx.size)
        delai_until[idx] = _month_index(created + _days(length), scenario)
        delais["est"].append(idx)
        delais["created"].append(created)
        delais["days"].append(length)
        delais["amount"].append(np.round(debt[idx, u], 2))

        plans = active[:, u] & ~ccsf_seen & (debt[:, u] > 2 * mean_due[:, u]) & (mean_due[:, u] > 0)
        plans &= rng.uniform(size=n_e) < 0.12
        idx = np.flatnonzero(plans)
        ccsf_seen[idx] = True
        opened_on = starts[u + 1] + _days(rng.integers(0, 20, idx.size))
        decided_on = opened_on + _days(rng.integers(30, 100, idx.size))
        outcome = np.where(rng.uniform(size=idx.size) < 0.65, "APPROB", "REFUS")
        ccsf["est"] += [idx, idx]
        ccsf["date"] += [opened_on, decided_on]
        ccsf["stage"] += [np.full(idx.size, "DEBUT", dtype=object), outcome.astype(object)]

    names = ("gap", "history", "date", "po", "pp")
    parts = {k: np.concatenate(v) for k, v in zip(names, zip(*recorded, strict=True), strict=True)}
    gap = parts["gap"].astype(int)
    company_fail = fail_date[c[g_e[gap]]]
    states = {
        "est": g_e[gap],
        "period": g_t[gap],
        "quarterly": world.e_quarterly[g_e[gap]],
        "gap_number": gap_number[gap],
        "history": parts["history"],
        "date": parts["date"].astype("datetime64[D]"),
        "po_cents": parts["po"].astype(np.int64),
        "pp_cents": parts["pp"].astype(np.int64),
        "in_proceedings": ~np.isnat(company_fail) & (parts["date"] >= company_fail),
    }
    states = _visible_sorted(states, "date", end, ("history", "gap_number", "est"))
    delai_out = _visible_sorted(_stack(delais), "created", end, ("created", "est"))
    ccsf_out = _visible_sorted(_stack(ccsf), "date", end, ("date", "est"))
    return DebtStates(**states), delai_out, ccsf_out


def _stack(columns: dict[str, list]) -> dict[str, np.ndarray]:
    return {k: np.concatenate(v) for k, v in columns.items()}


def _visible_sorted(
    table: dict[str, np.ndarray], date: str, end, order_by
) -> dict[str, np.ndarray]:
    """Rows dated up to the extract's end, sorted by ``order_by`` (lexsort: last key first)."""
    keep = table[date] <= end
    table = {k: v[keep] for k, v in table.items()}
    order = np.lexsort(tuple(table[k] for k in order_by))
    return {k: v[order] for k, v in table.items()}


def partial_activity(scenario, world, z, active, headcount, block, rng):
    """Authorisation requests (crisis surge and distress-driven) and monthly consumption."""
    months = scenario.months
    starts = scenario.month_starts
    c = world.e_company
    n_e = world.n_establishments
    exposure = _EXPOSURE[world.c_group][c]
    until = np.full(n_e, -1)
    req: dict[str, list] = {
        k: []
        for k in (
            "est",
            "start",
            "end",
            "statut",
            "months",
            "eff_auto",
            "hta",
            "mta",
            "motif",
            "crisis",
        )
    }
    for u in range(months):
        crisis = scenario.crisis[u] if scenario.crisis[u] >= 0.3 else 0.0
        p_crisis = 0.75 * crisis * exposure
        p = p_crisis + _sigmoid(-6.8 + 1.6 * z[c, max(u - 1, 0)])
        p = np.where(world.c_public[c], p * 0.1, p)
        new = active[:, u] & (until < u) & (headcount[:, u] >= 1) & (rng.uniform(size=n_e) < p)
        idx = np.flatnonzero(new)
        is_crisis = rng.uniform(size=idx.size) < p_crisis[idx] / np.maximum(p[idx], 1e-12)
        length = np.where(is_crisis, rng.integers(2, 7, idx.size), rng.integers(1, 7, idx.size))
        start = starts[u] + _days(rng.integers(0, 10, idx.size))
        end = starts[np.minimum(u + length, months + 17)] - np.timedelta64(1, "D")
        eff_auto = np.maximum(1, np.round(headcount[idx, u] * rng.uniform(0.3, 1.0, idx.size)))
        hta = np.round(eff_auto * 151.67 * length * rng.uniform(0.25, 0.8, idx.size), 2)
        motif = np.where(
            is_crisis,
            "5",
            rng.choice(
                ["1", "2", "3", "4", "6", "7"], size=idx.size, p=[0.7, 0.08, 0.07, 0.08, 0.04, 0.03]
            ),
        ).astype(object)
        motif[rng.uniform(size=idx.size) < 0.01] = "9"  # not a known reason: dropped at ingest
        until[idx] = u + length - 1
        for key, value in (
            ("est", idx),
            ("start", start),
            ("end", end),
            ("months", length),
            ("eff_auto", eff_auto),
            ("hta", hta),
            ("mta", np.round(hta * AP_HOURLY_RATE * rng.uniform(0.95, 1.05, idx.size), 2)),
            ("statut", start + _days(rng.integers(-15, 21, idx.size))),
            ("motif", motif),
            ("crisis", is_crisis),
        ):
            req[key].append(value)
    requests = {k: np.concatenate(v) for k, v in req.items()}
    n_r = len(requests["est"])
    number = np.arange(n_r) + block * 100_000
    requests["id"] = np.array(
        [f"{_LETTERS[n % 26]}{(n * 7919 + 104_729) % 10**9:09d}" for n in number.tolist()]
    )
    requests["perimetre"] = rng.choice(["1", "2"], size=n_r)
    requests["recours"] = rng.choice(["1", "2", "3"], size=n_r)

    # consumption: one row per month of the request inside the window, when the request is used
    used = rng.uniform(size=n_r) < 0.85
    first = _month_index(requests["start"], scenario)
    rows = np.repeat(np.arange(n_r), requests["months"])
    offset = np.arange(rows.size) - np.repeat(
        np.cumsum(requests["months"]) - requests["months"], requests["months"]
    )
    month = first[rows] + offset
    est = requests["est"][rows]
    keep = used[rows] & (month < months)
    keep &= active[est, np.minimum(month, months - 1)]
    rows, month, est = rows[keep], month[keep], est[keep]
    intensity = np.where(requests["crisis"][rows], np.maximum(scenario.crisis[month], 0.3), 1.0)
    hours = np.round(
        requests["hta"][rows]
        / requests["months"][rows]
        * rng.uniform(0.4, 1.0, rows.size)
        * intensity,
        2,
    )
    day = np.where(rng.uniform(size=rows.size) < 0.8, 0, rng.integers(1, 28, rows.size))
    consumption = {
        "request": rows,
        "est": est,
        "month": starts[month] + _days(day),
        "hours": hours,
        "amount": np.round(hours * AP_HOURLY_RATE, 2),
        "employees": np.maximum(
            1, np.round(requests["eff_auto"][rows] * rng.uniform(0.5, 1.0, rows.size))
        ),
    }
    for key, column in (
        ("hours_total", "hours"),
        ("amount_total", "amount"),
        ("employees_total", "employees"),
    ):
        requests[key] = np.round(np.bincount(rows, weights=consumption[column], minlength=n_r), 2)
    end_of_window = starts[months] - np.timedelta64(1, "D")
    visible = requests["statut"] <= end_of_window  # a decision after the extract is not in it
    requests = {k: v[visible] for k, v in requests.items()}
    kept = np.flatnonzero(visible)
    remap = np.full(n_r, -1)
    remap[kept] = np.arange(kept.size)
    keep_rows = visible[consumption["request"]]
    consumption = {k: v[keep_rows] for k, v in consumption.items()}
    consumption["request"] = remap[consumption["request"]]
    return requests, consumption
