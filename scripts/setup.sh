#!/usr/bin/env bash
# Idempotent set-up of the project environment:
#   .venv/          Python 3.11 virtual environment, synced to requirements.lock (hash-checked)
#   .cache/jars/    the JVM jars listed in jars.lock, fetched from Maven Central, sha1-checked
#   .cache/cds/     the drivers' class-data archive (common/cds.py), built on this machine
#   work/           local lake, MLflow store and run outputs (git-ignored)
#   chromium        with --browser, as root: Debian's package, for the report tests
# A second run only checks stamps and checksums and takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

UV_VERSION=0.13.9
MAVEN_REPO=${MAVEN_REPO:-https://repo1.maven.org/maven2}
VENV=$ROOT/.venv
JARS=$ROOT/.cache/jars

log() { printf '[setup] %s\n' "$*"; }

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "[setup] error: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

if ! command -v java >/dev/null 2>&1 && [ -z "${JAVA_HOME:-}" ]; then
  echo "[setup] error: Java 17 is required by Spark 4.1 (install openjdk-17-jre-headless or set JAVA_HOME)" >&2
  exit 1
fi

# 1. virtual environment with a pinned uv
if [ ! -x "$VENV/bin/python" ]; then
  PY=$(find_python)
  log "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
if [ "$("$VENV/bin/python" -m uv --version 2>/dev/null | awk '{print $2}')" != "$UV_VERSION" ]; then
  log "installing uv $UV_VERSION"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

# 2. packages, re-synced only when the lock or pyproject.toml changed
stamp=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$VENV/.synced" 2>/dev/null || true)" != "$stamp" ]; then
  log "syncing packages from requirements.lock"
  "$VENV/bin/python" -m uv pip sync --quiet --python "$VENV/bin/python" --require-hashes requirements.lock
  "$VENV/bin/python" -m uv pip install --quiet --python "$VENV/bin/python" --no-deps -e .
  echo "$stamp" > "$VENV/.synced"
fi

# 2b. bytecode, compiled once: uv installs sources only, and where PYTHONDONTWRITEBYTECODE is
#     set (as in many containers) no process ever caches what it compiles, so every driver,
#     Python worker and test run would compile its imports again (~10 s of CPU for the stack).
#     The project's own packages too; a module edited later is recompiled in memory as usual.
if [ "$(cat "$VENV/.compiled" 2>/dev/null || true)" != "$stamp" ]; then
  log "compiling the packages' bytecode"
  # as pip does, a file a package ships that is not Python 3.11 (a template...) is left as is
  "$VENV/bin/python" -m compileall -q -j 0 "$VENV/lib" >/dev/null || true
  echo "$stamp" > "$VENV/.compiled"
fi
mapfile -t own < <(find . -mindepth 1 -maxdepth 1 -type d ! -name '.*' ! -name work ! -name build)
"$VENV/bin/python" -m compileall -q -j 0 "${own[@]}" >/dev/null || true

# 3. jars by Maven coordinates
mkdir -p "$JARS"
grep -vE '^\s*(#|$)' jars.lock | while read -r coords sha1; do
  IFS=: read -r group artifact version <<< "$coords"
  file="$JARS/$artifact-$version.jar"
  if [ -f "$file" ] && [ "$(sha1sum "$file" | cut -d' ' -f1)" = "$sha1" ]; then continue; fi
  url="$MAVEN_REPO/${group//.//}/$artifact/$version/$artifact-$version.jar"
  log "fetching $coords"
  curl -fsSL --retry 3 -o "$file.part" "$url" || { echo "[setup] error: cannot download $url" >&2; exit 1; }
  got=$(sha1sum "$file.part" | cut -d' ' -f1)
  if [ "$got" != "$sha1" ]; then
    rm -f "$file.part"
    echo "[setup] error: checksum mismatch for $coords (expected $sha1, got $got)" >&2; exit 1
  fi
  mv "$file.part" "$file"
done

# 3b. the drivers' class-data archive (common/cds.py): a driver's JVM starts ~3.5 s quicker;
#     rebuilt when the JDK, pyspark, the jars or its recipe change (~30 s), or the project
#     moves: the archive records the classpath's absolute paths, and a JVM started with
#     another quietly ignores it (1,243 classes shared instead of over 5,000)
java_bin=${JAVA_HOME:+$JAVA_HOME/bin/}java
cds_stamp=$( (echo "$ROOT"; "$java_bin" -version 2>&1;
  ls "$VENV"/lib/python3.11/site-packages/pyspark/jars;
  cat jars.lock common/cds.py) | sha256sum | cut -d' ' -f1)
if [ "$(cat .cache/cds/stamp 2>/dev/null || true)" != "$cds_stamp" ] || [ ! -f .cache/cds/driver.jsa ]; then
  log "building the drivers' class-data archive (.cache/cds/)"
  rm -f .cache/cds/stamp
  "$VENV/bin/python" -m common.cds
  echo "$cds_stamp" > .cache/cds/stamp
fi

# 4. with --browser (make test, make test-e2e): Debian's Chromium, which renders the Data Docs
#    and run reports headless, network off, in the tests (tests/browser.py)
if [ "${1:-}" = "--browser" ] && ! command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium (headless browser for the report tests)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends chromium >/dev/null ||
      { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; }
  else
    log "warning: no chromium; the report tests will fail until it is installed" \
        "(as root: apt-get install chromium; or set CHROMIUM=/path/to/chromium)"
  fi
fi

mkdir -p work
log "ready: $VENV, $JARS"
