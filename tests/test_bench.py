"""The benchmarks' own reading of what they run (no Spark)."""

from __future__ import annotations

from bench.demo import parse


def test_the_demo_benchmark_reads_the_set_up_phases_the_steps_and_the_models() -> None:
    console = [
        (0.4, "[setup] creating /c/.venv with /usr/bin/python3.11"),
        (2.0, "[setup] installing uv 0.13.9"),
        (4.0, "[setup] syncing packages from requirements.lock"),
        (23.0, "[setup] compiling the packages' bytecode"),
        (35.0, "[setup] fetching io.delta:delta-spark_4.1_2.13:4.4.0"),
        (35.5, "[setup] fetching io.delta:delta-storage:4.4.0"),
        (36.0, "[setup] building the drivers' class-data archive (.cache/cds/)"),
        (65.0, "[setup] /c/.cache/cds/driver.jsa (181 MiB) in 29 s"),
        (65.1, "[setup] ready: /c/.venv, /c/.cache/jars"),
        (71.0, "=== generate 3000 establishments x 72 months ==="),
        (449.0, "model     test AUCPR 0.189 (baseline 0.131, oracle 0.372); positive rate 0.017"),
        (449.5, "steps     generate 11 s, ingest 64 s, monthly 86 s, summary 2 s (one Spark application)"),
        (450.0, "demo finished in 385 s; outputs under /c/work/demo"),
    ]  # fmt: skip
    assert parse(console) == {
        "setup_seconds": 65.1,
        "setup_phases": {
            "virtual environment": 1.6,
            "uv": 2.0,
            "packages": 19.0,
            "bytecode": 12.0,
            "jars": 1.0,
            "class-data archive": 29.0,
        },
        "demo_seconds": 385,
        "steps": {"generate": 11, "ingest": 64, "monthly": 86, "summary": 2},
        "xgboost_aucpr": 0.189,
        "baseline_aucpr": 0.131,
    }
    assert parse([(1.0, "[setup] ready: /c/.venv")])["steps"] == {}  # a run that stopped early
