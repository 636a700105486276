"""Business secrecy: pseudonyms for identifiers shown to people (summaries, consoles).

A pseudonym is a keyed hash (HMAC-SHA256) of the identifier. An unkeyed hash would
not hide anything: there are only 10^9 SIRENs, and hashing them all takes minutes.
The key comes from the environment, never from the repository, and is never logged:

- ``EARLY_WARNING_PSEUDONYM_KEY``: the key itself;
- ``EARLY_WARNING_PSEUDONYM_KEY_FILE``: a file holding it, outside the project folder.

With neither, a random key is drawn for the run: pseudonyms then differ from one
run to the next (``Pseudonymiser.stable`` is false; say so to the reader).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from common.config import PROJECT_ROOT

KEY_ENV = "EARLY_WARNING_PSEUDONYM_KEY"
KEY_FILE_ENV = "EARLY_WARNING_PSEUDONYM_KEY_FILE"
MIN_KEY_BYTES = 16


class SecrecyError(ValueError):
    """The pseudonym key is unusable (too short, missing file, inside the repository)."""


@dataclass(frozen=True)
class Pseudonymiser:
    """``pseudonymise("123456789") -> "E-1a2b3c4d"``; the key never shows in its repr."""

    key: bytes = field(repr=False)
    stable: bool  # false: a random key of this run only

    def __call__(self, identifier: str) -> str:
        digest = hmac.new(self.key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()
        return "E-" + digest[:8]


def _checked(key: bytes, where: str) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise SecrecyError(f"the pseudonym key of {where} is shorter than {MIN_KEY_BYTES} bytes")
    return key


def _read_key_file(value: str, root: Path) -> bytes:
    path = Path(value).expanduser().resolve()
    if path.is_relative_to(root.resolve()):
        raise SecrecyError(f"{KEY_FILE_ENV}: the key file must live outside the project folder")
    if not path.is_file():
        raise SecrecyError(f"{KEY_FILE_ENV}: no such file: {path}")
    return _checked(path.read_bytes().strip(), KEY_FILE_ENV)


def pseudonymiser(
    environ: Mapping[str, str] = os.environ, root: Path = PROJECT_ROOT
) -> Pseudonymiser:
    """The pseudonymiser of this run: the environment's key, its key file, or a random key."""
    if environ.get(KEY_ENV):
        return Pseudonymiser(_checked(environ[KEY_ENV].encode("utf-8"), KEY_ENV), stable=True)
    if environ.get(KEY_FILE_ENV):
        return Pseudonymiser(_read_key_file(environ[KEY_FILE_ENV], root), stable=True)
    return Pseudonymiser(secrets.token_bytes(32), stable=False)
