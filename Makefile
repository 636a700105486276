# The two commands: `make demo` and `make test`. Both set the environment up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PYTEST_ARGS ?=

.PHONY: help setup browser test test-fast test-e2e lint demo mlflow-ui cluster-start cluster-stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## create/refresh .venv from requirements.lock and fetch the jars of jars.lock (idempotent)
	@scripts/setup.sh

browser: ## Debian's chromium for the report tests (installed as root when missing)
	@scripts/setup.sh --browser

lint: setup ## ruff on the whole project: the rules, then the formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup lint browser ## lint, then the test suite but the end-to-end runs (PYTEST_ARGS to narrow)
	$(VENV)/bin/pytest -m "not e2e" $(PYTEST_ARGS)

test-fast: setup lint ## the quick tests only (not slow, integration nor e2e): the edit-test loop
	$(VENV)/bin/pytest -m "not slow and not integration and not e2e" $(PYTEST_ARGS)

test-e2e: setup browser ## the pipeline end to end: locally, on a standalone cluster, with faults (~20 min on 2 cores)
	$(VENV)/bin/pytest -m e2e $(PYTEST_ARGS)

demo: setup ## run the pipeline locally on generated data and print where the outputs are
	@scripts/demo.sh

mlflow-ui: setup ## open the MLflow UI on the local store, or on MLFLOW_TRACKING_URI (http://127.0.0.1:5000)
	$(VENV)/bin/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///$(CURDIR)/work/mlflow/mlflow.db} --host 127.0.0.1 --port 5000

cluster-start: setup ## start a Spark standalone master and two workers on 127.0.0.1 (scripts/standalone-cluster.sh)
	@scripts/standalone-cluster.sh start

cluster-stop: ## stop the processes cluster-start started
	@scripts/standalone-cluster.sh stop

clean: ## remove the local lake, MLflow store and run outputs (./work)
	rm -rf work
