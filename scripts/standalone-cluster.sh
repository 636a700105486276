#!/usr/bin/env bash
# A real Spark standalone cluster on this machine: one master and N workers, started from
# the project environment's pyspark distribution and bound to 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<'USAGE'
Usage: scripts/standalone-cluster.sh start|stop|status|kill-worker N

  start          start a master and the workers (idempotent: running processes are kept);
                 waits until every worker has registered with the master
  stop           stop the processes this script started (by their recorded pid), and only those
  status         one line per process: running or not, pid, log file
  kill-worker N  kill -9 worker N's JVM (a fault test: the worker is lost, not stopped)

Then run any job on it:
  SPARK_MASTER=spark://127.0.0.1:7077 ./spark-submit.sh jobs/<job>.py --config conf/standalone.yaml

Environment (defaults in brackets):
  CLUSTER_DIR       pids, logs and work dirs [work/cluster]  (ignored by git)
  CLUSTER_WORKERS   number of workers [2]
  WORKER_CORES      cores offered by each worker [1]
  WORKER_MEMORY     memory offered by each worker [6g]
  MASTER_PORT       master port [7077]; MASTER_WEBUI_PORT [8080]; workers' web UIs from
                    WORKER_WEBUI_PORT [8081] upwards
  WORKER_HIDDEN_DIRS  folders (separated by ':') each worker sees as an empty folder of its
                    own (a private mount namespace and a tmpfs: needs root and `unshare`):
                    like the nodes of a real cluster, the workers then do not see the
                    driver's local files there [none]
USAGE
}

CLUSTER_DIR=${CLUSTER_DIR:-$ROOT/work/cluster}
CLUSTER_WORKERS=${CLUSTER_WORKERS:-2}
WORKER_CORES=${WORKER_CORES:-1}
WORKER_MEMORY=${WORKER_MEMORY:-6g}
MASTER_PORT=${MASTER_PORT:-7077}
MASTER_WEBUI_PORT=${MASTER_WEBUI_PORT:-8080}
WORKER_WEBUI_PORT=${WORKER_WEBUI_PORT:-8081}
HOST=127.0.0.1
MASTER_URL=spark://$HOST:$MASTER_PORT

PY=$ROOT/.venv/bin/python
if [ ! -x "$PY" ]; then
  echo "error: the project environment is not set up: run \`make setup\` first" >&2
  exit 1
fi

export SPARK_HOME=${SPARK_HOME:-$("$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}
export SPARK_LOCAL_IP=$HOST
export SPARK_CONF_DIR=${SPARK_CONF_DIR:-$ROOT/conf/spark}
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$PY}
export SPARK_LOG_DIR=$CLUSTER_DIR/logs
mkdir -p "$CLUSTER_DIR/pids" "$CLUSTER_DIR/logs" "$CLUSTER_DIR/work"

pid_file() { echo "$CLUSTER_DIR/pids/$1.pid"; }

running() {  # the recorded pid is alive and is a Spark JVM of ours
  local f pid
  f=$(pid_file "$1")
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null && grep -q "org.apache.spark.deploy" "/proc/$pid/cmdline" 2>/dev/null
}

# A worker's command prefix with WORKER_HIDDEN_DIRS: a mount namespace of its own, where an
# empty tmpfs covers each folder, then the JVM (exec all along: the pid stays the JVM's).
hidden=()
if [ -n "${WORKER_HIDDEN_DIRS:-}" ]; then
  if [ "$(id -u)" -ne 0 ] || ! unshare --mount true 2>/dev/null; then
    echo "error: WORKER_HIDDEN_DIRS needs root and a working \`unshare --mount\`" >&2
    exit 1
  fi
  # shellcheck disable=SC2016  # expanded by the inner bash
  hidden=(unshare --mount --propagation private -- bash -c '
    IFS=: read -ra dirs <<<"$WORKER_HIDDEN_DIRS"
    for d in "${dirs[@]}"; do mount -t tmpfs -o size=256m early-warning-hidden "$d" || exit 1; done
    exec "$@"' worker)
  export WORKER_HIDDEN_DIRS
fi

launch() {  # name, class, args...: a JVM in the background, its pid recorded
  local name=$1 class=$2 prefix=()
  shift 2
  if running "$name"; then echo "$name already running (pid $(cat "$(pid_file "$name")"))"; return; fi
  if [[ "$name" == worker-* ]]; then prefix=("${hidden[@]}"); fi
  nohup "${prefix[@]}" "$SPARK_HOME/bin/spark-class" "$class" "$@" >"$SPARK_LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$(pid_file "$name")"
  echo "$name started (pid $!), log $SPARK_LOG_DIR/$name.log"
}

registered_workers() {  # the master's web UI lists its alive workers in JSON
  "$PY" - "http://$HOST:$MASTER_WEBUI_PORT/json/" 2>/dev/null <<'PY' || echo 0
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    print(sum(w["state"] == "ALIVE" for w in json.load(r)["workers"]))
PY
}

start() {
  launch master org.apache.spark.deploy.master.Master \
    --host "$HOST" --port "$MASTER_PORT" --webui-port "$MASTER_WEBUI_PORT"
  for ((i = 1; i <= CLUSTER_WORKERS; i++)); do
    mkdir -p "$CLUSTER_DIR/work/worker-$i"
    launch "worker-$i" org.apache.spark.deploy.worker.Worker \
      --host "$HOST" --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" \
      --work-dir "$CLUSTER_DIR/work/worker-$i" --webui-port $((WORKER_WEBUI_PORT + i - 1)) \
      "$MASTER_URL"
  done
  for _ in $(seq 1 120); do
    if [ "$(registered_workers)" -ge "$CLUSTER_WORKERS" ]; then
      echo "cluster ready: $MASTER_URL, $CLUSTER_WORKERS workers x $WORKER_CORES core(s), $WORKER_MEMORY;" \
        "web UI http://$HOST:$MASTER_WEBUI_PORT"
      return 0
    fi
    sleep 1
  done
  echo "error: the workers did not register with $MASTER_URL within 120 s; see $SPARK_LOG_DIR" >&2
  exit 1
}

stop_one() {
  local name=$1 f pid
  f=$(pid_file "$name")
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if running "$name"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    echo "$name stopped (pid $pid)"
  fi
  rm -f "$f"
}

stop() {  # workers first, then the master; only the pids this script recorded
  local f
  for f in "$CLUSTER_DIR"/pids/worker-*.pid; do
    [ -e "$f" ] && stop_one "$(basename "$f" .pid)"
  done
  stop_one master
}

status() {
  local f name
  for f in "$CLUSTER_DIR"/pids/*.pid; do
    [ -e "$f" ] || { echo "no process started by this script"; return 0; }
    name=$(basename "$f" .pid)
    if running "$name"; then state=running; else state="not running"; fi
    echo "$name: $state (pid $(cat "$f")), log $SPARK_LOG_DIR/$name.log"
  done
  running master && echo "workers registered: $(registered_workers)"
  return 0
}

kill_worker() {
  local name=worker-$1
  if ! running "$name"; then echo "error: $name is not running" >&2; exit 1; fi
  kill -9 "$(cat "$(pid_file "$name")")"
  echo "$name killed (pid $(cat "$(pid_file "$name")"))"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill-worker) [ -n "${2:-}" ] || { usage >&2; exit 2; }; kill_worker "$2" ;;
  -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
