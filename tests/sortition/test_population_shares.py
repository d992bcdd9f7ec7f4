"""Population shares and whole years of age on YYYYMMDD integers (``sortition.registry``), by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from sortition.registry import category_labels, population_shares, whole_years

UNKNOWN = "(onbekend)"


@pytest.mark.parametrize(
    ("birth", "on", "years"),
    [
        (20080315, date(2024, 3, 15), 16),  # the 16th birthday itself: 20240315 - 20080315 = 160000
        (20080316, date(2024, 3, 15), 15),  # one day short: 159999 // 10000
        (20000229, date(2023, 2, 28), 22),  # a leap-day birthday counts from 1 March: 229999 // 10000
        (20000229, date(2023, 3, 1), 23),  # 230072 // 10000
        (20000229, date(2024, 2, 29), 24),  # and on the day in a leap year: 240000 // 10000
        (19541231, date(2024, 12, 31), 70),
        (19550101, date(2024, 12, 31), 69),
    ],
)
def test_whole_years_by_hand(birth: int, on: date, years: int) -> None:
    assert whole_years(np.array([birth], dtype=np.int32), on).tolist() == [years]


def test_population_shares_of_eight_residents_by_hand() -> None:
    """On 15 March 2024: ages 16, 15, 25, 39, 40, 70, 24, 54.

    Age bands (16-24, 25-39, 40-54, 55-69, 70+) hold the 7 residents aged 16 or more: 16-24 = {16, 24},
    25-39 = {25, 39}, 40-54 = {40, 54}, 70+ = {70}, so 2/7, 2/7, 2/7, 1/7 (the 15-year-old is in no band).
    Gender codes M, V, V, (empty), M, V, M, V -> M 3/8, V 4/8, unknown 1/8.
    Wijk codes WK01 x4, WK02 x3, one empty -> 4/8, 3/8, 1/8."""
    birth = np.array([20080315, 20080316, 19990101, 19840316, 19840315, 19540315, 20000229, 19690316])
    gender = (np.array([0, 1, 1, -1, 0, 1, 0, 1]), ["M", "V"])
    wijk = (np.array([0, 0, 0, 0, 1, 1, 1, -1]), ["WK01", "WK02"])
    shares = population_shares(birth, {"gender": gender, "wijk": wijk}, on=date(2024, 3, 15), unknown=UNKNOWN)
    assert shares == {
        "gender": {UNKNOWN: 1 / 8, "M": 3 / 8, "V": 4 / 8},
        "age_band": {"16-24": 2 / 7, "25-39": 2 / 7, "40-54": 2 / 7, "70+": 1 / 7},
        "wijk": {UNKNOWN: 1 / 8, "WK01": 4 / 8, "WK02": 3 / 8},
    }
    assert list(shares) == ["gender", "age_band", "wijk"]


def test_category_labels_name_empty_cells() -> None:
    labels = category_labels(np.array([1, -1, 0]), ["a", "b"], unknown=UNKNOWN)
    assert labels.tolist() == ["b", UNKNOWN, "a"]
