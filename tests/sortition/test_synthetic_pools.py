"""The generated bench pools (sortition/synthetic_pools.py): fixed by their seed, feasible, as described."""

from __future__ import annotations

import numpy as np
import pytest

from sortition.columngen import PanelOracle
from sortition.engine import build_space
from sortition.synthetic_pools import climate_pool, tight_pool


@pytest.mark.parametrize(("n", "seed"), [(300, 0), (360, 1), (400, 2)])
def test_tight_pool_exact_quotas_mostly_distinct_types_and_feasible(n: int, seed: int) -> None:
    pool, quotas, size, address = tight_pool(n, seed)
    again, _, _, _ = tight_pool(n, seed)
    assert pool.equals(again) and size == 30 and address is None
    assert (quotas["min"] == quotas["max"]).all()
    assert (quotas.groupby("category")["max"].sum() == size).all()
    assert quotas["category"].nunique() == 7
    assert quotas.groupby("category").size().between(2, 6).all()
    space, _ = build_space(pool, quotas, size=size, address_column=address)
    assert space.n_types / n > 0.85  # ~90 % of respondents a type of their own
    composition, _ = PanelOracle(space).best(np.zeros(space.n_types))  # raises when no panel exists
    assert composition.sum() == size


def test_climate_pool_has_an_opinion_category_and_a_feasible_panel() -> None:
    pool, quotas, size, _ = climate_pool(4000, 0)
    assert (len(pool), size) == (4000, 175)
    assert "climate_opinion" in set(quotas["category"]) and quotas["category"].nunique() == 5
    space, _ = build_space(pool, quotas, size=size, address_column=None)
    composition, _ = PanelOracle(space).best(np.zeros(space.n_types))
    assert composition.sum() == size
