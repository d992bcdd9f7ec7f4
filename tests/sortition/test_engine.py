"""Tests of the native selection engine (sortition/engine.py, sortition/columngen.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kleroterion.errors import InfeasibleQuotaError, KleroError
from kleroterion.pool_files import read_pool_folder
from sortition.columngen import (
    PanelOracle,
    SwapSearch,
    _level_master,
    _useful_panels,
    covering_compositions,
    generate_columns,
)
from sortition.engine import ALGORITHMS, build_space, find_distribution
from sortition.selection import probabilities_from_distribution

DATA = Path("/work/shared/data")
FIXTURE = DATA / "sortition-algorithms-fixture"
REPLICATION = DATA / "citizensassemblies-replication" / "data"


def make_pool(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Pool factory: (id, gender, address_key) rows."""
    return pd.DataFrame(rows, columns=["id", "gender", "address_key"])


def make_quotas(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["category", "feature", "min", "max"])


def probabilities(pool: pd.DataFrame, panels: list[frozenset[str]], weights: np.ndarray) -> pd.Series:
    return probabilities_from_distribution(pool["id"].astype(str), panels, weights)


def load_fixture() -> tuple[pd.DataFrame, pd.DataFrame, int]:
    pool, quotas, k, _ = read_pool_folder(FIXTURE, size=22)  # panel size of the library's own tests
    return pool, quotas, k


def load_replication(name: str) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    pool, quotas, k, _ = read_pool_folder(REPLICATION / name)
    return pool, quotas, k


def check_distribution(pool, quotas, size, address_column, panels, weights) -> pd.Series:
    """Every panel meets the quotas and one-per-address; weights sum to 1; Σπ = k."""
    assert np.isclose(weights.sum(), 1.0, atol=1e-9)
    assert np.all(weights >= 0)
    by_id = pool.set_index("id")
    for panel in panels:
        assert len(panel) == size
        members = by_id.loc[sorted(panel)]
        for row in quotas.itertuples(index=False):
            count = int((members[row.category].astype(str) == str(row.feature)).sum())
            assert row.min <= count <= row.max, (row, count)
        if address_column is not None:
            assert not members[address_column].dropna().duplicated().any()
    pi = probabilities(pool, panels, weights)
    assert pi.sum() == pytest.approx(size, abs=1e-7)
    return pi


# Pool of 4: a, b, c female, d male; k = 2 with exactly one of each gender. The feasible panels are
# {a,d}, {b,d}, {c,d}: d is on every panel (π_d = 1) and the women share the rest, π_a + π_b + π_c = 1.
# Leximin/maximin raise the smallest first: π = 1/3 for each woman. Nash maximises Σ log π under the
# same constraint (equal split by symmetry and concavity), Goldilocks likewise (max π = 1 is forced, so
# only 1/min π matters): all four algorithms give (1/3, 1/3, 1/3, 1).
FOUR = make_pool([("a", "f", "1"), ("b", "f", "2"), ("c", "f", "3"), ("d", "m", "4")])
ONE_EACH = make_quotas([("gender", "f", 1, 1), ("gender", "m", 1, 1)])

# Pool of 5 with a shared address: a, b, c female, d, e male; a and d live together; k = 2, one per
# gender. Panels: {a,e}, {b,d}, {b,e}, {c,d}, {c,e}. One woman and one man per panel, so the women's π
# add to 1 and the men's π add to 1: min π ≤ 1/3 (women) and the men's smaller π ≤ 1/2. Both bounds
# are met at once by λ_ae = 1/3, λ_bd = λ_cd = 1/4, λ_be = λ_ce = 1/12 (π_a = 1/3, π_b = 1/4 + 1/12 = 1/3,
# π_d = 1/2, π_e = 1/3 + 1/6 = 1/2), so the leximin profile is (1/3, 1/3, 1/3, 1/2, 1/2).
FIVE = make_pool([("a", "f", "h1"), ("b", "f", "h2"), ("c", "f", "h3"), ("d", "m", "h1"), ("e", "m", "h5")])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_pool_of_four_hand_worked(algorithm: str) -> None:
    panels, weights = find_distribution(FOUR, ONE_EACH, size=2, algorithm=algorithm, rng=np.random.default_rng(1))
    pi = check_distribution(FOUR, ONE_EACH, 2, "address_key", panels, weights)
    assert pi.to_dict() == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3, "d": 1.0}, abs=1e-6)


def test_shared_address_leximin_hand_worked() -> None:
    panels, weights = find_distribution(FIVE, ONE_EACH, size=2, algorithm="leximin", rng=np.random.default_rng(2))
    pi = check_distribution(FIVE, ONE_EACH, 2, "address_key", panels, weights)
    assert pi.to_dict() == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3, "d": 0.5, "e": 0.5}, abs=1e-8)
    assert frozenset({"a", "d"}) not in panels


def test_person_on_no_panel_gets_zero() -> None:
    # a and d share an address and d is the only man: a is on no feasible panel (π_a = 0); b and c split 1.
    pool = make_pool([("a", "f", "h1"), ("b", "f", "h2"), ("c", "f", "h3"), ("d", "m", "h1")])
    for algorithm in ALGORITHMS:
        panels, weights = find_distribution(pool, ONE_EACH, size=2, algorithm=algorithm, rng=np.random.default_rng(3))
        pi = check_distribution(pool, ONE_EACH, 2, "address_key", panels, weights)
        assert pi.to_dict() == pytest.approx({"a": 0.0, "b": 0.5, "c": 0.5, "d": 1.0}, abs=1e-6)


def test_same_seed_same_distribution() -> None:
    pool, quotas, k = load_replication("example_small_20")
    first = find_distribution(
        pool, quotas, size=k, algorithm="maximin", rng=np.random.default_rng(7), address_column=None
    )
    second = find_distribution(
        pool, quotas, size=k, algorithm="maximin", rng=np.random.default_rng(7), address_column=None
    )
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])


def test_infeasible_quotas_name_conflict_and_relaxation() -> None:
    quotas = make_quotas([("gender", "f", 0, 2), ("gender", "m", 2, 2)])  # only one man in the pool
    with pytest.raises(InfeasibleQuotaError) as caught:
        find_distribution(FOUR, quotas, size=3, algorithm="leximin", rng=np.random.default_rng(0))
    assert caught.value.relaxation == {"gender=m": {"min": 1}}
    assert any("gender=m" in line for line in caught.value.conflicts)


def test_category_sums_conflict() -> None:
    quotas = make_quotas([("gender", "f", 2, 3), ("gender", "m", 1, 1)])
    with pytest.raises(InfeasibleQuotaError) as caught:
        find_distribution(FOUR, quotas, size=2, algorithm="maximin", rng=np.random.default_rng(0))
    assert any("minimums add up to 3" in line for line in caught.value.conflicts)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"algorithm": "random"}, "bad_algo"),
        ({"size": 9}, "bad_size"),
        ({"address_column": "postcode"}, "bad_pool"),
    ],
)
def test_bad_requests(change: dict[str, object], code: str) -> None:
    arguments: dict[str, object] = {"size": 2, "algorithm": "leximin", "address_column": "address_key"}
    arguments.update(change)
    with pytest.raises(KleroError) as caught:
        find_distribution(FOUR, ONE_EACH, rng=np.random.default_rng(0), **arguments)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_value_without_quota_row_is_an_error() -> None:
    pool = make_pool([("a", "f", "1"), ("b", "x", "2"), ("c", "m", "3")])
    with pytest.raises(KleroError, match="gender: x"):
        find_distribution(pool, ONE_EACH, size=2, algorithm="maximin", rng=np.random.default_rng(0))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    genders=st.lists(st.sampled_from("fm"), min_size=4, max_size=12),
    ages=st.data(),
    size=st.integers(min_value=2, max_value=4),
)
def test_random_pools_properties(genders: list[str], ages: st.DataObject, size: int) -> None:
    n = len(genders)
    age = ages.draw(st.lists(st.sampled_from("yo"), min_size=n, max_size=n))
    address = ages.draw(st.lists(st.integers(0, n), min_size=n, max_size=n))
    pool = pd.DataFrame({"id": [f"p{i}" for i in range(n)], "gender": genders, "age": age, "address_key": address})
    quotas = make_quotas(
        [("gender", "f", 1, size), ("gender", "m", 1, size), ("age", "y", 0, size), ("age", "o", 0, size)]
    )
    for algorithm in ALGORITHMS:
        try:
            panels, weights = find_distribution(
                pool, quotas, size=size, algorithm=algorithm, rng=np.random.default_rng(0)
            )
        except InfeasibleQuotaError:
            return
        check_distribution(pool, quotas, size, "address_key", panels, weights)


def test_degenerate_master_found_by_hypothesis_is_solved() -> None:
    # this pool made the warm-started simplex end with HiGHS status kUnknown in leximin (CI, session 3)
    genders = ["f", "f", "m", "f", "f", "m", "m", "m"]
    pool = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(8)],
            "gender": genders,
            "age": ["y"] * 8,
            "address_key": [5, 1, 3, 0, 2, 4, 1, 3],
        }
    )
    quotas = make_quotas([("gender", "f", 1, 4), ("gender", "m", 1, 4), ("age", "y", 0, 4), ("age", "o", 0, 4)])
    for algorithm in ALGORITHMS:
        panels, weights = find_distribution(pool, quotas, size=4, algorithm=algorithm, rng=np.random.default_rng(0))
        check_distribution(pool, quotas, 4, "address_key", panels, weights)


def test_fixture_leximin_and_maximin_published_minimum() -> None:
    pool, quotas, k = load_fixture()
    for algorithm in ("leximin", "maximin"):
        panels, weights = find_distribution(pool, quotas, size=k, algorithm=algorithm, rng=np.random.default_rng(0))
        pi = check_distribution(pool, quotas, k, "address_key", panels, weights)
        assert pi.min() == pytest.approx(0.0909091, abs=1e-6)  # PROVENANCE.md: sortition-algorithms 0.12.15


def test_fixture_maximin_matches_sortition_algorithms() -> None:
    from sortition.selection import select_panel

    pool, quotas, k = load_fixture()
    theirs = select_panel(
        pool, quotas, size=k, rng=np.random.default_rng(0), algorithm="maximin", engine="sortition-algorithms"
    )
    panels, weights = find_distribution(pool, quotas, size=k, algorithm="maximin", rng=np.random.default_rng(0))
    assert probabilities(pool, panels, weights).min() == pytest.approx(theirs.probabilities.min(), abs=1e-6)


def test_fixture_goldilocks_lowers_the_maximum() -> None:
    pool, quotas, k = load_fixture()
    panels, weights = find_distribution(pool, quotas, size=k, algorithm="goldilocks", rng=np.random.default_rng(0))
    pi = check_distribution(pool, quotas, k, "address_key", panels, weights)
    # Goldilocks trades a little of the minimum for a much lower maximum than leximin's 0.47.
    assert pi.min() > 0.08
    assert pi.max() < 0.25


def test_example_small_20_leximin_published_minimum() -> None:
    pool, quotas, k = load_replication("example_small_20")
    panels, weights = find_distribution(
        pool, quotas, size=k, algorithm="leximin", rng=np.random.default_rng(0), address_column=None
    )
    pi = check_distribution(pool, quotas, k, None, panels, weights)
    assert pi.min() == pytest.approx(0.1, abs=1e-6)  # reference_output/example_small_20_statistics.txt: 10.0%


@pytest.mark.slow
def test_fixture_nash_published_minimum() -> None:
    pool, quotas, k = load_fixture()
    panels, weights = find_distribution(pool, quotas, size=k, algorithm="nash", rng=np.random.default_rng(0))
    pi = check_distribution(pool, quotas, k, "address_key", panels, weights)
    assert pi.min() == pytest.approx(0.0877, abs=5e-5)  # PROVENANCE.md: Nash minimum 0.0877


@pytest.mark.slow
def test_example_large_200_leximin() -> None:
    pool, quotas, k = load_replication("example_large_200")
    panels, weights = find_distribution(
        pool, quotas, size=k, algorithm="leximin", rng=np.random.default_rng(0), address_column=None
    )
    pi = check_distribution(pool, quotas, k, None, panels, weights)
    assert pi.min() == pytest.approx(0.1, abs=1e-6)  # reference_output/example_large_200_statistics.txt: 10.0%


# --- leximin against an independent brute force ---------------------------------------------------
def feasible_panels(pool: pd.DataFrame, quotas: pd.DataFrame, size: int) -> list[tuple[str, ...]]:
    """Every panel of ``size`` (itertools.combinations) meeting every quota, at most one per address."""
    from itertools import combinations

    by_id = pool.set_index("id")
    panels = []
    for panel in combinations(pool["id"].tolist(), size):
        members = by_id.loc[list(panel)]
        if members["address_key"].duplicated().any():
            continue
        if all(q.min <= int((members[q.category] == q.feature).sum()) <= q.max for q in quotas.itertuples(index=False)):
            panels.append(panel)
    return panels


def brute_force_leximin(pool: pd.DataFrame, quotas: pd.DataFrame, size: int) -> np.ndarray:
    """Sorted leximin profile over *every* feasible panel (``brute_force_leximin_by_person``, sorted)."""
    return np.sort(brute_force_leximin_by_person(pool, quotas, size))


def brute_force_leximin_by_person(pool: pd.DataFrame, quotas: pd.DataFrame, size: int) -> np.ndarray:
    """Leximin probability of each person (pool order) over *every* feasible panel, by scipy's ``linprog`` only.

    Enumerates all panels (itertools.combinations), then level by level: ``max z`` s.t. ``π_i ≥ z`` for
    unfixed i, ``π_i ≥ f_i`` for fixed i, ``Σλ = 1``; person i is fixed at z* when ``max π_i`` under the
    same constraints (with z = z*) does not exceed z* (the textbook leximin, no duals, no types).
    """
    from scipy.optimize import linprog

    ids = pool["id"].tolist()
    panels = feasible_panels(pool, quotas, size)
    incidence = np.array([[person in panel for panel in panels] for person in ids], dtype=float)  # n x P
    p = incidence.shape[1]
    covered = incidence.any(axis=1)
    fixed = np.where(covered, np.nan, 0.0)
    while np.isnan(fixed).any():
        unfixed = np.isnan(fixed)
        # variables (λ_1..λ_P, z); minimise -z
        rows = [np.r_[-incidence[i], 1.0] for i in np.flatnonzero(unfixed)]
        rhs = [0.0] * len(rows)
        rows += [np.r_[-incidence[i], 0.0] for i in np.flatnonzero(~unfixed)]
        rhs += [-fixed[i] + 1e-9 for i in np.flatnonzero(~unfixed)]
        equal = [np.r_[np.ones(p), 0.0]]
        bounds = [(0, None)] * p + [(None, None)]
        level = linprog(np.r_[np.zeros(p), -1.0], A_ub=rows, b_ub=rhs, A_eq=equal, b_eq=[1.0], bounds=bounds)
        z = -level.fun
        for i in np.flatnonzero(unfixed):
            floor_rows = [np.r_[-incidence[j], 0.0] for j in np.flatnonzero(unfixed)]
            floor_rhs = [-z + 1e-9] * len(floor_rows)
            best = linprog(
                np.r_[-incidence[i], 0.0],
                A_ub=floor_rows + rows[len(np.flatnonzero(unfixed)) :],
                b_ub=floor_rhs + rhs[len(np.flatnonzero(unfixed)) :],
                A_eq=equal,
                b_eq=[1.0],
                bounds=bounds,
            )
            if -best.fun <= z + 1e-7:
                fixed[i] = z
    return fixed


def small_random_pool(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nine people, two categories, two of them at one address; quotas for panels of four."""
    rng = np.random.default_rng(seed)
    n = 9
    pool = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "gender": rng.choice(["f", "m"], n),
            "age": rng.choice(["jong", "oud", "midden"], n),
            "address_key": [f"h{i}" for i in range(n)],
        }
    )
    pool.loc[1, "address_key"] = pool.loc[0, "address_key"]  # two people share an address
    quotas = make_quotas(
        [("gender", "f", 1, 3), ("gender", "m", 1, 3)]
        + [("age", a, 0 if (pool["age"] == a).sum() == 0 else 1, 2) for a in ("jong", "oud", "midden")]
    )
    return pool, quotas


@pytest.mark.parametrize("seed", range(6))
def test_leximin_profile_equals_brute_force(seed: int) -> None:
    pool, quotas = small_random_pool(seed)
    panels, weights = find_distribution(pool, quotas, size=4, algorithm="leximin", rng=np.random.default_rng(0))
    pi = check_distribution(pool, quotas, 4, "address_key", panels, weights)
    assert np.sort(pi.to_numpy()) == pytest.approx(brute_force_leximin(pool, quotas, 4), abs=1e-6)


def brute_force_nash_by_person(pool: pd.DataFrame, quotas: pd.DataFrame, size: int) -> np.ndarray:
    """Nash probabilities ``argmax Σ_i log π_i`` (people on some feasible panel) over *every* feasible panel,
    by scipy's SLSQP on the panel weights (no types, no barrier, no column generation)."""
    from scipy.optimize import minimize

    ids = pool["id"].tolist()
    panels = feasible_panels(pool, quotas, size)
    incidence = np.array([[person in panel for panel in panels] for person in ids], dtype=float)  # n x P
    on_some = incidence.any(axis=1)
    a = incidence[on_some]
    p = a.shape[1]

    def value(lam: np.ndarray) -> float:
        return -float(np.log(a @ lam).sum())

    def gradient(lam: np.ndarray) -> np.ndarray:
        return -(a.T @ (1.0 / (a @ lam)))

    result = minimize(
        value,
        np.full(p, 1.0 / p),
        jac=gradient,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * p,
        constraints=[{"type": "eq", "fun": lambda lam: lam.sum() - 1.0, "jac": lambda lam: np.ones(p)}],
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    assert result.success, result.message
    pi = np.zeros(len(ids))
    pi[on_some] = a @ result.x
    return pi


@pytest.mark.parametrize("seed", range(6))
def test_nash_equals_brute_force(seed: int) -> None:
    # Σ log π is strictly concave in π, so the Nash probabilities are unique: the engine's (types, Frank-Wolfe,
    # warm-started barrier) must equal SLSQP's over every feasible panel.
    pool, quotas = small_random_pool(seed)
    panels, weights = find_distribution(pool, quotas, size=4, algorithm="nash", rng=np.random.default_rng(0))
    pi = check_distribution(pool, quotas, 4, "address_key", panels, weights).to_numpy()
    reference = brute_force_nash_by_person(pool, quotas, 4)
    assert pi == pytest.approx(reference, abs=1e-6)  # measured: within 6e-9; maximin differs by up to 0.1
    used = reference > 0
    assert np.log(pi[used]).sum() >= np.log(reference[used]).sum() - 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_rebuilt_level_master_keeps_the_optimum_and_its_basis(seed: int) -> None:
    # Each leximin level starts from a fresh master holding only the useful panels. Every panel with
    # positive weight must be kept, and the restricted basis must be optimal for the rebuilt master:
    # the simplex restarts there with zero pivots and the same value.
    pool, quotas = small_random_pool(seed)
    space, _ = build_space(pool, quotas, size=4, address_column="address_key")
    oracle, search = PanelOracle(space), SwapSearch(space)
    initial, covered = covering_compositions(oracle, search, rounds=3)
    fixed = np.where(covered, np.nan, 0.0)
    master, _, _ = _level_master(space, covered, fixed, initial)
    generate_columns(master, oracle, search)
    panels, basis = _useful_panels(master)
    kept = {c.tobytes() for c in panels}
    weights = master.values()[master.panel_cols]
    assert all(c.tobytes() in kept for c, w in zip(master.compositions, weights, strict=True) if w > 0)
    again, _, _ = _level_master(space, covered, fixed, panels, basis)
    again.solve()
    assert again.model.getInfo().simplex_iteration_count == 0
    assert again.objective() == pytest.approx(master.objective(), abs=1e-12)


# --- the uniform optimum -------------------------------------------------------------------------
# Pool of 8: four women, four men; in each gender two "jong" and two "oud"; p0 and p1 share an address.
# k = 4 with exactly two per gender and one to three per age. A witness (``test_uniform_witness_is_feasible``):
# four feasible panels with each person on exactly two, so λ = 1/4 each gives every π = 1/2 = k/n. Since
# Σπ = k for any distribution, min π ≤ k/n ≤ max π, so this uniform distribution is optimal for leximin,
# maximin, Nash and Goldilocks: every algorithm must give all eight people 1/2.
UNIFORM = pd.DataFrame(
    {
        "id": [f"p{i}" for i in range(8)],
        "gender": ["f", "f", "f", "f", "m", "m", "m", "m"],
        "age": ["jong", "oud", "jong", "oud", "jong", "oud", "jong", "oud"],
        "address_key": ["h0", "h0", "h2", "h3", "h4", "h5", "h6", "h7"],
    }
)
UNIFORM_QUOTAS = make_quotas(
    [("gender", "f", 2, 2), ("gender", "m", 2, 2), ("age", "jong", 1, 3), ("age", "oud", 1, 3)]
)


def test_uniform_witness_is_feasible() -> None:
    """The hand-made witness above: four panels, each person on two of them."""
    witness = [("p0", "p2", "p4", "p5"), ("p0", "p3", "p6", "p7"), ("p1", "p2", "p6", "p7"), ("p1", "p3", "p4", "p5")]
    panels = [frozenset(panel) for panel in witness]
    pi = check_distribution(UNIFORM, UNIFORM_QUOTAS, 4, "address_key", panels, np.full(4, 0.25))
    assert pi.tolist() == pytest.approx([0.5] * 8)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_uniform_optimum_every_algorithm(algorithm: str) -> None:
    panels, weights = find_distribution(
        UNIFORM, UNIFORM_QUOTAS, size=4, algorithm=algorithm, rng=np.random.default_rng(4)
    )
    pi = check_distribution(UNIFORM, UNIFORM_QUOTAS, 4, "address_key", panels, weights)
    assert pi.tolist() == pytest.approx([0.5] * 8, abs=1e-8)


@pytest.mark.parametrize("seed", range(6))
def test_maximin_equals_brute_force_first_level(seed: int) -> None:
    """Same random pools as the leximin test; maximin's minimum is the brute force's first level."""
    pool, quotas = small_random_pool(seed)
    panels, weights = find_distribution(pool, quotas, size=4, algorithm="maximin", rng=np.random.default_rng(0))
    pi = check_distribution(pool, quotas, 4, "address_key", panels, weights)
    profile = brute_force_leximin(pool, quotas, 4)
    on_some_panel = profile > 0  # people on no feasible panel get 0 from both and are left out of maximin
    assert (pi > 1e-9).sum() == on_some_panel.sum()
    assert pi[pi > 1e-9].min() == pytest.approx(profile[on_some_panel].min(), abs=1e-6)
