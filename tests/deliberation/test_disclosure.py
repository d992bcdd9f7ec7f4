"""Small-cell suppression of published tables (DOMAIN.md §6), on hand-worked tables."""

from __future__ import annotations

import pandas as pd
import pytest

from deliberation.disclosure import suppress_table


def test_a_small_row_and_its_complement_are_hidden_within_one_variable() -> None:
    # age: 3 (primary, < 5), 12 and 40: the lone hidden 3 could be recovered from the total 55, so the
    # smallest other non-zero row (12) is hidden too; gender: 20 and 35 stay, and so does a zero count
    table = pd.DataFrame(
        {
            "variable": ["age", "age", "age", "gender", "gender", "gender"],
            "category": ["16-24", "25-39", "40+", "M", "V", "O"],
            "n": [3, 12, 40, 20, 35, 0],
            "mean": [4.0, 5.5, 6.0, 5.0, 6.5, float("nan")],
        }
    )
    out = suppress_table(table, 5)
    assert out["suppressed"].tolist() == [True, True, False, False, False, False]
    assert out["n"].tolist()[:3] == ["<5", "<5", 40]
    assert out["mean"].isna().tolist()[:3] == [True, True, False]
    assert out["n"].tolist()[3:] == [20, 35, 0]


@pytest.mark.parametrize(
    ("counts", "hidden"),
    [
        ([5, 9], [False, False]),  # the threshold itself is shown
        ([4, 4, 30], [True, True, False]),  # two hidden: no complement needed
        ([1, 30], [True, True]),  # one hidden: the other is its complement
        ([0, 30], [False, False]),  # a zero discloses nobody
    ],
)
def test_primary_and_complementary_suppression_in_one_group(counts: list[int], hidden: list[bool]) -> None:
    table = pd.DataFrame({"item": ["A1"] * len(counts), "n_pairs": counts, "n_eff": [2.5] * len(counts)})
    out = suppress_table(table, 5)
    assert out.get("suppressed", pd.Series([False] * len(counts))).tolist() == hidden


def test_a_table_without_counts_is_left_as_it_is() -> None:
    table = pd.DataFrame({"item": ["A1"], "mean_change": [0.4]})
    assert suppress_table(table, 5) is table
