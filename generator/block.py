"""One block, end to end: world, dynamics, then the text of every raw file and of
the ground truth. Pure: the same (scenario, block) always gives the same text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from generator import render, render_dgfip
from generator.corrupt import KINDS, corrupt
from generator.dynamics import simulate
from generator.financials import tax_returns
from generator.scenario import Scenario
from generator.world import build_world
from parsers.formats import FORMATS

TRUTH = "__truth__"
TRUTH_COLUMNS = ("siren", "month", "probability", "first_judgment_date")

RENDERERS = {
    "cotisation": render.cotisation,
    "debit": render.debit,
    "delai": render.delai,
    "ccsf": render.ccsf,
    "procol": render.procol,
    "effectif": render.effectif,
    "effectif_ent": render.effectif_ent,
    "apdemande": render.apdemande,
    "apconso": render.apconso,
    "sirene": render.sirene,
    "sirene_ul": render.sirene_ul,
}
DGFIP_RENDERERS = {
    "declarations_af": render_dgfip.declarations_af,
    "declarations_indmap": render_dgfip.declarations_indmap,
    "ratios_dirco": render_dgfip.ratios_dirco,
    "judgments": render_dgfip.judgments,
}


@dataclass(frozen=True)
class Chunk:
    """The text of one file's lines from one block, and what went into it."""

    source: str
    text: str  # lines joined by the file's line end; a line end is appended when written
    lines: int  # data lines, bad ones included, blank ones not
    blank: int
    bad: dict[str, int]


def header_columns(source: str, scenario: Scenario) -> list[str]:
    fmt = FORMATS[source]
    if not fmt.wide_months:
        return list(fmt.header)
    months = render.month_columns(scenario)
    return [*fmt.header[: fmt.wide_split], *months, *fmt.header[fmt.wide_split :]]


def _blank_lines(lines: list[str], rng) -> tuple[list[str], int]:
    """DGEFP extracts carry blank lines between some records."""
    out, blank = [], 0
    for line in lines:
        out.append(line)
        if rng.uniform() < 0.01:
            out.append("")
            blank += 1
    return out, blank


def _truth_text(scenario: Scenario, world, dyn) -> str:
    months = scenario.months
    labels = [scenario.month_label(t) + "-01" for t in range(months)]
    created = (
        world.c_created.astype("datetime64[M]") - np.datetime64(scenario.month_label(0), "M")
    ).astype(int)
    rows = []
    for c in range(world.n_companies):
        first = str(dyn.fail_date[c]) if dyn.fail_month[c] >= 0 else ""
        end = dyn.fail_month[c] if dyn.fail_month[c] >= 0 else months
        for t in range(max(created[c], 0), months):
            p = f"{dyn.truth[c, t]:.6f}" if t < end else ""
            rows.append(f"{world.c_siren[c]},{labels[t]},{p},{first}")
    return "\n".join(rows)


def run_block(
    scenario: Scenario, block: int, n_establishments: int, bad_line_rate: float
) -> list[Chunk]:
    world = build_world(scenario, block, n_establishments)
    dyn = simulate(scenario, world, block)
    rng = np.random.default_rng([scenario.seed, 3, block])
    returns = tax_returns(scenario, world, dyn, rng)
    chunks = []
    for source, fmt in FORMATS.items():
        if source in RENDERERS:
            lines = RENDERERS[source](scenario, world, dyn, rng)
        else:
            lines = DGFIP_RENDERERS[source](scenario, world, dyn, returns, rng)
        bad = corrupt(lines, fmt, header_columns(source, scenario), bad_line_rate, rng)
        blank = 0
        if source == "apdemande":
            lines, blank = _blank_lines(lines, rng)
        chunks.append(Chunk(source, fmt.line_end.join(lines), len(lines) - blank, blank, bad))
    chunks.append(Chunk(TRUTH, _truth_text(scenario, world, dyn), 0, 0, dict.fromkeys(KINDS, 0)))
    return chunks
