"""Pages opened as an operator would, in Debian's Chromium, headless, with the network off:
a new network namespace with no interface up when the tests run as root (CI), and in any case
every host name unresolvable and every request sent to a closed proxy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=15000",  # lets the pages' scripts run before the DOM is dumped
)


def chromium() -> str:
    found = shutil.which(os.environ.get("CHROMIUM", "chromium"))
    if found is None:
        pytest.fail(
            "no chromium: `make browser` installs Debian's package as root "
            "(apt-get install chromium), or set CHROMIUM=/path/to/chromium"
        )
    return found


def _offline_prefix() -> list[str]:
    if os.geteuid() == 0 and subprocess.run(["unshare", "--net", "true"]).returncode == 0:
        return ["unshare", "--net"]
    return []


def rendered(page: Path) -> str:
    """The page's DOM once loaded and its scripts run, network off."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        run = subprocess.run(
            [
                *_offline_prefix(),
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def visible(dom: str) -> str:
    """The text a person sees: scripts and styles dropped, tags to spaces, spaces collapsed."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", dom).split())


def drawn_rows(dom: str) -> int:
    """The rows of a table drawn by bootstrap-table's script (they exist only if it ran):
    those of its first page, and the total its pager states ("Showing 1 to 10 of 15 rows"),
    which must agree."""
    shown = len(set(re.findall(r'<tr[^>]*data-index="(\d+)"', dom)))
    pager = re.search(r"Showing 1 to (\d+) of (\d+) rows", visible(dom))
    assert pager is not None and int(pager[1]) == shown, (shown, pager)
    return int(pager[2])
