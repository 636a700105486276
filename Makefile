# The two commands: `make demo` and `make test`. Both set the environment up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PYTEST_ARGS ?=

.PHONY: help setup test lint demo mlflow-ui clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## create/refresh .venv from requirements.lock and fetch the jars of jars.lock (idempotent)
	@scripts/setup.sh

lint: setup ## ruff on the whole project
	$(VENV)/bin/ruff check .

test: setup lint ## lint, then the whole test suite (PYTEST_ARGS="-m 'not integration'" to narrow)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

demo: setup ## run the pipeline locally on generated data and print where the outputs are
	@scripts/demo.sh

mlflow-ui: setup ## open the MLflow UI on the local store, or on MLFLOW_TRACKING_URI (http://127.0.0.1:5000)
	$(VENV)/bin/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/work/mlflow/mlflow.db} --host 127.0.0.1 --port 5000

clean: ## remove the local lake, MLflow store and run outputs (./work)
	rm -rf work
