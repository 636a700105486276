"""Every source's parser: its format, the header columns it needs, its natural key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from pyspark.sql import DataFrame

from parsers import (
    apconso,
    apdemande,
    ccsf,
    cotisation,
    debit,
    declarations_af,
    declarations_indmap,
    delai,
    effectif,
    effectif_ent,
    judgments,
    procol,
    ratios_dirco,
    sirene,
    sirene_ul,
)
from parsers.common import Fields
from parsers.formats import FORMATS, RawFormat


@dataclass(frozen=True)
class Parser:
    format: RawFormat
    required: tuple[str, ...]  # header columns the file must have (case-insensitive)
    keys: tuple[str, ...]  # natural key of a bronze record (current-record rule)
    parse: Callable[[DataFrame, Fields], DataFrame]  # lines -> one row per line
    explode: Callable[[DataFrame], DataFrame] | None  # accepted lines -> records (wide files)

    @property
    def source(self) -> str:
        return self.format.source


def _parser(module: ModuleType) -> Parser:
    source = module.__name__.rsplit(".", 1)[1]
    return Parser(
        FORMATS[source],
        module.REQUIRED,
        module.KEYS,
        module.parse,
        getattr(module, "explode", None),
    )


PARSERS: dict[str, Parser] = {
    p.source: p
    for p in map(
        _parser,
        (
            cotisation,
            debit,
            delai,
            ccsf,
            procol,
            effectif,
            effectif_ent,
            apdemande,
            apconso,
            sirene,
            sirene_ul,
            declarations_af,
            declarations_indmap,
            ratios_dirco,
            judgments,
        ),
    )
}
