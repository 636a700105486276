"""Lines of the DGFiP files (pipe-separated) for one block: tax-return figures,
ratios and court judgments."""

from __future__ import annotations

import numpy as np

from generator import encode
from generator.dynamics import Dynamics
from generator.scenario import Scenario
from generator.world import World
from parsers.formats import AF_FIGURES, DIRCO_FIGURES, INDMAP_FIGURES


def _figures(
    values: dict[str, np.ndarray], names: tuple[str, ...], blank: np.ndarray
) -> list[list[str]]:
    columns = []
    for j, name in enumerate(names):
        v = np.where(blank[:, j], np.nan, values[name])
        places = 2 if name.startswith(("rto", "nbr")) else 0
        columns.append(encode.decimal(v, places=places))
    return columns


def _returns(
    source: str, names, s: Scenario, w: World, returns, rng, with_office: bool
) -> list[str]:
    c = returns["company"]
    n = c.size
    years, _, _ = encode.ymd(returns["fin"])
    office = [f"{v:05d}" for v in (w.c_key[c] * 31) % 90000 + 10000]
    blank = rng.uniform(size=(n, len(names))) < 0.02
    keys = [list(w.c_siren[c]), encode.iso_date(returns["deb"]), encode.iso_date(returns["fin"])]
    if with_office:
        keys += [office, [str(y) for y in years]]
    lines = ["|".join(f) for f in zip(*keys, *_figures(returns, names, blank), strict=True)]
    # a few returns are filed twice; the second copy is less complete
    out = []
    twice = rng.uniform(size=n) < 0.03
    sparse = _figures(returns, names, rng.uniform(size=(n, len(names))) < 0.3)
    for i, line in enumerate(lines):
        out.append(line)
        if twice[i] and with_office:
            other = [k[i] for k in keys]
            other[3] = f"{(int(other[3]) + 17) % 90000 + 10000:05d}"
            out.append("|".join(other + [col[i] for col in sparse]))
    return out


def declarations_af(s, w, d: Dynamics, returns, rng) -> list[str]:
    return _returns("declarations_af", AF_FIGURES, s, w, returns, rng, with_office=True)


def declarations_indmap(s, w, d: Dynamics, returns, rng) -> list[str]:
    return _returns("declarations_indmap", INDMAP_FIGURES, s, w, returns, rng, with_office=True)


def ratios_dirco(s, w, d: Dynamics, returns, rng) -> list[str]:
    keep = rng.uniform(size=returns["company"].size) < 0.95
    subset = {k: v[keep] for k, v in returns.items()}
    return _returns("ratios_dirco", DIRCO_FIGURES, s, w, subset, rng, with_office=False)


def judgments(s, w, d: Dynamics, returns, rng) -> list[str]:
    j = d.judgments
    order = np.lexsort((j.date, j.company))
    return [f"{w.c_siren[j.company[i]]}|{j.date[i]}|{j.najug[i]}" for i in order if j.in_dgfip[i]]
