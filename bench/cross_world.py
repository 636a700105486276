"""Cross-world check: train on one generated world, score another drawn with another seed.

    .venv/bin/python -m bench.cross_world [--scale 20000x72] [--peer-python /tmp/peer-venv/bin/python]

World A is the kept lake of ``bench.panel --keep`` (seed 1); world B (seed 2, same scale) is
generated, ingested and built here once (kept under work/bench/cross_world/<scale>/). Then:

1. ``jobs/train.py --promote`` on A (spark-submit, its own MLflow store): the champion, as a
   user gets it;
2. the baseline (the reference logistic regression) fit on the same rows as the champion:
   every labelled row of A;
3. both score every labelled row of B (complete horizon, not already in proceedings);
   company-month AUCPR (a company's score is its establishments' maximum), beside B's oracle
   (the generator's probability, known per company and month);
4. with ``--peer-python`` (a scratch environment holding duckdb and xgboost, see
   ../shared/peers/README.md): the DuckDB peer panel of both worlds' raw files and
   single-node XGBoost trained on A's and scoring B's (``bench/peer_model.py``): our
   champion's company-month AUCPR as a share of that yardstick's.

Writes bench/results/cross_world.{json,md} (another scale: cross_world_<scale>.{json,md}); its
work (world B, the peer panels, the MLflow store) is kept in work/bench/cross_world/<scale>/.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench import harness
from bench.harness import PEER_PANEL, ROOT, check, machine, run_job, run_summary, save

WORK = ROOT / "work" / "bench" / "cross_world"


def world_b(scale: str) -> Path:
    n, months = scale.split("x")
    folder = WORK / scale / "world-b"
    if (folder / "lake" / "gold" / "panel" / "_delta_log").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    print(f"world B ({scale}, seed 2): generate, ingest, panel ...", flush=True)
    check(
        harness.generate(folder / "raw", n, months, 2, "--truth", str(folder / "truth")), "generate"
    )
    lake = str(folder / "lake")
    check(harness.ingest(folder / "raw", lake, "b"), "ingest")
    check(run_job(["jobs/panel.py", "--lake", lake, "--full"]), "panel")
    return folder


def measure(a_lake: str, b: Path, store: Path) -> dict:
    """Our champion and the baseline trained on A, scoring B: company-month AUCPR."""
    import mlflow
    from pyspark.sql import functions as F

    from common import delta_io
    from common.config import PROJECT_ROOT, load_config
    from common.spark import get_spark
    from features.catalog import reference_set
    from training.fitting import usable_features
    from training.metrics import Curve, score_histogram
    from training.models import baseline_scores, fit_baseline
    from training.predict import booster_bytes, predict
    from training.split import usable

    settings = load_config(PROJECT_ROOT / "conf" / "local.yaml", lake=a_lake)
    spark = get_spark(settings.spark, app_name="bench-cross-world")
    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    uri = f"models:/{settings.mlflow.registered_model}@champion"
    booster = mlflow.xgboost.load_model(uri)
    features = mlflow.models.get_model_info(uri).metadata["features"]
    a = delta_io.read(spark, f"{a_lake}/gold/panel").where(usable())
    reference = usable_features(a, reference_set())
    baseline = fit_baseline(
        a.select(*reference, "cible"), reference, settings.training.baseline_reg_param
    )
    rows = delta_io.read(spark, str(b / "lake" / "gold" / "panel")).where(usable())
    keep = ["siren", "periode", "cible"]
    scored = {
        "xgboost": predict(rows, booster_bytes(booster), features, keep),
        "baseline": baseline_scores(baseline, rows, keep),
    }
    truth = delta_io.read(spark, str(b / "truth")).select(
        "siren", F.col("month").alias("periode"), F.col("probability").alias("score")
    )
    scored["oracle"] = rows.select(*keep).join(truth, ["siren", "periode"], "inner")
    out = {}
    for model, frame in scored.items():
        company = frame.groupBy("siren", "periode").agg(
            F.max("score").alias("score"), F.max("cible").alias("cible")
        )
        curve = Curve.from_histogram(score_histogram(company, "score"))
        out[model] = {"company_month_aucpr": curve.average_precision(),
                      "company_month_roc_auc": curve.roc_auc(),
                      "company_months": curve.positives + curve.negatives,
                      "positives": curve.positives}  # fmt: skip
    spark.stop()
    return out


def peer(python: str, a_raw: Path, b_raw: Path, work: Path) -> dict:
    panels = {}
    for name, raw in (("A", a_raw), ("B", b_raw)):
        out = work / f"peer_{name}.parquet"
        if not out.exists():
            print(f"peer panel of world {name} ...", flush=True)
            subprocess.run([python, str(PEER_PANEL), "--raw", str(raw), "--out", str(out),
                            "--threads", "2"], check=True)  # fmt: skip
        panels[name] = out
    print("peer model (single-node XGBoost on the peer panels) ...", flush=True)
    done = subprocess.run([python, str(ROOT / "bench" / "peer_model.py"), "--train",
                           str(panels["A"]), "--score", str(panels["B"])],
                          check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", default="20000x72")
    parser.add_argument("--peer-python", help="a Python with duckdb and xgboost (the yardstick)")
    parser.add_argument(
        "--skip-train",
        action="store_true",
        help="reuse the champion of the previous run's MLflow store at this scale (work/bench/cross_world)",
    )
    args = parser.parse_args()
    a = ROOT / "work" / "bench" / "panel" / args.scale
    if not (a / "lake").exists():
        sys.exit(
            f"no kept lake in {a}: run .venv/bin/python -m bench.panel --scales {args.scale} --keep"
        )
    b = world_b(args.scale)
    work = WORK / args.scale  # everything of this scale: world B, peer panels, store
    work.mkdir(parents=True, exist_ok=True)
    store = work / "mlflow"
    conf = work / "bench.yaml"
    conf.write_text(
        f"extends: {ROOT / 'conf' / 'local.yaml'}\n"
        f"mlflow:\n  tracking_uri: sqlite:///{store / 'mlflow.db'}\n"
        f"  artifact_root: {store / 'artifacts'}\n"
    )
    yardstick = peer(args.peer_python, a / "raw", b / "raw", work) if args.peer_python else None
    trained = work / "train.json"
    if args.skip_train and trained.exists():
        train = json.loads(trained.read_text())
    else:
        shutil.rmtree(store, ignore_errors=True)
        print("jobs/train.py --promote on world A ...", flush=True)
        run = run_job(
            ["jobs/train.py", "--config", str(conf), "--lake", str(a / "lake"), "--promote"]
        )
        check(run, "jobs/train.py")
        print(run.stdout[-2000:], flush=True)
        train = {**run_summary(run), "stdout": run.stdout[-3000:]}
        trained.write_text(json.dumps(train, indent=2))
    ours = measure(str(a / "lake"), b, store)
    result = {"machine": machine(), "scale": args.scale, "train": train, **ours}
    lines = [
        "# Cross-world check", "", f"Machine: {machine()}", "",
        f"Trained on world A (`{a}`, seed 1), scored on world B (`{b}`, seed 2), "
        f"{args.scale}. Every labelled row of B (complete horizon, not in proceedings); "
        "a company-month's score is its establishments' maximum.", "",
        "| model | company-month AUCPR | ROC AUC | company-months | positives |",
        "|---|---|---|---|---|",
        *[f"| {name} | {ours[key]['company_month_aucpr']:.4f} | "
          f"{ours[key]['company_month_roc_auc']:.4f} | {ours[key]['company_months']:,} | "
          f"{ours[key]['positives']:,} |"
          for key, name in (("xgboost", "XGBoost champion (jobs/train.py on A)"),
                            ("baseline", "baseline (logistic regression, same rows)"),
                            ("oracle", "oracle of B (generator's probability)"))],
        "",
        f"XGBoost / baseline: **{ours['xgboost']['company_month_aucpr'] / ours['baseline']['company_month_aucpr']:.2f}**.",
    ]  # fmt: skip
    if yardstick:
        result["peer"] = yardstick
        ratio = ours["xgboost"]["company_month_aucpr"] / yardstick["company_month_aucpr"]
        result["ratio_to_peer"] = ratio
        lines += [
            "",
            f"Yardstick: single-node XGBoost (`bench/peer_model.py`, {yardstick['trees']} trees) on "
            f"the DuckDB peer panel ({yardstick['variables']} variables) of the same raw files: "
            f"company-month AUCPR {yardstick['company_month_aucpr']:.4f}. Our champion / yardstick: "
            f"**{ratio:.2f}** (target >= 0.9 on the independent world).",
        ]
    m = re.search(r"version (\d+)", train["stdout"])
    result["model_version"] = m.group(1) if m else None
    name = "cross_world" if args.scale == "20000x72" else f"cross_world_{args.scale}"
    path = save(name, result, "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
