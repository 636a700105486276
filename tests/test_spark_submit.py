"""spark-submit.sh end to end, in a subprocess, as a data engineer runs it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common import delta_io
from common.config import PROJECT_ROOT
from common.submit import build_zip

SCRIPT = str(PROJECT_ROOT / "spark-submit.sh")
JOBS = sorted(p for p in (PROJECT_ROOT / "jobs").glob("*.py") if p.name != "__init__.py")


def run(args: list[str], env: dict[str, str] | None = None, timeout: int = 300):
    return subprocess.run(
        args,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_usage() -> None:
    shown = run([SCRIPT, "--help"])
    assert shown.returncode == 0
    assert "Usage: ./spark-submit.sh [spark-submit options] jobs/<job>.py" in shown.stdout
    missing = run([SCRIPT])
    assert missing.returncode == 2
    assert "Usage" in missing.stderr


def test_bad_configuration_stops_before_spark(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {PROJECT_ROOT}/conf/base.yaml\nlake:\n  rot: x\n")
    result = run([SCRIPT, "jobs/doctor.py", "--conf", str(bad)])
    assert result.returncode != 0
    assert "lake.rot: unknown key" in result.stderr


@pytest.mark.parametrize("job", JOBS, ids=lambda p: p.name)
def test_every_job_has_help(job: Path) -> None:
    result = run([sys.executable, str(job), "--help"])
    assert result.returncode == 0, result.stderr
    assert f"./spark-submit.sh jobs/{job.name}" in result.stdout
    assert "--conf PATH" in result.stdout and "--lake PATH" in result.stdout


def test_zip_is_deterministic_and_holds_the_packages(tmp_path: Path) -> None:
    import zipfile

    first = build_zip(out_dir=tmp_path / "a")
    second = build_zip(out_dir=tmp_path / "b")
    assert first.name == second.name
    assert first.read_bytes() == second.read_bytes()
    names = zipfile.ZipFile(first).namelist()
    assert "common/spark.py" in names
    assert not any(n.startswith(("tests/", "jobs/")) for n in names)


@pytest.mark.integration
def test_doctor_job_runs_through_spark_submit(tmp_path: Path, spark) -> None:
    lake = tmp_path / "lake"
    result = run(
        [
            SCRIPT,
            "--master",
            "local[1]",
            "jobs/doctor.py",
            "--conf",
            "conf/test.yaml",
            "--lake",
            str(lake),
        ],
        env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # the command line's --master wins over the configuration's local[2]
    assert "master            local[1]" in result.stdout
    assert "delta-spark_4.1_2.13-4.4.0.jar" in result.stdout
    assert "doctor: OK" in result.stdout
    assert delta_io.read(spark, str(lake / "ops" / "doctor")).count() == 2


def test_cluster_script_usage() -> None:
    script = str(PROJECT_ROOT / "scripts" / "standalone-cluster.sh")
    shown = run([script, "--help"])
    assert shown.returncode == 0
    assert "start|stop|status|kill-worker N" in shown.stdout
    wrong = run([script, "restart"])
    assert wrong.returncode == 2 and "Usage" in wrong.stderr
