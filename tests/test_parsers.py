"""Parsers: exact decoders on tiny frames, and golden parity with the reference's samples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from golden import FIXTURES, GOLDEN, assert_same_records, expected
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from common.config import PROJECT_ROOT
from ingestion.parse import parse_lines
from ingestion.reader import read_lines
from parsers import common
from parsers.formats import FORMATS
from parsers.procol import split_label
from parsers.registry import PARSERS


def decode(spark, decoder, values: list[str | None]) -> list:
    frame = spark.createDataFrame([(v,) for v in values], "s string")
    decoded = decoder(F.col("s"), "s")
    return [
        (r.v, r.e)
        for r in frame.select(decoded.value.alias("v"), decoded.error.alias("e")).collect()
    ]


def test_urssaf_dates(spark) -> None:
    texts = ["1180130", "990401", "1200229", "1181231", "1181345", "1180431", "1190229"]
    got = decode(spark, common.urssaf_date, [*texts, "1180100", "1180001", "12a", None])
    bad = (None, "s: not an URSSAF date (YYYMMDD)")
    assert got == [
        (dt.date(2018, 1, 30), None),
        (dt.date(1999, 4, 1), None),
        (dt.date(2020, 2, 29), None),  # a leap year
        (dt.date(2018, 12, 31), None),
        *[bad] * 3,  # month 13, 31 April, 29 February of a common year
        *[bad] * 2,  # day 0, month 0
        bad,
        (None, None),  # empty: no value, no error
    ]


def test_procol_dates(spark) -> None:
    texts = ["26MAY2014", "01jan2020", "29FEB2020", "29FEB2019", "31APR2014", "26XYZ2014"]
    got = decode(spark, common.procol_date, [*texts, "2014-05-26", None])
    bad = (None, "s: not a date (DDMONYYYY)")
    assert got == [
        (dt.date(2014, 5, 26), None),
        (dt.date(2020, 1, 1), None),  # any case
        (dt.date(2020, 2, 29), None),
        *[bad] * 3,  # a common year's 29 February, 31 April, an unknown month
        bad,
        (None, None),
    ]


def test_urssaf_periods(spark) -> None:
    frame = spark.createDataFrame(
        [
            ("201712",),
            ("1031",),
            ("201762",),
            ("0232",),
            ("201740",),
            ("201771",),
            ("199904",),
            (None,),
        ],
        "s string",
    )
    p = common.urssaf_period(F.col("s"), "periode")
    got = frame.select(
        "s",
        p.start.alias("start"),
        p.end.alias("end"),
        p.months.alias("months"),
        p.error.alias("error"),
    )
    expected = spark.createDataFrame(
        [
            ("201712", dt.date(2017, 2, 1), dt.date(2017, 3, 1), 1, None),  # Feb 2017
            ("1031", dt.date(2010, 7, 1), dt.date(2010, 8, 1), 1, None),  # Jul 2010
            ("201762", dt.date(2017, 1, 1), dt.date(2018, 1, 1), 12, None),  # the year
            ("0232", dt.date(2002, 8, 1), dt.date(2002, 9, 1), 1, None),
            ("201740", dt.date(2017, 10, 1), dt.date(2018, 1, 1), 3, None),  # Q4, whole quarter
            ("201771", None, None, None, "periode: not an URSSAF period (YYQM)"),  # quarter 7
            ("199904", dt.date(1999, 1, 1), dt.date(1999, 2, 1), 1, None),  # as the reference
            (None, None, None, None, None),
        ],
        "s string, start date, end date, months int, error string",
    )
    assertDataFrameEqual(got, expected)


def test_amounts_cents_headcounts(spark) -> None:
    assert decode(spark, common.amount, ["-68231", "12345,67", "1 234,5", "12a5"]) == [
        (-68231.0, None),
        (12345.67, None),
        (1234.5, None),
        (None, "s: not an amount"),
    ]
    # cents, also with a decimal point or comma (URSSAF amounts may carry either)
    assert decode(spark, common.cents, ["195907", "-3", "195907.0", "1,5", "1O,5"]) == [
        (1959.07, None),
        (-0.03, None),
        (1959.07, None),
        (0.015, None),
        (None, "s: not an amount in cents"),
    ]
    cells = ["089", "1 234", "1\u202f234", "-5", "12a5", "1234", "12345", "1.234", "1 234 567"]
    cells += ["12.0", "1000,00", "1.000", "1.5", "12.50"]
    frame = spark.createDataFrame([(c,) for c in cells], "s string")
    values = [r.v for r in frame.select(common.headcount_value(F.col("s")).alias("v")).collect()]
    # with or without thousands separators: a plain 1234 is a headcount too; so is a float
    # with a null fraction of one or two digits (three digits are a group: 1.000 is 1000)
    assert values[:9] == [89, 1234, 1234, -5, None, 1234, 12345, 1234, 1234567]
    assert values[-5:] == [12, 1000, 1000, None, None]
    assert decode(spark, common.number, ["1e-05", "-2,5E3", "0.25", "1e", "e5"]) == [
        (1e-05, None),
        (-2500.0, None),
        (0.25, None),
        (None, "s: not a number"),
        (None, "s: not a number"),
    ]


def test_procol_labels_in_either_order(spark) -> None:
    frame = spark.createDataFrame(
        [
            ("Solde_procedure_redressement",),
            ("Liquidation_ouverture",),
            ("Plan_sauvegarde",),
            ("Ouverture",),
        ],
        "s string",
    )
    action, stage = split_label(F.col("s"))
    got = [tuple(r) for r in frame.select(action, stage).collect()]
    assert got == [
        ("redressement", "solde_procedure"),
        ("liquidation", "ouverture"),
        ("sauvegarde", "plan"),
        (None, None),
    ]


def test_tokenize_quotes_and_separators(spark) -> None:
    fmt = FORMATS["apdemande"]
    lines = ['"a","b,c",,1.5', '"a","b,1.5', 'x,""y""z"', 'x"y,z', "a,,b ,", ",", "a", ',"b",']
    frame = spark.createDataFrame([(s,) for s in lines], "s string")
    got = [r.f for r in frame.select(common.tokenize(F.col("s"), fmt).alias("f")).collect()]
    assert got == [
        ["a", "b,c", "", "1.5"],
        None,
        None,
        ['x"y', "z"],  # a quote inside an unquoted field
        ["a", "", "b ", ""],  # without quotes: split at every separator, empty fields kept
        ["", ""],
        ["a"],
        ["", "b", ""],  # an empty first field, on a line with quotes
    ]


def test_an_empty_first_field_leaves_the_others_in_place(spark, tmp_path) -> None:
    """URSSAF's first column (``Urssaf_gestion``) is optional: a line that leaves it empty,
    with or without quotes, is read with every other field where the header says."""
    path = tmp_path / "sigfaible_cotisation.csv"
    path.write_text(
        "Urssaf_gestion;Dep;Siret;Compte;periode;mer;enc_direct;cotis_due\n"
        ";31;10000019900016;000123456789013117;201611;4;31988.45;31988.45\n"
        ';31;10000019900016;"000123456789013117";201612;4;10.5;10.5\n'
    )
    parsed = parse_lines(read_lines(spark, str(path)), PARSERS["cotisation"], path.name)
    columns = ("_reject", "urssaf_gestion", "departement", "numero_compte", "du")
    got = [tuple(r) for r in parsed.orderBy("line_number").select(*columns).collect()]
    assert got == [
        (None, None, "31", "000123456789013117", 31988.45),
        (None, None, "31", "000123456789013117", 10.5),
    ]


def test_forms_the_format_allows_and_our_generator_does_not_write(spark, tmp_path) -> None:
    """A headcount of 1,000 or more without a thousands separator or one written as a float,
    debit amounts in cents with a decimal point or comma, a reason code written as a float:
    each line is read whole, with its values (each used to reject the line, or drop the
    reason)."""
    effectif = tmp_path / "sigfaible_effectif_siret.csv"
    effectif.write_text(
        "compte;siret;rais_soc;ape_ins;dep;eff201011;eff201012;eff201013;base;UR_EMET\n"
        "000123;10000019900016;SARL A;1086E;31;1234;1 500;12.0;B1;117\n"
    )
    parsed = parse_lines(read_lines(spark, str(effectif)), PARSERS["effectif"], effectif.name)
    assert parsed.where(F.col("_reject").isNotNull()).count() == 0
    records = PARSERS["effectif"].explode(parsed).orderBy("periode")
    assert [(r.periode, r.effectif) for r in records.collect()] == [
        (dt.date(2010, 1, 1), 1234),
        (dt.date(2010, 2, 1), 1500),
        (dt.date(2010, 3, 1), 12),
    ]
    debit = tmp_path / "sigfaible_debits.csv"
    header = (
        "Urssaf_gestion;Dep;num_cpte;Siren;Siret;Dt_immat;Etat_cpte;Cd_pro_col;Periode;Num_Ecn;"
        "Num_Hist_Ecn;Dt_trt_ecn;Mt_PO;Mt_PP;Cd_op_ecn;Motif_ecn;Recours_en_cours"
    )
    rest = ";100000199;10000019900016;20100101;1;0;201711;1;1;1180101;"
    debit.write_text(f"{header}\n117;31;000123{rest}195907.0;100;3;74;0\n"
                     f"117;31;000124{rest}1959,07;0;3;74;0\n")  # fmt: skip
    parsed = parse_lines(read_lines(spark, str(debit)), PARSERS["debit"], debit.name)
    got = [tuple(r) for r in parsed.orderBy("line_number").select("_reject", "part_ouvriere",
                                                                   "part_patronale").collect()]  # fmt: skip
    assert got == [(None, 1959.07, 1.0), (None, 19.5907, 0.0)]
    demande = tmp_path / "act_partielle_ddes.csv"
    demande.write_text(
        '"ID_DA","ETAB_SIRET","EFF_ENT","EFF_ETAB","DATE_STATUT","DATE_DEB","DATE_FIN","HTA",'
        '"MTA","EFF_AUTO","MOTIF_RECOURS_SE","PERIMETRE_AP","S_HEURE_CONSOM_TOT",'
        '"S_EFF_CONSOM_TOT","S_MONTANT_CONSOM_TOT","RECOURS_ANTERIEUR"\n'
        '"D1","10000019900016",10,10,"2020-03-20","2020-03-16","2020-06-30",100,"1000,5",5,'
        '"2.0","1",0,0,0,"0"\n'
    )
    parsed = parse_lines(read_lines(spark, str(demande)), PARSERS["apdemande"], demande.name)
    assert [tuple(r) for r in parsed.select("_reject", "motif_recours_se").collect()] == [(None, 2)]


@pytest.mark.parametrize("source", sorted(GOLDEN))
def test_golden_parity_with_the_reference(spark, source: str) -> None:
    sample, _ = GOLDEN[source]
    reference = expected(source)
    lines = read_lines(spark, str(FIXTURES / sample))
    parsed = parse_lines(lines, PARSERS[source], sample).persist()
    accepted = parsed.where(F.col("_reject").isNull() & F.col("_skip").isNull())
    rows = [r.asDict() for r in accepted.orderBy("line_number").collect()]

    assert_same_records(rows, reference["tuples"])

    report = reference["reports"][0]
    counts = {
        r["status"]: r["n"]
        for r in parsed.select(
            F.when(F.col("_reject").isNotNull(), "rejected")
            .when(F.col("_skip").isNotNull(), "skipped")
            .when(F.col("_field_error").isNotNull(), "nulled")
            .otherwise("valid")
            .alias("status")
        )
        .groupBy("status")
        .agg(F.count(F.lit(1)).alias("n"))
        .collect()
    }
    assert sum(counts.values()) == report["lines_parsed"]
    # the reference counts a line with an unusable value as rejected, and still emits its record
    assert counts.get("rejected", 0) + counts.get("nulled", 0) == report["lines_rejected"]
    assert counts.get("skipped", 0) == report["lines_skipped"]
    assert counts.get("valid", 0) == report["lines_valid"]


def test_samples_without_reference_output(spark) -> None:
    """apconso and the wide headcount files have samples but no expected parse: checked by hand."""

    def parse(source: str, sample: str):
        parsed = parse_lines(read_lines(spark, str(FIXTURES / sample)), PARSERS[source], sample)
        return parsed.where(F.col("_reject").isNull())

    conso = parse("apconso", "apconsoTestData.csv").select(
        "id_demande", "periode", "heures_consommees", "effectif"
    )
    assert [tuple(r) for r in conso.orderBy("line_number").collect()] == [
        ("d363954866", dt.date(2004, 12, 1), 311.54, 0),
        ("u90q913412", dt.date(2019, 1, 1), 44.11, 2),
        ("p95a076375", dt.date(2020, 12, 1), 780.0, 16),  # MOIS 2020-12-30: its month
    ]
    ent = PARSERS["effectif_ent"].explode(parse("effectif_ent", "effectifEntTestData.csv"))
    assert [(r.periode, r.effectif) for r in ent.orderBy("periode").collect()] == [
        (dt.date(2010, 1, 1), 629),
        (dt.date(2010, 2, 1), 536),
        (dt.date(2010, 3, 1), 209),
        (dt.date(2010, 4, 1), 0),
        (dt.date(2010, 5, 1), 585),
    ]
    siret = PARSERS["effectif"].explode(parse("effectif", "effectifTestData.csv"))
    first = siret.where("siret = '54236870268934'")
    assert first.count() == 112
    assert first.where("periode = '2010-07-01'").first().effectif == 89  # eff201031: "089"
    last = siret.where("siret = '31672661744173'")
    assert last.count() == 93  # its 19 last months are empty: unknown, no record


def test_every_source_has_a_parser_a_suite_and_a_format() -> None:
    assert set(PARSERS) == set(FORMATS)
    suites = {p.stem for p in (PROJECT_ROOT / "expectations").glob("*.yaml")}
    assert suites == set(FORMATS)
    for parser in PARSERS.values():
        header = [c.lower() for c in parser.format.header]
        assert all(c.lower() in header or parser.format.wide_months for c in parser.required)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
