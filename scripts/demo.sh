#!/usr/bin/env bash
# `make demo`: the whole pipeline, locally, on a generated world, then a summary.
#   generate (the history, and the last month as a second delivery) -> ingest the history ->
#   panel -> train (XGBoost + baseline, MLflow) -> the last month with jobs/monthly.py (ingest,
#   incremental panel, score, monitor, export) -> summary
# Each step is the job's own code, run in one Spark application (scripts/demo.py), which
# prints before each step the spark-submit command that runs it alone.
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

./spark-submit.sh scripts/demo.py --config "$CONF" --dir "$DEMO" --establishments "$N" \
  --months "$MONTHS" --start "$START" "${failure[@]}"
echo "demo finished in $(( $(date +%s) - began )) s; outputs under $DEMO"
