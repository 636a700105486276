"""DGFiP financial-analysis figures (turnover, EBITDA, value added, net debt...)."""

from pyspark.sql import DataFrame

from parsers.common import Fields
from parsers.dgfip import parse_return
from parsers.formats import AF_FIGURES

REQUIRED = ("siren", "date_deb_exercice", "date_fin_exercice", "mnt_af_ca")
KEYS = ("siren", "date_deb_exercice", "date_fin_exercice", "no_ocfi")


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    return parse_return(lines, f, AF_FIGURES)
