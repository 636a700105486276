"""Helper of ``spark-submit.sh``: spark-submit options derived from a configuration
file, and the zip of the project's packages shipped to executors with ``--py-files``.

    python -m common.submit --conf conf/local.yaml

prints one spark-submit argument per line; the last line is the ``--py-files`` zip.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from pathlib import Path

from common.config import DEFAULT_CONF, PROJECT_ROOT, ConfigError, Settings, load_config
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
    """A deterministic zip of the project's packages, named by its content hash."""
    files = sorted(
        f
        for pkg in project_packages(root)
        for f in pkg.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts and f.suffix in {".py", ".yaml", ".json"}
    )
    digest = hashlib.sha256()
    for f in files:
        digest.update(str(f.relative_to(root)).encode())
        digest.update(f.read_bytes())
    out_dir = out_dir or root / "work" / "dist"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"project-{digest.hexdigest()[:16]}.zip"
    if not target.exists():
        tmp = target.with_suffix(".part")
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conf", default=str(DEFAULT_CONF))
    args = parser.parse_args(argv)
    try:
        settings = load_config(args.conf)
        options = submit_options(settings)
    except (ConfigError, SetupError) as exc:
        sys.exit(f"error: {exc}")
    sys.stdout.write("\n".join([*options, "--py-files", str(build_zip())]) + "\n")


if __name__ == "__main__":
    main()
