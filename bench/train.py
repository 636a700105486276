"""Benchmark of training on a 20k x 72 lake (kept by ``bench.panel --keep``).

    .venv/bin/python -m bench.train [--lake DIR] [--truth DIR] [--workers 2]

1. The whole job, ``jobs/train.py`` through spark-submit with ``num_workers`` workers and
   the generator's truth: model AUCPR vs the oracle's and the baseline's on the same test
   rows (read back from the job's MLflow run), wall time and memory.
2. Distributed vs single process on the same rows: the job's split is written once to
   Parquet (float32 features); then ``xgboost.spark`` (``training.models.fit_xgboost``,
   ``num_workers`` workers of one thread) and ``xgboost.train`` in this process (as many
   threads as workers, the same parameters) each read it and train, twice: a. each with the
   job's early stopping (they may stop at different trees); b. both growing the number of
   trees the single process kept, without early stopping (the same work). Reported: wall
   time ratio (target <= 1.3) and the test ROC AUC difference (target <= 0.002).

Writes bench/results/train.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time

import numpy as np
import pyarrow.dataset as ds
import xgboost as xgb
from mlflow import MlflowClient
from sklearn.metrics import average_precision_score, roc_auc_score

from bench.harness import RESULTS, ROOT, machine, run_job, run_summary, save

WORK = ROOT / "work" / "bench" / "train"
DEFAULT = ROOT / "work" / "bench" / "panel" / "20000x72"


def _job(lake: str, truth: str, workers: int) -> dict:
    store = WORK / "mlflow"
    shutil.rmtree(store, ignore_errors=True)
    conf = WORK / "bench.yaml"
    conf.write_text(
        f"extends: {ROOT / 'conf' / 'local.yaml'}\n"
        f"mlflow:\n  tracking_uri: sqlite:///{store / 'mlflow.db'}\n"
        f"  artifact_root: {store / 'artifacts'}\n"
        f"training:\n  num_workers: {workers}\n"
    )
    run = run_job(["jobs/train.py", "--config", str(conf), "--lake", lake, "--truth", truth])
    if run.returncode != 0:
        sys.exit(f"jobs/train.py failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
    ids = re.search(r"XGBoost run (\w+), baseline run (\w+)", run.stdout)
    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    model = client.get_run(ids.group(1)).data.metrics
    baseline = client.get_run(ids.group(2)).data.metrics
    print(run.stdout[-1500:], flush=True)
    return {
        **run_summary(run),
        "model": {k: model[k] for k in sorted(model)},
        "baseline": {k: baseline[k] for k in sorted(baseline)},
    }


def _split(lake: str, out, workers: int):
    from pyspark.sql import functions as F

    from common.config import PROJECT_ROOT, load_config
    from common.lake import Lake
    from common.spark import get_spark
    from features.catalog import model_features
    from training.models import COMPANY_WEIGHT, ROW_KEYS
    from training.pipeline import prepare

    settings = load_config(PROJECT_ROOT / "conf" / "local.yaml", lake=lake)
    spark = get_spark(settings.spark, app_name="bench-train")
    folds = prepare(spark, Lake.from_settings(settings), settings).folds
    features = model_features()
    (
        folds.select(
            *[F.col(f).cast("float").alias(f) for f in features],
            "cible",
            "fold",
            "siren",
            *ROW_KEYS,
            *[c for c in folds.columns if c == COMPANY_WEIGHT],  # as the job fits
        )
        .write.mode("overwrite")
        .partitionBy("fold")
        .parquet(str(out))
    )
    folds.unpersist()
    return spark, settings, features


def _numpy(out, fold: str, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    table = ds.dataset(str(out / f"fold={fold}"), format="parquet").to_table()
    x = np.column_stack([table[f].to_numpy(zero_copy_only=False) for f in features])
    return x.astype(np.float32), table["cible"].to_numpy(zero_copy_only=False)


def _company_weights(out, fold: str) -> np.ndarray:
    """The company weights the split carries (training.company_weights), as the job fits."""
    from training.models import COMPANY_WEIGHT

    table = ds.dataset(str(out / f"fold={fold}"), format="parquet")
    return table.to_table(columns=[COMPANY_WEIGHT])[COMPANY_WEIGHT].to_numpy(zero_copy_only=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lake", default=str(DEFAULT / "lake"))
    parser.add_argument("--truth", default=str(DEFAULT / "raw_truth"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--skip-job", action="store_true", help="keep the job's figures of the previous run"
    )
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)

    previous = RESULTS / "train.json"
    if args.skip_job and previous.exists():
        print("1. jobs/train.py: figures of the previous run (--skip-job)", flush=True)
        job = json.loads(previous.read_text())["job"]
    else:
        print("1. jobs/train.py ...", flush=True)
        job = _job(args.lake, args.truth, args.workers)

    print("2. distributed vs single process on the same rows ...", flush=True)
    out = WORK / "split"
    spark, settings, features = _split(args.lake, out, args.workers)
    cfg = settings.training
    from training.models import fit_xgboost

    frame = spark.read.parquet(str(out))
    rows = {fold: ds.dataset(str(out / f"fold={fold}"), format="parquet").count_rows()
            for fold in ("train", "validation")}  # fmt: skip
    x_test, y_test = _numpy(out, "test", features)
    dtest = xgb.DMatrix(x_test, missing=np.nan, feature_names=features)

    def distributed(training) -> tuple[xgb.Booster, float]:
        began = time.monotonic()
        booster = fit_xgboost(
            frame.where("fold = 'train'"), frame.where("fold = 'validation'"), features,
            training, args.workers, row_count=rows["train"] + rows["validation"],
        )  # fmt: skip
        return booster, time.monotonic() - began

    def single(rounds: int, early_stopping: int | None) -> tuple[xgb.Booster, float]:
        began = time.monotonic()
        x_train, y_train = _numpy(out, "train", features)
        x_valid, y_valid = _numpy(out, "validation", features)
        params = {k: v for k, v in cfg.xgboost.items() if k != "n_estimators"}
        params.update(objective="binary:logistic", nthread=args.workers, seed=cfg.seed)
        weights = {f: _company_weights(out, f) if cfg.company_weights else None
                   for f in ("train", "validation")}  # fmt: skip
        dtrain = xgb.QuantileDMatrix(x_train, y_train, weight=weights["train"], missing=np.nan,
                                     feature_names=features)  # fmt: skip
        dvalid = xgb.QuantileDMatrix(x_valid, y_valid, weight=weights["validation"], ref=dtrain,
                                     missing=np.nan,
                                     feature_names=features)  # fmt: skip
        booster = xgb.train(params, dtrain, rounds, evals=[(dvalid, "validation")],
                            early_stopping_rounds=early_stopping, verbose_eval=False)  # fmt: skip
        if early_stopping:
            booster = booster[: booster.best_iteration + 1]
        return booster, time.monotonic() - began

    def compare(dist: tuple[xgb.Booster, float], one: tuple[xgb.Booster, float]) -> dict:
        (d, d_s), (o, o_s) = dist, one
        p_dist, p_single = d.predict(dtest), o.predict(dtest)
        result = {
            "distributed_seconds": d_s, "single_seconds": o_s, "time_ratio": d_s / o_s,
            "distributed_trees": d.num_boosted_rounds(), "single_trees": o.num_boosted_rounds(),
            "distributed_auc": roc_auc_score(y_test, p_dist),
            "single_auc": roc_auc_score(y_test, p_single),
            "distributed_aucpr": average_precision_score(y_test, p_dist),
            "single_aucpr": average_precision_score(y_test, p_single),
        }  # fmt: skip
        result["auc_difference"] = abs(result["distributed_auc"] - result["single_auc"])
        return result

    # a. as the job trains: each stops early on its own validation log-loss
    rounds = int(cfg.xgboost.get("n_estimators", 100))
    one = single(rounds, cfg.early_stopping_rounds)  # first, as measured
    early = compare(distributed(cfg), one)
    # b. the same work: both grow the trees the single process kept, no early stopping
    fixed_rounds = early["single_trees"]
    fixed_cfg = cfg.model_copy(update={
        "early_stopping_rounds": None, "xgboost": {**cfg.xgboost, "n_estimators": fixed_rounds}
    })  # fmt: skip
    fixed = compare(distributed(fixed_cfg), single(fixed_rounds, None))
    comparison = {
        "train_rows": rows["train"], "validation_rows": rows["validation"],
        "test_rows": int(len(y_test)),
        "test_positive_rate": float(y_test.mean()), "early_stopping": early,
        "fixed_rounds": fixed,
    }  # fmt: skip
    spark.stop()

    m, b = job["model"], job["baseline"]
    md = [
        "# Training benchmark", "", f"Machine: {machine()}", "",
        f"Lake: `{args.lake}`; {args.workers} XGBoost workers.", "",
        "## The job (jobs/train.py, with the generator's truth)", "",
        "| | AUCPR | ROC AUC | Brier |", "|---|---|---|---|",
        f"| XGBoost | {m['test_aucpr']:.4f} | {m['test_roc_auc']:.4f} | {m['test_brier']:.5f} |",
        f"| baseline (logistic regression, reference set) | {b['test_aucpr']:.4f} | "
        f"{b['test_roc_auc']:.4f} | {b['test_brier']:.5f} |",
        f"| oracle (generator's probability) | {m.get('oracle_aucpr', float('nan')):.4f} | | |",
        "",
        f"Model / oracle AUCPR: **{m.get('model_oracle_ratio', float('nan')):.3f}** (target >= 0.8); "
        f"model / baseline AUCPR: {m['test_aucpr'] / max(b['test_aucpr'], 1e-12):.2f}; "
        f"test positive rate {m['test_positive_rate']:.4f}.",
        f"Job wall time {job['seconds']:.0f} s (XGBoost fit {m.get('seconds_xgboost_fit', 0):.0f} s); "
        f"driver Python peak {job['peak_driver_python_mb']} MiB, JVM peak {job['peak_jvm_mb']} MiB, "
        f"Python workers peak {job['peak_workers_mb']} MiB.", "",
        "## Distributed vs single process, same rows and parameters", "",
        f"Rows: train {comparison['train_rows']:,}, validation {comparison['validation_rows']:,}, "
        f"test {comparison['test_rows']:,}. Both read the same Parquet split (float32); each time "
        "includes reading it (the single process reads it into memory).", "",
        "| | early stopping | wall (s) | trees | test ROC AUC | test AUCPR |",
        "|---|---|---|---|---|---|",
        *[
            f"| {who} | {label} | {c[f'{key}_seconds']:.1f} | {c[f'{key}_trees']} | "
            f"{c[f'{key}_auc']:.4f} | {c[f'{key}_aucpr']:.4f} |"
            for label, c in (("each its own", comparison["early_stopping"]),
                             ("none, same trees", comparison["fixed_rounds"]))
            for who, key in ((f"xgboost.spark, {args.workers} workers", "distributed"),
                             (f"xgboost.train, {args.workers} threads", "single"))
        ],  # fmt: skip
        "",
        *[
            f"{label}: time ratio distributed / single **{c['time_ratio']:.2f}** (target <= 1.3); "
            f"AUC difference **{c['auc_difference']:.4f}** (target <= 0.002)."
            for label, c in (("Each stopping early", comparison["early_stopping"]),
                             ("Same number of trees", comparison["fixed_rounds"]))
        ],  # fmt: skip
        "",
    ]  # fmt: skip
    path = save("train", {"machine": machine(), "job": job, "comparison": comparison},
                "\n".join(md))  # fmt: skip
    print("\n".join(md))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
