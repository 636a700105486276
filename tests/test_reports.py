"""Run reports and Data Docs an operator opens inside a closed network: built from counts only,
self-contained, rendered by a real browser with the network off."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from pathlib import Path

import pytest
from browser import drawn_rows, rendered, visible
from pipeline_run import Demo

from ingestion.datadocs import VENDOR, external_loads, make_offline, manifest
from reports import html as H
from reports import run as R
from reports.build import run_folder

FILES = [
    {
        "source_file": "a.csv",
        "source": "debit",
        "status": "ingested",
        "message": "",
        "lines_read": 1200,
        "lines_accepted": 1190,
        "lines_quarantined": 7,
        "lines_skipped": 3,
    },
    {
        "source_file": "b.csv",
        "source": "effectif",
        "status": "ingested",
        "message": "",
        "lines_read": 40,
        "lines_accepted": 40,
        "lines_quarantined": 0,
        "lines_skipped": 0,
    },
]
RULES = [
    {
        "source": "debit",
        "expectation": "expect_x",
        "description": "siret has 14 digits",
        "severity": "error",
        "success": True,
        "element_count": 1197,
        "unexpected_count": 0,
    },
    {
        "source": "debit",
        "expectation": "expect_y",
        "description": "<b>amounts</b> >= 0",
        "severity": "warn",
        "success": False,
        "element_count": 1197,
        "unexpected_count": 4,
    },
    {
        "source": "effectif",
        "expectation": "expect_z",
        "description": "headcount known",
        "severity": "error",
        "success": False,
        "element_count": 40,
        "unexpected_count": 2,
    },
]


def _cells(text: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", text)
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r) for r in rows]


def test_two_runs_of_one_process_in_the_same_second_get_folders_of_their_own(tmp_path) -> None:
    """scripts/demo.py runs several jobs in one process: a run folder already written is
    never reused, and the folders still sort in the order of the runs."""
    stamp = dt.datetime(2026, 12, 6, 10, 28, 8)
    first = run_folder(tmp_path, "ingest", "2021-12", stamp=stamp)
    assert first == tmp_path / "ingest" / "2021-12" / f"20261206T102808-{os.getpid()}"
    assert run_folder(tmp_path, "ingest", "2021-12", stamp=stamp) == first  # not written yet
    first.mkdir(parents=True)
    second = run_folder(tmp_path, "ingest", "2021-12", stamp=stamp)
    second.mkdir()
    third = run_folder(tmp_path, "ingest", "2021-12", stamp=stamp)
    assert [second.name, third.name] == [f"{first.name}-2", f"{first.name}-3"]
    assert sorted([third, first, second]) == [first, second, third]


def test_the_files_table_adds_up_and_names_reasons_escaped() -> None:
    reasons = {
        "a.csv": [
            ("rejected", "expected 9 fields, found 8", 5),
            ("quarantined", "<script>x</script>", 2),
        ]
    }
    rows = _cells(R.files_section(FILES, reasons))
    assert rows[0][:4] == ["file", "source", "status", "read"]
    assert rows[1][3:7] == ["1,200", "1,190", "7", "3"]
    assert rows[-1][:7] == ["all files", "", "", "1,240", "1,230", "7", "3"]
    assert "rejected: expected 9 fields, found 8 (5)" in rows[1][7]
    assert "&lt;script&gt;x&lt;/script&gt; (2)" in rows[1][7] and "<script>" not in rows[1][7]


def test_each_source_passes_warns_or_fails_by_its_worst_broken_rule() -> None:
    summary, broken = R.quality_section(RULES).split("</table>", 1)
    by_source = {r[0]: r for r in _cells(summary)[1:]}
    assert ">warn<" in by_source["debit"][1] and by_source["debit"][2:] == ["2", "1", "1", "0"]
    effectif = by_source["effectif"]
    assert ">fail<" in effectif[1] and effectif[2:] == ["1", "0", "0", "1"]
    assert [(r[1], r[3]) for r in _cells(broken)[1:]] == [
        ("&lt;b&gt;amounts&lt;/b&gt; &gt;= 0", "4"),
        ("headcount known", "2"),
    ]


def test_the_panel_chart_and_table_show_population_and_label_share() -> None:
    months = [
        {"month": "2020-01", "establishments": 100, "labelled": 100, "positives": 5},
        {"month": "2020-02", "establishments": 120, "labelled": 0, "positives": 0},
    ]
    text = R.panel_section(months, variables=868)
    assert "220 rows over 2 months, 868 variables" in text
    assert text.count("<rect") == 2 and "<polyline" in text  # one known share: one point
    rows = _cells(text)
    assert rows[1] == ["2020-01", "100", "100", "5", "5.00%"] and rows[2][-1] == "-"


def test_a_page_is_self_contained_and_loads_nothing() -> None:
    link = R.mlflow_link("sqlite:////x/mlflow.db", "3", "abc")
    assert link == ("http://127.0.0.1:5000/#/experiments/3/runs/abc", "after `make mlflow-ui`")
    assert R.mlflow_link("http://mlflow:5000/", "3", "abc")[0].startswith("http://mlflow:5000/#/")
    page = H.page(
        "t <1>",
        "s",
        [
            ("files", R.files_section(FILES, {})),
            (
                "alerts",
                R.alerts_section(
                    "2021-06",
                    {"after": {"risque_fort": 2}, "before": {}, "corrections": {"procol": 1}},
                ),
            ),
            ("model", R.metrics_section({"XGBoost": {"test_aucpr": 0.25}}, [("run", *link)])),
        ],
    )
    assert external_loads(page) == [] and "<script" not in page and "<title>t &lt;1&gt;" in page
    assert '<a href="http://127.0.0.1:5000/#/experiments/3/runs/abc">' in page  # a link, not a load


def test_data_docs_assets_are_vendored_with_their_licences(tmp_path) -> None:
    assets = manifest()
    assert {a.url for a in assets if a.url} >= {
        "https://code.jquery.com/jquery-3.7.1.min.js",
        "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js",
        "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css",
    }
    assert any("licen" in a.path.lower() for a in assets)
    for asset in assets:  # every file there (committed, not ignored by git), as recorded
        digest = hashlib.sha256((VENDOR / asset.path).read_bytes()).hexdigest()
        assert digest == asset.sha256, asset.path
    page = tmp_path / "site" / "validations" / "x" / "page.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css" integrity="sha384-x" crossorigin="anonymous">'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/'
        'logo-long.png?d=1&dataContextId=42"><a href="https://greatexpectations.io">GX</a>'
        '<script src="https://cdn.example.org/new.js"></script>'
    )
    assert make_offline(tmp_path / "site") == [
        "validations/x/page.html: https://cdn.example.org/new.js"  # an asset not vendored: said
    ]
    text = page.read_text()
    assert 'src="../../static/vendor/' in text and "integrity" not in text
    assert 'src="../../static/images/logo-long.png"' in text and "dataContextId" not in text
    for local in re.findall(r'(?:src|href)="(\.\./\.\./static/vendor/[^"]+)"', text):
        assert (page.parent / local).is_file(), local


@pytest.mark.e2e
def test_the_demos_reports_and_data_docs_render_offline(local_demo) -> None:
    """`make demo`'s outputs as an operator opens them: the month's run report and the
    training's (linked from the summary), and the Data Docs of both batches."""
    assert local_demo.returncode == 0, local_demo.console[-5000:]
    pattern = r"^\s*(?:report\s+)?([a-z' ]+?)(?: \(HTML, opens offline\))?: (/\S+\.html)$"
    shown = dict(re.findall(pattern, local_demo.console, flags=re.M))
    month = Path(shown["the month's run"])
    assert month.parent.parent == local_demo.dir / "runs" / "monthly" / Demo.LAST
    text = visible(rendered(month))
    headings = (f"files of batch {Demo.LAST}", "data quality by source", "panel")
    headings += (f"alerts of {Demo.LAST}", "model:", f"monitoring of {Demo.LAST}")
    for heading in headings:
        assert heading in text, heading
    training = visible(rendered(Path(shown["the training's"])))
    assert re.search(r"AUCPR \d\.\d{3} \d\.\d{3}", training), training[:2000]
    assert "XGBoost baseline (logistic regression)" in training
    assert "http://127.0.0.1:5000/#/experiments/" in training
    for batch in (Demo.HISTORY, Demo.LAST):
        runs = local_demo.dir / "runs" / "ingest" / batch
        site = next(runs.glob("*/gx/uncommitted/data_docs/local_site"))
        validated = len(list((site / "validations").iterdir()))
        assert drawn_rows(rendered(site / "index.html")) == validated > 0
        for page in site.rglob("*.html"):
            assert external_loads(page.read_text()) == [], page
