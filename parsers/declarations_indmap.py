"""DGFiP return lines (payroll, social charges, stocks, staff, capital, equity...)."""

from pyspark.sql import DataFrame

from parsers.common import Fields
from parsers.dgfip import parse_return
from parsers.formats import INDMAP_FIGURES

REQUIRED = ("siren", "date_deb_exercice", "date_fin_exercice", "d_cr_250_expl_salaire")
KEYS = ("siren", "date_deb_exercice", "date_fin_exercice", "no_ocfi")


def parse(lines: DataFrame, f: Fields) -> DataFrame:
    return parse_return(lines, f, INDMAP_FIGURES)
