"""Train XGBoost (distributed, xgboost.spark) and the reference baseline on the panel,
track both in MLflow, and register the model.

The new model version gets the alias `challenger`; with --promote, or when its test
AUCPR beats the current `champion`'s (training.auto_promote), it becomes `champion`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from common.cli import job_parser, run_job
from common.config import Settings
from common.lake import Lake
from features.catalog import catalog
from reports.build import run_folder, training_report
from training.pipeline import TrainResult, train


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = job_parser("train", __doc__)
    parser.add_argument(
        "--experiment", metavar="NAME", help="MLflow experiment (default: mlflow.experiment)"
    )
    parser.add_argument("--promote", action="store_true", help="make the new version the champion")
    parser.add_argument(
        "--truth",
        metavar="PATH",
        help="the generator's ground truth (Delta): compares the model with this oracle",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    run_job(args, "train", run)


def run(spark: SparkSession, settings: Settings, args: argparse.Namespace) -> int:
    """Train, print the comparison and write the run report; the exit code: 0 done, 1 the
    panel cannot be trained on (the reason is printed)."""
    try:
        result = train(spark, settings, args.experiment, args.promote, args.truth)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    m, b = result.model, result.baseline
    before = result.champion_before
    state = "champion" if result.promoted else "challenger"
    print(f"model {settings.mlflow.registered_model} version {result.model_version}: {state}")
    print(
        f"  training run {result.parent_run_id}: XGBoost run {result.run_id}, "
        f"baseline run {result.baseline_run_id}"
    )
    print(f"{'':26} {'AUCPR':>7} {'ROC AUC':>8} {'Brier':>7} {'precision':>9} {'recall':>7}")
    for label, metrics in (("this run (XGBoost)", m), ("baseline (logistic reg.)", b)):
        print(
            f"{label:26} {metrics['test_aucpr']:>7.3f} {metrics['test_roc_auc']:>8.3f} "
            f"{metrics['test_brier']:>7.4f} {metrics['test_precision_risque_fort']:>9.3f} "
            f"{metrics['test_recall_risque_fort']:>7.3f}"
        )
    if before is not None:
        label = f"champion before (v{before.version})"
        if before.test_aucpr is None:
            print(f"{label:26}       -   ({before.compared_on}: not comparable, kept)")
        else:
            print(
                f"promotion: {before.compared_on}, {before.rows} rows ({before.positives} "
                f"positives): champion v{before.version} AUCPR {before.test_aucpr:.3f}, this "
                f"run's split model {before.challenger_aucpr:.3f}"
            )
    if result.oracle_aucpr is not None:
        ratio = m["model_oracle_ratio"]
        print(
            f"{'oracle (ground truth)':26} {result.oracle_aucpr:>7.3f}   model/oracle {ratio:.2f}"
        )
    least = settings.training.threshold_min_positives
    print(
        "precision and recall at the 'risque fort' threshold (max F0.5 on validation, alerts "
        f"holding at least {least} validation positives); test months"
    )
    print(
        f"positives {m['test_positive_rate']:.4f}; thresh.: fort {m['threshold_risque_fort']:.4f}, "
        f"modéré {m['threshold_risque_modere']:.4f}"
    )
    print(
        "the same threshold on validation (the training months), precision / recall: XGBoost "
        f"{m['validation_precision_risque_fort']:.3f} / {m['validation_recall_risque_fort']:.3f}, "
        f"baseline {b['validation_precision_risque_fort']:.3f} / "
        f"{b['validation_recall_risque_fort']:.3f}"
    )
    print(f"open the runs: make mlflow-ui   (store {settings.mlflow.tracking_uri})")
    print(f"run report: {write_report(spark, settings, result)}")
    return 0


def write_report(spark: SparkSession, settings: Settings, result: TrainResult) -> Path:
    """The training's run report under ``<runs_dir>/train/<time>-<pid>``."""
    folder = run_folder(settings.ingest.runs_dir, "train")
    return training_report(
        spark,
        Lake.from_settings(settings),
        settings.mlflow.tracking_uri,
        folder,
        result,
        settings.mlflow.registered_model,
        len(catalog()),
    )


if __name__ == "__main__":
    main()
