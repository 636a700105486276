"""The code's shape, without Spark: the pipeline's functions stay short enough to read in
one screen (named stages, not one long body)."""

from __future__ import annotations

import ast

from common.config import PROJECT_ROOT

PIPELINE_PACKAGES = ("jobs", "features", "training", "scoring", "ingestion")
MAX_FUNCTION_LINES = 70


def function_lengths(source: str) -> dict[str, int]:
    """Lines of each function and method (decorators included), by qualified name."""
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    lengths[name] = child.end_lineno - first + 1
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return lengths


def test_function_lengths_count_nested_functions_and_decorators() -> None:
    source = "@cache\ndef outer():\n    def inner():\n        return 1\n    return inner\n"
    source += "class C:\n    def m(self):\n        pass\n"
    assert function_lengths(source) == {"outer": 5, "outer.inner": 2, "C.m": 2}


def test_no_function_of_the_pipeline_is_over_70_lines() -> None:
    files = [p for package in PIPELINE_PACKAGES for p in (PROJECT_ROOT / package).rglob("*.py")]
    assert len(files) > 30
    too_long = {
        f"{path.relative_to(PROJECT_ROOT)}:{name}": lines
        for path in files
        for name, lines in function_lengths(path.read_text()).items()
        if lines > MAX_FUNCTION_LINES
    }
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines: {too_long}"
