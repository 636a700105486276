"""The catalog's variables, population and targets on one chunk of the panel (pandas).

A chunk holds whole companies, rows sorted by (siren, siret, month). Everything
here is vectorised over the chunk: one numpy operation per variable, never one
per establishment or per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import builders as B
from features.catalog import Variable
from features.series import ZERO_WHEN_ABSENT

DESCRIPTIVE = (
    "code_naf",
    "section_naf",
    "division_naf",
    "code_departement",
    "code_region",
    "code_categorie_juridique",
)
KEYS = ("siren", "siret", "month_index")


@dataclass(frozen=True)
class PanelSettings:
    start_index: int  # first month of the panel (month index: months since 2000-01)
    last_index: int  # last month covered by the data
    horizon_months: int
    min_employees: int
    lookback_months: int
    excluded_naf_sections: tuple[str, ...]
    public_legal_prefixes: tuple[str, ...]
    partitions: int
    emit_from: int | None = None  # first month of the rows written (an incremental run)


def reach(variables: tuple[Variable, ...], s: PanelSettings) -> int | None:
    """How many months before a row its variables and population read, the unbounded
    builders apart (they carry their state); None when an unbounded builder reads a variable
    that itself reads earlier months (its state would have to be carried too)."""
    by_name = {v.name: v for v in variables}
    months: dict[str, int] = {}

    def of(name: str) -> int:
        if name not in months:
            v = by_name[name]
            own = B.REACH[v.builder](*v.args) if v.builder in B.REACH else 0
            months[name] = own + max((of(i) for i in v.inputs), default=0)
        return months[name]

    if any(of(i) for v in variables if v.builder in B.STATE for i in v.inputs):
        return None
    return max([s.lookback_months - 1, *(of(v.name) for v in variables)])


def carried(variables: tuple[Variable, ...]) -> tuple[Variable, ...]:
    """The variables whose builder carries its state (unbounded windows)."""
    return tuple(v for v in variables if v.builder in B.STATE)


def state_closure(variables: tuple[Variable, ...]) -> tuple[Variable, ...]:
    """The variables the carried states are computed from."""
    return closure(variables, {i for v in carried(variables) for i in v.inputs})


STATE_PREFIX = "_state_"
STATE_ROW = f"{STATE_PREFIX}row"  # marks the row that holds an establishment's carried state


def state_column(variable: str, part: str) -> str:
    """The chunk's column of one part of an unbounded variable's carried state."""
    return f"{STATE_PREFIX}{variable}_{part}"


def state_columns(variables: tuple[Variable, ...]) -> list[str]:
    """The chunk's columns of carried state: one per unbounded variable and part."""
    return [state_column(v.name, p) for v in carried(variables) for p in B.STATE_PARTS[v.builder]]


def closure(variables: tuple[Variable, ...], names: set[str]) -> tuple[Variable, ...]:
    """The variables needed to compute ``names``, in catalog order."""
    by_name = {v.name: v for v in variables}
    needed, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo += list(by_name[name].inputs)
    return tuple(v for v in variables if v.name in needed)


def without_state_rows(chunk: pd.DataFrame) -> pd.DataFrame:
    """The chunk's rows of months, each with its establishment's carried state (the values
    of its ``STATE_ROW``, which comes first: the month before the others)."""
    if STATE_ROW not in chunk:
        return chunk
    states = [c for c in chunk.columns if c.startswith(STATE_PREFIX) and c != STATE_ROW]
    if states:
        chunk[states] = chunk.groupby("siret", sort=False)[states].ffill()
    return chunk.loc[chunk[STATE_ROW].isna()].reset_index(drop=True)


POPULATION_INPUTS = ("effectif", "cotisation_due")  # the population's look-back reads these


def read_before(variables: tuple[Variable, ...]) -> set[str]:
    """The variables whose values at earlier months a row reads: the window builders'
    inputs, what those are computed from, and the population's (its look-back)."""
    inputs = {i for v in variables if v.builder in B.WINDOW for i in v.inputs}
    names = {v.name for v in variables}
    return {v.name for v in closure(variables, (inputs | set(POPULATION_INPUTS)) & names)}


def written(month: np.ndarray, s: PanelSettings) -> np.ndarray:
    """The rows of months the run writes: the panel's, from ``emit_from`` in an incremental run
    (the earlier rows are read by the windows only)."""
    first = s.start_index if s.emit_from is None else max(s.start_index, s.emit_from)
    return (month >= first) & (month <= s.last_index)


def compute_series(
    chunk: pd.DataFrame, variables: tuple[Variable, ...], at: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], B.Lookup]:
    """Source, window and row variables (company and sector ones are done apart), at the
    rows ``at`` (a mask; None: every row) and the ``Months`` lookup of those rows. Only the
    variables other rows read (``read_before``) are computed on every row; the others, most
    of the catalog, on the rows ``at`` only."""
    establishment = pd.factorize(chunk["siret"].to_numpy(), sort=False)[0]
    every = B.Months(establishment, chunk["month_index"].to_numpy())
    if at is None or at.all():
        return _series(chunk, variables, every, every), every
    before = read_before(variables)
    full = _series(chunk, tuple(v for v in variables if v.name in before), every, every)
    rows = every.at(np.flatnonzero(at))
    return _series(chunk, variables, every, rows, full), rows


def _series(
    chunk: pd.DataFrame,
    variables: tuple[Variable, ...],
    every: B.Months,
    rows: B.Lookup,
    full: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The variables at ``rows``; windows read their inputs over every row: from ``full``
    (computed on every row first), or from the variables themselves when ``rows`` is every
    row."""
    cols: dict[str, np.ndarray] = {}
    whole = cols if full is None else full  # the inputs' values on every row
    full = full or {}
    for v in variables:
        if v.name in full:
            cols[v.name] = rows.here(full[v.name])
        elif v.builder == "source":
            values = rows.here(chunk[v.name].to_numpy(dtype=float, na_value=np.nan))
            cols[v.name] = np.nan_to_num(values, nan=0.0) if v.name in ZERO_WHEN_ABSENT else values
        elif v.builder in B.STATE:  # a running value: over every row, then at ``rows``
            x, before = whole[v.inputs[0]], None
            if state_column(v.name, B.STATE_PARTS[v.builder][0]) in chunk:
                before = {
                    p: chunk[state_column(v.name, p)].to_numpy(dtype=float, na_value=np.nan)
                    for p in B.STATE_PARTS[v.builder]
                }
            cols[v.name] = rows.here(B.WINDOW[v.builder](every, x, *v.args, before=before))
        elif v.builder in B.WINDOW:
            cols[v.name] = B.WINDOW[v.builder](rows, whole[v.inputs[0]], *v.args)
        elif v.builder in B.ROW:
            cols[v.name] = B.ROW[v.builder](*[cols[i] for i in v.inputs], *v.args)
    return cols


def population(
    chunk: pd.DataFrame, cols: dict[str, np.ndarray], months: B.Lookup, s: PanelSettings
) -> np.ndarray:
    """Reported this month (a headcount or a contribution); employs or has employed at least
    ``min_employees`` in the last ``lookback_months`` months, this one included; not a public
    body (legal category) nor public administration or education (NAF sections); inside the
    panel's months (from ``emit_from`` in an incremental run: sector statistics and rows
    of earlier months are not needed). At the rows of ``months`` (``cols``' rows); ``chunk``
    is the whole chunk (the look-back reads earlier rows)."""
    reported = ~np.isnan(cols["effectif"]) | ~np.isnan(cols["cotisation_due"])
    effectif = chunk["effectif"].to_numpy(dtype=float, na_value=np.nan)
    peak = np.nan_to_num(B.rolling_max(months, effectif, s.lookback_months), nan=-1)
    category = chunk["code_categorie_juridique"].fillna("").astype(str)
    public = (
        months.here(category.str.startswith(s.public_legal_prefixes).to_numpy())
        if s.public_legal_prefixes
        else np.zeros(len(months), dtype=bool)  # not False: ~False is -1, keep would be ints
    )
    sector = months.here(chunk["section_naf"].isin(s.excluded_naf_sections).to_numpy())
    inside = written(months.month, s)
    return reported & (peak >= s.min_employees) & ~public & ~sector & inside


def company_aggregates(
    chunk: pd.DataFrame, cols: dict[str, np.ndarray], variables: tuple[Variable, ...]
) -> dict[str, np.ndarray]:
    """Aggregates over the company's establishments reporting that month (``chunk``: the rows
    of ``cols``)."""
    wanted = [v for v in variables if v.builder in B.COMPANY]
    if not wanted:
        return {}
    reported = ~np.isnan(cols["effectif"]) | ~np.isnan(cols["cotisation_due"])
    frame = pd.DataFrame(
        {"siren": chunk["siren"].to_numpy(), "month": chunk["month_index"].to_numpy()}
    )
    for v in wanted:
        frame[v.name] = np.where(reported, cols[v.inputs[0]], np.nan)
    how = {
        "company_sum": "sum",
        "company_max": "max",
        "company_mean": "mean",
        "company_count": "count",
    }
    grouped = frame.groupby(["siren", "month"], sort=False)
    out = {}
    for v in wanted:
        values = grouped[v.name].transform(how[v.builder]).to_numpy(dtype=float)
        if v.builder == "company_sum":  # a sum of nothing is unknown, not zero
            values = np.where(grouped[v.name].transform("count").to_numpy() > 0, values, np.nan)
        out[v.name] = values
    return out


def sector_zscores(
    chunk: pd.DataFrame,
    cols: dict[str, np.ndarray],
    variables: tuple[Variable, ...],
    stats: pd.DataFrame,
) -> dict[str, np.ndarray]:
    """(x - sector mean) / sector standard deviation, per NAF division and month."""
    wanted = [v for v in variables if v.builder in B.SECTOR]
    keys = pd.DataFrame(
        {
            "division_naf": chunk["division_naf"].to_numpy(),
            "month_index": chunk["month_index"].to_numpy(),
        }
    )
    joined = keys.merge(stats, on=["division_naf", "month_index"], how="left")
    out = {}
    for v in wanted:
        mean = joined.get(f"mean_{v.inputs[0]}", pd.Series(np.nan, index=joined.index)).to_numpy(
            dtype=float
        )
        std = joined.get(f"std_{v.inputs[0]}", pd.Series(np.nan, index=joined.index)).to_numpy(
            dtype=float
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            out[v.name] = np.where(std > 0, (cols[v.inputs[0]] - mean) / std, np.nan)
    return out


def compute_chunk(
    chunk: pd.DataFrame, variables: tuple[Variable, ...], s: PanelSettings, stats: pd.DataFrame
) -> pd.DataFrame:
    """The panel rows of a chunk: keys, description, variables (population only); the
    targets are added in Spark (features/panel.targets), where label updates reuse them."""
    return pd.DataFrame(chunk_columns(chunk, variables, s, stats))


def chunk_columns(
    chunk: pd.DataFrame, variables: tuple[Variable, ...], s: PanelSettings, stats: pd.DataFrame
) -> dict[str, np.ndarray]:
    """``compute_chunk``'s columns, before they are gathered into a frame (a copy of them
    all: the Python workers that write the panel themselves go without it)."""
    chunk = without_state_rows(chunk)
    cols, months = compute_series(chunk, variables, written(chunk["month_index"].to_numpy(), s))
    keep = population(chunk, cols, months, s)
    chunk = chunk.iloc[months.rows]
    cols.update(company_aggregates(chunk, cols, variables))
    rows = chunk.loc[keep]
    kept = {name: values[keep] for name, values in cols.items()}
    kept.update(sector_zscores(rows, kept, variables, stats))
    out = {k: rows[k].to_numpy() for k in (*KEYS, *DESCRIPTIVE, "mois_premiere_ouverture")}
    out.update({v.name: kept[v.name] for v in variables})
    return out


def sector_names(variables: tuple[Variable, ...]) -> list[str]:
    """The variables sector z-scores are taken on."""
    return sorted({v.inputs[0] for v in variables if v.builder in B.SECTOR})


def sector_closure(variables: tuple[Variable, ...]) -> tuple[Variable, ...]:
    """The variables sector z-scores are taken on, with what they and the population need."""
    return closure(variables, {*sector_names(variables), "effectif", "cotisation_due"})


def sector_columns(variables: tuple[Variable, ...]) -> list[str]:
    """The chunk's columns sector_inputs reads (the rest of the panel's need not go to
    Python for that pass)."""
    needed = sector_closure(variables)
    return [
        *KEYS,
        "division_naf",
        "section_naf",
        "code_categorie_juridique",
        *[v.name for v in needed if v.builder == "source"],
        *state_columns(needed),
        STATE_ROW,
    ]


def sector_inputs(
    chunk: pd.DataFrame, variables: tuple[Variable, ...], s: PanelSettings
) -> pd.DataFrame:
    """The population rows' values of the variables sector z-scores are taken on."""
    chunk = without_state_rows(chunk)
    month = chunk["month_index"].to_numpy()
    cols, months = compute_series(chunk, sector_closure(variables), written(month, s))
    keep = population(chunk, cols, months, s)
    out = {
        "division_naf": months.here(chunk["division_naf"].to_numpy())[keep],
        "month_index": months.here(month)[keep],
    }
    out.update({n: cols[n][keep] for n in sector_names(variables)})
    return pd.DataFrame(out)


def history_state(chunk: pd.DataFrame, variables: tuple[Variable, ...]) -> pd.DataFrame:
    """One row per establishment of a chunk of history (the months before a window): the
    state its last row leaves to each unbounded variable (``state_columns``)."""
    unbounded = carried(variables)
    cols, months = compute_series(chunk, state_closure(variables))
    last = months.last
    out = {"siret": chunk["siret"].to_numpy()[last]}
    for v in unbounded:
        for part, values in B.STATE[v.builder](months, cols[v.inputs[0]]).items():
            out[state_column(v.name, part)] = values[last].astype(float)
    return pd.DataFrame(out)
