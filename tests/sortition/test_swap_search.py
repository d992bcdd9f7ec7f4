"""The swap search (heuristic pricing) and the covering panels, checked against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kleroterion.errors import KleroError
from sortition.columngen import PanelOracle, SwapSearch, covering_compositions
from sortition.engine import build_space


def random_space(seed: int, n: int, size: int):
    rng = np.random.default_rng(seed)
    pool = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "gender": rng.choice(["f", "m"], n),
            "age": rng.choice(["a", "b", "c"], n),
            "wijk": rng.choice(["n", "z"], n),
            "address_key": [f"h{i}" for i in range(n)],
        }
    )
    pool.loc[1, "address_key"] = pool.loc[0, "address_key"]
    pool.loc[3, "address_key"] = pool.loc[2, "address_key"]
    rows = []
    for category in ("gender", "age", "wijk"):
        for value in sorted(set(pool[category])):
            share = (pool[category] == value).mean() * size
            rows.append((category, value, int(np.floor(0.5 * share)), int(np.ceil(1.5 * share))))
    quotas = pd.DataFrame(rows, columns=["category", "feature", "min", "max"])
    space, _ = build_space(pool, quotas, size=size, address_column="address_key")
    return space


def feasible(space, composition: np.ndarray) -> bool:
    """Independent feasibility check straight from the definition of ``PanelSpace``."""
    if composition.sum() != space.size or (composition < 0).any() or (composition > space.counts).any():
        return False
    load = space.membership @ composition
    if (load < space.feature_min - 1e-9).any() or (load > space.feature_max + 1e-9).any():
        return False
    return all(composition[list(house)].sum() <= 1 for house in space.households)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(12, 40), data=st.data())
def test_climb_ends_feasible_at_a_local_optimum(seed: int, n: int, data: st.DataObject) -> None:
    size = data.draw(st.integers(3, n // 3))
    space = random_space(seed, n, size)
    oracle = PanelOracle(space)
    start, _ = oracle.best(np.zeros(space.n_types))
    weights = np.random.default_rng(seed + 1).random(space.n_types)
    end = SwapSearch(space).climb(start, weights)
    assert feasible(space, end)
    assert end @ weights >= start @ weights - 1e-12
    # no feasible one-for-one swap improves it (every pair tried, not only the search's candidates
    # within its breadth, which covers all types on these small pools)
    for out in np.flatnonzero(end):
        for into in range(space.n_types):
            if weights[into] - weights[out] <= 1e-12:
                continue
            moved = end.copy()
            moved[out] -= 1
            moved[into] += 1
            assert not feasible(space, moved), (out, into)


def test_covering_panels_are_feasible_and_cover_every_reachable_type() -> None:
    space = random_space(7, 30, 8)
    oracle = PanelOracle(space)
    panels, covered = covering_compositions(oracle, SwapSearch(space), rounds=20)
    assert all(feasible(space, c) for c in panels)
    on_some = np.zeros(space.n_types, dtype=bool)
    for c in panels:
        on_some |= c > 0
    assert (on_some == covered).all()
    for t in np.flatnonzero(~covered):  # the exact ILP confirms these types are on no feasible panel
        target = np.zeros(space.n_types)
        target[t] = 1.0
        best, _ = oracle.best(target)
        assert best[t] == 0


def test_climb_not_frozen_by_housemates_of_members() -> None:
    """Regression (diverse pool n = 4000): the heaviest candidates were housemates of panel members.

    a/b and c/d share addresses; e and f live alone. Quotas: exactly two "x" and no "y", so b and d (y) can
    never join. From {a, c} with b, d weighing 100, e, f 10 and a, c 1, the only improving feasible swaps
    bring in e and f: the climb must reach {e, f} (value 20) even when the candidate list is 2 wide and
    b, d are the two heaviest types.
    """
    pool = pd.DataFrame(
        {
            "id": list("abcdef"),
            "g": ["x", "y", "x", "y", "x", "x"],
            "address_key": ["h1", "h1", "h2", "h2", "h3", "h4"],
        }
    )
    quotas = pd.DataFrame([("g", "x", 2, 2), ("g", "y", 0, 0)], columns=["category", "feature", "min", "max"])
    space, members = build_space(pool, quotas, size=2, address_column="address_key")
    type_of = {person: t for t, ids in enumerate(members) for person in ids}
    weights = np.zeros(space.n_types)
    for person, weight in {"a": 1, "b": 100, "c": 1, "d": 100, "e": 10, "f": 10}.items():
        weights[type_of[person]] = weight  # e and f are one type of two; its per-person weight is 10
    start = np.zeros(space.n_types, dtype=np.int64)
    start[[type_of["a"], type_of["c"]]] = 1
    end = SwapSearch(space, breadth=2).climb(start, weights)
    assert feasible(space, end)
    assert end[type_of["e"]] == 2 and end @ weights == 20


def all_compositions(space) -> list[np.ndarray]:
    """Every feasible composition, by enumerating the count of each type (small pools only)."""
    found: list[np.ndarray] = []

    def extend(prefix: list[int], left: int) -> None:
        t = len(prefix)
        if t == space.n_types:
            composition = np.array(prefix)
            if left == 0 and feasible(space, composition):
                found.append(composition)
            return
        for count in range(min(int(space.counts[t]), left) + 1):
            extend([*prefix, count], left - count)

    extend([], space.size)
    return found


def test_pricing_equals_brute_force() -> None:
    """``PanelOracle.best`` returns a feasible composition of maximum value (here mostly from an
    integral vertex of the LP relaxation; the ILP path is the hand-worked test below), and
    ``integral_vertex`` is either ``None`` or such a composition, for sparse (like duals) and dense weights."""
    for seed in range(6):
        space = random_space(seed, 14, 4)
        panels = np.array(all_compositions(space))
        oracle = PanelOracle(space)
        rng = np.random.default_rng(seed)
        for _ in range(40):
            for weights in (rng.random(space.n_types) * (rng.random(space.n_types) < 0.6), rng.random(space.n_types)):
                best = float((panels @ weights).max())
                composition, value = oracle.best(weights)
                assert feasible(space, composition)
                assert value == pytest.approx(best, abs=1e-9)
                assert value == pytest.approx(float(composition @ weights), abs=1e-12)
                vertex = oracle.integral_vertex(weights)
                if vertex is not None:
                    assert feasible(space, vertex)
                    assert vertex @ weights == pytest.approx(best, abs=1e-9)


def odd_space(*, with_fifth: bool):
    """Panels of 2 with exactly one of a/b, x/y and p/q. Four people (a,x,p), (a,y,q), (b,x,q), (b,y,p)
    pair up on no panel (each pair repeats or misses a value), yet half of each meets every quota
    exactly: the LP relaxation has the fractional vertex (½, ½, ½, ½). A fifth person (b,y,q) pairs
    with (a,x,p), the only panel."""
    people = [("a", "x", "p"), ("a", "y", "q"), ("b", "x", "q"), ("b", "y", "p")]
    if with_fifth:
        people.append(("b", "y", "q"))
    pool = pd.DataFrame(people, columns=["c1", "c2", "c3"])
    pool.insert(0, "id", [f"p{i}" for i in range(len(people))])
    pool["address_key"] = pool["id"]
    quotas = pd.DataFrame(
        [(c, v, 1, 1) for c, values in (("c1", "ab"), ("c2", "xy"), ("c3", "pq")) for v in values],
        columns=["category", "feature", "min", "max"],
    )
    space, _ = build_space(pool, quotas, size=2, address_column="address_key")
    return space


def test_fractional_relaxation_falls_back_to_the_ilp() -> None:
    space = odd_space(with_fifth=True)
    weights = np.ones(space.n_types)
    weights[space.n_types - 1] = 0.0  # types are the five people in order (all distinct)
    oracle = PanelOracle(space)
    assert oracle.integral_vertex(weights) is None  # the relaxation's optimum is 2, at ½ of each of four
    composition, value = oracle.best(weights)
    assert value == 1.0  # hand-worked: the only panel is {(a,x,p), (b,y,q)}, worth 1 + 0
    assert composition.tolist() == [1, 0, 0, 0, 1]
    assert oracle.ilp_calls == 1


def test_relaxation_feasible_but_no_panel_is_reported_by_the_ilp() -> None:
    space = odd_space(with_fifth=False)
    with pytest.raises(KleroError) as raised:
        PanelOracle(space).best(np.ones(space.n_types))
    assert raised.value.code == "no_panel"


def test_dive_gives_a_feasible_panel_never_above_the_optimum() -> None:
    """``PanelOracle.dive`` (the LP rounding heuristic) returns ``None`` or a feasible composition worth at
    most the brute-force optimum; ``good`` the same; ``best`` with a dive's panel as MIP start is still exact."""
    dived = 0
    for seed in range(6):
        space = random_space(seed, 14, 4)
        panels = np.array(all_compositions(space))
        oracle = PanelOracle(space)
        rng = np.random.default_rng(seed)
        for _ in range(20):
            weights = rng.random(space.n_types) * (rng.random(space.n_types) < 0.6)
            best = float((panels @ weights).max())
            for composition in (oracle.dive(weights), oracle.good(weights)):
                if composition is not None:
                    dived += 1
                    assert feasible(space, composition)
                    assert float(composition @ weights) <= best + 1e-9
            start = oracle.dive(weights)
            composition, value = oracle.best(weights, start=start)
            assert feasible(space, composition)
            assert value == pytest.approx(best, abs=1e-9)
    assert dived > 150  # the dive nearly always finds a panel here


@pytest.mark.parametrize(("fifth", "expected"), [(True, [1, 0, 0, 0, 1]), (False, None)])
def test_dive_out_of_a_fractional_vertex(fifth: bool, expected: list[int] | None) -> None:
    """Hand-worked: from the relaxation's fractional vertex (½ of each of the first four people) the dive
    forces one of them in, and the LP then needs the fifth person: the only panel. Without a fifth
    person there is no panel, and the dive reports none."""
    space = odd_space(with_fifth=fifth)
    weights = np.ones(space.n_types)
    if fifth:
        weights[-1] = 0.0
    composition = PanelOracle(space).dive(weights)
    assert (composition.tolist() if composition is not None else None) == expected


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(12, 40))
def test_exact_quotas_with_distinct_types_leave_no_feasible_swap(seed: int, n: int) -> None:
    """The search skips itself (``stuck``) under exact quotas when no two types share their features:
    brute force confirms that no one-for-one swap from a feasible panel is feasible there."""
    rng = np.random.default_rng(seed)
    pool = pd.DataFrame(
        {"id": [f"p{i}" for i in range(n)], "a": rng.choice(["x", "y"], n), "b": rng.choice(["u", "v", "w"], n)}
    )
    chosen = pool.sample(n=4, random_state=seed)  # exact quotas that this panel of 4 meets
    rows = [
        (category, value, int((chosen[category] == value).sum()), int((chosen[category] == value).sum()))
        for category in ("a", "b")
        for value in sorted(set(pool[category]))
    ]
    quotas = pd.DataFrame(rows, columns=["category", "feature", "min", "max"])
    space, _ = build_space(pool, quotas, size=4, address_column=None)
    search = SwapSearch(space)
    assert search.stuck  # one type per feature combination, every quota exact
    start, _ = PanelOracle(space).best(np.zeros(space.n_types))
    assert feasible(space, start)
    assert np.array_equal(search.climb(start, rng.random(space.n_types)), start)
    for out in np.flatnonzero(start):
        for into in range(space.n_types):
            moved = start.copy()
            moved[out] -= 1
            moved[into] += 1
            assert into == out or not feasible(space, moved), (out, into)


def test_exact_quotas_with_types_of_equal_features_still_search() -> None:
    # housemates split people of the same features into types: a swap between those can be feasible
    pool = pd.DataFrame({"id": list("abc"), "g": ["x", "x", "x"], "address_key": ["h1", "h1", "h2"]})
    quotas = pd.DataFrame([("g", "x", 1, 1)], columns=["category", "feature", "min", "max"])
    space, _ = build_space(pool, quotas, size=1, address_column="address_key")
    assert space.exact_quotas and space.n_types > 1
    assert not SwapSearch(space).stuck
