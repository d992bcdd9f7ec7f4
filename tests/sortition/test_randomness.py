"""The max-entropy algorithm (sortition/randomness.py): leximin's probabilities on as many panels as possible.

References are independent of the engine: hand-worked distributions, and for small pools every feasible
panel enumerated by itertools with the leximin probabilities from scipy's ``linprog`` level by level
(``brute_force_leximin_by_person``), the systematic expansion's panels from exact fractions and the
maximum entropy from scipy's SLSQP on the primal.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from kleroterion.workspace import Workspace
from sortition.engine import find_distribution
from sortition.randomness import EFFECTIVE_PANELS, entropy, max_entropy_weights, mix_to_fair
from tests.conftest import run_cli as run
from tests.sortition.test_engine import (
    brute_force_leximin_by_person,
    check_distribution,
    feasible_panels,
    load_fixture,
    load_replication,
    make_quotas,
    probabilities,
    small_random_pool,
)
from tests.sortition.test_panel import pooled  # noqa: F401  (fixture)

# Four people of four types: a, b women, c, d men; a and c young, b and d old. k = 2 with one woman and
# one man: the panels are ac, ad, bc, bd, and by symmetry leximin gives everyone 1/2. The distributions
# with π = 1/2 are λ_ac = λ_bd = x, λ_ad = λ_bc = 1/2 - x for x in [0, 1/2]; the entropy
# -2x log x - 2(1/2-x) log(1/2-x) is largest at x = 1/4: every panel 1/4, entropy log 4. A simplex vertex
# (what leximin's column generation ends on) has x = 0 or 1/2: two panels, entropy log 2.
SQUARE = pd.DataFrame(
    {
        "id": ["a", "b", "c", "d"],
        "gender": ["f", "f", "m", "m"],
        "age": ["jong", "oud", "jong", "oud"],
        "address_key": ["1", "2", "3", "4"],
    }
)
SQUARE_QUOTAS = make_quotas([("gender", "f", 1, 1), ("gender", "m", 1, 1), ("age", "jong", 0, 2), ("age", "oud", 0, 2)])


def test_square_hand_worked() -> None:
    panels, weights = find_distribution(
        SQUARE, SQUARE_QUOTAS, size=2, algorithm="max-entropy", rng=np.random.default_rng(0)
    )
    pi = check_distribution(SQUARE, SQUARE_QUOTAS, 2, "address_key", panels, weights)
    assert pi.tolist() == pytest.approx([0.5] * 4, abs=1e-9)
    assert {tuple(sorted(p)): w for p, w in zip(panels, weights, strict=True)} == pytest.approx(
        {("a", "c"): 0.25, ("a", "d"): 0.25, ("b", "c"): 0.25, ("b", "d"): 0.25}, abs=1e-9
    )
    _, lexi_weights = find_distribution(
        SQUARE, SQUARE_QUOTAS, size=2, algorithm="leximin", rng=np.random.default_rng(0)
    )
    assert entropy(lexi_weights) < np.log(4) - 0.1  # the leximin vertex: two (or three) panels
    assert entropy(weights) == pytest.approx(np.log(4), abs=1e-9)


def systematic_entropy(counts: dict[str, int], sizes: dict[str, int]) -> float:
    """Entropy of the systematic sample's panels for one composition, from exact fractions.

    Madow's systematic sample of ``c`` of ``n`` changes only at the starts ``frac(p·c/n)``; the panels are
    the intervals between all types' breakpoints, weighted by their lengths."""
    edges = {Fraction(0), Fraction(1)}
    for kind, c in counts.items():
        n = sizes[kind]
        if 0 < c < n:
            edges |= {Fraction(p * c, n) - (p * c) // n for p in range(n)}
    points = sorted(edges)
    lengths = np.array([float(b - a) for a, b in itertools.pairwise(points)])
    return float(-(lengths @ np.log(lengths)))


def reference_max_entropy(pool: pd.DataFrame, quotas: pd.DataFrame, size: int) -> tuple[np.ndarray, float]:
    """Leximin probabilities per person and the largest entropy of the expanded panels that keeps them.

    A composition counts the members of each type: people with the same gender and age, except that
    people who share an address are types of their own (grouped here with pandas, not the engine's
    code). Each composition is drawn as a systematic sample (``systematic_entropy``), so the panel entropy
    is ``Σ_c λ_c (E_c - log λ_c)``; it is maximised by SLSQP over the compositions' weights with the
    per-person probabilities as equality constraints."""
    ids = pool["id"].tolist()
    shared = pool["address_key"].duplicated(keep=False)
    key = np.where(shared, "own:" + pool["id"], pool["gender"] + "|" + pool["age"])
    type_of = dict(zip(ids, key, strict=True))
    size_of = pd.Series(key).value_counts().to_dict()
    compositions: dict[tuple[tuple[str, int], ...], None] = {}
    for panel in feasible_panels(pool, quotas, size):
        counts = pd.Series([type_of[p] for p in panel]).value_counts()
        compositions[tuple(sorted(counts.items()))] = None
    comps = list(compositions)
    inner = np.array([systematic_entropy(dict(c), size_of) for c in comps])
    # per-person probability on a uniform panel of each composition: c_t / n_t
    shares = np.array([[dict(c).get(type_of[p], 0) / size_of[type_of[p]] for p in ids] for c in comps])
    target = brute_force_leximin_by_person(pool, quotas, size)

    def negative_entropy(lam: np.ndarray) -> float:
        lam = np.clip(lam, 1e-300, None)
        return float(lam @ (np.log(lam) - inner))

    def gradient(lam: np.ndarray) -> np.ndarray:
        return np.log(np.clip(lam, 1e-300, None)) + 1.0 - inner

    # The constraints (per person, and Σλ = 1) are redundant; SLSQP wants independent ones: M λ = b
    # becomes V_r λ = U_rᵀ b / s_r from the SVD M = U S Vᵀ restricted to its rank r.
    matrix = np.vstack([shares.T, np.ones(len(comps))])
    rhs = np.append(target, 1.0)
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    rank = int((s > 1e-10 * s[0]).sum())
    rows, values = vt[:rank], (u[:, :rank].T @ rhs) / s[:rank]
    constraints = [{"type": "eq", "fun": lambda lam: rows @ lam - values, "jac": lambda lam: rows}]
    start = np.full(len(comps), 1.0 / len(comps))
    result = minimize(
        negative_entropy,
        start,
        jac=gradient,
        bounds=[(0.0, 1.0)] * len(comps),
        constraints=constraints,
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 2000},
    )
    assert np.abs(result.x @ shares - target).max() < 1e-7, result.message
    return target, -float(result.fun)


@pytest.mark.parametrize("seed", range(6))
def test_max_entropy_equals_brute_force(seed: int) -> None:
    pool, quotas = small_random_pool(seed)
    panels, weights = find_distribution(pool, quotas, size=4, algorithm="max-entropy", rng=np.random.default_rng(0))
    pi = check_distribution(pool, quotas, 4, "address_key", panels, weights)
    leximin, best = reference_max_entropy(pool, quotas, 4)
    assert pi.to_numpy() == pytest.approx(leximin, abs=1e-6)  # the same probabilities as leximin, per person
    # the engine's panels are the expanded ones: their entropy is the reference's objective
    assert entropy(weights) == pytest.approx(best, abs=1e-6)


def check_many_panels(pool: pd.DataFrame, quotas: pd.DataFrame, size: int, panels, weights) -> pd.Series:
    """``check_distribution`` for thousands of panels, with matrices (one address per person here)."""
    ids = pool["id"].astype(str).tolist()
    position = {person: i for i, person in enumerate(ids)}
    incidence = np.zeros((len(panels), len(ids)))
    for j, panel in enumerate(panels):
        incidence[j, [position[p] for p in panel]] = 1.0
    assert (incidence.sum(axis=1) == size).all()
    for row in quotas.itertuples(index=False):
        has = (pool[row.category].astype(str) == str(row.feature)).to_numpy(dtype=float)
        counts = incidence @ has
        assert ((counts >= row.min) & (counts <= row.max)).all(), row
    assert weights.sum() == pytest.approx(1.0, abs=1e-9) and (weights >= 0).all()
    return pd.Series(weights @ incidence, index=ids)


def test_fixture_keeps_leximin_probabilities_on_more_panels() -> None:
    pool, quotas, k = load_fixture()
    panels, weights = find_distribution(pool, quotas, size=k, algorithm="max-entropy", rng=np.random.default_rng(5))
    lexi_panels, lexi_weights = find_distribution(
        pool, quotas, size=k, algorithm="leximin", rng=np.random.default_rng(5)
    )
    assert pool["address_key"].is_unique
    pi = check_many_panels(pool, quotas, k, panels, weights)
    lexi = probabilities(pool, lexi_panels, lexi_weights)
    # leximin's π is unique per person. Leximin comes from the relaxation (exact: #23 is 3/26 to 1e-10), max-entropy
    # from the column generation's levels, held to FIX_SLACK per level (0.11538464 there: 2.4e-8 above 3/26)
    assert pi.to_numpy() == pytest.approx(lexi.to_numpy(), abs=1e-7)
    assert np.isclose(lexi.to_numpy(), 3 / 26, rtol=0, atol=1e-9).any()
    assert pi.min() == pytest.approx(0.0909091, abs=1e-6)  # PROVENANCE.md: sortition-algorithms 0.12.15
    # measured: 278 effective panels (exp entropy) for leximin; max-entropy stops at the target, 1,003
    assert np.exp(entropy(lexi_weights)) < 300
    assert np.exp(entropy(weights)) >= EFFECTIVE_PANELS
    assert weights.max() < lexi_weights.max()


def test_newton_on_a_starved_column() -> None:
    # Three panels over two types; the target (0.5, 0.5) is reached only by the first two (λ = 1/2 each):
    # the third has shares (1, 0.2) and (0.5, 0.5) lies on the edge of the hull, so the dual runs off to
    # infinity and the third panel's weight must decay to (near) zero.
    shares = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.2]])
    weights, _ = max_entropy_weights(shares, np.array([0.5, 0.5]))
    assert weights == pytest.approx([0.5, 0.5, 0.0], abs=1e-6)
    assert np.abs(weights @ shares - 0.5).max() < 1e-6


def test_mix_to_fair_takes_the_smallest_share_of_the_fair_distribution() -> None:
    shares = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    target = np.array([0.5, 0.5])
    fair = np.array([0.5, 0.5, 0.0])
    off = np.array([0.6, 0.4, 0.0])  # π = (0.6, 0.4): 0.1 off on both types
    mixed = mix_to_fair(off, fair, shares, target, tolerance=0.02)
    assert np.abs(mixed @ shares - target).max() == pytest.approx(0.02, abs=1e-9)  # exactly at the tolerance
    assert mixed == pytest.approx(0.2 * off + 0.8 * fair, abs=1e-9)  # θ = (0.1 - 0.02) / 0.1
    assert mix_to_fair(fair, fair, shares, target).tolist() == pytest.approx(fair.tolist())


def test_cli_max_entropy_draw_and_lottery(
    pooled: Workspace,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = str(pooled.root)
    store = pooled.store

    def select(algorithm: str, *extra: str) -> int:
        args = ["panel", "select", "--algorithm", algorithm, "--seed", "3", *extra, "-w", root]
        assert run(monkeypatch, *args) == 0
        return int(store.latest_panel_draw()["id"])

    leximin = select("leximin")
    spread = select("max-entropy", "--redraw", "--reason", "meer loten")
    assert store.latest_panel_draw()["algorithm"] == "max-entropy"
    lexi_pi, spread_pi = store.selection_probabilities(leximin), store.selection_probabilities(spread)
    assert spread_pi.sort_index().to_numpy() == pytest.approx(lexi_pi.sort_index().to_numpy(), abs=1e-8)
    lexi_weights = np.array([w for _, w in store.draw_distribution(leximin)])
    spread_weights = np.array([w for _, w in store.draw_distribution(spread)])
    assert len(spread_weights) > len(lexi_weights)
    assert entropy(spread_weights) > entropy(lexi_weights) + 1.0
    assert run(monkeypatch, "panel", "verify", "-w", root) == 0  # the stored seed replays the same draw
    tickets = {}
    for algorithm in ("leximin", "max-entropy"):
        tickets[algorithm] = tmp_path / f"{algorithm}.csv"
        select(
            algorithm,
            "--redraw",
            "--reason",
            "loting",
            "--lottery-size",
            "200",
            "--lottery-out",
            str(tickets[algorithm]),
        )
    distinct = {a: pd.read_csv(path, dtype={"members": str})["members"].nunique() for a, path in tickets.items()}
    assert distinct["max-entropy"] > distinct["leximin"]
    assert run(monkeypatch, "panel", "draw-from-lottery", "--number", "17", "-w", root) == 0
    assert run(monkeypatch, "panel", "verify", "-w", root) == 0


def test_few_large_types_never_less_random_than_leximin() -> None:
    # example_small_20: three types, so most randomness is in the expansion of each composition into
    # panels. Maximising the entropy over compositions alone gave 270 effective panels against leximin's
    # 282 (measured); the expansion's entropy is part of the objective, so it can only gain.
    pool, quotas, k = load_replication("example_small_20")
    found = {
        algorithm: find_distribution(
            pool, quotas, size=k, algorithm=algorithm, rng=np.random.default_rng(0), address_column=None
        )
        for algorithm in ("leximin", "max-entropy")
    }
    lexi_panels, lexi_weights = found["leximin"]
    panels, weights = found["max-entropy"]
    assert entropy(weights) >= entropy(lexi_weights) - 1e-9
    lexi = probabilities(pool, lexi_panels, lexi_weights).to_numpy()
    assert probabilities(pool, panels, weights).to_numpy() == pytest.approx(lexi, abs=1e-8)


def test_same_seed_same_distribution() -> None:
    # the pricing rounds draw their perturbations from a generator seeded inside the algorithm, so the
    # distribution (and with it a stored seed's replay) does not depend on anything else
    pool, quotas, k = load_fixture()
    first = find_distribution(pool, quotas, size=k, algorithm="max-entropy", rng=np.random.default_rng(9))
    second = find_distribution(pool, quotas, size=k, algorithm="max-entropy", rng=np.random.default_rng(9))
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
