"""A variable's whole derivation, from the raw file's column to its formula.

.venv/bin/python -m features.explain fin_stocks_ca_n1 [NAME ...]
./spark-submit.sh jobs/panel.py --explain fin_stocks_ca_n1   (the same, without Spark)

Each step names the code that computes it (file:line and function), read from the code
itself, so the paths stay true when the code moves. No Spark session is started.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

from common.config import PROJECT_ROOT
from features import builders as B
from features import compute, panel, silver
from features.catalog import AGGREGATE_WORDS, CONTEXT, YEARS, Variable, by_name
from features.series import FIGURES, SOURCE_SERIES, SOURCES_OF_FIGURES, Figure, Series
from parsers.registry import PARSERS

SERIES = {s.name: s for s in SOURCE_SERIES}
FIGURE_OF = {f"fin_{f.name}{suffix}": (f, suffix) for f in FIGURES for suffix, _ in YEARS}
YEAR = dict(YEARS)


def where(fn) -> str:
    """``path:line function`` of a function, relative to the project."""
    fn = inspect.unwrap(fn)
    path = inspect.getsourcefile(fn) or "?"
    source, line = inspect.getsourcelines(fn)  # from its first decorator: point at its def
    line += next(
        i for i, text in enumerate(source) if text.lstrip().startswith(("def ", "async def "))
    )
    if ".zip/" in path:  # run through spark-submit: the project's zip holds the same tree
        path = path.split(".zip/", 1)[1]
    else:
        try:
            path = str(Path(path).resolve().relative_to(PROJECT_ROOT))
        except ValueError:
            pass
    return f"{path}:{line} {fn.__name__}"


def raw_step(source: str, depth: int) -> Step:
    """Where a bronze source comes from: its raw file, and the parser that reads it."""
    parser = PARSERS[source]
    return Step(depth, f"parsed from the raw file {parser.format.file_name}", where(parser.parse))


@dataclass(frozen=True)
class Step:
    depth: int
    text: str
    code: str = ""


def _builder(v: Variable):
    """The function that computes a variable that is not a source."""
    if v.builder in B.WINDOW:
        return B.WINDOW[v.builder]
    if v.builder in B.ROW:
        return B.ROW[v.builder]
    if v.builder in B.COMPANY:
        return compute.company_aggregates
    return compute.sector_zscores


def _formula(v: Variable) -> str:
    args = ", ".join([*v.inputs, *map(str, v.args)])
    if v.builder in B.COMPANY:
        what = AGGREGATE_WORDS[v.builder]
        return f"{what} of {args} over the company's establishments reporting that month"
    if v.builder in B.SECTOR:
        return f"z-score of {args} within its NAF division and month"
    return f"{v.builder}({args})"


def _series_steps(s: Series, depth: int) -> list[Step]:
    table = silver.TABLES[s.silver]
    steps = [
        Step(
            depth,
            f"silver/{s.silver}.{s.name}: {s.text}, per "
            f"{'company' if s.silver == 'company_headcount' else 'establishment'} and month",
            where(table.build),
        ),
        Step(depth + 1, f"from bronze {s.origin}"),
        raw_step(s.source, depth + 2),
    ]
    if s.silver == "company_headcount":
        steps.append(Step(depth + 1, "joined to the panel", where(panel.with_company_data)))
    else:
        steps.append(
            Step(
                depth + 1,
                f"into the panel: records of a month combined by {s.combine}"
                + ("; no record in a month counts as 0" if s.zero_when_absent else ""),
                where(panel.monthly_sources),
            )
        )
    return steps


def _figure_steps(f: Figure, suffix: str, depth: int) -> list[Step]:
    return [
        Step(
            depth,
            f"silver/financials.{f.name}{suffix}: {f.label}, {YEAR[suffix]}, per company and "
            "fiscal year, known from filing_lag_months after the year's end",
            where(silver.financials),
        ),
        Step(
            depth + 1,
            f"from bronze {f.source}.{f.column} (the most complete filing of the year)",
            where(silver._most_complete),
        ),
        raw_step(f.source, depth + 2),
        Step(depth + 1, "joined to the panel, prefixed fin_", where(panel.with_company_data)),
    ]


def _source_steps(v: Variable, depth: int) -> list[Step]:
    if v.name in SERIES:
        return _series_steps(SERIES[v.name], depth)
    if v.name in FIGURE_OF:
        return _figure_steps(*FIGURE_OF[v.name], depth)
    if v.name == "fin_mois_depuis_cloture":
        return [
            Step(
                depth,
                "months from silver/financials.date_fin_exercice (the year known) to the row's "
                "month",
                where(panel.with_company_data),
            ),
            Step(depth + 1, "the fiscal year's end in any DGFiP filing", where(silver.financials)),
            *[raw_step(source, depth + 2) for source in SOURCES_OF_FIGURES],
        ]
    if v.name in dict(CONTEXT):
        return [
            Step(
                depth,
                "from silver/establishments (bronze sirene and sirene_ul)",
                where(silver.establishments),
            ),
            raw_step("sirene", depth + 1),
            raw_step("sirene_ul", depth + 1),
            Step(depth + 1, "computed for the row's month", where(panel.with_context)),
        ]
    raise KeyError(v.name)


def derivation(name: str) -> list[Step]:
    """The steps from ``name`` down to its silver columns and raw sources."""
    variables = by_name()

    def walk(v: Variable, depth: int) -> list[Step]:
        head = f"{v.name} [{v.group}]: {v.description}"
        if v.builder == "source":
            return [Step(depth, head), *_source_steps(v, depth + 1)]
        steps = [Step(depth, head), Step(depth + 1, f"= {_formula(v)}", where(_builder(v)))]
        for i in v.inputs:
            steps += walk(variables[i], depth + 1)
        return steps

    if name not in variables:
        close = difflib.get_close_matches(name, list(variables), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"no variable named {name!r} in the catalog{hint}")
    return walk(variables[name], 0)


def render(name: str) -> str:
    lines = []
    for step in derivation(name):
        pad = "  " * step.depth
        lines.append(f"{pad}{step.text}" + (f"\n{pad}    code: {step.code}" if step.code else ""))
    return "\n".join(lines)


def _source(v: Variable) -> tuple[str, str]:
    """A source variable's silver column (``table.column``) and the function that brings it to
    the panel (``module.function``)."""
    if v.name in SERIES:
        table = SERIES[v.name].silver
        return f"{table}.{v.name}", f"silver.{silver.TABLES[table].build.__name__}"
    if v.name in FIGURE_OF:
        figure, suffix = FIGURE_OF[v.name]
        return f"financials.{figure.name}{suffix}", "silver.financials"
    if v.name == "fin_mois_depuis_cloture":
        return "financials.date_fin_exercice", "panel.with_company_data"
    return "establishments", "panel.with_context"


def starts_from(name: str) -> list[str]:
    """The silver columns (``table.column``) a variable is computed from, in order, once each."""
    variables, found = by_name(), []

    def walk(v: Variable) -> None:
        if v.builder != "source":
            for i in v.inputs:
                walk(variables[i])
        elif (column := _source(v)[0]) not in found:
            found.append(column)

    walk(variables[name])
    return found


def computed_by(v: Variable) -> str:
    """The function that computes a variable, as ``module.function``."""
    if v.builder == "source":
        return _source(v)[1]
    fn = inspect.unwrap(_builder(v))
    return f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="+", metavar="NAME", help="variable of the catalog")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write("\n\n".join(render(n) for n in args.names) + "\n")
    except KeyError as exc:
        sys.exit(f"error: {exc.args[0]}")


if __name__ == "__main__":
    main()
