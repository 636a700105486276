"""The monthly panel: one row per (siret, month) of the population, every catalog
variable, and the 18-month target.

How the plan stays small and shuffles few times:
1. the monthly sources are unioned (not joined) and repartitioned once by company
   (``siren``); a group-by on (siren, siret, month) then needs no other shuffle;
2. company-level data (company headcount, fiscal years) is partitioned the same way,
   so joining it does not move the panel; small tables (establishments, judgments,
   sector statistics) are broadcast;
3. the catalog is turned into one select per dependency level; every window
   builder shares one specification (siren, siret, month order), so each level
   is a single Window operator over data already partitioned and sorted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features import builders as B
from features.catalog import Variable, catalog
from features.silver import SECTIONS, month_index, month_of

KEYS = ("siren", "siret", B.MONTH_INDEX)
MONTHLY = {  # silver table -> its series columns
    "contributions": ("cotisation_due", "cotisation_payee"),
    "debt": ("dette_part_ouvriere", "dette_part_patronale", "nb_ecarts_ouverts"),
    "headcount": ("effectif",),
    "partial_activity": (
        "ap_heures_autorisees",
        "ap_effectif_autorise",
        "ap_demandes_en_cours",
        "ap_heures_consommees",
        "ap_montant_consomme",
        "ap_effectif_consomme",
    ),
    "payment_delays": (
        "delai_en_cours",
        "delai_montant",
        "delai_duree_jours",
        "ccsf_en_cours",
        "ccsf_refus",
    ),
}


@dataclass(frozen=True)
class PanelSettings:
    start_index: int  # first month of the panel (month index)
    last_index: int  # last month covered by the data
    horizon_months: int
    min_employees: int
    lookback_months: int
    excluded_naf_sections: tuple[str, ...]
    public_legal_prefixes: tuple[str, ...]
    partitions: int


def monthly_sources(silver: dict[str, DataFrame], partitions: int) -> DataFrame:
    """All monthly series at (siren, siret, month), one union and one shuffle by company."""
    frames = []
    for name, columns in MONTHLY.items():
        frame = silver[name]
        if "numero_compte" in frame.columns:  # several accounts may serve one establishment
            frame = frame.groupBy("siret", B.MONTH_INDEX).agg(*[F.sum(c).alias(c) for c in columns])
        frames.append(frame.select("siret", B.MONTH_INDEX, *columns))
    union = reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
    union = union.withColumn("siren", F.substring("siret", 1, 9)).repartition(partitions, "siren")
    series = [c for cols in MONTHLY.values() for c in cols]
    return union.groupBy(*KEYS).agg(*[F.max(c).alias(c) for c in series])


def with_company_data(base: DataFrame, silver: dict[str, DataFrame], partitions: int) -> DataFrame:
    """Company headcount (same month) and the fiscal year known at the month."""
    company = silver["company_headcount"].repartition(partitions, "siren")
    base = base.join(company, ["siren", B.MONTH_INDEX], "left")
    years = silver["financials"].repartition(partitions, "siren").alias("y")
    known = (
        (F.col("p.siren") == F.col("y.siren"))
        & (F.col(f"p.{B.MONTH_INDEX}") >= F.col("y.disponible"))
        & (F.col("y.jusqua").isNull() | (F.col(f"p.{B.MONTH_INDEX}") <= F.col("y.jusqua")))
    )
    figures = [
        c for c in years.columns if c not in ("siren", "disponible", "jusqua", "date_fin_exercice")
    ]
    return (
        base.alias("p")
        .join(years, known, "left")
        .select(
            "p.*",
            *[F.col(f"y.{c}").alias(f"fin_{c}") for c in figures],
            (F.col(f"p.{B.MONTH_INDEX}") - month_index(F.col("y.date_fin_exercice"))).alias(
                "fin_mois_depuis_cloture"
            ),
        )
    )


DESCRIPTIVE = (
    "code_naf",
    "section_naf",
    "division_naf",
    "code_departement",
    "code_region",
    "code_categorie_juridique",
)


def with_context(base: DataFrame, establishments: DataFrame) -> DataFrame:
    """Static context of the establishment (broadcast: one row per establishment)."""
    e = F.broadcast(establishments.drop("siren"))
    month = month_of(F.col(B.MONTH_INDEX))
    section = F.array_position(F.split(F.lit(SECTIONS), ""), F.col("section_naf"))
    corsica = F.col("code_departement").isin("2A", "2B")
    departement = F.when(corsica, F.lit("20")).otherwise(F.col("code_departement"))
    return base.join(e, "siret", "left").select(
        *base.columns,
        *DESCRIPTIVE,
        (F.months_between(month, F.col("date_creation")) / 12).alias("age_etablissement"),
        (F.months_between(month, F.col("date_creation_entreprise")) / 12).alias("age_entreprise"),
        F.when(section > 0, section).cast("double").alias("naf_section"),
        F.col("division_naf").try_cast("double").alias("naf_division"),
        F.col("code_region").try_cast("double").alias("region"),
        departement.try_cast("double").alias("departement"),
        F.substring("code_categorie_juridique", 1, 2)
        .try_cast("double")
        .alias("categorie_juridique"),
        F.col("est_siege").cast("double").alias("siege"),
        F.month(month).cast("double").alias("mois_calendaire"),
    )


def levels(variables: tuple[Variable, ...]) -> list[list[Variable]]:
    """Window and row variables grouped by dependency depth (sources are depth 0)."""
    depth: dict[str, int] = {}
    by_name = {v.name: v for v in variables}
    grouped = B.COMPANY.keys() | set(B.SECTOR)

    def level(name: str) -> int:
        if name not in depth:
            v = by_name[name]
            depth[name] = 0 if v.builder == "source" else 1 + max(level(i) for i in v.inputs)
        return depth[name]

    out: dict[int, list[Variable]] = {}
    for v in variables:
        if v.builder != "source" and v.builder not in grouped:
            out.setdefault(level(v.name), []).append(v)
    return [out[k] for k in sorted(out)]


def build(v: Variable) -> Column:
    inputs = [F.col(i) for i in v.inputs]
    fn = B.WINDOW.get(v.builder) or B.ROW.get(v.builder)
    if fn is None:
        raise ValueError(f"{v.name}: no builder '{v.builder}'")
    return fn(*inputs, *v.args).cast("double").alias(v.name)


def with_variables(frame: DataFrame, variables: tuple[Variable, ...]) -> DataFrame:
    """One select per dependency level, all of a level's windows together."""
    for group in levels(variables):
        frame = frame.select("*", *[build(v) for v in group])
    return frame


def with_company_aggregates(frame: DataFrame, variables: tuple[Variable, ...]) -> DataFrame:
    wanted = [v for v in variables if v.builder in B.COMPANY]
    aggregates = frame.groupBy("siren", B.MONTH_INDEX).agg(
        *[B.COMPANY[v.builder](v.inputs[0]).cast("double").alias(v.name) for v in wanted]
    )
    return frame.join(aggregates, ["siren", B.MONTH_INDEX], "left")


def with_sector_zscores(frame: DataFrame, variables: tuple[Variable, ...]) -> DataFrame:
    wanted = [v for v in variables if v.builder in B.SECTOR]
    stats = frame.groupBy("division_naf", B.MONTH_INDEX).agg(
        *[
            agg(v.inputs[0]).alias(f"_{name}_{v.name}")
            for v in wanted
            for name, agg in (("m", F.avg), ("s", F.stddev))
        ]
    )
    joined = frame.join(F.broadcast(stats), ["division_naf", B.MONTH_INDEX], "left")
    scores = [
        F.when(
            F.col(f"_s_{v.name}") > 0,
            (F.col(v.inputs[0]) - F.col(f"_m_{v.name}")) / F.col(f"_s_{v.name}"),
        ).alias(v.name)
        for v in wanted
    ]
    return joined.select(*frame.columns, *scores)


def population(frame: DataFrame, s: PanelSettings) -> Column:
    """Reported this month; employs or has employed at least ``min_employees`` over the last
    ``lookback_months`` months (this one included); not public administration or education
    (NAF sections), not a public legal category; inside the panel's months."""
    reported = F.col("effectif").isNotNull() | F.col("cotisation_due").isNotNull()
    peak = B.rolling_max(F.col("effectif"), s.lookback_months)
    category = F.col("code_categorie_juridique")
    public = reduce(
        lambda a, b: a | b, [category.startswith(p) for p in s.public_legal_prefixes], F.lit(False)
    )
    sector = F.col("section_naf").isin(*s.excluded_naf_sections)
    excluded = F.coalesce(sector, F.lit(False)) | F.coalesce(public, F.lit(False))
    months = (F.col(B.MONTH_INDEX) >= s.start_index) & (F.col(B.MONTH_INDEX) <= s.last_index)
    return reported & (F.coalesce(peak, F.lit(0)) >= s.min_employees) & ~excluded & months


def targets(first_opening: Column, s: PanelSettings) -> list[Column]:
    """Label: the company's first opening judgment falls in months m+1..m+H."""
    m, j = F.col(B.MONTH_INDEX), month_index(first_opening)
    return [
        F.coalesce((j > m) & (j <= m + s.horizon_months), F.lit(False)).cast("int").alias("cible"),
        F.coalesce(j <= m, F.lit(False)).alias("signal_fort"),
        (m + s.horizon_months <= s.last_index).alias("horizon_complet"),
        first_opening.alias("date_premiere_ouverture"),
    ]


def build_panel(silver: dict[str, DataFrame], s: PanelSettings) -> DataFrame:
    variables = catalog()
    base = monthly_sources(silver, s.partitions)
    base = with_company_data(base, silver, s.partitions)
    base = with_context(base, silver["establishments"])
    frame = with_variables(base, variables)
    frame = frame.withColumn("_in_population", population(frame, s))
    reported = frame.where(F.col("effectif").isNotNull() | F.col("cotisation_due").isNotNull())
    frame = with_company_aggregates(reported, variables).where("_in_population")
    frame = with_sector_zscores(frame, variables)
    frame = frame.join(F.broadcast(silver["judgments"]), "siren", "left")
    names = [v.name for v in variables]
    return frame.select(
        "siret",
        "siren",
        month_of(F.col(B.MONTH_INDEX)).alias("periode"),
        B.MONTH_INDEX,
        *DESCRIPTIVE,
        *[F.col(n).cast("double") for n in names],
        *targets(F.col("date_premiere_ouverture"), s),
    )
