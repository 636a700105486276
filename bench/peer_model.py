"""Single-node yardstick model for ``bench.cross_world``: XGBoost on the DuckDB peer's panels.

    PEER_PYTHON bench/peer_model.py --train A.parquet --score B.parquet [--threads 2]

Run with the peer's own Python (a scratch environment with duckdb, xgboost, pandas, pyarrow,
scikit-learn; see ../shared/peers/README.md), never the project's: it reads two panels built by
``../shared/peers/duckdb_panel.py`` from the raw files of two worlds, trains single-process
XGBoost on every labelled row of the first (complete 18-month horizon, not already in
proceedings; early stopping on 20% of its companies, then refit on all of them with the trees
chosen), scores the labelled rows of the second, and prints one JSON line: the company-month
AUCPR (a company's score is its establishments' maximum) and the row-level AUCPR. No project
code is imported: it is the outside yardstick.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import xgboost as xgb
from sklearn.metrics import average_precision_score

META = ["siret", "siren", "naf", "month", "label_failure_18m", "label_strong_signal",
        "label_horizon_complete"]  # fmt: skip
PARAMS = {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist",
          "max_depth": 6, "eta": 0.05, "subsample": 0.8, "colsample_bytree": 0.8,
          "min_child_weight": 1, "seed": 7}  # fmt: skip


def load(path: str) -> tuple[np.ndarray, pd.DataFrame, list[str]]:
    """The labelled rows (complete horizon, not in proceedings), features as float32, read one
    column at a time (the panel as float64 would not fit next to it)."""
    dataset = ds.dataset(path, format="parquet")
    labelled = (ds.field("label_horizon_complete") == 1) & (ds.field("label_strong_signal") == 0)
    meta = dataset.to_table(columns=META, filter=labelled).to_pandas()
    features = [c for c in dataset.schema.names if c not in META]
    x = np.empty((len(meta), len(features)), dtype=np.float32)
    for j, name in enumerate(features):
        column = dataset.to_table(columns=[name], filter=labelled)[name]
        x[:, j] = column.to_numpy(zero_copy_only=False)
    return x, meta, features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", required=True)
    parser.add_argument("--score", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    began = time.monotonic()
    x, meta, features = load(args.train)
    y = meta["label_failure_18m"].to_numpy().astype(np.float32)
    bucket = meta["siren"].map(lambda s: hashlib.sha256(s.encode()).digest()[0] / 256)
    valid = (bucket < 0.2).to_numpy()
    params = {**PARAMS, "nthread": args.threads}
    dtrain = xgb.QuantileDMatrix(x[~valid], y[~valid], missing=np.nan)
    dvalid = xgb.QuantileDMatrix(x[valid], y[valid], ref=dtrain, missing=np.nan)
    chosen = xgb.train(params, dtrain, 2000, evals=[(dvalid, "v")], early_stopping_rounds=50,
                       verbose_eval=False)  # fmt: skip
    trees = chosen.best_iteration + 1
    model = xgb.train(params, xgb.QuantileDMatrix(x, y, missing=np.nan), trees)
    del x, dtrain, dvalid
    x2, meta2, features2 = load(args.score)
    assert features2 == features, "the two panels have different variables"
    score = model.predict(xgb.DMatrix(x2, missing=np.nan))
    frame = pd.DataFrame({"siren": meta2["siren"], "month": meta2["month"],
                          "failed": meta2["label_failure_18m"], "score": score})  # fmt: skip
    company = frame.groupby(["siren", "month"]).agg(
        failed=("failed", "max"), score=("score", "max")
    )
    print(json.dumps({
        "company_month_aucpr": average_precision_score(company["failed"], company["score"]),
        "row_aucpr": average_precision_score(frame["failed"], frame["score"]),
        "company_months": len(company), "trees": trees, "train_rows": int(len(y)),
        "variables": len(features), "seconds": round(time.monotonic() - began, 1),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
