"""The variable catalog and the source series it is built on, without Spark: one declaration
per series, a load-time check of the builders, every variable traceable to its code."""

from __future__ import annotations

import re

import pytest

from common.config import PROJECT_ROOT
from features import panel, silver
from features.catalog import (
    CONTEXT,
    Variable,
    catalog,
    check,
    model_features,
    reference_set,
    version,
)
from features.document import TARGET, render
from features.explain import derivation, main, starts_from
from features.series import (
    FIGURE_COLUMNS,
    FIGURES,
    MONTHLY_TABLES,
    SOURCE_SERIES,
    ZERO_WHEN_ABSENT,
    columns_of,
)
from parsers.formats import AF_FIGURES, DIRCO_FIGURES, FORMATS, INDMAP_FIGURES


def test_catalog_is_large_distinct_and_documented() -> None:
    names = [v.name for v in catalog()]
    assert len(set(names)) == len(names) >= 800
    assert len(model_features()) >= 800
    assert 30 <= len(reference_set()) <= 40
    assert {"dette_part_ouvriere_lag12", "ratio_dette", "cotisation_moy12", "fin_marge_ebe"} <= set(
        reference_set()
    )
    assert TARGET.read_text() == render(), (
        "docs/variables.md is out of date: python -m features.document"
    )
    assert len(version()) == 16


def test_a_misspelt_builder_or_input_is_refused_when_the_catalog_loads() -> None:
    variables = catalog()
    assert check(variables) == variables
    typo = Variable("effectif_moy3_bis", "rolling_maen", "effectif", "x", ("effectif",), (3,))
    with pytest.raises(ValueError, match=r"effectif_moy3_bis \(rolling_maen\)"):
        check((*variables, typo))
    orphan = Variable("effectif_moy3_bis", "rolling_mean", "effectif", "x", ("efectif",), (3,))
    with pytest.raises(ValueError, match=r"effectif_moy3_bis: unknown inputs \['efectif'\]"):
        check((*variables, orphan))
    with pytest.raises(ValueError, match="declared twice"):
        check((*variables, variables[0]))


def test_each_series_is_declared_once_and_the_lists_follow() -> None:
    names = [s.name for s in SOURCE_SERIES]
    assert len(set(names)) == len(names)
    # the events (debt, partial activity, agreements): no record means none happened
    assert ZERO_WHEN_ABSENT == {
        "dette_part_ouvriere", "dette_part_patronale", "nb_ecarts_ouverts",
        "ap_heures_autorisees", "ap_effectif_autorise", "ap_demandes_en_cours",
        "ap_heures_consommees", "ap_montant_consomme", "ap_effectif_consomme",
        "delai_en_cours", "delai_montant", "delai_duree_jours", "ccsf_en_cours", "ccsf_refus",
    }  # fmt: skip
    assert set(MONTHLY_TABLES) <= set(silver.TABLES)
    assert panel.MONTHLY == {t: columns_of(t) for t in MONTHLY_TABLES if t != "company_headcount"}
    assert panel.MONTHLY["partial_activity"] == (
        "ap_heures_autorisees", "ap_effectif_autorise", "ap_demandes_en_cours",
        "ap_heures_consommees", "ap_montant_consomme", "ap_effectif_consomme",
    )  # fmt: skip
    for s in SOURCE_SERIES:  # each comes from a source that has a raw format and a silver table
        assert s.source in FORMATS and s.source in silver.TABLES[s.silver].sources, s
    # every DGFiP figure the parsers read is one figure of the catalog, and only those
    assert sorted(FIGURE_COLUMNS) == sorted((*AF_FIGURES, *INDMAP_FIGURES, *DIRCO_FIGURES))
    # the catalog's source variables are the series, the figures by year and the context
    sources = {v.name for v in catalog() if v.builder == "source"}
    figures = {f"fin_{f.name}{y}" for f in FIGURES for y in ("", "_n1", "_n2")}
    assert sources == {*names, *figures, *dict(CONTEXT), "fin_mois_depuis_cloture"}


CODE = re.compile(r"^(?P<path>[\w/.]+\.py):(?P<line>\d+) (?P<name>\w+)$")


def test_every_variable_is_traced_to_its_code_its_silver_columns_and_a_raw_file() -> None:
    checked: set[str] = set()
    for v in catalog():
        steps = derivation(v.name)
        assert steps[0].text.startswith(f"{v.name} [{v.group}]")
        assert any(s.text.startswith("parsed from the raw file") for s in steps), v.name
        assert starts_from(v.name), v.name
        for step in steps:
            if not step.code or step.code in checked:
                continue
            found = CODE.match(step.code)
            assert found, step.code
            lines = (PROJECT_ROOT / found["path"]).read_text().splitlines()
            at = int(found["line"])
            # the line named is the function's def, even below a decorator
            assert re.match(rf"\s*def {found['name']}\(", lines[at - 1]), step.code
            checked.add(step.code)
    assert len(checked) > 20


def test_explain_prints_a_variable_down_to_its_raw_columns(capsys) -> None:
    assert starts_from("fin_stocks_ca_n1") == [
        "financials.stocks_marchandises_n1",
        "financials.stocks_matieres_n1",
        "financials.ca_n1",
    ]
    assert starts_from("ratio_dette_moy12_max_entreprise") == [
        "debt.dette_part_ouvriere",
        "debt.dette_part_patronale",
        "contributions.cotisation_due",
    ]
    main(["fin_stocks_ca_n1"])
    out = capsys.readouterr().out
    for expected in (
        "= ratio(fin_stocks_ca_numerateur_n1, fin_ca_n1)",
        "= total(fin_stocks_marchandises_n1, fin_stocks_matieres_n1)",
        "from bronze declarations_indmap.d_actf_stk_march_net",
        "from bronze declarations_af.mnt_af_ca",
        "code: parsers/declarations_indmap.py:",
        "code: features/silver.py:",
        "code: features/builders.py:",
    ):
        assert expected in out, expected
    with pytest.raises(SystemExit, match="no variable named 'fin_stocks_ca_n3'.*did you mean"):
        main(["fin_stocks_ca_n3"])


def test_the_panel_job_explains_without_spark(capsys) -> None:
    from jobs import panel as job

    job.main(["--explain", "effectif_lag3"])
    out = capsys.readouterr().out
    assert "= lag(effectif, 3)" in out and "from bronze effectif.effectif" in out
