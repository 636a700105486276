#!/usr/bin/env bash
# Run a job of this project with the pyspark of the project environment.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<'USAGE'
Usage: ./spark-submit.sh [spark-submit options] jobs/<job>.py [job options]

Runs a job with the project environment's spark-submit (.venv), adding:
  --jars       the Delta jars of jars.lock (fetched by `make setup`)
  --py-files   a zip of the project's packages, built on the fly, for the executors (with
               conf/ and expectations/, for a driver started with --deploy-mode cluster)
  --files      with --deploy-mode cluster: the job's configuration merged into one file,
               which the job then reads (--config <its name>) in the driver's working folder
  --master, --driver-memory, --conf k=v ...   taken from the job's configuration file
               (the job's own --config PATH, default conf/local.yaml)

Precedence, lowest first: configuration file, SPARK_MASTER, options given here.
Locally no option is needed: the default master is local[*].

Examples:
  ./spark-submit.sh jobs/doctor.py
  ./spark-submit.sh jobs/doctor.py --help
  SPARK_MASTER=spark://127.0.0.1:7077 ./spark-submit.sh jobs/doctor.py --config conf/cluster.example.yaml
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
extra_files=""
deploy_mode=()
while [ $# -gt 0 ] && [[ "$1" != *.py ]]; do
  case "$1" in
    --jars) extra_jars=",$2"; shift 2 ;;
    --jars=*) extra_jars=",${1#--jars=}"; shift ;;
    --files) extra_files=",${2:-}"; shift $(($# > 1 ? 2 : 1)) ;;
    --files=*) extra_files=",${1#--files=}"; shift ;;
    --deploy-mode)
      deploy_mode=(--deploy-mode "${2:-}"); spark_opts+=("$1" "${2:-}"); shift $(($# > 1 ? 2 : 1)) ;;
    --deploy-mode=*) deploy_mode=(--deploy-mode "${1#--deploy-mode=}"); spark_opts+=("$1"); shift ;;
    --conf|-c)  # spark-submit's --conf k=v; one of them may set the deploy mode
      case "${2:-}" in spark.submit.deployMode=*) deploy_mode=(--deploy-mode "${2#*=}") ;; esac
      spark_opts+=("$1" "${2:-}"); shift $(($# > 1 ? 2 : 1)) ;;
    *) spark_opts+=("$1"); shift ;;
  esac
done
if [ $# -eq 0 ]; then echo "error: no job file (jobs/<job>.py) given" >&2; usage >&2; exit 2; fi
job=$1; shift
if [ ! -f "$job" ]; then echo "error: job file not found: $job" >&2; exit 2; fi

# The job's configuration file: its --config PATH. spark-submit's own --conf k=v came
# before the job file; after it, --conf PATH is the deprecated name of --config PATH,
# renamed here so that the job sees --config.
config=$ROOT/conf/local.yaml
config_at=-1  # index of the configuration's path in args
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --conf|--conf=*)
      echo "--conf PATH is deprecated, use --config PATH" >&2
      args[$i]=--config${args[$i]#--conf} ;;
  esac
  case "${args[$i]}" in
    --config) config=${args[$((i + 1))]:-$config}; config_at=$((i + 1)) ;;
    --config=*) config=${args[$i]#--config=}; config_at=$i ;;
  esac
done

mapfile -t from_conf < <(cd "$ROOT" && "$PY" -m common.submit --config "$(realpath -m "$config")" "${deploy_mode[@]}")
if [ ${#from_conf[@]} -eq 0 ]; then exit 1; fi  # common.submit printed the reason
shipped=""
for ((i = 0; i < ${#from_conf[@]}; i++)); do
  case "${from_conf[$i]}" in
    --jars) from_conf[$((i + 1))]="${from_conf[$((i + 1))]}$extra_jars" ;;
    --files)  # cluster deploy mode: the merged configuration, shipped to the driver's node
      shipped=$(basename "${from_conf[$((i + 1))]}")
      from_conf[$((i + 1))]="${from_conf[$((i + 1))]}$extra_files"; extra_files="" ;;
  esac
done
if [ -n "$extra_files" ]; then from_conf+=(--files "${extra_files#,}"); fi
if [ -n "$shipped" ]; then  # the driver reads it from its working directory
  if [ "$config_at" -lt 0 ]; then args+=(--config "$shipped")
  elif [[ "${args[$config_at]}" == --config=* ]]; then args[$config_at]=--config=$shipped
  else args[$config_at]=$shipped; fi
fi

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
# The driver's Spark configuration folder: conf/spark (logging), or an empty one when the
# driver starts from the class-data archive (common/cds.py), whose options name the logging
conf_dir=$ROOT/conf/spark
if [[ " ${from_conf[*]} " == *"-XX:SharedArchiveFile="* ]]; then
  conf_dir=$ROOT/.cache/cds/spark-conf; mkdir -p "$conf_dir"
fi
export SPARK_CONF_DIR=${SPARK_CONF_DIR:-$conf_dir}
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$PY}
export PYSPARK_DRIVER_PYTHON=$PY
SPARK_HOME=$("$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
export SPARK_HOME
exec "$SPARK_HOME/bin/spark-submit" "${from_conf[@]}" "${master_opt[@]}" "${spark_opts[@]}" "$job" "${args[@]}"
