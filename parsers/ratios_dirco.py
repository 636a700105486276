"""DGFiP ratios: cash flow (``rto_6``, CAF) and quick ratio (``rto_56``)."""

from pyspark.sql import DataFrame

from parsers.common import Fields
from parsers.dgfip import parse_return
from parsers.formats import DIRCO_FIGURES

REQUIRED = ("siren", "date_deb_exercice", "date_fin_exercice", "rto_6", "rto_56")
KEYS = ("siren", "date_deb_exercice", "date_fin_exercice")


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    return parse_return(lines, f, DIRCO_FIGURES)
