"""The source series, each declared once: where it comes from and what it is.

A monthly series is a column of a silver table at the (establishment or company, month)
grain; a fiscal figure is a column of ``silver/financials``, one per fiscal year. Everything
else reads these declarations: the catalog (the variables built on each series, their
descriptions and groups), the silver tables (which columns a table holds and how the records
of one month combine), the panel (which silver table feeds which series, which series are
zero when no record exists) and the incremental panel (the monthly tables to compare).
``python -m features.explain NAME`` prints a variable's derivation down to these.

Nothing here imports Spark: the declarations are plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from parsers.formats import AF_FIGURES, DIRCO_FIGURES, INDMAP_FIGURES

SHOWN_UNITS = ("euros", "days")  # units the descriptions name: "(euros)"


@dataclass(frozen=True)
class Series:
    name: str  # the silver column and the panel variable
    silver: str  # the silver table that holds it (features/silver.py: TABLES)
    origin: str  # the bronze source(s) and column(s) it is computed from
    group: str  # topic group of the catalog (explanations)
    label: str  # what the value is, for descriptions
    unit: str  # euros, days, hours, employees, count, flag
    kind: str  # level | flow | rate | flag | step | event: the transforms that suit it
    combine: Literal["sum", "max"] = "sum"  # how several records of one month combine
    zero_when_absent: bool = False  # events: no record for a month means none happened

    @property
    def source(self) -> str:
        """The bronze source of ``origin`` (its first word, before the column)."""
        return self.origin.split(".")[0].split(" ")[0]

    @property
    def text(self) -> str:
        """The label with its unit when descriptions name it."""
        return self.label + (f" ({self.unit})" if self.unit in SHOWN_UNITS else "")


SOURCE_SERIES = (
    Series("dette_part_ouvriere", "debt", "debit.part_ouvriere", "social_debt", "employee share of the social debt in force", "euros", "level", zero_when_absent=True),
    Series("dette_part_patronale", "debt", "debit.part_patronale", "social_debt", "employer share of the social debt in force", "euros", "level", zero_when_absent=True),
    Series("nb_ecarts_ouverts", "debt", "debit (gaps with debt)", "social_debt", "number of open debt gaps", "count", "level", zero_when_absent=True),
    Series("cotisation_due", "contributions", "cotisation.du", "social_debt", "social contributions due for the month", "euros", "flow"),
    Series("cotisation_payee", "contributions", "cotisation.encaisse", "social_debt", "social contributions paid for the month", "euros", "flow"),
    Series("effectif", "headcount", "effectif.effectif", "headcount", "establishment headcount", "employees", "level"),
    Series("effectif_entreprise", "company_headcount", "effectif_ent.effectif", "headcount", "company headcount", "employees", "level"),
    Series("ap_heures_autorisees", "partial_activity", "apdemande.hta", "partial_activity", "partial-activity hours authorised in force for the month", "hours", "level", zero_when_absent=True),
    Series("ap_effectif_autorise", "partial_activity", "apdemande.effectif_autorise", "partial_activity", "employees authorised for partial activity", "employees", "level", zero_when_absent=True),
    Series("ap_demandes_en_cours", "partial_activity", "apdemande (requests)", "partial_activity", "partial-activity requests in force", "count", "flow", zero_when_absent=True),
    Series("ap_heures_consommees", "partial_activity", "apconso.heures_consommees", "partial_activity", "partial-activity hours consumed", "hours", "flow", zero_when_absent=True),
    Series("ap_montant_consomme", "partial_activity", "apconso.montant", "partial_activity", "partial-activity allowance consumed", "euros", "flow", zero_when_absent=True),
    Series("ap_effectif_consomme", "partial_activity", "apconso.effectif", "partial_activity", "employees in partial activity", "employees", "flow", zero_when_absent=True),
    Series("delai_en_cours", "payment_delays", "delai (agreements)", "payment_delays", "a payment-delay agreement is in force", "flag", "flag", "max", zero_when_absent=True),
    Series("delai_montant", "payment_delays", "delai.montant_echeancier", "payment_delays", "amount of the payment-delay agreements in force", "euros", "step", zero_when_absent=True),
    Series("delai_duree_jours", "payment_delays", "delai.duree_delai", "payment_delays", "length of the agreement in force", "days", "step", "max", zero_when_absent=True),
    Series("ccsf_en_cours", "payment_delays", "ccsf.stade", "payment_delays", "a CCSF settlement plan is open or approved", "flag", "flag", "max", zero_when_absent=True),
    Series("ccsf_refus", "payment_delays", "ccsf.stade", "payment_delays", "the last CCSF decision was a refusal", "flag", "event", "max", zero_when_absent=True),
)  # fmt: skip


@dataclass(frozen=True)
class Figure:
    name: str  # the silver column (and, prefixed fin_, the panel variable)
    column: str  # the DGFiP column it is read from
    label: str

    @property
    def source(self) -> str:
        """The DGFiP file (bronze source) that carries the column."""
        for source, columns in SOURCES_OF_FIGURES.items():
            if self.column in columns:
                return source
        raise KeyError(self.column)


SOURCES_OF_FIGURES = {
    "declarations_af": AF_FIGURES,
    "declarations_indmap": INDMAP_FIGURES,
    "ratios_dirco": DIRCO_FIGURES,
}

FIGURES = (
    Figure("ca", "mnt_af_ca", "turnover (euros)"),
    Figure("ebe", "mnt_af_sig_ebe_ret", "EBITDA (euros)"),
    Figure("va", "mnt_af_sig_va_ret", "value added (euros)"),
    Figure("endettement_net", "mnt_af_endettement_net", "net debt (euros)"),
    Figure("bfr", "mnt_af_bfonc_bfr", "working capital requirement (euros)"),
    Figure("tresorerie", "mnt_af_bfonc_tresorerie", "cash (euros)"),
    Figure("actif_circulant", "mnt_af_bfonc_actif_circ_expl", "operating current assets (euros)"),
    Figure("passif_circulant", "mnt_af_bfonc_passif_circ_expl", "operating current liabilities (euros)"),
    Figure("actif_circulant_hors_expl", "mnt_af_bfonc_actif_circ_h_expl", "non-operating current assets (euros)"),
    Figure("passif_circulant_hors_expl", "mnt_af_bfonc_passif_circ_h_expl", "non-operating current liabilities (euros)"),
    Figure("jours_clients", "nbr_af_jours_creance_cli", "customer payment days"),
    Figure("jours_fournisseurs", "nbr_af_jours_reglt_fourn", "supplier payment days"),
    Figure("endettement_terme", "rto_af_endettement_a_terme", "term debt ratio"),
    Figure("rentabilite_economique", "rto_af_rent_eco", "economic profitability"),
    Figure("salaires", "d_cr_250_expl_salaire", "payroll (euros)"),
    Figure("charges_sociales", "d_cr_252_expl_ch_soc", "social charges (euros)"),
    Figure("dotations", "d_cr_260_expl_dt_syndic", "allocations to provisions (euros)"),
    Figure("stocks_marchandises", "d_actf_stk_march_net", "stocks of goods (euros)"),
    Figure("stocks_matieres", "d_actf_stk_mat1e_net", "stocks of raw materials (euros)"),
    Figure("nb_personnes", "d_dvs_376_nbr_pers", "staff declared"),
    Figure("capital", "d_passf_120_k", "share capital (euros)"),
    Figure("capitaux_propres", "d_passf_142_k_propres", "equity (euros)"),
    Figure("taux_investissement", "rto_invest_ca", "investment rate (investment / turnover)"),
    Figure("solidite_financiere", "rto_af_solidite_financiere", "financial solidity ratio"),
    Figure("caf", "rto_6", "cash flow (CAF, euros)"),
    Figure("liquidite", "rto_56", "quick ratio"),
)  # fmt: skip


def series_of(table: str) -> tuple[Series, ...]:
    """The series a silver table holds, in declaration order."""
    return tuple(s for s in SOURCE_SERIES if s.silver == table)


def columns_of(table: str) -> tuple[str, ...]:
    return tuple(s.name for s in series_of(table))


MONTHLY_TABLES = tuple(dict.fromkeys(s.silver for s in SOURCE_SERIES))
ZERO_WHEN_ABSENT = frozenset(s.name for s in SOURCE_SERIES if s.zero_when_absent)
FIGURE_COLUMNS = {f.column: f.name for f in FIGURES}  # DGFiP column -> figure name
