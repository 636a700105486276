"""spark-submit.sh end to end, in a subprocess, as a data engineer runs it."""

import json
import os
import re
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
    result = run([SCRIPT, "jobs/doctor.py", "--config", str(bad)])
    assert result.returncode != 0
    assert "lake.rot: unknown key" in result.stderr


def _bad_config(folder: Path) -> Path:
    bad = folder / "bad.yaml"
    bad.write_text(f"extends: {PROJECT_ROOT}/conf/base.yaml\nlake:\n  rot: x\n")
    return bad


@pytest.mark.parametrize("option", ["--conf", "--conf="], ids=["separate", "joined"])
def test_deprecated_conf_after_the_job_names_the_configuration(tmp_path: Path, option) -> None:
    bad = str(_bad_config(tmp_path))
    args = [option, bad] if option == "--conf" else [option + bad]
    result = run([SCRIPT, "jobs/doctor.py", *args])
    assert result.returncode != 0
    assert "--conf PATH is deprecated, use --config PATH" in result.stderr
    assert "lake.rot: unknown key" in result.stderr  # the file was the configuration read


def test_spark_conf_before_the_job_is_not_the_configuration(tmp_path: Path) -> None:
    # spark-submit's own --conf k=v stays spark-submit's; the job's --config names the file
    bad = str(_bad_config(tmp_path))
    result = run(
        [SCRIPT, "--conf", "spark.sql.shuffle.partitions=3", "jobs/doctor.py", "--config", bad]
    )
    assert result.returncode != 0
    assert "lake.rot: unknown key" in result.stderr
    assert "deprecated" not in result.stderr


def test_job_accepts_the_deprecated_conf_with_a_warning(tmp_path: Path) -> None:
    # run directly (no spark-submit.sh): the job's own parser takes the old name too
    bad = str(_bad_config(tmp_path))
    result = run([sys.executable, "jobs/doctor.py", "--conf", bad])
    assert result.returncode != 0
    assert "--conf PATH is deprecated, use --config PATH" in result.stderr
    assert "lake.rot: unknown key" in result.stderr


# Every job's --help, each run as `python jobs/<job>.py --help` runs it (the jobs folder first
# on sys.path, __main__), in one process: the imports are paid once, not once per job.
HELP_ALL = """
import contextlib, io, json, runpy, sys
jobs, shown = sys.argv[1:], {}
sys.path.insert(0, "jobs")
for job in jobs:
    out, err, code = io.StringIO(), io.StringIO(), None
    sys.argv = [job, "--help"]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_path(job, run_name="__main__")
    except SystemExit as exc:
        code = exc.code
    shown[job] = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
print(json.dumps(shown))
"""


@pytest.fixture(scope="module")
def helps() -> dict:
    import json

    result = run([sys.executable, "-c", HELP_ALL, *[f"jobs/{j.name}" for j in JOBS]])
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("job", JOBS, ids=lambda p: p.name)
def test_every_job_has_help(job: Path, helps: dict) -> None:
    result = helps[f"jobs/{job.name}"]
    assert result["code"] in (0, None), result["stderr"]
    assert f"./spark-submit.sh jobs/{job.name}" in result["stdout"]
    assert "--config PATH" in result["stdout"] and "--lake PATH" in result["stdout"]
    assert not re.search(r"--conf\b", result["stdout"])  # the deprecated alias is not advertised


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
    lake, events = tmp_path / "lake", tmp_path / "events"
    events.mkdir()
    conf = tmp_path / "conf.yaml"  # a setting of the configuration's spark.conf...
    conf.write_text(
        f"extends: {PROJECT_ROOT / 'conf' / 'test.yaml'}\n"
        "spark:\n  conf:\n    spark.sql.autoBroadcastJoinThreshold: 1mb\n"
    )
    result = run(
        [
            SCRIPT,
            "--master",
            "local[1]",
            # spark-submit's own --conf k=v, before the job file
            "--conf",
            "spark.eventLog.enabled=true",
            "--conf",
            f"spark.eventLog.dir={events}",
            "--conf",
            "spark.eventLog.compress=false",
            "--conf",  # ...that the command line sets otherwise
            "spark.sql.autoBroadcastJoinThreshold=2mb",
            "jobs/doctor.py",
            "--config",
            str(conf),
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
    (app,) = events.iterdir()  # spark-submit's --conf reached the application...
    (log,) = app.glob("events_*")
    environment = next(
        event
        for event in map(json.loads, log.read_text().splitlines())
        if event["Event"] == "SparkListenerEnvironmentUpdate"
    )
    properties = environment["Spark Properties"]
    # ...and won over the configuration's, in the session the job ran in
    assert properties["spark.sql.autoBroadcastJoinThreshold"] == "2mb"
    assert properties["spark.app.name"] == "doctor"


def test_cluster_script_usage() -> None:
    script = str(PROJECT_ROOT / "scripts" / "standalone-cluster.sh")
    shown = run([script, "--help"])
    assert shown.returncode == 0
    assert "start|stop|status|kill-worker N" in shown.stdout
    wrong = run([script, "restart"])
    assert wrong.returncode == 2 and "Usage" in wrong.stderr


# --- a driver started on a node of the cluster (--deploy-mode cluster) ----------------------


def test_zip_ships_the_configurations_and_the_suites(tmp_path: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(build_zip(out_dir=tmp_path)).namelist())
    for folder in ("conf", "expectations"):
        wanted = {str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / folder).glob("*.yaml")}
        assert wanted and wanted <= names, folder


def test_project_root_without_a_checkout_comes_out_of_the_zip(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    from common.resources import project_root

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "node-tmp"))

    assert project_root({"EARLY_WARNING_HOME": "/somewhere"}) == Path("/somewhere")
    assert project_root({}) == PROJECT_ROOT  # a checkout
    archive = build_zip(out_dir=tmp_path / "dist")
    root = project_root({}, module_file=archive / "common" / "resources.py")
    assert root == tmp_path / "node-tmp" / f"early-warning-{archive.stem}"
    for name in ("conf/base.yaml", "expectations/sirene.yaml"):
        assert (root / name).read_bytes() == (PROJECT_ROOT / name).read_bytes()
    assert project_root({}, module_file=archive / "common" / "resources.py") == root  # once


def test_a_driver_with_only_the_zip_finds_its_configuration_and_suites(tmp_path: Path) -> None:
    # as on a node: no checkout, no EARLY_WARNING_HOME, elsewhere; the code imported from the
    # --py-files zip, the configuration shipped by --files into the working folder
    from common.submit import shipped_config

    archive = build_zip(out_dir=tmp_path / "dist")
    node = tmp_path / "node"
    node.mkdir()
    shipped = shipped_config(PROJECT_ROOT / "conf" / "test.yaml", node)
    script = (
        "import common.config as c, sys\n"
        "from ingestion.quality import load_suites\n"
        "from pathlib import Path\n"
        "assert '.zip' in c.__file__, c.__file__\n"
        f"s = c.load_config({shipped.name!r})\n"
        "print(s.spark.master, s.spark.shuffle_partitions)\n"
        "print(sorted(load_suites(Path(s.ingest.expectations_dir))))\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "EARLY_WARNING_HOME"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=node,
        capture_output=True,
        text=True,
        timeout=300,
        env={**environment, "PYTHONPATH": str(archive), "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    from common.config import load_config
    from ingestion.quality import load_suites

    expected = load_config(PROJECT_ROOT / "conf" / "test.yaml")
    master, suites = result.stdout.splitlines()
    assert master == f"{expected.spark.master} {expected.spark.shuffle_partitions}"
    assert suites == str(sorted(load_suites(Path(expected.ingest.expectations_dir))))
    assert (tmp_path / f"early-warning-{archive.stem}" / "expectations").is_dir()


def test_cluster_deploy_mode_ships_the_configuration(tmp_path: Path) -> None:
    # spark-submit parses the options (--verbose prints them), then refuses cluster mode
    # on a local master: the options and the job's arguments are those a cluster would get
    mine = tmp_path / "lookup.csv"
    mine.write_text("a\n")
    result = run(
        [
            SCRIPT,
            "--verbose",
            "--master",
            "local[1]",
            "--deploy-mode",
            "cluster",
            "--files",
            str(mine),
            "jobs/doctor.py",
            "--config",
            "conf/test.yaml",
            "--lake",
            "/tmp/nowhere",
        ],
        timeout=120,
    )
    shown = result.stdout + result.stderr
    assert 'Cluster deploy mode is not compatible with master "local"' in shown
    files = re.search(r"^\s*files\s+(\S+)$", shown, re.MULTILINE)
    child = re.search(r"^\s*childArgs\s+\[(.*)\]$", shown, re.MULTILINE)
    assert files and child, shown[-3000:]
    shipped, extra = files.group(1).split(",")
    assert extra == f"file:{mine}"  # the user's --files kept
    shipped_path = Path(shipped.removeprefix("file:"))
    assert child.group(1) == f"--config {shipped_path.name} --lake /tmp/nowhere"
    from common.config import load_config

    ours = load_config(shipped_path).model_dump(exclude={"sources"})
    assert ours == load_config(PROJECT_ROOT / "conf" / "test.yaml").model_dump(exclude={"sources"})


def test_python_workers_do_not_reread_pyspark_zip_before_each_task(spark) -> None:
    """common/__init__.py trims the workers' zip importers when a task first imports the
    project (every module whose functions run in workers imports it): each folder of
    pyspark.zip imported from, and spark-core's jar, cost a reread of its archive before
    every task (205 ms per task, median of 20, measured)."""

    def import_state(batches):  # pickled by value: the worker imports what it imports
        import zipimport

        import pandas as pd
        import pyspark

        import common  # noqa: F401 (as the project's modules do)

        finders = [
            f for f in sys.path_importer_cache.values() if isinstance(f, zipimport.zipimporter)
        ]
        state = {
            "pyspark_from_zip": [".zip" in pyspark.__file__],
            "jars_on_path": [sum(p.endswith(".jar") for p in sys.path)],
            "folder_importers": [sum(bool(f.prefix) for f in finders)],
        }
        for _ in batches:
            pass
        yield pd.DataFrame(state)

    schema = "pyspark_from_zip boolean, jars_on_path int, folder_importers int"
    seen = spark.range(4, numPartitions=2).mapInPandas(import_state, schema).collect()
    assert len(seen) == 2
    assert all(row.pyspark_from_zip for row in seen)  # the case the trim is for
    assert [(row.jars_on_path, row.folder_importers) for row in seen] == [(0, 0), (0, 0)]
