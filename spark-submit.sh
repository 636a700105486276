#!/usr/bin/env bash
# Run a job of this project with the pyspark of the project environment.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<'USAGE'
Usage: ./spark-submit.sh [spark-submit options] jobs/<job>.py [job options]

Runs a job with the project environment's spark-submit (.venv), adding:
  --jars       the Delta jars of jars.lock (fetched by `make setup`)
  --py-files   a zip of the project's packages, built on the fly, for the executors
  --master, --driver-memory, --conf ...   taken from the job's configuration file
               (the job's own --conf PATH, default conf/local.yaml)

Precedence, lowest first: configuration file, SPARK_MASTER, options given here.
Locally no option is needed: the default master is local[*].

Examples:
  ./spark-submit.sh jobs/doctor.py
  ./spark-submit.sh jobs/doctor.py --help
  SPARK_MASTER=spark://127.0.0.1:7077 ./spark-submit.sh jobs/doctor.py --conf conf/cluster.example.yaml
  ./spark-submit.sh --master 'local[2]' --conf spark.sql.shuffle.partitions=4 jobs/doctor.py --lake /tmp/lake

Environment: SPARK_MASTER (master URL), PYSPARK_PYTHON (executors' Python, default the
project's .venv/bin/python).
USAGE
}

if [ $# -eq 0 ]; then usage >&2; exit 2; fi
case "$1" in -h|--help) usage; exit 0 ;; esac

PY=$ROOT/.venv/bin/python
if [ ! -x "$PY" ] || [ ! -d "$ROOT/.cache/jars" ]; then
  echo "error: the project environment is not set up: run \`make setup\` first" >&2
  exit 1
fi

# Options before the job file are spark-submit's; after it, the job's.
spark_opts=()
extra_jars=""
while [ $# -gt 0 ] && [[ "$1" != *.py ]]; do
  case "$1" in
    --jars) extra_jars=",$2"; shift 2 ;;
    --jars=*) extra_jars=",${1#--jars=}"; shift ;;
    *) spark_opts+=("$1"); shift ;;
  esac
done
if [ $# -eq 0 ]; then echo "error: no job file (jobs/<job>.py) given" >&2; usage >&2; exit 2; fi
job=$1; shift
if [ ! -f "$job" ]; then echo "error: job file not found: $job" >&2; exit 2; fi

conf=$ROOT/conf/local.yaml
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --conf) conf=${args[$((i + 1))]:-$conf} ;;
    --conf=*) conf=${args[$i]#--conf=} ;;
  esac
done

mapfile -t from_conf < <(cd "$ROOT" && "$PY" -m common.submit --conf "$(realpath -m "$conf")")
if [ ${#from_conf[@]} -eq 0 ]; then exit 1; fi  # common.submit printed the reason
for ((i = 0; i < ${#from_conf[@]}; i++)); do
  if [ "${from_conf[$i]}" = "--jars" ]; then from_conf[$((i + 1))]="${from_conf[$((i + 1))]}$extra_jars"; fi
done

master_opt=()
if [ -n "${SPARK_MASTER:-}" ]; then master_opt=(--master "$SPARK_MASTER"); fi

# The effective master (last --master wins) decides whether to stay on the loopback.
master=""
all_opts=("${from_conf[@]}" "${master_opt[@]}" "${spark_opts[@]}")
for ((i = 0; i < ${#all_opts[@]}; i++)); do
  case "${all_opts[$i]}" in
    --master) master=${all_opts[$((i + 1))]:-} ;;
    --master=*) master=${all_opts[$i]#--master=} ;;
  esac
done
if [[ "$master" == local* ]]; then export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}; fi

export EARLY_WARNING_HOME=$ROOT
export SPARK_CONF_DIR=${SPARK_CONF_DIR:-$ROOT/conf/spark}
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$PY}
export PYSPARK_DRIVER_PYTHON=$PY
SPARK_HOME=$("$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
export SPARK_HOME
exec "$SPARK_HOME/bin/spark-submit" "${from_conf[@]}" "${master_opt[@]}" "${spark_opts[@]}" "$job" "$@"
