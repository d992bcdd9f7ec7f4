"""Tests of the engine seam (sortition/selection.py): legacy from either engine, rotation exclusions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sortition.quotas import quotas_met
from sortition.selection import select_panel
from tests.conftest import make_pool, make_quotas


def mixed_pool(n: int = 40) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n people over gender x age; quotas for a panel of 6 (3 M, 3 V; 1-3 per age band)."""
    pool = make_pool([{"gender": "MV"[i % 2], "age": ("jong", "midden", "oud")[i % 3]} for i in range(n)])
    quotas = make_quotas(
        [
            ("gender", "M", 3, 3),
            ("gender", "V", 3, 3),
            ("age", "jong", 1, 3),
            ("age", "midden", 1, 3),
            ("age", "oud", 1, 3),
        ]
    )
    return pool, quotas


@pytest.mark.parametrize("engine", ["native", "sortition-algorithms"])
def test_legacy_from_either_engine_meets_quotas_and_replays_from_its_seed(engine: str) -> None:
    pool, quotas = mixed_pool()
    first = select_panel(pool, quotas, size=6, rng=np.random.default_rng(5), algorithm="legacy", engine=engine)
    again = select_panel(pool, quotas, size=6, rng=np.random.default_rng(5), algorithm="legacy", engine=engine)
    # the pool's row order is not part of the pool hash, so it must not change the draw either
    shuffled = pool.sample(frac=1.0, random_state=3)
    reordered = select_panel(shuffled, quotas, size=6, rng=np.random.default_rng(5), algorithm="legacy", engine=engine)
    assert first.panel == again.panel == reordered.panel
    assert first.probabilities.equals(again.probabilities)
    assert quotas_met(pool[pool["id"].isin(first.panel)], quotas)
    assert (first.algorithm, first.engine, first.exact) == ("legacy", engine, False)
    assert first.probabilities.sum() == pytest.approx(6.0)
    other = {
        select_panel(pool, quotas, size=6, rng=np.random.default_rng(s), algorithm="legacy").panel for s in range(6)
    }
    assert len(other) > 1  # the seed matters


def test_rotation_excludes_earlier_members_and_their_households() -> None:
    pool, quotas = mixed_pool(60)
    pool.loc[pool["id"] == "p7", "address_key"] = "p1-addr"  # p7 lives with p1
    first = select_panel(pool, quotas, size=6, rng=np.random.default_rng(1), algorithm="leximin")
    earlier = [*first.panel, "p1", "gone"]  # p1 (and so p7) excluded; "gone" did not sign up again
    second = select_panel(pool, quotas, size=6, rng=np.random.default_rng(2), algorithm="leximin", exclude=earlier)
    assert not set(second.panel) & {*first.panel, "p1", "p7"}
    assert set(second.excluded) == {*first.panel, "p1", "p7"}
    assert set(second.probabilities.index).isdisjoint(second.excluded)
    assert second.probabilities.sum() == pytest.approx(6.0)
    assert any("not in this pool" in note for note in second.notes)
    assert quotas_met(pool[pool["id"].isin(second.panel)], quotas)


@pytest.mark.parametrize("algorithm", ["leximin", "legacy"])
def test_second_round_never_draws_a_first_round_member(algorithm: str) -> None:
    # three rounds of a rotating council over one pool: no one sits twice (seeded, so the draws repeat)
    pool, quotas = mixed_pool(60)
    served: list[str] = []
    for round_seed in range(3):
        result = select_panel(
            pool, quotas, size=6, rng=np.random.default_rng(round_seed), algorithm=algorithm, exclude=served
        )
        assert not set(result.panel) & set(served)
        assert all(result.probabilities.get(person, 0.0) == 0.0 for person in served)
        served += result.panel
    assert len(set(served)) == 18
