"""HTML building blocks of the run reports, pure: every value is escaped, the page carries its
own style and its charts as inline SVG, and no element loads anything."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2em auto;
max-width:72em;padding:0 1em;color:#1d2330;background:#fff}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;
border-bottom:1px solid #d5d9e0;padding-bottom:.2em}
.sub{color:#5a6270;margin-top:0}table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #d5d9e0;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f1f3f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#17692f;font-weight:600}.warn{color:#8a5a00;font-weight:600}
.fail{color:#a4161a;font-weight:600}.note{color:#5a6270;font-size:.9em}
svg text{font-size:11px;fill:#1d2330}
"""


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def number(value: object, digits: int = 0) -> str:
    """A count with thousands separators, a rate with ``digits`` decimals; '-' for none."""
    if value is None or value != value:  # None or NaN
        return "-"
    if isinstance(value, float) and digits:
        return f"{value:,.{digits}f}"
    return f"{int(value):,}"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], numeric: Iterable[int] = ()
) -> str:
    """A table; the columns at the ``numeric`` positions are right-aligned. A cell given as
    ``("html", text)`` is inserted as is (already built from escaped parts)."""
    right = set(numeric)
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            inner = cell[1] if isinstance(cell, tuple) and cell[0] == "html" else esc(cell)
            cells.append(f'<td class="n">{inner}</td>' if i in right else f"<td>{inner}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def status(text: str) -> tuple[str, str]:
    """A pass / warn / fail cell, coloured."""
    css = {"pass": "pass", "ok": "pass", "warn": "warn", "watch": "warn"}.get(text, "fail")
    return ("html", f'<span class="{css}">{esc(text)}</span>')


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    rates: Sequence[float | None],
    title: str,
    width: int = 760,
    height: int = 220,
) -> str:
    """Bars (``values``, left axis) and a line (``rates``, right axis, a share), inline SVG."""
    if not labels:
        return ""
    left, right, top, bottom = 56, 56, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / len(labels)
    top_value = max(max(values), 1)
    known = [r for r in rates if r is not None]
    top_rate = max(max(known, default=0.0), 1e-9)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{esc(title)}"><title>{esc(title)}</title>'
    ]
    for i, v in enumerate(values):
        h = plot_h * v / top_value
        parts.append(
            f'<rect x="{left + i * step + step * 0.1:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{step * 0.8:.1f}" height="{h:.1f}" fill="#9db4d6"/>'
        )
    points = [
        f"{left + (i + 0.5) * step:.1f},{top + plot_h * (1 - r / top_rate):.1f}"
        for i, r in enumerate(rates)
        if r is not None
    ]
    if points:
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="#a4161a" '
            'stroke-width="1.5"/>'
        )
    axis = top + plot_h
    parts.append(
        f'<line x1="{left}" y1="{axis}" x2="{left + plot_w}" y2="{axis}" stroke="#5a6270"/>'
    )
    every = max(1, len(labels) // 8)
    for i in range(0, len(labels), every):
        parts.append(
            f'<text x="{left + (i + 0.5) * step:.1f}" y="{axis + 16}" '
            f'text-anchor="middle">{esc(labels[i])}</text>'
        )
    parts.append(f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{number(top_value)}</text>')
    parts.append(f'<text x="{left - 6}" y="{axis}" text-anchor="end">0</text>')
    parts.append(
        f'<text x="{left + plot_w + 6}" y="{top + 4}" fill="#a4161a">{top_rate:.1%}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str]]) -> str:
    """The whole document: ``sections`` are (heading, HTML body) pairs."""
    body = "".join(f"<section><h2>{esc(h)}</h2>{content}</section>" for h, content in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f'<body><h1>{esc(title)}</h1><p class="sub">{esc(subtitle)}</p>{body}</body></html>\n'
    )
