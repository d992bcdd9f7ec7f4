"""Sign-up sheets as organisers keep them: Dutch or English headers, values in any case, re-imports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kleroterion.errors import InfeasibleQuotaError, InputError, KleroError
from sortition.letters import make_codes
from sortition.pool import build_pool, person_id
from sortition.quotas import check_pool_against_quotas
from sortition.signup import DEFAULT_CATEGORIES, _clashes, categories_from_settings, normalise
from tests.conftest import make_pool, make_quotas

CODES = make_codes(6, np.random.default_rng(3))
LETTERS = pd.DataFrame({"code": CODES, "address_key": [f"a{i}" for i in range(6)], "wijk": ["WK01", "WK02"] * 3})
CLIMATE = {
    "name": "climate_opinion",
    "label_nl": "Mening over klimaatbeleid",
    "label_en": "Opinion on climate policy",
    "aliases": ["klimaatmening"],
    "values": [
        {"value": "te_ver", "label_nl": "Gaat te ver", "label_en": "Goes too far"},
        {"value": "goed", "label_nl": "Precies goed", "label_en": "About right", "aliases": ["goed zo"]},
        {"value": "niet_ver_genoeg", "label_nl": "Gaat niet ver genoeg", "label_en": "Not far enough"},
    ],
}


def sheet(rows: list[list[str]], header: list[str]) -> pd.DataFrame:
    """A sign-up sheet as ``read_table`` gives it: strings, index = file row numbers from 2."""
    return pd.DataFrame(rows, columns=header, index=range(2, len(rows) + 2), dtype=str)


@pytest.mark.parametrize(
    ("text", "folded"),
    [(" Leeftijds_Groep ", "leeftijds groep"), ("Opleiding", "opleiding"), ("Ééntje", "eentje"), ("16 – 24", "16 24")],
)
def test_normalise_ignores_case_accents_and_separators(text: str, folded: str) -> None:
    assert normalise(text) == folded


def test_the_built_in_categories_have_no_clashing_names() -> None:
    assert _clashes(DEFAULT_CATEGORIES) == []


def test_dutch_headers_and_mixed_case_accented_values_become_canonical() -> None:
    frame = sheet(
        [
            [CODES[0].lower(), "Vrouw", "25-39", "HOOG"],
            [CODES[1], "m", "70 en ouder", "Middelbaar"],
            [CODES[2], "VROUW", "16 – 24", "laag"],
            [CODES[3], "V", "55-69", "lager"],
            [CODES[4], "Anders", "40-54", "hóóg"],
        ],
        [" Uitnodigingscode", "GESLACHT", "Leeftijdsgroep", "Opleiding"],
    )
    result = build_pool(frame, LETTERS, source="aanmeldingen.csv")
    assert result.new["gender"].tolist() == ["V", "M", "V", "V", "O"]
    assert result.new["age_band"].tolist() == ["25-39", "70+", "16-24", "55-69", "40-54"]
    assert result.new["education"].tolist() == ["hoog", "middelbaar", "laag", "laag", "hoog"]
    assert result.new["id"].tolist() == [person_id(c) for c in CODES[:5]]
    assert result.new["wijk"].tolist() == ["WK01", "WK02", "WK01", "WK02", "WK01"]
    assert result.columns["gender"] == "GESLACHT"


def test_unknown_values_are_all_named_with_row_column_value_and_the_allowed_values() -> None:
    frame = sheet(
        [[CODES[0], "vrouw", "25-39", "universiteit"], [CODES[1], "onbekend", "12-15", "hoog"]],
        ["Code", "Geslacht", "Leeftijdsgroep", "Opleiding"],
    )
    with pytest.raises(InputError) as caught:
        build_pool(frame, LETTERS, source="aanmeldingen.csv")
    message = str(caught.value)
    assert "3 problems in aanmeldingen.csv" in message
    assert (
        "aanmeldingen.csv, row 2, column 'Opleiding': not an allowed value; allowed: laag, middelbaar, hoog "
        "(value: 'universiteit')" in message
    )
    assert "row 3, column 'Geslacht': not an allowed value; allowed: M (Man), V (Vrouw), O (Anders)" in message
    assert "row 3, column 'Leeftijdsgroep'" in message
    assert "'12-15'" in message


def test_missing_and_doubled_headers_are_reported_before_any_row() -> None:
    frame = sheet([[CODES[0], "V", "V", "hoog"]], ["code", "gender", "Geslacht", "education"])
    with pytest.raises(InputError) as caught:
        build_pool(frame, LETTERS, source="s.csv")
    message = str(caught.value)
    assert "both 'gender' and 'Geslacht' are the column 'gender'" in message
    assert "column 'age_band': missing column (give it one of the names age_band, Leeftijdsgroep" in message


def test_rows_already_in_the_pool_are_skipped_and_changed_ones_are_conflicts() -> None:
    frame = sheet(
        [[CODES[0], "vrouw", "25-39", "hoog"], [CODES[1], "M", "70+", "laag"], [CODES[2], "V", "16-24", "laag"]],
        ["code", "geslacht", "leeftijdsgroep", "opleiding"],
    )
    pooled = {
        CODES[0]: {"gender": "V", "age_band": "25-39", "education": "hoog"},
        CODES[1]: {"gender": "M", "age_band": "70+", "education": "hoog"},
    }
    result = build_pool(frame, LETTERS, source="s.csv", pooled=pooled)
    assert result.new["letter_code"].tolist() == [CODES[2]]
    assert result.already == 1
    assert [(c.row, c.code, c.differences) for c in result.conflicts] == [
        (3, CODES[1], {"education": ("hoog", "laag")})
    ]
    assert "row 3, code" in result.conflicts[0].describe()


def test_a_declared_category_joins_the_built_in_ones_by_name() -> None:
    categories = categories_from_settings([{"name": "gender"}, CLIMATE], source="process.toml")
    assert [c.name for c in categories] == ["gender", "climate_opinion"]
    assert categories[0] == DEFAULT_CATEGORIES[0]
    climate = categories[1]
    assert climate.source == "shares-file"
    assert [climate.canonical(v) for v in ("Goed zo", "GAAT TE VER", "not far enough", "?")] == [
        "goed",
        "te_ver",
        "niet_ver_genoeg",
        None,
    ]
    frame = sheet([[CODES[0], "vrouw", "Goed zo"]], ["code", "Geslacht", "Klimaatmening"])
    assert build_pool(frame, LETTERS, source="s.csv", categories=categories).new.iloc[0]["climate_opinion"] == "goed"


def test_no_declared_categories_means_the_built_in_ones() -> None:
    assert categories_from_settings([], source="process.toml") == DEFAULT_CATEGORIES


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ([{"name": "Klimaat", "values": ["a"]}], "must be lower-case"),
        ([{"name": "klimaat"}], "give its values"),
        ([{"name": "wijk", "values": ["a"]}], "is taken"),
        ([{"name": "klimaat", "values": ["a"], "source": "registry"}], "the registry gives shares only"),
        ([{"name": "klimaat", "values": ["a"], "source": "settings"}], "needs population_shares"),
        ([{"name": "klimaat", "values": ["ja", "JA"]}], "would mean both"),
        ([{"name": "klimaat", "values": ["ja"], "aliases": ["geslacht"]}, {"name": "gender"}], "also belongs to"),
        ([{"name": "klimaat", "values": ["ja"], "population_shares": {"nee": 1.0}}], "not one of its values"),
        ([{"name": "klimaat", "values": ["ja"], "colour": "red"}], "unknown key(s) colour"),
    ],
)
def test_bad_declarations_are_reported(entries: list[dict[str, object]], fragment: str) -> None:
    with pytest.raises(KleroError) as caught:
        categories_from_settings(entries, source="process.toml")
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("process.toml: the sign-up categories cannot be used")


def test_shares_in_the_settings_are_canonical_and_make_the_source_settings() -> None:
    entry = {"name": "klimaat", "values": ["ja", "nee"], "population_shares": {"JA": 0.4, "Nee": 0.6}}
    (category,) = categories_from_settings([entry], source="process.toml")
    assert category.source == "settings"
    assert dict(category.population_shares) == {"ja": 0.4, "nee": 0.6}


def test_a_draw_refuses_pool_members_without_a_value_for_a_quota_category() -> None:
    pool = make_pool([{"climate_opinion": "ja"}, {"climate_opinion": "nee"}, {}, {"climate_opinion": ""}])
    quotas = make_quotas([("climate_opinion", "ja", 0, 2), ("climate_opinion", "nee", 0, 2)])
    with pytest.raises(InfeasibleQuotaError) as caught:
        check_pool_against_quotas(pool, quotas, 2)
    assert caught.value.conflicts == ["2 people in the pool have no value for 'climate_opinion'"]
