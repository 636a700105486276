"""Variable builders and silver rules on tiny frames, values computed by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from features import builders as B
from features import silver as S
from features.panel import PanelSettings, population

# Establishment A reports months 0, 1, 2, 4, 5 (month 3 is a gap, month 2 a null);
# B has a single month.
ROWS = [("a", "A", 0, 1.0, 1.0), ("a", "A", 1, 2.0, 0.0), ("a", "A", 2, None, None),
        ("a", "A", 4, 4.0, 1.0), ("a", "A", 5, 8.0, 0.0), ("b", "B", 0, 10.0, 1.0)]  # fmt: skip
SCHEMA = "siren string, siret string, month_index int, x double, f double"


@pytest.fixture(scope="module")
def frame(spark):
    return spark.createDataFrame(ROWS, SCHEMA)


def values(frame, column) -> list:
    rows = frame.select("siret", "month_index", column.alias("v")).orderBy("siret", "month_index")
    return [r.v for r in rows.collect()]


@pytest.mark.parametrize(
    "builder, args, expected",
    [
        ("lag", (1,), [None, 1.0, 2.0, None, 4.0, None]),  # month 3 missing: no value for month 4
        ("lag", (2,), [None, None, 1.0, None, None, None]),  # month 2 is null
        ("rolling_mean", (3,), [1.0, 1.5, 1.5, 4.0, 6.0, 10.0]),
        ("rolling_sum", (3,), [1.0, 3.0, 3.0, 4.0, 12.0, 10.0]),
        ("rolling_min", (3,), [1.0, 1.0, 1.0, 4.0, 4.0, 10.0]),
        ("rolling_max", (3,), [1.0, 2.0, 2.0, 4.0, 8.0, 10.0]),
        ("diff", (1,), [None, 1.0, None, None, 4.0, None]),
        ("pct_change", (1,), [None, 1.0, None, None, 1.0, None]),
        ("cumulative_sum", (), [1.0, 3.0, 3.0, 7.0, 15.0, 10.0]),
    ],
)
def test_window_builders(frame, builder, args, expected) -> None:
    assert values(frame, B.WINDOW[builder](F.col("x"), *args)) == expected


def test_trend_is_the_least_squares_slope_over_calendar_months(frame) -> None:
    got = values(frame, B.trend(F.col("x"), 6))
    # month 4: points (0,1) (1,2) (4,4); month 5: (0,1) (1,2) (4,4) (5,8); fewer than 3: null
    assert got[:3] == [None, None, None]
    assert got[3] == pytest.approx(19 / 26)
    assert got[4] == pytest.approx(82 / 68)
    assert got[5] is None


def test_flag_builders(frame) -> None:
    assert values(frame, B.months_since(F.col("f"))) == [0, 1, 2, 0, 1, 0]
    # months since the flag was last false (month 1), the gap and the null month included
    assert values(frame, B.spell(F.col("f"))) == [1, 0, None, 3, 0, 1]


def test_row_builders(spark) -> None:
    frame = spark.createDataFrame([(6.0, 3.0), (1.0, 0.0), (None, 2.0), (-1.0, None)], "a double, b double")
    got = frame.select(
        B.ratio(F.col("a"), F.col("b")).alias("ratio"),
        B.total(F.col("a"), F.col("b")).alias("total"),
        B.positive(F.col("a")).alias("positive"),
    )
    expected = spark.createDataFrame(
        [(2.0, 9.0, 1.0), (None, 1.0, 1.0), (None, 2.0, None), (None, -1.0, 0.0)],
        "ratio double, total double, positive double",
    )
    assertDataFrameEqual(got, expected)


def test_no_builder_reads_a_later_month(frame) -> None:
    """Every window frame ends at the current month: changing month 5 changes no earlier row."""
    changed = frame.withColumn("x", F.when(F.col("month_index") == 5, F.lit(1000.0)).otherwise(F.col("x")))
    for name, fn in B.WINDOW.items():
        args = () if name in ("cumulative_sum", "months_since", "spell") else (3,)
        column = F.col("f") if name in ("months_since", "spell") else F.col("x")
        before = values(frame.where("month_index < 5"), fn(column, *args))
        after = values(changed, fn(column, *args))
        rows_before_5 = [v for v, r in zip(after, ROWS, strict=True) if r[2] < 5]
        assert before == rows_before_5, name


# --- silver rules -------------------------------------------------------------------------


DEBIT = ("numero_compte string, siret string, periode_debut date, periode_fin date, "
         "numero_ecart_negatif string, numero_historique int, periode_prise_en_compte date, "
         "part_ouvriere double, part_patronale double")  # fmt: skip


def test_debt_follows_the_gap_history_rule(spark) -> None:
    """Each state counts from its processing month until the next state of its gap."""
    p = (dt.date(2017, 12, 1), dt.date(2018, 1, 1))
    states = spark.createDataFrame([
        ("C", "S", *p, "1", 1, dt.date(2018, 1, 1), 100.0, 200.0),  # January
        ("C", "S", *p, "1", 2, dt.date(2018, 4, 1), 50.0, 100.0),  # processed 25 March: April
        ("C", "S", *p, "1", 3, dt.date(2018, 4, 1), 0.0, 0.0),  # same month: takes over at once
        ("C", "S", *p, "2", 1, dt.date(2018, 2, 1), 10.0, 20.0),  # never repaid
    ], DEBIT)  # fmt: skip
    january = S.month_index(F.lit("2018-01-01").cast("date"))
    last = spark.range(1).select(january + 4).first()[0]  # May 2018
    got = S.debt(states, last).orderBy("month_index")
    rows = [(r.month_index - last + 4, r.dette_part_ouvriere, r.dette_part_patronale, r.nb_ecarts_ouverts)
            for r in got.collect()]  # fmt: skip
    assert rows == [(0, 100.0, 200.0, 1), (1, 110.0, 220.0, 2), (2, 110.0, 220.0, 2),
                    (3, 10.0, 20.0, 1), (4, 10.0, 20.0, 1)]  # fmt: skip


def test_processing_month_moves_after_the_20th(spark) -> None:
    from parsers.debit import processing_month

    frame = spark.createDataFrame([(dt.date(2018, 3, 20),), (dt.date(2018, 3, 21),)], "d date")
    got = [r.m for r in frame.select(processing_month(F.col("d")).alias("m")).collect()]
    assert got == [dt.date(2018, 3, 1), dt.date(2018, 4, 1)]


def test_contributions_spread_over_their_months(spark) -> None:
    cotisation = spark.createDataFrame(
        [("C", "S", dt.date(2018, 1, 1), 3, 300.0, 150.0), ("C", "S", dt.date(2018, 2, 1), 1, 10.0, 10.0)],
        "numero_compte string, siret string, periode_debut date, nb_mois int, du double, encaisse double",
    )
    got = S.contributions(cotisation).orderBy("month_index")
    assert [(r.cotisation_due, r.cotisation_payee) for r in got.collect()] == [
        (100.0, 50.0), (110.0, 60.0), (100.0, 50.0),
    ]  # fmt: skip


def test_a_request_counts_from_its_decision(spark) -> None:
    requests = spark.createDataFrame(
        [("S", dt.date(2020, 3, 1), dt.date(2020, 5, 31), dt.date(2020, 4, 10), 300.0, 5)],
        "siret string, periode_debut date, periode_fin date, date_statut date, hta double, effectif_autorise int",
    )
    conso = spark.createDataFrame([], "siret string, periode date, heures_consommees double, montant double, effectif int")
    got = S.partial_activity(requests, conso).orderBy("month_index")
    # three months, 100 hours each; March is before the decision: not known then
    assert [(r.month_index % 12 + 1, r.ap_heures_autorisees) for r in got.collect()] == [(4, 100.0), (5, 100.0)]


def test_a_fiscal_year_is_known_after_the_filing_lag(spark) -> None:
    af = spark.createDataFrame(
        [("123456789", dt.date(2018, 12, 31), "1", 100.0, "b", 1), ("123456789", dt.date(2019, 12, 31), "1", 120.0, "b", 2),
         ("123456789", dt.date(2019, 12, 31), "2", None, "b", 3)],  # a second, less complete filing
        "siren string, date_fin_exercice date, no_ocfi string, mnt_af_ca double, batch_id string, line_number int",
    )
    empty = af.select("siren", "date_fin_exercice", "batch_id", "line_number")
    years = S.financials(af, empty, empty, filing_lag_months=6).orderBy("date_fin_exercice").collect()
    assert [(r.disponible % 12 + 1, r.jusqua, r.ca, r.ca_n1) for r in years] == [
        (6, years[1].disponible - 1, 100.0, None),  # known from June 2019 until May 2020
        (6, None, 120.0, 100.0),
    ]  # fmt: skip


# --- population ------------------------------------------------------------------------------


def test_population_edges(spark) -> None:
    settings = PanelSettings(start_index=0, last_index=100, horizon_months=18, min_employees=10,
                             lookback_months=12, excluded_naf_sections=("O", "P"),
                             public_legal_prefixes=("4", "7"), partitions=2)  # fmt: skip
    rows = [
        # exactly ten employees: in
        ("1", "E10", 20, 10.0, None, "5710", "C"),
        # a firm that drops below ten: in for 12 months after its last month at ten, then out
        *[("2", "DROP", m, 10.0 if m == 20 else 9.0, None, "5710", "C") for m in range(20, 34)],
        # a public body and an education establishment: out
        ("3", "PUB", 20, 50.0, None, "7210", "C"),
        ("4", "EDU", 20, 50.0, None, "5710", "P"),
        # not reported this month (no headcount, no contribution): out
        ("5", "SILENT", 20, None, None, "5710", "C"),
    ]
    frame = spark.createDataFrame(rows, "siren string, siret string, month_index int, effectif double, "
                                  "cotisation_due double, code_categorie_juridique string, section_naf string")  # fmt: skip
    kept = frame.where(population(frame, settings)).select("siret", "month_index").collect()
    got = sorted((r.siret, r.month_index) for r in kept)
    assert got == [("DROP", m) for m in range(20, 32)] + [("E10", 20)]
