"""Raking, Kish n_eff and the linearisation variance against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deliberation.weighting import kish_n_eff, margin_table, rake, weighted_mean
from kleroterion.errors import KleroError


def test_one_margin_rake_is_post_stratification() -> None:
    # 10 respondents, 6 men 4 women; target men 23,169/45,534 (Peel en Maas, DOMAIN.md §3.9).
    # One margin: w_men = 10·p/6, w_women = 10·(1−p)/4 exactly.
    p = 23169 / 45534
    frame = pd.DataFrame({"gender": ["m"] * 6 + ["v"] * 4})
    w = rake(frame, {"gender": {"m": p, "v": 1 - p}})
    assert w.iloc[0] == pytest.approx(10 * p / 6, rel=1e-12)
    assert w.iloc[-1] == pytest.approx(10 * (1 - p) / 4, rel=1e-12)
    table = margin_table(frame, w, {"gender": {"m": p, "v": 1 - p}})
    assert table["n"].tolist() == [6, 4]  # the real n, not Σw


def test_two_margins_reach_targets_within_tolerance() -> None:
    # 2x2 cells counts [[3, 1], [2, 4]]; targets gender m .5, age young .4.
    frame = pd.DataFrame(
        {
            "gender": ["m"] * 4 + ["v"] * 6,
            "age": ["y", "y", "y", "o", "y", "y", "o", "o", "o", "o"],
        }
    )
    margins = {"gender": {"m": 0.5, "v": 0.5}, "age": {"y": 0.4, "o": 0.6}}
    w = rake(frame, margins)
    table = margin_table(frame, w, margins)
    rel = (table["weighted_share"] / table["target_share"] - 1).abs()
    assert rel.max() < 1e-6
    # IPF preserves the cross-product ratio of the sample table (Deming & Stephan 1940):
    # (w_my·w_vo)/(w_mo·w_vy) per cell weights are row × column factors, so the odds ratio of weighted
    # cell totals equals the sample odds ratio (3·4)/(1·2) = 6.
    cell = w.groupby([frame["gender"], frame["age"]]).sum()
    assert cell["m", "y"] * cell["v", "o"] / (cell["m", "o"] * cell["v", "y"]) == pytest.approx(6, rel=1e-9)


def test_rake_rejects_unknown_category() -> None:
    with pytest.raises(KleroError):
        rake(pd.DataFrame({"g": ["m", "x"]}), {"g": {"m": 0.5, "v": 0.5}})


def test_kish_hand_worked() -> None:
    # w = [1, 1, 2]: (4)²/(1+1+4) = 16/6
    assert kish_n_eff([1.0, 1.0, 2.0]) == pytest.approx(16 / 6)


def test_weighted_mean_linearisation_hand_worked() -> None:
    # y = [1, 2, 4], w = [1, 1, 2]: ȳ_w = (1+2+8)/4 = 2.75;
    # Σw²(y−ȳ)² = 1·3.0625 + 1·0.5625 + 4·1.5625 = 9.875; v = 3/2 · 9.875/16 = 0.92578125
    row = weighted_mean(np.array([1.0, 2, 4]), np.array([1.0, 1, 2])).iloc[0]
    assert row["mean"] == pytest.approx(2.75)
    assert row["se"] == pytest.approx(math.sqrt(0.92578125), rel=1e-12)
    assert row["n"] == 3
    assert row["n_eff"] == pytest.approx(16 / 6)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=2, max_size=30))
def test_unweighted_se_equals_s_over_root_n(values: list[float]) -> None:
    # With w = 1 the linearisation variance reduces to s²/n (ddof = 1): numpy std(ddof=1)/√n.
    y = np.array(values)
    row = weighted_mean(y).iloc[0]
    assert row["se"] == pytest.approx(y.std(ddof=1) / math.sqrt(len(y)), rel=1e-9, abs=1e-9)


def test_incompatible_margins_are_an_error_naming_the_gap() -> None:
    # Only young men and old women: a 50/50 gender margin with 90/10 age cannot be met by row × column
    # factors when the sample has structural zeros in both off-diagonal cells.
    frame = pd.DataFrame({"gender": ["m", "m", "v", "v"], "age": ["y", "y", "o", "o"]})
    with pytest.raises(KleroError) as err:
        rake(frame, {"gender": {"m": 0.5, "v": 0.5}, "age": {"y": 0.9, "o": 0.1}}, max_iterations=50)
    assert err.value.params["max_relative_error"] > 1e-6


def test_rao_scott_goodness_of_fit_hand_worked() -> None:
    from scipy import stats

    from deliberation.weighting import rao_scott_goodness_of_fit

    # Four respondents a, a, b, b with weights 1, 1, 1, 3 (a fifth without a value is left out),
    # population 50/50. By hand: Σw = 6, p̂_a = 2/6 = 1/3, p̂_b = 2/3.
    # X²_w = n·Σ(p̂−π)²/π = 4·2·(1/6)²/0.5 = 4/9.
    # V̂(p̂_a) = [4/3]·[1·(2/3)² + 1·(2/3)² + 1·(1/3)² + 9·(1/3)²]/36 = (4/3)·2/36 = 2/27 = V̂(p̂_b).
    # δ̂ = n/(K−1)·Σ V̂/π = 4·(2/27 + 2/27)/0.5 = 32/27; X²_RS = (4/9)/(32/27) = 3/8.
    values = pd.Series(["a", "a", "b", "b", ""], index=list("pqrst"))
    weights = pd.Series([1.0, 1.0, 1.0, 3.0, 2.0], index=list("pqrst"))
    table = rao_scott_goodness_of_fit(values, weights, {"a": 0.5, "b": 0.5}, variable="v")
    row = table.iloc[0]
    assert row["chi2_weighted"] == pytest.approx(4 / 9, rel=1e-12)
    assert row["design_effect"] == pytest.approx(32 / 27, rel=1e-12)
    assert row["chi2_rao_scott"] == pytest.approx(3 / 8, rel=1e-12)
    assert row["p_value"] == pytest.approx(stats.chi2.sf(3 / 8, 1), rel=1e-12)
    assert (row["df"], row["n_missing"]) == (1, 1)
    assert table["n"].tolist() == [2, 2]  # real counts, never Σw
    assert table["pp_difference"].tolist() == pytest.approx([100 * (1 / 3 - 0.5), 100 * (2 / 3 - 0.5)])


def test_rao_scott_with_equal_weights_at_the_population_shares() -> None:
    from deliberation.weighting import rao_scott_goodness_of_fit

    # Equal weights, p̂ = π: V̂ = p(1−p)/(n−1), so δ̂ = n/(K−1)·Σ(1−π)/(n−1) = n/(n−1) = 4/3 here.
    values = pd.Series(["a", "a", "b", "b"])
    table = rao_scott_goodness_of_fit(values, pd.Series(1.0, index=values.index), {"a": 0.5, "b": 0.5}, variable="v")
    assert table["design_effect"].iloc[0] == pytest.approx(4 / 3, rel=1e-12)
    assert table["chi2_rao_scott"].iloc[0] == pytest.approx(0.0, abs=1e-15)
