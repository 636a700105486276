"""great-expectations' Data Docs made to render offline.

The pages great-expectations builds load bootstrap, bootstrap-table, jQuery, popper,
font-awesome and vega from public CDNs, and the logo from a tracking URL: inside a closed
network they open as an almost empty page (the tables are drawn by bootstrap-table). Each
asset is vendored in ``vendor/datadocs`` (``manifest.tsv``: the URL the pages use, the local
file, its npm package and sha256; licences beside the files). ``make_offline`` copies them into
the site's ``static/vendor`` and points every page at them, so the site folder is
self-contained and can be copied or zipped as it is.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from common.config import PROJECT_ROOT

log = logging.getLogger(__name__)

VENDOR = PROJECT_ROOT / "vendor" / "datadocs"
# Resources a page loads (script, stylesheet, image, icon), not links a person may follow.
LOADED = re.compile(
    r"<(?:script|img|iframe|source)\b[^>]*\bsrc=\"(https?://[^\"]+)\"|"
    r"<link\b(?=[^>]*\brel=\"(?:stylesheet|icon|shortcut icon|preload)\")[^>]*\bhref=\"(https?://[^\"]+)\"|"
    r"url\(\s*['\"]?(https?://[^)'\"]+)",
    re.IGNORECASE,
)
# The logos great-expectations loads from its own bucket (the light one with the context's id
# in the query, the dark one as a CSS background): its own copy in the site's static/images.
LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3[^\"')]*/(?:logo-long|full_logo_dark)\.png[^\"')]*"
)
INTEGRITY = re.compile(r"\s+(?:integrity=\"[^\"]*\"|crossorigin=\"[^\"]*\")")


@dataclass(frozen=True)
class Asset:
    url: str  # as the pages write it; "" for a file another asset refers to (fonts, licences)
    path: str  # under vendor/datadocs
    package: str
    sha256: str


def manifest(vendor: Path = VENDOR) -> list[Asset]:
    lines = (vendor / "manifest.tsv").read_text().splitlines()
    return [Asset(*line.split("\t")) for line in lines if line and not line.startswith("#")]


def external_loads(page: str) -> list[str]:
    """The URLs outside the site a page would load when opened."""
    return [next(g for g in m.groups() if g) for m in LOADED.finditer(page)]


def make_offline(site: Path, vendor: Path = VENDOR) -> list[str]:
    """Serve every vendored asset from ``site/static/vendor`` and rewrite the pages to load
    them; returns the external loads that remain (none, unless great-expectations' templates
    changed: they are logged as a warning)."""
    assets = manifest(vendor)
    target = site / "static" / "vendor"
    for asset in assets:
        (target / asset.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(vendor / asset.path, target / asset.path)
    local = {a.url: target / a.path for a in assets if a.url}
    remaining = []
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        here = page.parent

        def relative(path: Path, here: Path = here) -> str:
            return Path(os.path.relpath(path, here)).as_posix()

        for url, path in local.items():
            text = text.replace(f'"{url}"', f'"{relative(path)}"')
        text = LOGO.sub(relative(site / "static" / "images" / "logo-long.png"), text)
        text = INTEGRITY.sub("", text)  # local files: no subresource integrity, no CORS
        page.write_text(text, encoding="utf-8")
        remaining += [f"{page.relative_to(site)}: {url}" for url in external_loads(text)]
    if remaining:
        log.warning("Data Docs still load from outside: %s", "; ".join(remaining))
    return remaining
