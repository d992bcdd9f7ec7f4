"""Tests of transparent lotteries (sortition/lottery.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kleroterion.errors import KleroError
from sortition.engine import find_distribution
from sortition.lottery import fairness_lost, number_panels, panel_for_number, round_to_lottery

# Three panels with λ = (0.5, 0.3, 0.2) and m = 10: m·λ = (5, 3, 2) is integral, so the rounding must
# return it unchanged and every probability is kept exactly.
PANELS = [frozenset({"a", "b"}), frozenset({"a", "c"}), frozenset({"b", "c"})]
WEIGHTS = np.array([0.5, 0.3, 0.2])


def test_integral_weights_round_exactly() -> None:
    lottery = round_to_lottery(PANELS, WEIGHTS, m=10, rng=np.random.default_rng(0))
    assert dict(lottery) == {PANELS[0]: 5, PANELS[1]: 3, PANELS[2]: 2}
    lost = fairness_lost(PANELS, WEIGHTS, lottery)
    assert lost["max_abs_change"] == pytest.approx(0.0, abs=1e-12)
    assert (lost["old_min"], lost["new_min"]) == pytest.approx((0.5, 0.5))


@pytest.mark.parametrize("m", [1, 7, 100, 1000])
def test_counts_sum_to_m_and_stay_within_one_ticket(m: int) -> None:
    rng = np.random.default_rng(m)
    weights = rng.dirichlet(np.ones(6))
    panels = [frozenset({f"p{i}", f"p{(i + 1) % 6}"}) for i in range(6)]
    lottery = round_to_lottery(panels, weights, m=m, rng=rng)
    assert sum(count for _, count in lottery) == m
    for panel, count in lottery:
        exact = weights[panels.index(panel)] * m
        assert np.floor(exact) <= count <= np.ceil(exact)


def test_numbering_is_deterministic_and_complete() -> None:
    lottery = round_to_lottery(PANELS, WEIGHTS, m=10, rng=np.random.default_rng(0))
    numbered = number_panels(lottery)
    assert [n for n, _ in numbered] == list(range(1, 11))
    assert numbered == number_panels(list(reversed(lottery)))
    assert panel_for_number(numbered, 1) == frozenset({"a", "b"})  # sorted ids: (a, b) < (a, c) < (b, c)
    assert panel_for_number(numbered, 10) == frozenset({"b", "c"})
    with pytest.raises(KleroError):
        panel_for_number(numbered, 11)


def test_bad_weights_are_rejected() -> None:
    with pytest.raises(KleroError):
        round_to_lottery(PANELS, np.array([0.5, 0.5, 0.5]), m=10, rng=np.random.default_rng(0))


def test_lottery_of_engine_distribution_loses_little() -> None:
    respondents = pd.read_csv("/work/shared/data/citizensassemblies-replication/data/example_small_20/respondents.csv")
    respondents.insert(0, "id", [str(i) for i in range(len(respondents))])
    quotas = pd.read_csv("/work/shared/data/citizensassemblies-replication/data/example_small_20/categories.csv")
    panels, weights = find_distribution(
        respondents, quotas, size=20, algorithm="leximin", rng=np.random.default_rng(0), address_column=None
    )
    lottery = round_to_lottery(panels, weights, m=1000, rng=np.random.default_rng(1))
    lost = fairness_lost(panels, weights, lottery)
    assert lost["tickets"] == 1000
    assert lost["old_min"] == pytest.approx(0.1, abs=1e-6)
    assert lost["max_abs_change"] < 0.02
