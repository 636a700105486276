"""The whole pipeline as `make demo` runs it (``scripts/demo.sh``), for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from common.config import PROJECT_ROOT

TEST_CONF = PROJECT_ROOT / "conf" / "test.yaml"


class Demo:
    """``scripts/demo.sh`` (generate, ingest, panel, train, then the last month through
    jobs/monthly.py: ingest, panel, score, monitor, export) run once on a small world, as
    `make demo` does: one spark-submit of scripts/demo.py, which runs each job's code;
    ``conf`` is the configuration it wrote
    (lake, MLflow store), for more jobs on the same lake."""

    ESTABLISHMENTS, MONTHS, START = 350, 66, "2016-01"
    LAST = "2021-06"  # delivered on its own, through jobs/monthly.py
    HISTORY = "2021-05"  # the batch of raw/: the history, to the month before

    def __init__(self, root: Path, base_conf: Path):
        self.dir, self.mlflow = root / "demo", root / "mlflow"
        self.conf, self.lake, self.raw = self.dir / "demo.yaml", self.dir / "lake", self.dir / "raw"
        environment = {
            **os.environ,
            "DEMO_DIR": str(self.dir),
            "DEMO_ESTABLISHMENTS": str(self.ESTABLISHMENTS),
            "DEMO_MONTHS": str(self.MONTHS),
            "DEMO_START": self.START,
            "DEMO_FAILURE_RATE": "0.06",
            "DEMO_CONF": str(base_conf),
            "DEMO_MLFLOW_ARTIFACTS": str(self.mlflow),
        }
        environment.pop("MLFLOW_TRACKING_URI", None)
        run = subprocess.run(
            ["bash", "scripts/demo.sh"],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        self.returncode, self.console = run.returncode, run.stdout + run.stderr


def pipeline_conf(folder: Path, generated_code: bool = False) -> Path:
    """conf/test.yaml with two XGBoost workers whatever the master: local and cluster runs of
    the pipeline then train on the same partitioning. One trial and no refit: these runs prove
    that the cluster computes what the local run does, and survives faults; the search and the
    refit are tested on the shared world (tests/test_training.py), at a third of the fits.
    ``generated_code``: Spark's generated code, as in production, where conf/test.yaml
    interprets expressions (quicker on the suite's tiny data): the local run uses it, so the
    cluster run, which interprets, must compute what generated code does."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "pipeline.yaml"
    spark = (
        "spark:\n  conf:\n"
        '    spark.sql.codegen.wholeStage: "true"\n'
        "    spark.sql.codegen.factoryMode: FALLBACK\n"  # Spark's default
        if generated_code
        else ""
    )
    conf.write_text(
        f"extends: {TEST_CONF}\n"
        "training:\n  num_workers: 2\n  refit: false\n  search:\n    - {}\n" + spark
    )
    return conf
