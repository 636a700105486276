"""What the training benchmark's test rows allow a model to reach.

    .venv/bin/python -m bench.train_ceiling [--raw DIR] [--split DIR]

The oracle that ``jobs/train.py --truth`` compares the model with is the generator's
probability of a first opening within 18 months. It knows each company's latent distress
*and the economy's path over the horizon*: the scenario's macro and sector levels and the
public support ahead. On test months whose horizon holds a crisis, no model can know the
latter. This re-simulates the lake's world from its manifest (the generator is
deterministic per block: the same seed, size and months give the same companies and
latent paths), and scores the test rows of the split ``bench.train`` wrote with:

- the oracle (``Dynamics.truth``);
- the present-knowledge oracle (``generator.dynamics.present_truth``): the same closed
  form, each company's latent state known exactly, the economy frozen at the month: the
  best any model could do from what exists at the month;
- the latent distress itself (its ranking);
- a model that observes the latent state perfectly: XGBoost trained on the split's training
  rows with, as its only features, each company's latent distress at the month, its means
  over the last 6, 12, 24 months and since the window's start, and the macro plus sector
  level at the month; early stopping on the validation rows. What a model learns from the
  same rows when nothing of the latent state is hidden: the gap left to the oracle is the
  part no observable data can close (the economy ahead, the finite training sample).

Reported: their AUCPR on the test rows and on the validation rows (months of the training
period), next to the model's (from bench/results/train.json). The world is simulated one
block at a time; only the (company, month) pairs of the split's rows are kept.
Writes bench/results/train_ceiling.{json,md}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import xgboost as xgb
from sklearn.metrics import average_precision_score

from bench.harness import ROOT, machine, save
from generator.calibration import make_scenario
from generator.dynamics import latent_levels, present_truth, simulate
from generator.world import block_sizes, build_world

DEFAULT_RAW = ROOT / "work" / "bench" / "panel" / "20000x72" / "raw"
DEFAULT_SPLIT = ROOT / "work" / "bench" / "train" / "split"
LATENT = ["distress", "mean6", "mean12", "mean24", "mean_all", "level"]


def trailing_mean(values: np.ndarray, months: int) -> np.ndarray:
    """Mean of each row over the last ``months`` columns up to each column (fewer at the start)."""
    total = np.cumsum(values, axis=1)
    before = np.zeros_like(total)
    before[:, months:] = total[:, :-months]
    count = np.minimum(np.arange(1, values.shape[1] + 1), months)
    return (total - before) / count


def _rows(split: Path, fold: str) -> pd.DataFrame:
    table = ds.dataset(str(split / f"fold={fold}"), format="parquet").to_table(
        columns=["siret", "periode", "cible"]
    )
    rows = table.to_pandas()
    rows["siren"] = rows["siret"].str[:9]
    rows["month"] = pd.to_datetime(rows["periode"]).dt.strftime("%Y-%m")
    return rows[["siren", "month", "cible"]]


def _scores(raw: Path, wanted: pd.DataFrame) -> pd.DataFrame:
    parameters = json.loads((raw / "manifest.json").read_text())["parameters"]
    scenario = make_scenario(parameters["seed"], parameters["start"], parameters["months"],
                             parameters["yearly_failure_rate"])  # fmt: skip
    labels = np.array([scenario.month_label(t) for t in range(scenario.months)])
    frames = []
    sizes = block_sizes(parameters["establishments"])
    for block, size in enumerate(sizes):
        world = build_world(scenario, block, size)
        dyn = simulate(scenario, world, block)
        present = present_truth(scenario, world, dyn)
        level = latent_levels(scenario, world)[:, : scenario.months]
        means = {f"mean{k}": trailing_mean(dyn.z, k) for k in (6, 12, 24)}
        means["mean_all"] = trailing_mean(dyn.z, scenario.months)
        c, t = np.indices(dyn.truth.shape).reshape(2, -1)
        block_rows = pd.DataFrame({
            "siren": world.c_siren[c], "month": labels[t], "oracle": dyn.truth[c, t],
            "present": present[c, t], "distress": dyn.z[c, t],
            "level": level[c, t],
            **{name: values[c, t] for name, values in means.items()},
        })  # fmt: skip
        frames.append(block_rows.merge(wanted, on=["siren", "month"]))
        print(f"block {block + 1}/{len(sizes)}", flush=True)
    return pd.concat(frames, ignore_index=True)


def _learned(data: dict[str, pd.DataFrame], seed: int = 7) -> dict[str, np.ndarray]:
    """XGBoost on the latent features of the training rows, early stopping on validation."""
    matrices = {
        fold: xgb.DMatrix(rows[LATENT].to_numpy(np.float32), label=rows["cible"].to_numpy())
        for fold, rows in data.items()
    }
    parameters = {"objective": "binary:logistic", "eval_metric": "logloss", "max_depth": 3,
                  "eta": 0.05, "min_child_weight": 20, "nthread": 2, "seed": seed}  # fmt: skip
    booster = xgb.train(parameters, matrices["train"], 2000, early_stopping_rounds=50,
                        evals=[(matrices["validation"], "validation")], verbose_eval=False)  # fmt: skip
    trees = (0, booster.best_iteration + 1)
    return {fold: booster.predict(matrices[fold], iteration_range=trees) for fold in data}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--raw", type=Path, default=DEFAULT_RAW, help="the lake's raw delivery")
    parser.add_argument("--split", type=Path, default=DEFAULT_SPLIT, help="bench.train's split")
    args = parser.parse_args()
    folds = {fold: _rows(args.split, fold) for fold in ("train", "validation", "test")}
    wanted = pd.concat(folds.values())[["siren", "month"]].drop_duplicates()
    scores = _scores(args.raw, wanted)
    data = {
        fold: rows.merge(scores, on=["siren", "month"], how="left").dropna(subset=["oracle"])
        for fold, rows in folds.items()
    }
    learned = _learned(data)
    figures = {}
    for fold in ("validation", "test"):
        covered = data[fold].assign(learned=learned[fold])
        y = covered["cible"].astype(int)
        figures[fold] = {
            "rows": len(folds[fold]), "covered": len(covered), "positive_rate": float(y.mean()),
            **{f"{k}_aucpr": float(average_precision_score(y, covered[k]))
               for k in ("oracle", "present", "distress", "learned")},
        }  # fmt: skip
    train = json.loads((ROOT / "bench" / "results" / "train.json").read_text())
    model = train["job"]["model"]
    test, valid = figures["test"], figures["validation"]
    md = [
        "# What the test rows allow a model to reach", "", f"Machine: {machine()}", "",
        f"World re-simulated from `{args.raw / 'manifest.json'}`; rows from `{args.split}`.", "",
        "| AUCPR | test rows | validation rows |", "|---|---|---|",
        f"| oracle (knows the latent state and the economy ahead) | {test['oracle_aucpr']:.4f} | "
        f"{valid['oracle_aucpr']:.4f} |",
        f"| present-knowledge oracle (latent state exactly, economy frozen at the month) | "
        f"{test['present_aucpr']:.4f} | {valid['present_aucpr']:.4f} |",
        f"| ranking by the latent distress | {test['distress_aucpr']:.4f} | "
        f"{valid['distress_aucpr']:.4f} |",
        f"| XGBoost on the latent state, its history and the economy's level (perfect "
        f"observation, the same training rows) | {test['learned_aucpr']:.4f} | "
        f"{valid['learned_aucpr']:.4f} |",
        f"| XGBoost (jobs/train.py, bench/results/train.md) | {model['test_aucpr']:.4f} | "
        f"{model['validation_aucpr']:.4f} |", "",
        f"Rows: test {test['rows']:,} (positives {test['positive_rate']:.4f}), validation "
        f"{valid['rows']:,} (positives {valid['positive_rate']:.4f}).", "",
        f"Present-knowledge oracle / oracle on the test rows: "
        f"**{test['present_aucpr'] / test['oracle_aucpr']:.2f}**: the most any model can reach "
        "of the model / oracle target (0.8) on these rows. Model / present-knowledge oracle: "
        f"**{model['test_aucpr'] / test['present_aucpr']:.2f}** (test), "
        f"{model['validation_aucpr'] / valid['present_aucpr']:.2f} (validation).", "",
        f"A model observing the latent state perfectly, trained on the same rows, reaches "
        f"**{test['learned_aucpr'] / test['oracle_aucpr']:.2f}** of the oracle on the test rows "
        f"and {valid['learned_aucpr'] / valid['oracle_aucpr']:.2f} on the validation rows; the "
        f"model reaches {model['test_aucpr'] / test['learned_aucpr']:.2f} and "
        f"{model['validation_aucpr'] / valid['learned_aucpr']:.2f} of that model.", "",
    ]  # fmt: skip
    path = save("train_ceiling", {"machine": machine(), **figures}, "\n".join(md))
    print("\n".join(md))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
