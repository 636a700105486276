"""Silver tables: current bronze records turned into series at a monthly grain.

Every value for a month uses only records dated at or before that month:
- a debt state counts from its processing month (the next one after the 20th)
  until the next state of the same gap takes over;
- a contribution for a quarter or a year spreads evenly over its months;
- a partial-activity request counts from the later of its first month and its
  decision month (a retroactive authorisation is not known before it is decided);
- a payment-delay agreement is in force from its creation month to its due month;
- a CCSF decision holds until the next one for the account (24 months at most);
- a fiscal year's figures are known ``filing_lag_months`` after its end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from common.geo import DEPARTEMENTS
from common.months import index_column
from common.naf import SECTION_OF_DIVISION
from features.series import FIGURE_COLUMNS, SOURCES_OF_FIGURES, series_of

MONTH_INDEX = "month_index"  # months since January 2000 (0 = 2000-01)
CCSF_HOLDS_MONTHS = 24

SECTIONS = "ABCDEFGHIJKLMNOPQRSTU"


COMBINE = {"sum": F.sum, "max": F.max}  # how a series combines the records of a month


def combined(table: str) -> list[Column]:
    """Aggregates combining the records of one month into each series of ``table``, as the
    series declare (features/series.py: sum, or max for flags and lengths)."""
    return [COMBINE[s.combine](s.name).alias(s.name) for s in series_of(table)]


def _months_between(first: Column, last: Column) -> Column:
    """Array of month indexes from first to last included (empty when last < first)."""
    return F.when(last >= first, F.sequence(first, last)).otherwise(F.array().cast("array<int>"))


def debt(debit: DataFrame, last_month: int) -> DataFrame:
    """Debt in force per account and month, from the first state to ``last_month``."""
    gap = ("numero_compte", "siret", "periode_debut", "periode_fin", "numero_ecart_negatif")
    start = index_column(F.col("periode_prise_en_compte"))
    # by account once: each window and aggregation below is by account and more, and needs
    # no shuffle of its own (3 -> 1; the 20k x 72 table 2.9 s -> 2.3 s, warm)
    states = debit.repartition("numero_compte").select(
        *gap,
        "numero_historique",
        start.alias("start"),
        F.coalesce("part_ouvriere", F.lit(0.0)).alias("po"),
        F.coalesce("part_patronale", F.lit(0.0)).alias("pp"),
    )
    following = F.lead("start").over(Window.partitionBy(*gap).orderBy("numero_historique"))
    # the next state takes over, never before this one starts; the last state holds
    states = states.withColumn(
        "end", F.when(following.isNotNull(), F.greatest(following, F.col("start")))
    )
    opened = ((F.col("po") + F.col("pp")) > 0).cast("int")
    changes = states.select(
        "numero_compte",
        "siret",
        F.explode(
            F.array(
                F.struct(F.col("start").alias("m"), F.col("po"), F.col("pp"), opened.alias("n")),
                F.struct(
                    F.col("end").alias("m"),
                    (-F.col("po")).alias("po"),
                    (-F.col("pp")).alias("pp"),
                    (-opened).alias("n"),
                ),
            )
        ).alias("c"),
    ).where(F.col("c.m").isNotNull() & (F.col("c.m") <= last_month))
    by_month = changes.groupBy("numero_compte", "siret", F.col("c.m").alias(MONTH_INDEX)).agg(
        F.sum("c.po").alias("dpo"), F.sum("c.pp").alias("dpp"), F.sum("c.n").alias("dn")
    )
    # The running sums over the months that change, each held until the next change (or
    # ``last_month``): the same sums as over every month (the months between add zeros),
    # without joining the changes back to a frame of every month, which read and ranked
    # the debit table twice (the 20k x 72 table 8-10 s alone).
    account = Window.partitionBy("numero_compte", "siret").orderBy(MONTH_INDEX)
    running = account.rowsBetween(Window.unboundedPreceding, 0)
    following = F.lead(MONTH_INDEX).over(account)
    sums = by_month.select(
        "numero_compte",
        "siret",
        MONTH_INDEX,
        F.coalesce(following - 1, F.lit(last_month)).alias("until"),
        *[F.sum(c).over(running).alias(c) for c in ("dpo", "dpp", "dn")],
    )
    return sums.select(
        "numero_compte",
        "siret",
        F.explode(F.sequence(MONTH_INDEX, "until")).alias(MONTH_INDEX),
        F.round("dpo", 2).alias("dette_part_ouvriere"),
        F.round("dpp", 2).alias("dette_part_patronale"),
        F.col("dn").cast("int").alias("nb_ecarts_ouverts"),
    )


def contributions(cotisation: DataFrame) -> DataFrame:
    """Contributions due and paid per account and month (periods spread evenly)."""
    spread = cotisation.where(
        F.col("periode_debut").isNotNull() & F.col("nb_mois").isNotNull()
    ).select(
        "numero_compte",
        "siret",
        "du",
        "encaisse",
        "nb_mois",
        F.explode(F.sequence(F.lit(0), F.col("nb_mois") - 1)).alias("k"),
        index_column(F.col("periode_debut")).alias("first"),
    )
    return spread.groupBy(
        "numero_compte", "siret", (F.col("first") + F.col("k")).alias(MONTH_INDEX)
    ).agg(
        F.sum(F.col("du") / F.col("nb_mois")).alias("cotisation_due"),
        F.sum(F.col("encaisse") / F.col("nb_mois")).alias("cotisation_payee"),
    )


def headcount(effectif: DataFrame) -> DataFrame:
    return effectif.select("siret", index_column(F.col("periode")).alias(MONTH_INDEX), "effectif")


def company_headcount(effectif_ent: DataFrame) -> DataFrame:
    return effectif_ent.select(
        "siren",
        index_column(F.col("periode")).alias(MONTH_INDEX),
        F.col("effectif").alias("effectif_entreprise"),
    )


def partial_activity(apdemande: DataFrame, apconso: DataFrame) -> DataFrame:
    """Hours authorised in force and consumed, per establishment and month."""
    first = index_column(F.col("periode_debut"))
    last = index_column(F.col("periode_fin"))
    known = F.greatest(first, index_column(F.col("date_statut")))
    length = last - first + 1
    requests = apdemande.where(
        F.col("periode_debut").isNotNull() & F.col("periode_fin").isNotNull()
    ).select(
        "siret",
        F.explode(_months_between(known, last)).alias(MONTH_INDEX),
        (F.col("hta") / length).alias("ap_heures_autorisees"),
        F.col("effectif_autorise").alias("ap_effectif_autorise"),
        F.lit(1).alias("ap_demandes_en_cours"),
    )
    consumed = apconso.select(
        "siret",
        index_column(F.col("periode")).alias(MONTH_INDEX),
        F.col("heures_consommees").alias("ap_heures_consommees"),
        F.col("montant").alias("ap_montant_consomme"),
        F.col("effectif").alias("ap_effectif_consomme"),
    )
    return (
        requests.unionByName(consumed, allowMissingColumns=True)
        .groupBy("siret", MONTH_INDEX)
        .agg(*combined("partial_activity"))
    )


def payment_delays(delai: DataFrame, ccsf: DataFrame) -> DataFrame:
    """Payment-delay agreements and CCSF plans in force, per establishment and month."""
    agreements = delai.where(
        F.col("date_creation").isNotNull() & F.col("siret").isNotNull()
    ).select(
        "siret",
        F.explode(
            _months_between(
                index_column(F.col("date_creation")),
                index_column(F.coalesce("date_echeance", "date_creation")),
            )
        ).alias(MONTH_INDEX),
        F.lit(1.0).alias("delai_en_cours"),
        F.col("montant_echeancier").alias("delai_montant"),
        F.col("duree_delai").cast("double").alias("delai_duree_jours"),
    )
    decided = index_column(F.col("date_traitement"))
    following = F.lead(decided).over(
        Window.partitionBy("numero_compte").orderBy("date_traitement", "stade")
    )
    until = F.least(
        F.coalesce(following - 1, decided + CCSF_HOLDS_MONTHS - 1), decided + CCSF_HOLDS_MONTHS - 1
    )
    decisions = ccsf.where(F.col("date_traitement").isNotNull() & F.col("siret").isNotNull())
    decisions = decisions.select("siret", "stade", decided.alias("first"), until.alias("last"))
    plans = decisions.select(
        "siret",
        F.explode(_months_between(F.col("first"), F.col("last"))).alias(MONTH_INDEX),
        F.col("stade").isin("DEBUT", "APPROB").cast("double").alias("ccsf_en_cours"),
        (F.col("stade") == "REFUS").cast("double").alias("ccsf_refus"),
    )
    return (
        agreements.unionByName(plans, allowMissingColumns=True)
        .groupBy("siret", MONTH_INDEX)
        .agg(*combined("payment_delays"))
    )


def judgments(procol: DataFrame, judgments: DataFrame) -> DataFrame:
    """Per company, the date of its first opening judgment (either source)."""
    urssaf = procol.where(F.col("stade_procol") == "ouverture").select(
        "siren", F.col("date_effet").alias("d")
    )
    dgfip = judgments.where(F.col("ouverture")).select("siren", F.col("date_jugement").alias("d"))
    return (
        urssaf.unionByName(dgfip)
        .where(F.col("d").isNotNull())
        .groupBy("siren")
        .agg(F.min("d").alias("date_premiere_ouverture"))
    )


def _most_complete(frame: DataFrame, figures: tuple[str, ...]) -> DataFrame:
    """One filing per (siren, fiscal year end): the most complete, then the latest batch."""
    filled = sum((F.col(c).isNotNull().cast("int") for c in figures), F.lit(0))
    order = [filled.desc(), F.col("batch_id").desc(), F.col("line_number").desc()]
    if "no_ocfi" in frame.columns:
        order.insert(2, F.col("no_ocfi").desc_nulls_last())
    best = Window.partitionBy("siren", "date_fin_exercice").orderBy(*order)
    return (
        frame.where(F.col("date_fin_exercice").isNotNull())
        .withColumn("_rank", F.row_number().over(best))
        .where("_rank = 1")
        .select("siren", "date_fin_exercice", *[F.col(c).alias(FIGURE_COLUMNS[c]) for c in figures])
    )


def financials(
    af: DataFrame, indmap: DataFrame, dirco: DataFrame, filing_lag_months: int
) -> DataFrame:
    """One row per company and fiscal year, with the two previous years and the month
    from which the year is known (``disponible``) until the next year is (``jusqua``)."""
    figures_of = SOURCES_OF_FIGURES
    years = (
        _most_complete(af, figures_of["declarations_af"])
        .join(
            _most_complete(indmap, figures_of["declarations_indmap"]),
            ["siren", "date_fin_exercice"],
            "full",
        )
        .join(
            _most_complete(dirco, figures_of["ratios_dirco"]),
            ["siren", "date_fin_exercice"],
            "full",
        )
    )
    figures = list(FIGURE_COLUMNS.values())
    ordered = Window.partitionBy("siren").orderBy("date_fin_exercice")
    available = index_column(F.add_months(F.col("date_fin_exercice"), filing_lag_months))
    return years.select(
        "siren",
        "date_fin_exercice",
        available.alias("disponible"),
        (F.lead(available).over(ordered) - 1).alias("jusqua"),
        *[F.col(f) for f in figures],
        *[F.lag(f, 1).over(ordered).alias(f"{f}_n1") for f in figures],
        *[F.lag(f, 2).over(ordered).alias(f"{f}_n2") for f in figures],
    )


def establishments(sirene: DataFrame, sirene_ul: DataFrame) -> DataFrame:
    """Static description of each establishment and its company."""
    company = sirene_ul.select(
        "siren",
        F.col("categorie_juridique"),
        F.col("date_creation").alias("date_creation_entreprise"),
        F.col("ape").alias("ape_entreprise"),
    )
    naf = F.coalesce(F.col("ape"), F.col("ape_entreprise"))
    division = F.substring(naf, 1, 2)
    section = F.create_map(*[F.lit(x) for kv in SECTION_OF_DIVISION.items() for x in kv])[division]
    region = F.create_map(*[F.lit(x) for d, (r, _) in DEPARTEMENTS.items() for x in (d, r)])
    return sirene.join(company, "siren", "left").select(
        "siret",
        "siren",
        naf.alias("code_naf"),
        section.alias("section_naf"),
        division.alias("division_naf"),
        F.col("departement").alias("code_departement"),
        region[F.col("departement")].alias("code_region"),
        "date_creation",
        "date_creation_entreprise",
        F.col("siege").alias("est_siege"),
        F.col("categorie_juridique").alias("code_categorie_juridique"),
    )


@dataclass(frozen=True)
class Table:
    """How a silver table is built: from the current records of ``sources`` (in the order of
    ``build``'s arguments), then the run's ``parameters`` (names of build_all's arguments)."""

    build: Callable[..., DataFrame]
    sources: tuple[str, ...]
    parameters: tuple[str, ...] = ()


TABLES = {
    "headcount": Table(headcount, ("effectif",)),
    "contributions": Table(contributions, ("cotisation",)),
    "debt": Table(debt, ("debit",), ("last_month",)),
    "company_headcount": Table(company_headcount, ("effectif_ent",)),
    "partial_activity": Table(partial_activity, ("apdemande", "apconso")),
    "payment_delays": Table(payment_delays, ("delai", "ccsf")),
    "judgments": Table(judgments, ("procol", "judgments")),
    "financials": Table(
        financials,
        ("declarations_af", "declarations_indmap", "ratios_dirco"),
        ("filing_lag_months",),
    ),
    "establishments": Table(establishments, ("sirene", "sirene_ul")),
}


def build(
    name: str, bronze: dict[str, DataFrame], filing_lag_months: int, last_month: int
) -> DataFrame:
    """Silver table ``name`` from the current bronze records (nothing is read or written)."""
    table = TABLES[name]
    parameters = {"filing_lag_months": filing_lag_months, "last_month": last_month}
    inputs = [bronze[s] for s in table.sources]
    return table.build(*inputs, *[parameters[p] for p in table.parameters])


def build_all(
    bronze: dict[str, DataFrame], filing_lag_months: int, last_month: int
) -> dict[str, DataFrame]:
    """Every silver table from the current bronze records (nothing is read or written)."""
    return {name: build(name, bronze, filing_lag_months, last_month) for name in TABLES}


def last_month(effectif: DataFrame) -> int | None:
    """The last month the data covers: the latest month with a headcount, from the bronze
    headcount table's records, all of them or the current ones (the period is part of the
    natural key, so every period of a record is a current record's: reading them all spares
    the current-record rule's sort of the whole table, 6.8 s -> 1.5 s at 20k x 72)."""
    return effectif.agg(F.max(index_column(F.col("periode")))).first()[0]
