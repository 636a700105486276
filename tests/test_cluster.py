"""The pipeline on a real Spark standalone cluster (a master and two workers started by
``scripts/standalone-cluster.sh``), compared with the same pipeline run locally, and the
faults it must survive: a worker lost mid-job, a driver killed mid-write, concurrent jobs.

The local run is the demo (``scripts/demo.sh``, as `make demo` runs it). The cluster takes its
lake over as it stood before the demo's last month: it trains the model again and runs that
month's cycle (``jobs/monthly.py``: ingest, incremental panel, score, monitoring, list) under
faults (its driver killed mid-write, then its rerun losing a worker), scores two months at
once and ingests the month's delivery twice at once; each outcome is compared with the local
run's.
Every job goes through ``./spark-submit.sh`` as a data engineer runs it. The cluster uses
ports of its own (7177, 8190...) so a cluster started by hand on the defaults is left alone.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from frames import assert_same_panel
from pipeline_run import Demo, pipeline_conf
from pyspark.sql import functions as F

from common import delta_io
from common.config import PROJECT_ROOT, load_config

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SCRIPT = str(PROJECT_ROOT / "scripts" / "standalone-cluster.sh")
SUBMIT = str(PROJECT_ROOT / "spark-submit.sh")
MASTER_PORT, MASTER_UI, WORKER_UI = 7177, 8190, 8191


def _can_hide_folders() -> bool:
    """Root and a working ``unshare --mount``: workers can get folders of their own."""
    if os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0


class Cluster:
    def __init__(self, folder: Path):
        self.url = f"spark://127.0.0.1:{MASTER_PORT}"
        # a folder of the driver's machine the workers cannot see (each has an empty tmpfs
        # there), as on a cluster whose nodes share no local disk with the driver
        self.driver_only = folder / "driver-only"
        self.driver_only.mkdir()
        self.env = {
            **os.environ,
            "CLUSTER_DIR": str(folder),
            "MASTER_PORT": str(MASTER_PORT),
            "MASTER_WEBUI_PORT": str(MASTER_UI),
            "WORKER_WEBUI_PORT": str(WORKER_UI),
            "WORKER_MEMORY": "5g",
        }
        if _can_hide_folders():
            self.env["WORKER_HIDDEN_DIRS"] = str(self.driver_only)
        self.folder = folder

    def script(self, *args: str) -> str:
        run = subprocess.run(
            [SCRIPT, *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{MASTER_UI}/json/", timeout=10) as r:
            return json.load(r)

    def alive_workers(self) -> int:
        return sum(w["state"] == "ALIVE" for w in self.state()["workers"])

    def worker_sees(self, path: Path, worker: int) -> bool:
        """Whether ``path`` exists in worker N's view of the file system (its mount
        namespace, through /proc/<pid>/root)."""
        pid = (self.folder / "pids" / f"worker-{worker}.pid").read_text().strip()
        return Path(f"/proc/{pid}/root{path}").exists()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    c.script("start")
    yield c
    c.script("stop")


@pytest.fixture(scope="module")
def cluster_conf(cluster, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cluster-conf")
    conf = folder / "cluster.yaml"
    conf.write_text(
        f"extends: {pipeline_conf(folder)}\n"
        "spark:\n"
        f"  master: {cluster.url}\n"
        "  executor_memory: 4g\n"
        "  executor_cores: 1\n"
        "  conf:\n"
        '    spark.cores.max: "2"\n'
        '    spark.network.timeout: "60s"\n'
        '    spark.executor.heartbeatInterval: "10s"\n'
        # Executors here live for one short job on tiny data, beside the driver on 2 cores:
        # half of their CPU went to the C2 JIT compiler (docs/performance-log.md)
        '    spark.executor.extraJavaOptions: "-XX:TieredStopAtLevel=1"\n'
    )
    return conf


def submit(*args: str, options: tuple[str, ...] = ()) -> subprocess.Popen:
    """A job through spark-submit.sh, in a process group of its own (to kill its driver),
    its output in a file (a pipe left unread would block it)."""
    log = tempfile.NamedTemporaryFile("w+", prefix="job-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [SUBMIT, *options, *args],
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    proc.log_path = log.name  # type: ignore[attr-defined]
    log.close()
    return proc


def output(proc: subprocess.Popen) -> str:
    return Path(proc.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


def finish(proc: subprocess.Popen, timeout: int = 900) -> tuple[int, str]:
    proc.wait(timeout=timeout)
    return proc.returncode, output(proc)


def lake_as_of(lake: Path, moment: float) -> None:
    """Each Delta table of ``lake`` as it stood at ``moment`` (seconds since the epoch): the
    commits made after it are dropped from the table's log with every file of theirs (the
    commit, Delta's checksum, Hadoop's hidden ``.crc``), their data files left unreferenced
    (as a failed write leaves them: readers ignore them); a table created after it is
    removed."""

    def version(entry: Path) -> int | None:  # 00000000000000000001.json, .000...1.json.crc
        first = entry.name.lstrip(".").split(".")[0]
        return int(first) if first.isdigit() else None

    for log in sorted(lake.rglob("_delta_log")):
        later = {
            version(entry)
            for entry in log.glob("*.json")
            if json.loads(entry.read_text().splitlines()[0])["commitInfo"]["timestamp"]
            > moment * 1000
        }
        for entry in log.iterdir():
            if entry.is_file() and (version(entry) in later or "checkpoint" in entry.name):
                entry.unlink()  # and any checkpoint: Delta lists the log without one
        if not any(log.glob("*.json")):
            shutil.rmtree(log.parent)


class ClusterRun:
    """The local demo's lake taken over by the cluster, as a team moves its monthly run to a
    cluster: the lake as it stood when the local run trained its model (before its month's
    cycle), the model trained again on the cluster (in an MLflow store of its own), then the
    last month's cycle on the cluster (``jobs/monthly.py``: ingest, incremental panel, score,
    monitoring, list) as it goes when things go wrong: its driver killed while it writes the
    panel, then the same command run again, which resumes where the first stopped and loses a
    worker on the way. Every outcome must be the local run's; the list goes to a folder the
    executors cannot see (it must come through the driver)."""

    def __init__(self, spark, folder: Path, conf: Path, local: Demo, cluster: Cluster):
        self.dir, self.lake = folder, folder / "lake"
        self.conf, self.list = folder / "cluster-run.yaml", cluster.driver_only / "list.json"
        shutil.copytree(local.lake, self.lake)
        # the local training's report is written once it has trained, before the month's cycle
        trained = max(p.stat().st_mtime for p in (local.dir / "runs" / "train").rglob("*"))
        lake_as_of(self.lake, trained)
        self.conf.write_text(
            f"extends: {conf}\n"
            f"lake:\n  root: {self.lake}\n"
            f"ingest:\n  runs_dir: {folder / 'runs'}\n"
            f"  expectations_dir: {PROJECT_ROOT / 'expectations'}\n"
            f'panel:\n  start: "{Demo.START}"\n'
            f"mlflow:\n  tracking_uri: sqlite:///{folder / 'mlflow.db'}\n"
            f"  artifact_root: {folder / 'artifacts'}\n"
        )
        self.returncode, self.console = finish(
            submit(
                "jobs/train.py",
                "--config",
                str(self.conf),
                "--truth",
                str(local.dir / "truth"),
                "--promote",
            )
        )
        if self.returncode:
            return
        month = (
            "jobs/monthly.py",
            "--config",
            str(self.conf),
            "--raw",
            str(local.dir / f"raw_{Demo.LAST}"),
            "--batch",
            Demo.LAST,
            "--out",
            str(self.list),
        )
        self.panel_table = self.lake / "gold" / "panel"
        self.kill_mid_panel_write(spark, month)
        for _ in range(60):  # the killed application's cores are released by the master
            if not cluster.state()["activeapps"]:
                break
            time.sleep(1)
        self.resume_losing_a_worker(month, cluster)

    def kill_mid_panel_write(self, spark, month: tuple[str, ...]) -> None:
        """The month's cycle, its driver killed once the panel's new files appear (its ingest
        is done by then): the version readers see before and after, the files left behind."""
        self.version_before = delta_io.latest_version(spark, str(self.panel_table))
        files_before = _data_files(self.panel_table)
        proc = submit(*month)
        try:
            deadline = time.monotonic() + 600
            while not (_data_files(self.panel_table) - files_before):  # the write has begun
                assert proc.poll() is None, (
                    "the month ended before its panel write: " + output(proc)[-3000:]
                )
                assert time.monotonic() < deadline, "no new panel file within 10 minutes"
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        self.killed_console = output(proc)
        self.left_behind = len(_data_files(self.panel_table) - files_before)
        self.version_after_kill = delta_io.latest_version(spark, str(self.panel_table))

    def resume_losing_a_worker(self, month: tuple[str, ...], cluster: Cluster) -> None:
        """The same command again: worker 1 is lost once both executors work; the lost worker
        is started again afterwards, for the next tests."""
        proc = submit(*month)
        try:
            _wait_for_both_executors(cluster, proc)
            time.sleep(20)
            self.lost_while_running = proc.poll() is None
            cluster.script("kill-worker", "1")
            self.returncode, self.resumed_console = finish(proc)
            self.console += self.resumed_console
            self.alive_after_loss = cluster.alive_workers()
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            cluster.script("start")


@pytest.fixture(scope="module")
def cluster_run(spark, cluster, cluster_conf, local_demo, tmp_path_factory) -> ClusterRun:
    assert local_demo.returncode == 0, local_demo.console[-5000:]
    return ClusterRun(
        spark, tmp_path_factory.mktemp("cluster-run"), cluster_conf, local_demo, cluster
    )


def assert_same_rows(a, b) -> int:
    """The same rows in both frames (as multisets); returns how many."""
    assert sorted(a.columns) == sorted(b.columns)
    b = b.select(*a.columns)
    rows = a.count()
    assert rows == b.count()
    assert a.exceptAll(b).isEmpty() and b.exceptAll(a).isEmpty()
    return rows


def panel(spark, demo: Demo):
    return delta_io.read(spark, str(demo.lake / "gold" / "panel"))


def test_the_local_demo_names_each_steps_own_command(local_demo) -> None:
    """The demo runs its steps in one application (scripts/demo.py), each printed first as the
    command that runs it alone: the five jobs in order, each command accepted by its job's
    parser, on the demo's configuration and folders; then each step's time."""
    assert local_demo.returncode == 0, local_demo.console[-5000:]
    shown = re.findall(
        r"^\(alone: \./spark-submit\.sh jobs/(\w+)\.py (.+)\)$", local_demo.console, flags=re.M
    )
    assert [name for name, _ in shown] == ["generate", "ingest", "panel", "train", "monthly"]
    parsed = {}
    for name, line in shown:
        parsed[name] = importlib.import_module(f"jobs.{name}").parse_args(shlex.split(line))
        assert Path(parsed[name].config) == local_demo.conf
    assert parsed["generate"].split_last_month == Path(parsed["monthly"].raw)
    assert Path(parsed["ingest"].raw) == local_demo.raw and parsed["ingest"].batch == Demo.HISTORY
    assert parsed["monthly"].batch == Demo.LAST
    times = r"generate \d+ s, ingest \d+ s, panel \d+ s, train \d+ s, monthly \d+ s, summary \d+ s"
    assert re.search(rf"^steps +{times} \(one Spark application\)$", local_demo.console, re.M)


def test_the_model_and_the_month_on_the_cluster_equal_the_local_run(
    spark, cluster, cluster_run, local_demo
) -> None:
    assert cluster_run.returncode == 0, cluster_run.console[-5000:]
    assert f"Spark 4.1.1 on {cluster.url}" in cluster_run.console
    assert "on local[2]" in local_demo.console
    # the local run compiled Spark's generated code, as in production; the cluster's jobs
    # interpreted expressions (conf/test.yaml): every comparison below holds across the two
    modes = [
        load_config(conf).spark.conf.get("spark.sql.codegen.factoryMode", "FALLBACK")
        for conf in (local_demo.conf, cluster_run.conf)
    ]
    assert modes == ["FALLBACK", "NO_CODEGEN"]
    # the lake was taken over as it stood before the local run's month: the cycle ingested it
    # (before its driver was killed: the run that resumed skipped the step)
    assert re.search(r"\[1/5\] ingest: \d+ files, [\d,]+ lines read", cluster_run.killed_console)
    assert "[1/5] ingest: done by an earlier run" in cluster_run.resumed_console

    # both jobs ran as applications of the cluster, with an executor on each worker
    apps = cluster.state()["completedapps"]
    assert len(apps) >= 2, [a["name"] for a in apps]  # train, monthly
    executors = {
        p.parent.name  # <worker work dir>/<app id>/<executor id>
        for w in ("worker-1", "worker-2")
        for p in (cluster.folder / "work" / w).glob("app-*/*/stderr")
    }
    assert len(executors) >= 2
    apps_on = [
        {p.name for p in (cluster.folder / "work" / w).glob("app-*")}
        for w in ("worker-1", "worker-2")
    ]
    assert apps_on[0] and apps_on[0] == apps_on[1]
    # XGBoost trained with one worker per executor: two barrier tasks, one core per executor
    assert re.search(
        r"XGBoost: \d+ trees \(best iteration \d+\) with 2 workers", cluster_run.console
    )

    # the month's panel, updated on the cluster, is the local one
    assert_same_panel(panel(spark, local_demo), panel(spark, cluster_run))
    # the model trained on the cluster scores the month as the local one did
    scores = [
        delta_io.read(spark, str(d.lake / "gold" / "scores")).select("siret", "periode", "score")
        for d in (local_demo, cluster_run)
    ]
    assert scores[0].count() == scores[1].count() > 0
    joined = scores[0].alias("l").join(scores[1].alias("c"), ["siret", "periode"])
    assert joined.count() == scores[0].count()
    worst = joined.agg(F.max(F.abs(F.col("l.score") - F.col("c.score")))).first()[0]
    assert worst < 1e-6
    # and its monitoring of the month found the same items, with the same values and statuses
    keys = ["periode", "kind", "item"]
    monitoring = [
        delta_io.read(spark, str(d.lake / "ops" / "monitoring")).select(*keys, "value", "status")
        for d in (local_demo, cluster_run)
    ]
    assert monitoring[0].count() == monitoring[1].count() > 0
    both = monitoring[0].alias("l").join(monitoring[1].alias("c"), keys)
    assert both.count() == monitoring[0].count()
    differing = both.where(
        ~F.col("l.status").eqNullSafe(F.col("c.status"))
        | (F.col("l.value").isNull() != F.col("c.value").isNull())
        | (F.abs(F.col("l.value") - F.col("c.value")) > 1e-6)
    )
    assert differing.isEmpty(), differing.select(*keys).limit(5).collect()


def _assert_close(cluster_value, local_value, where: str = "") -> None:
    """Equal, floats within 1e-5 (scores agree within 1e-6, then are rounded); a failure
    names the field, never the values (identifiers)."""
    if isinstance(local_value, dict):
        assert isinstance(cluster_value, dict) and cluster_value.keys() == local_value.keys(), where
        for key in local_value:
            _assert_close(cluster_value[key], local_value[key], f"{where}.{key}")
    elif isinstance(local_value, list):
        assert isinstance(cluster_value, list) and len(cluster_value) == len(local_value), where
        for i, (c, lo) in enumerate(zip(cluster_value, local_value, strict=True)):
            _assert_close(c, lo, f"{where}[{i}]")
    elif isinstance(local_value, float) or isinstance(cluster_value, float):
        close = cluster_value == pytest.approx(local_value, abs=1e-5)
        assert close, where  # (values not shown: some are identifiers)
    else:
        same = cluster_value == local_value
        assert same, where


def test_the_list_the_cluster_wrote_through_its_driver_equals_the_local_one(
    cluster, cluster_run, local_demo
) -> None:
    assert local_demo.returncode == 0 and cluster_run.returncode == 0
    # the month's list went to a folder the executors cannot see: it came through the driver
    marker = cluster.driver_only / "marker"
    marker.write_text("driver only")
    assert not any(cluster.worker_sees(marker, w) for w in (1, 2)), (
        "the workers see the driver's folder: the test needs root and `unshare --mount`"
    )
    assert cluster.worker_sees(cluster_run.lake, 1)  # the lake, though, is shared
    assert f"companies written to {cluster_run.list}" in cluster_run.resumed_console
    listed = json.loads(cluster_run.list.read_text(encoding="utf-8"))
    local = json.loads((local_demo.dir / f"list_{Demo.LAST}.json").read_text(encoding="utf-8"))
    assert len(listed) == len(local) > 0
    probabilities = [e["probabilite"] for e in listed]
    assert probabilities == sorted(probabilities, reverse=True)
    local_by_siren = {e["siren"]: e for e in local}
    unmatched = len({e["siren"] for e in listed} ^ set(local_by_siren))
    assert unmatched == 0
    for rank, entry in enumerate(listed):
        _assert_close(entry, local_by_siren[entry["siren"]], f"entry {rank}")


def _data_files(table: Path) -> set[Path]:
    return set(table.rglob("*.parquet"))


def _wait_for_both_executors(cluster: Cluster, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        active = cluster.state()["activeapps"]
        if active and sum(w["coresused"] for w in cluster.state()["workers"]) == 2:
            return
        assert proc.poll() is None, output(proc)[-3000:]
        time.sleep(0.5)
    pytest.fail("the job never ran on both workers")


def test_a_month_whose_driver_was_killed_mid_write_resumes_and_survives_a_lost_worker(
    spark, cluster, cluster_run, local_demo
) -> None:
    """Two faults in the cluster's month (ClusterRun): its driver killed while it wrote the
    panel, then its rerun losing a worker. Readers kept the previous version, whole; the rerun
    resumed after the ingest (done, recorded) and converged to the local run's content (the
    panel, scores, monitoring and list compared by the tests above)."""
    assert cluster_run.left_behind > 0, "the kill came before any panel file was written"
    assert "[2/5] panel ..." in cluster_run.killed_console
    assert "[2/5] panel:" not in cluster_run.killed_console  # killed before the step's end
    # readers see the version before the month, whole: the files left behind are not in it
    version = cluster_run.version_before
    assert cluster_run.version_after_kill == version
    assert_same_panel(
        delta_io.read(spark, str(local_demo.lake / "gold" / "panel"), version),
        delta_io.read(spark, str(cluster_run.panel_table), version),
    )
    # the rerun: the worker was lost while it ran, and it still succeeded
    assert cluster_run.lost_while_running, "the month ended before the worker could be lost"
    assert cluster_run.returncode == 0, cluster_run.resumed_console[-5000:]
    assert cluster_run.alive_after_loss == 1
    assert re.search(
        r"Lost executor|worker lost|Worker .* removed", cluster_run.resumed_console, re.I
    )
    assert "[2/5] panel: incremental" in cluster_run.resumed_console
    assert delta_io.latest_version(spark, str(cluster_run.panel_table)) > version
    assert cluster.alive_workers() == 2  # started again for the next tests


def _ran_side_by_side(cluster: Cluster, jobs: int) -> None:
    """The cluster's last ``jobs`` applications were each given one core (the command line's
    spark.cores.max=1, over the configuration's 2) and ran at the same time."""
    apps = sorted(cluster.state()["completedapps"], key=lambda a: a["starttime"])[-jobs:]
    assert [a["cores"] for a in apps] == [1] * jobs, apps
    ends = [a["starttime"] + a["duration"] for a in apps]
    assert max(a["starttime"] for a in apps) < min(ends), apps


def test_two_periods_scored_at_once_both_commit(spark, cluster, cluster_run) -> None:
    table = str(cluster_run.lake / "gold" / "scores")
    before = delta_io.latest_version(spark, table)
    periods = ["2021-04", "2021-05"]
    one_core = ("--conf", "spark.cores.max=1")  # both applications run side by side
    procs = [
        submit("jobs/score.py", "--config", str(cluster_run.conf), "--period", p, options=one_core)
        for p in periods
    ]
    results = [finish(p) for p in procs]
    for code, out in results:
        assert code == 0, out[-5000:]
    _ran_side_by_side(cluster, 2)
    # Whether the two MERGEs met depends on the cluster's timing: what this test proves is the
    # outcome of concurrent jobs. The retry path itself is
    # forced, deterministically, by tests/test_scoring.py::
    # test_period_merge_retries_after_a_concurrent_commit. When a retry happened, it is the
    # conflict it must be:
    for _, out in results:
        if "retrying the MERGE" in out:
            assert re.search(r"\(\w*(Concurrent|Changed)\w*Exception\); retrying the MERGE", out)
        # the job's own line says it: Delta's error log of the conflict, with its whole stack,
        # and the notice of the MERGE's released source stay out (conf/spark/log4j2.properties)
        assert "Fatal error in MERGE" not in out, out[-5000:]
        assert "was locally checkpointed" not in out, out[-5000:]
    scores = delta_io.read(spark, table)
    per_period = {
        r["p"]: r["n"]
        for r in scores.groupBy(F.date_format("periode", "yyyy-MM").alias("p"))
        .agg(F.count(F.lit(1)).alias("n"))
        .collect()
    }
    expected = {
        p: panel(spark, cluster_run).where(F.date_format("periode", "yyyy-MM") == p).count()
        for p in periods
    }
    for p in periods:
        assert per_period.get(p) == expected[p] > 0
    merges = (
        DeltaTable.forPath(spark, table)
        .history()
        .where((F.col("version") > before) & (F.col("operation") == "MERGE"))
        .count()
    )
    assert merges >= 2


INGESTED_TWICE = ("sigfaible_cotisation.csv", "sigfaible_debits.csv")


def test_the_same_batch_ingested_twice_at_once_has_no_duplicates(
    spark, cluster, cluster_run, local_demo, tmp_path: Path
) -> None:
    # two files of the month's delivery (jobs/monthly.py ingested it into the demo's lake as
    # Demo.LAST): two sources, each parsed, validated and committed, then the batch's records
    # (the ops tables). All six files took 160-185 s, mostly each job's fixed cost per file.
    raw, lake = tmp_path / "raw", tmp_path / "lake"
    raw.mkdir()
    for name in INGESTED_TWICE:
        shutil.copy(local_demo.dir / f"raw_{Demo.LAST}" / name, raw / name)
    args = (
        "jobs/ingest.py",
        "--config",
        str(cluster_run.conf),
        "--lake",
        str(lake),
        "--raw",
        str(raw),
        "--batch",
        Demo.LAST,
    )
    one_core = ("--conf", "spark.cores.max=1")
    results = [finish(p) for p in [submit(*args, options=one_core) for _ in range(2)]]
    codes = sorted(code for code, _ in results)
    _ran_side_by_side(cluster, 2)
    # Whether the two commits met depends on the cluster's timing (this outcome is checked
    # either way; the conflict itself is forced in tests/test_ingest.py, the job that loses
    # its commit exits 3): the first job commits, and a job that lost a commit says why.
    assert codes[0] == 0, [out[-3000:] for _, out in results]
    for code, out in results:
        if code != 0:
            assert code == 3, out[-5000:]
            assert "another job committed to the same tables" in out
    sources = sorted(p.name for p in (lake / "bronze").iterdir())
    assert sources == ["cotisation", "debit"], sources
    assert set(sources) <= {p.name for p in (cluster_run.lake / "bronze").iterdir()}
    rows = 0
    for source in sources:
        once = delta_io.read(spark, str(cluster_run.lake / "bronze" / source)).where(
            F.col("batch_id") == Demo.LAST  # the demo's lake holds the history too
        )
        twice = delta_io.read(spark, str(lake / "bronze" / source))
        columns = [c for c in once.columns if c not in {"ingested_at"}]
        rows += assert_same_rows(once.select(*columns), twice.select(*columns))
    assert rows > 0
