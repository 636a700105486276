"""The reports of each kind of run, their facts gathered from the run's results, the lake
(small aggregates, see ``reports.facts``) and the MLflow store."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from pyspark.sql import SparkSession

from common.lake import Lake
from reports import facts
from reports import html as H
from reports import run as R


def _problems(problems: list[str]) -> tuple[str, str]:
    items = "".join(f"<li>{H.esc(p)}</li>" for p in problems)
    return "batch rejected: nothing committed", f'<ul class="fail">{items}</ul>'


def ingest_report(
    folder: Path,
    batch: str,
    files: list[dict],
    rules: list[dict],
    reasons: dict,
    problems: list[str],
) -> Path:
    """The ingest of one batch: its files, line by line accounting and top reasons, and the
    data-quality results by source (next to the batch's ``report.json``)."""
    sections = [_problems(problems)] if problems else []
    sections += [
        ("files", R.files_section(files, reasons)),
        ("data quality by source", R.quality_section(rules)),
    ]
    state = "rejected" if problems else "committed"
    return R.write(folder, f"Ingest of batch {batch}", f"{state}; {_now()}", sections)


def run_folder(runs_dir: str | Path, *parts: str, stamp: dt.datetime | None = None) -> Path:
    """``<runs_dir>/<parts...>/<time>-<pid>``: one folder per run, sorting by time (``stamp``,
    default now). The process id keeps apart two processes' runs started in the same second,
    and a suffix (``-2``, ``-3``...) two runs of one process (scripts/demo.py runs several jobs
    in one) when the first has written its folder."""
    name = f"{stamp or dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{os.getpid()}"
    folder, n = Path(runs_dir).joinpath(*parts, name), 1
    while folder.exists():
        n += 1
        folder = folder.with_name(f"{name}-{n}")
    return folder


def _now() -> str:
    return f"written {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _experiment_link(tracking_uri: str, run_id: str) -> tuple[str, str] | None:
    import mlflow

    try:
        run = mlflow.get_run(run_id)
    except Exception:  # a store gone or a run deleted: the report says nothing of it
        return None
    return R.mlflow_link(tracking_uri, run.info.experiment_id, run_id)


def month_report(
    spark: SparkSession,
    lake: Lake,
    tracking_uri: str,
    folder: Path,
    batch: str,
    period: str | None,
    steps: list[dict],
    model,
    monitoring_run: str | None,
    variables: int,
) -> Path:
    """The month's run: its steps, the batch, the panel by month, the period's alerts, the
    model that scored them and the monitoring; ``report.json`` holds the same facts. A run
    that failed before its period was known (ingest, panel) has no alerts nor monitoring."""
    import mlflow

    found = {
        "batch": batch,
        "period": period,
        "steps": steps,
        "files": facts.batch_files(spark, lake, batch),
        "rules": facts.batch_rules(spark, lake, batch),
        "reasons": facts.quarantine_reasons(spark, lake, batch),
        "panel": facts.panel_months(spark, lake),
        "alerts": facts.period_alerts(spark, lake, period) if period else {},
        "monitoring": facts.period_monitoring(spark, lake, period) if period else {},
    }
    sections = [
        ("steps", R.steps_section(steps)),
        (f"files of batch {batch}", R.files_section(found["files"], found["reasons"])),
        ("data quality by source", R.quality_section(found["rules"])),
        ("panel", R.panel_section(found["panel"], variables)),
    ]
    if period:
        sections.append((f"alerts of {period}", R.alerts_section(period, found["alerts"])))
    if model is not None:
        mlflow.set_tracking_uri(tracking_uri)
        run = mlflow.get_run(model.run_id)
        metrics = run.data.metrics
        found["model"] = {
            "name": model.name,
            "version": model.version,
            "alias": model.alias,
            "test": {k: metrics.get(k) for k, _, _ in R.METRICS},
        }
        link = R.mlflow_link(tracking_uri, run.info.experiment_id, model.run_id)
        sections.append(
            (
                f"model: {model.name} version {model.version} ({model.alias})",
                R.metrics_section(
                    {"XGBoost": found["model"]["test"]},
                    [("its training run", *link)],
                ),
            )
        )
    monitoring_link = _experiment_link(tracking_uri, monitoring_run) if monitoring_run else None
    if period:
        monitored = R.monitoring_section(found["monitoring"], monitoring_link)
        sections.append((f"monitoring of {period}", monitored))
    failed = [s["step"] for s in steps if s["status"] == "failed"]
    state = f"failed at step {failed[0]}; " if failed else ""
    title = f"Monthly run: batch {batch}" + (f", month {period}" if period else "")
    return R.write(folder, title, state + _now(), sections, found)


def training_report(
    spark: SparkSession,
    lake: Lake,
    tracking_uri: str,
    folder: Path,
    result,
    model_name: str,
    variables: int,
) -> Path:
    """A training run: test metrics of the model beside the baseline's, the panel it learnt
    from, and the MLflow runs."""
    found = {
        "model": model_name,
        "version": result.model_version,
        "promoted": result.promoted,
        "xgboost": result.model,
        "baseline": result.baseline,
        "panel": facts.panel_months(spark, lake),
    }
    links = [
        (what, *link)
        for what, run in (
            ("training run", result.parent_run_id),
            ("XGBoost run", result.run_id),
            ("baseline run", result.baseline_run_id),
        )
        if run and (link := _experiment_link(tracking_uri, run))
    ]
    state = "promoted to champion" if result.promoted else "registered as challenger"
    sections = [
        (
            "test metrics",
            R.metrics_section(
                {"XGBoost": result.model, "baseline (logistic regression)": result.baseline}, links
            ),
        ),
        ("panel", R.panel_section(found["panel"], variables)),
    ]
    return R.write(
        folder,
        f"Training: {model_name} version {result.model_version}",
        f"{state}; {_now()}",
        sections,
        found,
    )
