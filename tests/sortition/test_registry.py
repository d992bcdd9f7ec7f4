"""Registry validation and area assignment (pure cores; the CLI paths are in test_cli_sortition.py)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from kleroterion.errors import ROW_LIMIT as FLAG_LIMIT
from kleroterion.errors import InputError
from sortition.registry import assign_areas, validate_areas, validate_registry


def extract(n: int, *, gender: str = "M") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bsn": [str(1000 + i) for i in range(n)],
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
