"""Where the project's files are: ``conf/`` (configurations) and ``expectations/``
(data-quality suites), found from the project root.

- ``EARLY_WARNING_HOME`` (exported by ``spark-submit.sh``) names the root;
- otherwise the code runs from a checkout: the root is the folder holding ``common/``;
- otherwise the code was imported from the ``--py-files`` zip (a driver started by
  ``spark-submit --deploy-mode cluster`` on a node of the cluster, where neither the
  checkout nor ``EARLY_WARNING_HOME`` exists): ``build_zip`` put ``conf/`` and
  ``expectations/`` in the zip, and they are extracted once into a local folder
  named after the zip (its name is its content hash), which is then the root.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

# Folders of the project shipped inside the zip, beside the packages.
# vendor/: the assets of the Data Docs (ingestion/datadocs.py), every file.
RESOURCE_FOLDERS = ("conf", "expectations", "vendor")


def extract_resources(archive: Path, into: Path | None = None) -> Path:
    """``conf/``, ``expectations/`` and ``vendor/`` of the zip, extracted once under ``into``
    (default: the temporary folder); concurrent callers agree on one copy."""
    target = (into or Path(tempfile.gettempdir())) / f"early-warning-{archive.stem}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            if name.split("/", 1)[0] in RESOURCE_FOLDERS and not name.endswith("/"):
                zf.extract(name, staging)
    try:
        staging.rename(target)
    except OSError:  # another process extracted it first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def project_root(
    environ: Mapping[str, str] = os.environ, module_file: str | Path = __file__
) -> Path:
    """The folder holding ``conf/`` and ``expectations/`` (see the module's docstring)."""
    home = environ.get("EARLY_WARNING_HOME")
    if home:
        return Path(home)
    checkout = Path(module_file).resolve().parents[1]
    if checkout.is_dir() or not zipfile.is_zipfile(checkout):
        return checkout
    return extract_resources(checkout)
