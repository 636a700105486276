"""Generate docs/variables.md from the catalog.

.venv/bin/python -m features.document          # rewrite docs/variables.md
.venv/bin/python -m features.document --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from common.config import PROJECT_ROOT
from features.catalog import GROUPS, catalog, model_features, reference_set, version
from features.explain import computed_by, starts_from

TARGET = PROJECT_ROOT / "docs" / "variables.md"


def render() -> str:
    variables = catalog()
    counts = Counter(v.group for v in variables)
    lines = [
        "# Variables of the monthly panel",
        "",
        "Generated from `features/catalog.py` by `python -m features.document`: "
        "do not edit by hand.",
        "",
        f"Catalog version `{version()}`: {len(variables)} variables, {len(model_features())} used "
        f"by models (ratio numerators are helpers), {len(reference_set())} in the reference set "
        "(the reference system's standard inputs, used by the baseline).",
        "",
        "Every window variable reads only the establishment's months up to the row's month "
        "(calendar months: a month without a row is a gap). Builders: `features/builders.py`.",
        "",
        "*computed by* names the function (`builders.*`, `compute.*` in `features/`; a source "
        "variable's silver table in `features/silver.py`, or the panel's join in "
        "`features/panel.py`); *starts from* lists the silver columns (`table.column`) it is "
        "computed from. The whole derivation of one variable, down to the raw file, its "
        "parser and each function's file and line: `python -m features.explain NAME` (or "
        "`./spark-submit.sh jobs/panel.py --explain NAME`). Source series are declared once, "
        "in `features/series.py`.",
        "",
        "| group | variables |",
        "| --- | --- |",
        *[f"| {g} | {counts[g]} |" for g in GROUPS],
    ]
    for group in GROUPS:
        lines += [
            "",
            f"## {group}",
            "",
            "| variable | builder | inputs | computed by | starts from | reference | description |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for v in variables:
            if v.group == group:
                builder = v.builder + (f"({', '.join(map(str, v.args))})" if v.args else "")
                lines.append(
                    f"| `{v.name}` | {builder} | {', '.join(v.inputs)} | `{computed_by(v)}` | "
                    f"{', '.join(starts_from(v.name))} | {'yes' if v.reference else ''} | "
                    f"{v.description} |"
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not TARGET.exists() or TARGET.read_text() != text:
            sys.exit(f"{TARGET} is out of date: run python -m features.document")
        return
    TARGET.write_text(text)
    sys.stdout.write(f"wrote {TARGET}\n")


if __name__ == "__main__":
    main()
