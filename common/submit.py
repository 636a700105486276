"""Helper of ``spark-submit.sh``: spark-submit options derived from a configuration
file, and the zip of the project's packages shipped to executors with ``--py-files``.

    python -m common.submit --config conf/local.yaml

prints one spark-submit argument per line; the last line is the ``--py-files`` zip. With
``--deploy-mode cluster`` (or ``spark.submit.deployMode: cluster`` in the configuration) it
also prints ``--files`` with the configuration merged into one file (``shipped_config``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import zipfile
from pathlib import Path

import yaml

from common.cli import add_config_option
from common.config import PROJECT_ROOT, ConfigError, Settings, load_config, read_layers
from common.resources import RESOURCE_FOLDERS
from common.spark import SetupError, delta_jars, session_settings

# Top-level packages shipped to executors (jobs/ is the entry point, tests never ship).
EXCLUDED = {"tests", "jobs", "bench", "scripts", "conf", "docs", "work", "build"}


def project_packages(root: Path = PROJECT_ROOT) -> list[Path]:
    return sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and (p / "__init__.py").is_file() and p.name not in EXCLUDED
    )


def build_zip(root: Path = PROJECT_ROOT, out_dir: Path | None = None) -> Path:
    """A deterministic zip of the project's packages, named by its content hash, with the
    YAML files of ``conf/`` and ``expectations/`` and the files of ``vendor/``: a driver
    started on a node of the cluster (``--deploy-mode cluster``) finds them there
    (common/resources.py)."""
    packaged = [
        f
        for pkg in project_packages(root)
        for f in pkg.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts and f.suffix in {".py", ".yaml", ".json"}
    ]
    resources = [
        f
        for folder in RESOURCE_FOLDERS
        for f in (root / folder).rglob("*")
        if f.is_file() and (f.suffix == ".yaml" or folder == "vendor")
    ]
    files = sorted(packaged + resources)
    digest = hashlib.sha256()
    for f in files:
        digest.update(str(f.relative_to(root)).encode())
        digest.update(f.read_bytes())
    out_dir = out_dir or root / "work" / "dist"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"project-{digest.hexdigest()[:16]}.zip"
    if not target.exists():
        tmp = target.with_suffix(f".{os.getpid()}.part")  # concurrent submits build their own
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                info = zipfile.ZipInfo(str(f.relative_to(root)), date_time=(1980, 1, 1, 0, 0, 0))
                zf.writestr(info, f.read_bytes(), zipfile.ZIP_DEFLATED)
        tmp.rename(target)
    return target


def submit_options(settings: Settings) -> list[str]:
    """spark-submit options taken from the configuration (the command line may override)."""
    wanted = session_settings(settings.spark)
    options = [
        "--master",
        wanted.pop("spark.master"),
        "--name",
        wanted.pop("spark.app.name"),
        "--driver-memory",
        wanted.pop("spark.driver.memory"),
        "--jars",
        ",".join(delta_jars()),
    ]
    for key, value in wanted.items():
        options += ["--conf", f"{key}={value}"]
    return options


def shipped_config(path: Path, out_dir: Path) -> Path:
    """The configuration merged with every file it extends, in one file named by its content
    hash: what ``--files`` ships to a cluster-mode driver (its working directory)."""
    data, _files = read_layers(path)
    text = yaml.safe_dump(data, sort_keys=True, allow_unicode=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"config-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
    if not target.exists():
        tmp = target.with_suffix(f".{os.getpid()}.part")  # concurrent submits build their own
        tmp.write_text(text, encoding="utf-8")
        tmp.rename(target)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_config_option(parser)
    parser.add_argument("--deploy-mode", choices=["client", "cluster"])
    args = parser.parse_args(argv)
    try:
        settings = load_config(args.config)
        options = submit_options(settings)
    except (ConfigError, SetupError) as exc:
        sys.exit(f"error: {exc}")
    deploy_mode = args.deploy_mode or settings.spark.conf.get("spark.submit.deployMode", "client")
    if deploy_mode == "cluster":  # the driver runs on a node: the configuration goes with it
        shipped = shipped_config(Path(args.config), PROJECT_ROOT / "work" / "dist")
        options += ["--files", str(shipped)]
    sys.stdout.write("\n".join([*options, "--py-files", str(build_zip())]) + "\n")


if __name__ == "__main__":
    main()
