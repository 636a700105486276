#!/usr/bin/env bash
# `make demo`: the whole pipeline, locally, on a generated world, then a summary.
#   generate (the history, and the last month as a second delivery) -> ingest the history ->
#   panel -> train (XGBoost + baseline, MLflow) -> the last month with jobs/monthly.py (ingest,
#   incremental panel, score, monitor, export) -> summary
# Environment (all optional): DEMO_DIR (default work/demo), DEMO_ESTABLISHMENTS (3000),
# DEMO_MONTHS (72), DEMO_START (2016-01), DEMO_FAILURE_RATE (generator default),
# DEMO_CONF (conf/local.yaml), DEMO_MLFLOW_ARTIFACTS (a folder for an MLflow store of the demo's
# own), MLFLOW_TRACKING_URI (default: the configuration's store). The model trained is promoted
# to champion (--promote), so the demo scores with it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEMO=$(realpath -m "${DEMO_DIR:-$ROOT/work/demo}")
N=${DEMO_ESTABLISHMENTS:-3000}
MONTHS=${DEMO_MONTHS:-72}
START=${DEMO_START:-2016-01}
BASE_CONF=$(realpath "${DEMO_CONF:-$ROOT/conf/local.yaml}")
label() { .venv/bin/python -c "y,m=map(int,'$START'.split('-')); i=y*12+m-1+$MONTHS-$1; print(f'{i//12:04d}-{i%12+1:02d}')"; }
LAST=$(label 1)   # the last month: delivered on its own, as a month in production
PREV=$(label 2)   # the history ends the month before
began=$(date +%s)

rm -rf "$DEMO"
mkdir -p "$DEMO"
CONF=$DEMO/demo.yaml
cat > "$CONF" <<YAML
# written by scripts/demo.sh: the demo's configuration
extends: $BASE_CONF
lake:
  root: $DEMO/lake
ingest:
  runs_dir: $DEMO/runs
  expectations_dir: $ROOT/expectations
panel:
  start: "$START"
YAML
if [ -n "${DEMO_MLFLOW_ARTIFACTS:-}" ]; then
  printf 'mlflow:\n  tracking_uri: sqlite:///%s\n  artifact_root: %s\n' "$DEMO_MLFLOW_ARTIFACTS/mlflow.db" \
    "$DEMO_MLFLOW_ARTIFACTS/artifacts" >> "$CONF"
fi
failure=()
if [ -n "${DEMO_FAILURE_RATE:-}" ]; then failure=(--failure-rate "$DEMO_FAILURE_RATE"); fi

step() { printf '\n=== %s ===\n' "$*"; }
step "generate $N establishments x $MONTHS months (history to $PREV, then the delivery of $LAST)"
./spark-submit.sh jobs/generate.py --config "$CONF" --establishments "$N" --months "$MONTHS" --start "$START" \
  --seed 1 --bad-line-rate 0.002 "${failure[@]}" --out "$DEMO/raw" --truth "$DEMO/truth" \
  --split-last-month "$DEMO/raw_$LAST"
step "ingest the history (batch $PREV)"
./spark-submit.sh jobs/ingest.py --config "$CONF" --raw "$DEMO/raw" --batch "$PREV"
step "panel"
./spark-submit.sh jobs/panel.py --config "$CONF"
step "train"
./spark-submit.sh jobs/train.py --config "$CONF" --truth "$DEMO/truth" --promote
step "the month $LAST arrives: ingest, panel (what changed), score, monitor, export"
./spark-submit.sh jobs/monthly.py --config "$CONF" --raw "$DEMO/raw_$LAST" --batch "$LAST" \
  --out "$DEMO/list_$LAST.json"
./spark-submit.sh scripts/demo_summary.py --config "$CONF" --list "$DEMO/list_$LAST.json" --period "$LAST"
echo "demo finished in $(( $(date +%s) - began )) s; outputs under $DEMO"
