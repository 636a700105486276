"""The variable catalog: every variable of the panel, declared as data.

Each entry names its builder (``features/builders.py``), its inputs (other
variables), its arguments, its topic group (used for explanations) and a
one-line description. The panel job turns the catalog into a few wide selects;
``docs/variables.md`` is generated from it (``python -m features.document``).

Families are declared compactly below (a base series and the transforms that
suit its kind) and expanded into one entry per variable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cache

from features import builders as B
from features.series import FIGURES, SOURCE_SERIES

GROUPS = (
    "social_debt",
    "partial_activity",
    "headcount",
    "financial_health",
    "payment_delays",
    "context",
)


@dataclass(frozen=True)
class Variable:
    name: str
    builder: str  # "source", a builder of features/builders.py, company_* or sector_zscore
    group: str
    description: str
    inputs: tuple[str, ...] = ()
    args: tuple = ()
    reference: bool = False  # in the reference system's standard set (~36 inputs)


# --- monthly series (declared in features/series.py) ---------------------------------------

# (name, builder, inputs, group, label, kind)
DERIVED_SERIES = (
    ("dette_totale", "total", ("dette_part_ouvriere", "dette_part_patronale"), "social_debt", "social debt in force (euros)", "level"),
    ("cotisation_impayee", "difference", ("cotisation_due", "cotisation_payee"), "social_debt", "contributions due and not paid for the month (euros)", "flow"),
    ("cotisation_moy12", "rolling_mean", ("cotisation_due",), "social_debt", "mean monthly contribution due over 12 months (euros)", "level"),
    ("ratio_dette", "ratio", ("dette_totale", "cotisation_moy12"), "social_debt", "social debt / mean monthly contribution over 12 months", "rate"),
    ("ratio_dette_po", "ratio", ("dette_part_ouvriere", "cotisation_moy12"), "social_debt", "employee-share debt / mean monthly contribution", "rate"),
    ("ratio_dette_pp", "ratio", ("dette_part_patronale", "cotisation_moy12"), "social_debt", "employer-share debt / mean monthly contribution", "rate"),
    ("dette_par_salarie", "ratio", ("dette_totale", "effectif"), "social_debt", "social debt per employee (euros)", "rate"),
    ("part_impayee", "ratio", ("cotisation_impayee", "cotisation_due"), "social_debt", "share of the month's contributions not paid", "rate"),
    ("en_dette", "positive", ("dette_totale",), "social_debt", "the establishment has social debt", "flag"),
    ("ap_part_effectif", "ratio", ("ap_effectif_consomme", "effectif"), "partial_activity", "share of staff in partial activity", "rate"),
    ("ap_heures_par_salarie", "ratio", ("ap_heures_consommees", "effectif"), "partial_activity", "partial-activity hours consumed per employee", "rate"),
    ("ap_taux_consommation", "ratio", ("ap_heures_consommees", "ap_heures_autorisees"), "partial_activity", "hours consumed / hours authorised", "rate"),
    ("effectif_part_entreprise", "ratio", ("effectif", "effectif_entreprise"), "headcount", "establishment's share of the company headcount", "rate"),
    ("delai_montant_par_cotisation", "ratio", ("delai_montant", "cotisation_moy12"), "payment_delays", "agreement amount / mean monthly contribution", "step"),
)  # fmt: skip

# transforms by kind: (builder, args, name suffix, description template)
_LAGS = {"level": (1, 2, 3, 6, 9, 12, 18, 24), "rate": (1, 2, 3, 6, 9, 12, 18, 24),
         "flow": (1, 2, 3, 6, 12, 18, 24), "flag": (1, 3, 6, 12), "step": (1, 3, 6, 12),
         "event": ()}  # fmt: skip
TRANSFORMS = {
    "level": [("rolling_mean", (3,)), ("rolling_mean", (6,)), ("rolling_mean", (12,)),
              ("rolling_min", (3,)), ("rolling_min", (12,)), ("rolling_max", (3,)),
              ("rolling_max", (6,)), ("rolling_max", (12,)), ("diff", (1,)), ("diff", (3,)),
              ("diff", (6,)), ("diff", (12,)), ("pct_change", (1,)), ("pct_change", (3,)),
              ("pct_change", (6,)), ("pct_change", (12,)), ("trend", (6,)), ("trend", (12,))],
    "rate": [("rolling_mean", (3,)), ("rolling_mean", (6,)), ("rolling_mean", (12,)),
             ("rolling_min", (3,)), ("rolling_min", (12,)), ("rolling_max", (3,)),
             ("rolling_max", (6,)), ("rolling_max", (12,)), ("diff", (1,)), ("diff", (3,)),
             ("diff", (6,)), ("diff", (12,)), ("pct_change", (3,)), ("pct_change", (12,)),
             ("trend", (6,)), ("trend", (12,))],
    "flow": [("rolling_sum", (3,)), ("rolling_sum", (6,)), ("rolling_sum", (12,)),
             ("rolling_min", (12,)), ("rolling_max", (12,)), ("diff", (1,)), ("diff", (12,)),
             ("pct_change", (12,)), ("trend", (6,)), ("trend", (12,)), ("cumulative_sum", ())],
    "flag": [("rolling_sum", (12,)), ("rolling_sum", (24,)), ("spell", ()), ("months_since", ())],
    # rare events, whose histories carry too little in a year of data: the current value only
    "event": [],
    # piecewise-constant amounts (an agreement's amount while it runs): levels and changes
    "step": [("rolling_mean", (12,)), ("rolling_max", (12,)), ("diff", (1,)), ("diff", (12,))],
}  # fmt: skip
SUFFIX = {
    "lag": "lag{0}", "rolling_mean": "moy{0}", "rolling_sum": "cumul{0}", "rolling_min": "min{0}",
    "rolling_max": "max{0}", "diff": "diff{0}", "pct_change": "var{0}", "trend": "tendance{0}",
    "cumulative_sum": "cumul_total", "spell": "duree", "months_since": "mois_depuis",
}  # fmt: skip
TEMPLATE = {
    "lag": "{label}, {0} months earlier",
    "rolling_mean": "{label}: mean over the last {0} months",
    "rolling_sum": "{label}: sum over the last {0} months",
    "rolling_min": "{label}: minimum over the last {0} months",
    "rolling_max": "{label}: maximum over the last {0} months",
    "diff": "{label}: change over {0} months",
    "pct_change": "{label}: relative change over {0} months",
    "trend": "{label}: trend (slope per month) over the last {0} months",
    "cumulative_sum": "{label}: sum since the establishment's first month",
    "spell": "{label}: months in a row it has been true",
    "months_since": "{label}: months since it was last true",
}  # fmt: skip

AGGREGATE_WORDS = {"company_sum": "sum", "company_max": "maximum", "company_mean": "mean",
                   "company_count": "count"}  # fmt: skip
COMPANY_AGGREGATES = (
    ("dette_totale", "company_sum"), ("cotisation_due", "company_sum"),
    ("cotisation_impayee", "company_sum"), ("ap_heures_consommees", "company_sum"),
    ("ap_effectif_consomme", "company_sum"), ("delai_montant", "company_sum"),
    ("nb_ecarts_ouverts", "company_sum"), ("ratio_dette", "company_max"),
    ("part_impayee", "company_max"), ("dette_par_salarie", "company_max"),
    ("en_dette", "company_mean"), ("delai_en_cours", "company_max"),
    ("ap_part_effectif", "company_max"), ("ratio_dette_moy12", "company_max"),
    ("dette_totale_diff12", "company_sum"), ("effectif_diff12", "company_sum"),
)  # fmt: skip
SECTOR_ZSCORES = (
    "ratio_dette", "dette_par_salarie", "part_impayee", "effectif_var12", "ap_part_effectif",
    "ap_heures_par_salarie", "ratio_dette_moy12", "effectif_diff12", "cotisation_impayee_cumul12",
    "nb_ecarts_ouverts", "dette_totale_tendance12", "effectif_tendance12", "delai_montant_par_cotisation",
    "cotisation_due_var12", "effectif",
)  # fmt: skip

# --- yearly financial figures (DGFiP), as known at the month ------------------------------------

# ratios computed from the figures: (name, numerator(s), denominator, label)
FIN_RATIOS = (
    ("dette_nette_caf", ("endettement_net",), "caf", "net debt / cash flow"),
    ("marge_ebe", ("ebe",), "ca", "EBITDA / turnover"),
    ("va_par_salarie", ("va",), "nb_personnes", "value added per employee"),
    ("frais_personnel_va", ("salaires", "charges_sociales"), "va", "staff costs / value added"),
    ("stocks_ca", ("stocks_marchandises", "stocks_matieres"), "ca", "stocks / turnover"),
    ("capitaux_propres_capital", ("capitaux_propres",), "capital", "equity / share capital"),
    ("bfr_capitaux_propres", ("bfr",), "capitaux_propres", "working capital requirement / equity"),
    ("tresorerie_ca", ("tresorerie",), "ca", "cash / turnover"),
    ("endettement_capitaux_propres", ("endettement_net",), "capitaux_propres", "net debt / equity"),
    ("caf_ca", ("caf",), "ca", "cash flow / turnover"),
    ("ca_par_salarie", ("ca",), "nb_personnes", "turnover per employee"),
    ("charges_sociales_salaires", ("charges_sociales",), "salaires", "social charges / payroll"),
)  # fmt: skip
YEARS = (("", "last fiscal year known"), ("_n1", "the year before"), ("_n2", "two years before"))
FIN_ZSCORES = ("marge_ebe", "dette_nette_caf", "frais_personnel_va", "tresorerie_ca", "caf_ca",
               "liquidite", "solidite_financiere", "rentabilite_economique", "jours_clients",
               "jours_fournisseurs", "endettement_capitaux_propres", "va_par_salarie")  # fmt: skip

REFERENCE_FINANCIAL = ("dette_nette_caf", "marge_ebe", "va_par_salarie", "frais_personnel_va",
                       "stocks_ca", "liquidite", "capitaux_propres_capital", "bfr_capitaux_propres",
                       "taux_investissement", "rentabilite_economique", "solidite_financiere",
                       "tresorerie_ca", "caf_ca", "jours_clients", "jours_fournisseurs",
                       "endettement_capitaux_propres", "charges_sociales_salaires")  # fmt: skip
REFERENCE_MONTHLY = ("dette_part_ouvriere", "dette_part_patronale", "cotisation_moy12", "ratio_dette",
                     "dette_par_salarie", "ap_heures_consommees", "ap_heures_autorisees", "effectif",
                     "effectif_entreprise")  # fmt: skip

CONTEXT = (
    ("age_etablissement", "establishment age (years)"),
    ("age_entreprise", "company age (years)"),
    ("naf_section", "NAF section (A=1 ... U=21)"),
    ("naf_division", "NAF division (first two digits of the activity code)"),
    ("region", "region (INSEE code)"),
    ("departement", "département (number; Corsica 20, overseas 971-976)"),
    ("categorie_juridique", "legal category (first two digits)"),
    ("siege", "the establishment is the company's head office"),
    ("mois_calendaire", "calendar month (seasonality)"),
)  # fmt: skip


def _monthly() -> list[Variable]:
    out: list[Variable] = []
    labels = {s.name: (s.text, s.kind, s.group) for s in SOURCE_SERIES}
    for s in SOURCE_SERIES:
        out.append(Variable(s.name, "source", s.group, s.text[0].upper() + s.text[1:],
                            reference=s.name in REFERENCE_MONTHLY))  # fmt: skip
    for name, builder, inputs, group, label, kind in DERIVED_SERIES:
        args = (12,) if builder == "rolling_mean" else ()
        out.append(Variable(name, builder, group, label[0].upper() + label[1:], inputs, args,
                            reference=name in REFERENCE_MONTHLY))  # fmt: skip
        labels[name] = (label, kind, group)
    for series, (label, kind, group) in labels.items():
        transforms = [("lag", (n,)) for n in _LAGS[kind]] + TRANSFORMS[kind]
        for builder, args in transforms:
            name = f"{series}_{SUFFIX[builder].format(*args)}"
            reference = builder == "lag" and series in ("dette_part_ouvriere", "dette_part_patronale") \
                and args[0] in (1, 2, 3, 6, 12)  # fmt: skip
            out.append(Variable(name, builder, group, TEMPLATE[builder].format(*args, label=label),
                                (series,), args, reference))  # fmt: skip
    by_name = {v.name: v for v in out}
    for series, builder in COMPANY_AGGREGATES:
        what = AGGREGATE_WORDS[builder]
        suffix = {"company_sum": "somme", "company_max": "max", "company_mean": "moy"}[builder]
        src = by_name[series]
        out.append(Variable(f"{series}_{suffix}_entreprise", builder, src.group,
                            f"{src.description}: {what} over the company's establishments", (series,)))  # fmt: skip
    for series in SECTOR_ZSCORES:
        src = by_name[series]
        out.append(Variable(f"{series}_zscore_secteur", "sector_zscore", src.group,
                            f"{src.description}: z-score within NAF division and month", (series,)))  # fmt: skip
    return out


def _financial() -> list[Variable]:
    out: list[Variable] = []
    for figure, label in [(f.name, f.label) for f in FIGURES]:
        for suffix, when in YEARS:
            out.append(Variable(f"fin_{figure}{suffix}", "source", "financial_health",
                                f"{label[0].upper() + label[1:]}, {when}",
                                reference=suffix == "" and figure in REFERENCE_FINANCIAL))  # fmt: skip
    for name, numerators, denominator, label in FIN_RATIOS:
        for suffix, when in YEARS:
            top = [f"fin_{n}{suffix}" for n in numerators]
            if len(top) > 1:
                out.append(Variable(f"fin_{name}_numerateur{suffix}", "total", "financial_health",
                                    f"Numerator of {label}, {when}", tuple(top)))  # fmt: skip
                top = [f"fin_{name}_numerateur{suffix}"]
            out.append(Variable(f"fin_{name}{suffix}", "ratio", "financial_health",
                                f"{label[0].upper() + label[1:]}, {when}",
                                (top[0], f"fin_{denominator}{suffix}"),
                                reference=suffix == "" and name in REFERENCE_FINANCIAL))  # fmt: skip
    labels = {f.name: f.label for f in FIGURES} | {r[0]: r[3] for r in FIN_RATIOS}
    for name in [f.name for f in FIGURES] + [r[0] for r in FIN_RATIOS]:
        out.append(Variable(f"fin_{name}_evolution", "ratio", "financial_health",
                            f"{labels[name][0].upper() + labels[name][1:]}: last year / the year before",
                            (f"fin_{name}", f"fin_{name}_n1")))  # fmt: skip
    for name in FIN_ZSCORES:
        out.append(Variable(f"fin_{name}_zscore_secteur", "sector_zscore", "financial_health",
                            f"{labels[name][0].upper() + labels[name][1:]}, last fiscal year known: "
                            "z-score within NAF division and month", (f"fin_{name}",)))  # fmt: skip
    out.append(Variable("fin_mois_depuis_cloture", "source", "financial_health",
                        "Months since the end of the last fiscal year known"))  # fmt: skip
    return out


def _context() -> list[Variable]:
    out = [
        Variable(name, "source", "context", label[0].upper() + label[1:]) for name, label in CONTEXT
    ]
    out.append(Variable("nb_etablissements", "company_count", "context",
                        "Establishments of the company reporting a headcount this month", ("effectif",)))  # fmt: skip
    return out


# Series whose larger values never lower the risk, all else equal: the social debt and the
# contributions left unpaid, what the reference system's experts read first. Models may be
# constrained to respect it (training.monotone); levels, windows, company aggregates and
# sector z-scores of these series keep the direction, changes and trends do not.
INCREASING = ("dette_part_ouvriere", "dette_part_patronale", "dette_totale", "nb_ecarts_ouverts",
              "ratio_dette", "ratio_dette_po", "ratio_dette_pp", "dette_par_salarie",
              "cotisation_impayee", "part_impayee")  # fmt: skip
_KEEPS_DIRECTION = ("lag", "rolling_mean", "rolling_min", "rolling_max", "rolling_sum",
                    "company_sum", "company_max", "company_mean", "sector_zscore")  # fmt: skip


@cache
def catalog() -> tuple[Variable, ...]:
    """Every variable, inputs before the variables that use them."""
    return check(tuple(_monthly() + _financial() + _context()))


def check(variables: tuple[Variable, ...]) -> tuple[Variable, ...]:
    """``variables`` if each is declared once, with known inputs and a builder that exists
    (at load time, rather than when the executors reach it); a ValueError naming them."""
    names = [v.name for v in variables]
    duplicated = {n for n in names if names.count(n) > 1}
    if duplicated:
        raise ValueError(f"variables declared twice: {sorted(duplicated)}")
    known = set(names)
    for v in variables:
        missing = [i for i in v.inputs if i not in known]
        if missing:
            raise ValueError(f"{v.name}: unknown inputs {missing}")
    builders = {"source", *B.WINDOW, *B.ROW, *B.COMPANY, *B.SECTOR}
    unknown = [f"{v.name} ({v.builder})" for v in variables if v.builder not in builders]
    if unknown:
        raise ValueError(
            f"variables with a builder that features/builders.py does not define: "
            f"{', '.join(unknown)}; known builders: {', '.join(sorted(builders))}"
        )
    return variables


def by_name() -> dict[str, Variable]:
    return {v.name: v for v in catalog()}


def model_features() -> list[str]:
    """The variables a model may use: all but internal helpers (ratio numerators)."""
    return [v.name for v in catalog() if "_numerateur" not in v.name]


def reference_set() -> list[str]:
    return [v.name for v in catalog() if v.reference]


def version() -> str:
    """Hash of the catalog: changes whenever a variable or its definition changes."""
    payload = json.dumps([asdict(v) for v in catalog()], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@cache
def directions() -> dict[str, int]:
    """+1 for every variable whose larger values never lower the risk (see ``INCREASING``)."""
    out: dict[str, int] = {}
    for v in catalog():  # inputs come before the variables that use them
        if v.name in INCREASING or (
            v.builder in _KEEPS_DIRECTION and v.inputs and all(out.get(i) for i in v.inputs)
        ):
            out[v.name] = 1
    return out
