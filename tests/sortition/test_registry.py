"""Registry validation and area assignment (pure cores; the CLI paths are in test_cli_sortition.py)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from kleroterion.errors import ROW_LIMIT as FLAG_LIMIT
from kleroterion.errors import InputError
from sortition.registry import ages_on, assign_areas, generalise_birth_dates, validate_areas, validate_registry


def extract(n: int, *, gender: str = "M") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bsn": [str(100_001_000 + i) for i in range(n)],  # the synthetic BSN block (no elfproef)
            "geboortedatum": ["19800101"] * n,
            "geslacht": [gender] * n,
            "huisnummer": [str(i + 1) for i in range(n)],
            "postcode": ["5981 AB"] * n,
        },
        index=range(2, n + 2),
    )


def test_many_bad_cells_are_counted_not_dropped() -> None:
    n = FLAG_LIMIT + 37
    with pytest.raises(InputError) as info:
        validate_registry(extract(n, gender="Q"), source="brp.csv", reference_date=date(2024, 1, 1), key=b"k")
    problems = info.value.problems
    assert len(problems) == FLAG_LIMIT + 1
    assert problems[-1].message == "unknown gender code (use M, V or O): 37 more rows beyond those listed"
    assert problems[-1].column == "geslacht"


def test_areas_exact_number_beats_whole_postcode_and_unplaced_are_listed() -> None:
    residents = validate_registry(extract(3), source="brp.csv", reference_date=date(2024, 1, 1), key=b"k").residents
    areas = validate_areas(
        pd.DataFrame({"postcode": ["5981AB", "5981 ab"], "huisnummer": ["", "2"], "wijk": ["W1", "W2"]}, index=[2, 3]),
        source="wijken.csv",
    )
    placed = assign_areas(residents, areas)
    assert placed.residents["wijk"].tolist() == ["W1", "W2", "W1"]
    assert placed.unplaced == ()
    only_two = validate_areas(pd.DataFrame({"postcode": ["5981AB"], "huisnummer": ["2"], "wijk": ["W2"]}), source="w")
    partial = assign_areas(residents, only_two)
    assert partial.unplaced == ("5981AB|1||", "5981AB|3||")
    assert partial.residents["wijk"].isna().tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("born", "on", "expected"),
    [
        ("1980-06-15", date(2024, 1, 1), "1981-01-01"),  # 43 on 2024-01-01
        ("1980-01-01", date(2024, 1, 1), "1980-01-01"),  # birthday on the day itself: 44
        ("1980-01-02", date(2024, 1, 1), "1981-01-01"),  # one day short of 44: 43
        ("2000-02-29", date(2024, 2, 29), "2000-02-29"),  # leap day to leap year
        ("1998-03-01", date(2024, 2, 29), "1999-02-28"),  # 25 on a leap day; 1999 has no 29 February
    ],
)
def test_generalised_birth_dates_keep_the_age_on_the_day(born: str, on: date, expected: str) -> None:
    original = pd.Series([born])
    general = generalise_birth_dates(original, on)
    assert general.tolist() == [expected]
    assert ages_on(general, on).tolist() == ages_on(original, on).tolist()


@pytest.mark.parametrize(
    ("bsn", "valid"),
    [
        ("111222333", True),  # 9·1+8·1+7·1+6·2+5·2+4·2+3·3+2·3 − 3 = 66 = 6·11
        ("123456782", True),  # 156 − 2 = 154 = 14·11
        ("12345672", True),  # 8 digits: a spreadsheet dropped the leading 0 of 012345672 (112 − 2 = 110)
        ("123456789", False),  # 156 − 9 = 147, not a multiple of 11
        ("000000000", False),  # all zero
        ("1234567890", False),  # 10 digits
        ("=1+1", False),
        ("", False),
        ("100000002", True),  # the synthetic block of the shipped example (exempt)
        ("101000002", False),  # just outside it: 9+7−2 = 14
    ],
)
def test_bsn_elfproef(bsn: str, valid: bool) -> None:
    from sortition.registry import bsn_valid

    assert bsn_valid(pd.Series([bsn])).tolist() == [valid]
