#!/usr/bin/env bash
# `make demo`: run the pipeline locally on a generated world and say where the outputs are.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=${DEMO_DIR:-$(pwd)/work/demo}
ESTABLISHMENTS=${DEMO_ESTABLISHMENTS:-3000}

./spark-submit.sh jobs/doctor.py
./spark-submit.sh jobs/generate.py --establishments "$ESTABLISHMENTS" --months 72 --seed 1 \
  --bad-line-rate 0.002 --out "$DEMO/raw" --truth "$DEMO/truth" --overwrite
./spark-submit.sh jobs/ingest.py --raw "$DEMO/raw" --batch demo --lake "$DEMO/lake" --force

echo
echo "Outputs:"
echo "  raw delivery  $DEMO/raw (manifest.json lists the files)"
echo "  ground truth  $DEMO/truth"
echo "  lake          $DEMO/lake"
echo "  MLflow store  sqlite:///$(pwd)/work/mlflow/mlflow.db  (open it: make mlflow-ui)"
