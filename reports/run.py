"""The run reports: sections built from plain facts (pure), and the files written next to a
run's ``report.json``.

- ingest (jobs/ingest.py): the batch's files and data-quality results;
- month (jobs/monthly.py): the steps, the batch, the panel by month, the period's alerts and
  corrections, the model used, the monitoring;
- training (jobs/train.py): the test metrics beside the baseline's, the panel it learnt from,
  links to the MLflow runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from reports import html as H

LEVELS = ("risque_fort", "risque_modere", "pas_d_alerte")
METRICS = (
    ("test_aucpr", "AUCPR", 3),
    ("test_roc_auc", "ROC AUC", 3),
    ("test_brier", "Brier", 4),
    ("test_precision_risque_fort", "precision, risque fort", 3),
    ("test_recall_risque_fort", "recall, risque fort", 3),
)


def mlflow_link(tracking_uri: str, experiment_id: str, run_id: str) -> tuple[str, str]:
    """The run's page in the MLflow UI, and how to open it: a server's own address, or the
    local UI ``make mlflow-ui`` starts on a file or SQLite store."""
    path = f"#/experiments/{experiment_id}/runs/{run_id}"
    if tracking_uri.startswith(("http://", "https://")):
        return f"{tracking_uri.rstrip('/')}/{path}", "on the tracking server"
    return f"http://127.0.0.1:5000/{path}", "after `make mlflow-ui`"


def _link(url: str, how: str) -> str:
    return f'<a href="{H.esc(url)}">{H.esc(url)}</a> <span class="note">({H.esc(how)})</span>'


def files_section(files: Sequence[dict], reasons: dict) -> str:
    """Per file: lines read, accepted, quarantined, skipped, and its top reasons."""
    rows = []
    for f in files:
        top = reasons.get(f["source_file"], [])
        shown = "<br>".join(f"{H.esc(d)}: {H.esc(r)} ({H.number(n)})" for d, r, n in top) or H.esc(
            f.get("message") or ""
        )
        rows.append(
            (
                f["source_file"],
                f["source"] or "-",
                f["status"],
                H.number(f["lines_read"]),
                H.number(f["lines_accepted"]),
                H.number(f["lines_quarantined"]),
                H.number(f["lines_skipped"]),
                ("html", shown),
            )
        )
    total = {
        k: sum(f[k] or 0 for f in files)
        for k in ("lines_read", "lines_accepted", "lines_quarantined", "lines_skipped")
    }
    rows.append(("all files", "", "", *(H.number(v) for v in total.values()), ""))
    headers = (
        "file",
        "source",
        "status",
        "read",
        "accepted",
        "quarantined",
        "skipped",
        "top reasons (lines)",
    )
    return H.table(headers, rows, numeric=(3, 4, 5, 6))


def quality_section(rules: Sequence[dict]) -> str:
    """Per source: its rules' overall result (fail: an error rule broke; warn: a warning rule
    broke; pass), and every rule that broke."""
    sources: dict[str, list[dict]] = {}
    for r in rules:
        sources.setdefault(r["source"], []).append(r)
    rows = []
    for source, group in sorted(sources.items()):
        errors = sum(not r["success"] and r["severity"] == "error" for r in group)
        warnings = sum(not r["success"] and r["severity"] == "warn" for r in group)
        state = "fail" if errors else "warn" if warnings else "pass"
        rows.append(
            (source, H.status(state), len(group), len(group) - errors - warnings, warnings, errors)
        )
    out = H.table(
        ("source", "result", "rules", "passed", "warnings", "errors"), rows, numeric=(2, 3, 4, 5)
    )
    broken = [r for r in rules if not r["success"]]
    if broken:
        out += H.table(
            ("source", "rule", "severity", "rows breaking it", "rows checked"),
            [
                (
                    r["source"],
                    r["description"],
                    r["severity"],
                    H.number(r["unexpected_count"]),
                    H.number(r["element_count"]),
                )
                for r in broken
            ],
            numeric=(3, 4),
        )
    return out


def panel_section(months: Sequence[dict], variables: int | None = None) -> str:
    """The panel's size, and its population and label rate by month (chart and table)."""
    if not months:
        return '<p class="note">no panel yet</p>'
    rows = sum(m["establishments"] for m in months)
    size = f"{H.number(rows)} rows over {len(months)} months"
    if variables:
        size += f", {H.number(variables)} variables"
    rates = [m["positives"] / m["labelled"] if m["labelled"] else None for m in months]
    chart = H.bars(
        [m["month"] for m in months],
        [m["establishments"] for m in months],
        rates,
        "establishments by month (bars) and share labelled positive (line)",
    )
    table = H.table(
        ("month", "establishments", "labelled", "positive", "positive share"),
        [
            (
                m["month"],
                H.number(m["establishments"]),
                H.number(m["labelled"]),
                H.number(m["positives"]),
                "-" if r is None else f"{r:.2%}",
            )
            for m, r in zip(months, rates, strict=True)
        ],
        numeric=(1, 2, 3, 4),
    )
    note = (
        '<p class="note">bars: establishments in the population; line: share of the '
        "labelled rows whose company goes to court within the horizon (the last months' "
        "labels are not known yet)</p>"
    )
    return f"<p>{size}</p>{chart}{note}{table}"


def alerts_section(period: str, alerts: dict) -> str:
    """The period's alerts by level, before and after the experts' corrections."""
    if not alerts:
        return '<p class="note">no scores for this period</p>'
    after, before = alerts.get("after", {}), alerts.get("before", {})
    rows = [
        (level, H.number(after.get(level, 0)), H.number(before.get(level, 0))) for level in LEVELS
    ]
    out = f"<p>{H.esc(period)}: {H.number(sum(after.values()))} establishments scored</p>"
    out += H.table(("level", "alerts", "before corrections"), rows, numeric=(1, 2))
    corrections = alerts.get("corrections", {})
    if corrections:
        out += H.table(
            ("correction applied", "establishments"),
            [(c, H.number(n)) for c, n in sorted(corrections.items())],
            numeric=(1,),
        )
    else:
        out += '<p class="note">no correction applied</p>'
    return out


def metrics_section(columns: dict[str, dict], links: Sequence[tuple[str, str, str]]) -> str:
    """Test metrics side by side (one column per model), and links to their MLflow runs."""
    names = list(columns)
    rows = [
        (label, *(H.number(columns[n].get(key), digits) for n in names))
        for key, label, digits in METRICS
    ]
    out = H.table(("test months", *names), rows, numeric=range(1, len(names) + 1))
    if links:
        out += (
            "<ul>"
            + "".join(f"<li>{H.esc(what)}: {_link(url, how)}</li>" for what, url, how in links)
            + "</ul>"
        )
    return out


def monitoring_section(monitoring: dict, link: tuple[str, str] | None = None) -> str:
    if not monitoring:
        return '<p class="note">not monitored</p>'
    counts: dict[str, dict[str, int]] = {}
    for kind, status, n in monitoring["counts"]:
        counts.setdefault(kind, {})[status] = n
    rows = [
        (kind, *(H.number(c.get(s, 0)) for s in ("ok", "watch", "alert")))
        for kind, c in sorted(counts.items())
    ]
    out = H.table(("kind", "ok", "watch", "alert"), rows, numeric=(1, 2, 3))
    if monitoring["alerts"]:
        out += H.table(
            ("in alert", "item", "PSI"),
            [(k, i, H.number(p, 3)) for k, i, p in monitoring["alerts"]],
            numeric=(2,),
        )
    if link:
        out += f"<p>monitoring run: {_link(*link)}</p>"
    return out


def steps_section(steps: Sequence[dict]) -> str:
    return H.table(
        ("step", "status", "seconds", "what it did"),
        [(s["step"], s["status"], H.number(s["seconds"]), s["detail"]) for s in steps],
        numeric=(2,),
    )


def write(
    folder: Path,
    title: str,
    subtitle: str,
    sections: list[tuple[str, str]],
    facts: dict | None = None,
) -> Path:
    """``report.html`` in ``folder`` (and ``report.json`` with ``facts``, when given)."""
    folder.mkdir(parents=True, exist_ok=True)
    if facts is not None:
        (folder / "report.json").write_text(json.dumps(facts, indent=2, default=str) + "\n")
    path = folder / "report.html"
    path.write_text(H.page(title, subtitle, sections), encoding="utf-8")
    return path
