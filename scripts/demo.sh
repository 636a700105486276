#!/usr/bin/env bash
# `make demo`: run what exists of the pipeline locally and say where the outputs are.
set -euo pipefail
cd "$(dirname "$0")/.."
./spark-submit.sh jobs/doctor.py
echo
echo "Outputs:"
echo "  lake          $(pwd)/work/lake"
echo "  MLflow store  sqlite:///$(pwd)/work/mlflow/mlflow.db  (open it: make mlflow-ui)"
