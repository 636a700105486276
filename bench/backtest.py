"""Benchmark of the walk-forward backtest on the kept 20k x 72 lake (``bench.panel --keep``).

    .venv/bin/python -m bench.backtest [--lake DIR] [--truth DIR] [--from 2019-03] [--to 2020-06]

Runs ``jobs/backtest.py`` (six cut-offs, every 3 months, with the generator's truth) through
spark-submit, timed, then reads ``gold/backtest`` and ``gold/backtest_companies`` without
Spark (delta-rs) and reports against the targets of the backtest:

- XGBoost's company-level AUCPR above the baseline's at how many cut-offs;
- the mean AUCPR difference, with a 90% bootstrap interval resampling companies (the same
  resampled companies at every cut-off, 1,000 replicates);
- the precision of XGBoost's ``risque_fort`` list against the baseline's precision over the
  same number of companies (its top ``k``), cut-off by cut-off;
- the whole job's wall time (target: under 40 minutes).

Writes bench/results/backtest.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys

import numpy as np
import pandas as pd
from deltalake import DeltaTable

from bench.harness import ROOT, machine, run_job, run_summary, save

DEFAULT = ROOT / "work" / "bench" / "panel" / "20000x72"
WORK = ROOT / "work" / "bench" / "backtest"


def average_precision(label: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float:
    """Average precision of weighted rows (a bootstrap replicate counts a company as many times
    as it was drawn); tied scores form one step, as scikit-learn's."""
    order = np.argsort(-score, kind="stable")
    s, y, w = score[order], label[order], weight[order]
    last = np.r_[s[1:] != s[:-1], True]  # the end of each group of tied scores
    tp = np.cumsum(y * w)[last]
    total = np.cumsum(w)[last]
    positives = tp[-1]
    if positives == 0:
        return float("nan")
    recall = np.r_[0.0, tp / positives]
    # a group of companies none of which was drawn adds no recall: its precision is not needed
    precision = np.divide(tp, total, out=np.zeros_like(tp), where=total > 0)
    return float(np.sum(np.diff(recall) * precision))


def bootstrap(companies: pd.DataFrame, replicates: int = 1000, seed: int = 11) -> np.ndarray:
    """Mean over cut-offs of (XGBoost AUCPR - baseline AUCPR), per replicate drawing companies
    with replacement (a company drawn k times weighs k at every cut-off)."""
    sirens = np.sort(companies["siren"].unique())
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(sirens), np.full(len(sirens), 1 / len(sirens)), size=replicates)
    index = {s: i for i, s in enumerate(sirens)}
    out = np.zeros(replicates)
    cutoffs = sorted(companies["cutoff"].unique())
    for cutoff in cutoffs:
        part = companies[companies["cutoff"] == cutoff]
        pivot = part.pivot_table(index="siren", columns="model", values="score")
        failed = part.groupby("siren")["failed"].max().reindex(pivot.index).to_numpy()
        at = np.array([index[s] for s in pivot.index])
        for r in range(replicates):
            w = draws[r, at].astype(float)
            out[r] += average_precision(failed, pivot["xgboost"].to_numpy(), w) - average_precision(
                failed, pivot["baseline"].to_numpy(), w
            )
    return out / len(cutoffs)


def run_backtest(args) -> tuple[str, dict]:
    store = WORK / "mlflow"
    shutil.rmtree(store, ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    conf = WORK / "bench.yaml"
    conf.write_text(
        f"extends: {ROOT / 'conf' / 'local.yaml'}\n"
        f"mlflow:\n  tracking_uri: sqlite:///{store / 'mlflow.db'}\n"
        f"  artifact_root: {store / 'artifacts'}\n"
    )
    print(f"jobs/backtest.py {args.first}..{args.last} every {args.every} ...", flush=True)
    run = run_job(["jobs/backtest.py", "--config", str(conf), "--lake", args.lake,
                   "--from", args.first, "--to", args.last, "--every", args.every,
                   "--truth", args.truth])  # fmt: skip
    if run.returncode != 0:
        sys.exit(f"jobs/backtest.py failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
    print(run.stdout, flush=True)
    summary = run_summary(run)
    (WORK / "run.json").write_text(json.dumps(summary, indent=2))
    return re.search(r"MLflow: run (\w+)", run.stdout).group(1), summary


def top_precision(companies: pd.DataFrame, model: str, sizes: pd.Series) -> float:
    """Pooled precision of ``model``'s top ``sizes[cutoff]`` companies over the cut-offs."""
    caught = total = 0
    for cutoff, k in sizes.items():
        part = companies[(companies["cutoff"] == cutoff) & (companies["model"] == model)]
        top = part.sort_values(["score", "siren"], ascending=[False, True]).head(int(k))
        caught, total = caught + int(top["failed"].sum()), total + len(top)
    return caught / max(total, 1)


def figures_of(table: pd.DataFrame, companies: pd.DataFrame) -> dict:
    wide = table.pivot(index="cutoff", columns="model")
    aucpr = wide["aucpr"]
    boot = bootstrap(companies[companies["model"].isin(["xgboost", "baseline"])])
    low, high = (float(v) for v in np.quantile(boot, [0.05, 0.95]))
    at_size = wide["precision_at_reference_size"]  # every model over XGBoost's fort-list size
    fort = wide["fort_precision"]["xgboost"]
    before = wide["fort_precision_before_corrections"]["xgboost"]
    baseline = at_size["baseline"].mean()
    # the model's own list, before the expert corrections add companies to it
    own = wide["fort_size_before_corrections"]["xgboost"]
    own_precision = float((before * own).sum() / max(own.sum(), 1))
    own_baseline = top_precision(companies, "baseline", own)
    return {
        "own_fort_list": {
            "companies": int(own.sum()),
            "xgboost_precision": own_precision,
            "baseline_top_precision": own_baseline,
            "ratio": own_precision / max(own_baseline, 1e-12),
            **(
                {"oracle_top_precision": top_precision(companies, "oracle", own)}
                if "oracle" in set(companies["model"])
                else {}
            ),
        },
        "cutoffs": len(aucpr),
        "wins": int((aucpr["xgboost"] > aucpr["baseline"]).sum()),
        "mean_aucpr": {m: float(aucpr[m].mean()) for m in aucpr.columns},
        "mean_difference": float((aucpr["xgboost"] - aucpr["baseline"]).mean()),
        "bootstrap_90": [low, high],
        "xgboost_fort_list_precision": float(fort.mean()),
        "xgboost_fort_list_precision_before_corrections": float(before.mean()),
        "precision_at_fort_size": {m: float(at_size[m].mean()) for m in at_size.columns},
        "ratio_fort_list_to_baseline": float(fort.mean() / baseline),
        "ratio_top_to_baseline": {
            m: float(at_size[m].mean() / baseline) for m in at_size.columns if m != "baseline"
        },
        "fort_size": {m: float(wide["fort_size"][m].mean()) for m in ("xgboost", "baseline")},
        "fort_size_before_corrections": {
            m: float(wide["fort_size_before_corrections"][m].mean())
            for m in ("xgboost", "baseline")
        },
    }


def cell(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "-"
    if isinstance(v, float) and v.is_integer() and abs(v) >= 1:
        return f"{int(v):,}"
    return f"{v:.3f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)


COLUMNS = ["companies", "positives", "aucpr", "precision_at_100", "fort_size", "fort_precision",
           "fort_recall", "fort_size_before_corrections", "fort_precision_before_corrections",
           "alert_size", "alert_precision", "alert_recall", "precision_at_reference_size",
           "median_lead_months", "churn_alert", "trees", "train_rows"]  # fmt: skip


def report(args, run_id: str, run: dict) -> None:
    table = DeltaTable(f"{args.lake}/gold/backtest").to_pandas()
    table = table[table["backtest_run_id"] == run_id].sort_values(["cutoff", "model"])
    if table.empty:
        sys.exit(f"no row of backtest run {run_id} in {args.lake}/gold/backtest")
    companies = DeltaTable(f"{args.lake}/gold/backtest_companies").to_pandas(
        columns=["cutoff", "model", "siren", "score", "failed"]
    )
    companies = companies[companies["cutoff"].isin(table["cutoff"].unique())]
    f = figures_of(table, companies)
    mean, low, high = f["mean_aucpr"], *f["bootstrap_90"]
    top = f["ratio_top_to_baseline"]
    lines = [
        "# Walk-forward backtest benchmark", "", f"Machine: {machine()}", "",
        f"Lake: `{args.lake}`; cut-offs {args.first} to {args.last} every {args.every} months; "
        "metrics at company level (a company = its highest-scored establishment); backtest run "
        f"`{run_id}`.", "",
        f"Wall time of jobs/backtest.py: **{run['seconds'] / 60:.1f} min** (target < 40); "
        f"driver Python peak {run['peak_driver_python_mb']} MiB, JVM peak "
        f"{run['peak_jvm_mb']} MiB.", "",
        f"- XGBoost's AUCPR above the baseline's at **{f['wins']} of {f['cutoffs']}** cut-offs "
        "(target: 5 of 6 or more).",
        f"- Mean AUCPR: XGBoost {mean['xgboost']:.4f}, baseline {mean['baseline']:.4f}"
        + (f", oracle {mean['oracle']:.4f}" if "oracle" in mean else "")
        + f"; difference **{f['mean_difference']:+.4f}**, 90% bootstrap interval (companies "
        f"resampled) **[{low:+.4f}, {high:+.4f}]** (target: at least +0.02, excluding zero).",
        f"- Lists of the same size (the size of XGBoost's risque_fort list at each cut-off, "
        f"{f['fort_size']['xgboost']:.0f} companies on average): precision of XGBoost's risque_fort "
        f"list (after the expert corrections) {f['xgboost_fort_list_precision']:.3f} vs the "
        f"baseline's top companies {f['precision_at_fort_size']['baseline']:.3f}: ratio "
        f"**{f['ratio_fort_list_to_baseline']:.2f}** (target >= 1.5). XGBoost's own top companies "
        f"by score: {f['precision_at_fort_size']['xgboost']:.3f}, ratio "
        f"**{top['xgboost']:.2f}**"
        + (f"; the oracle's top companies: {f['precision_at_fort_size']['oracle']:.3f}, ratio "
           f"**{top['oracle']:.2f}**: the most any model can reach on this world" if "oracle" in top else "")
        + ".",
        f"- The expert corrections: XGBoost's risque_fort list holds "
        f"{f['fort_size_before_corrections']['xgboost']:.0f} companies on average before them "
        f"(precision {f['xgboost_fort_list_precision_before_corrections']:.3f}), "
        f"{f['fort_size']['xgboost']:.0f} after.",
        f"- The model's own risque_fort list (before the corrections; "
        f"{f['own_fort_list']['companies']} companies over the cut-offs): precision "
        f"{f['own_fort_list']['xgboost_precision']:.3f} vs the baseline's top companies of the "
        f"same number {f['own_fort_list']['baseline_top_precision']:.3f}: ratio "
        f"**{f['own_fort_list']['ratio']:.2f}**"
        + (f" (the oracle's: {f['own_fort_list']['oracle_top_precision']:.3f})"
           if "oracle_top_precision" in f["own_fort_list"] else "")
        + "; a small list, so a wide uncertainty.",
        "", "| cut-off | model | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
        *[
            f"| {str(r['cutoff'])[:7]} | {r['model']} | "
            + " | ".join(cell(None if pd.isna(r[c]) else r[c]) for c in COLUMNS) + " |"
            for r in table.to_dict("records")
        ],
        "",
    ]  # fmt: skip
    payload = {"machine": machine(), "run": run, "backtest_run_id": run_id, **f,
               "table": table.astype(str).to_dict("records")}  # fmt: skip
    path = save("backtest", payload, "\n".join(lines))
    print("\n".join(lines))
    print(f"results: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lake", default=str(DEFAULT / "lake"))
    parser.add_argument("--truth", default=str(DEFAULT / "raw_truth"))
    parser.add_argument("--from", dest="first", default="2019-03")
    parser.add_argument("--to", dest="last", default="2020-06")
    parser.add_argument("--every", default="3")
    parser.add_argument(
        "--report-only",
        metavar="RUN_ID",
        help="recompute the figures from the tables of an earlier backtest run (no job)",
    )
    args = parser.parse_args()
    if args.report_only:
        report(args, args.report_only, json.loads((WORK / "run.json").read_text()))
    else:
        report(args, *run_backtest(args))


if __name__ == "__main__":
    main()
