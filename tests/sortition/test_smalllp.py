"""The compiled dual simplex and dives (``sortition.smalllp``) against independent references.

The LP optimum is checked against ``scipy.optimize.linprog`` and a brute force over the vertices of a
hand-sized polytope; every panel a dive returns is checked exactly against the quotas."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from sortition import smalllp
from sortition.columngen import PanelOracle, PanelSpace
from sortition.engine import build_space
from sortition.synthetic_pools import tight_pool


def _random_polytope(rng: np.random.Generator, types: int, categories: int, exact: bool):
    """A quota polytope like a pool's: Σ c = k, each category's features summing to k, boxes 0..n_t."""
    counts = rng.integers(1, 4, size=types).astype(float)
    rows, lower, upper = [np.ones(types)], [0.0], [0.0]
    panel = np.zeros(types)
    chosen = rng.choice(types, size=max(2, types // 3), replace=False)
    panel[chosen] = 1.0  # a feasible panel, so the quotas built around it are feasible
    size = panel.sum()
    lower[0] = upper[0] = size
    for _ in range(categories):
        feature = rng.integers(0, 3, size=types)
        for f in range(3):
            member = (feature == f).astype(float)
            held = float(member @ panel)
            rows.append(member)
            lower.append(held if exact else max(held - 1.0, 0.0))
            upper.append(held if exact else held + 1.0)
    return np.array(rows), np.array(lower), np.array(upper), counts, panel


@pytest.mark.parametrize("exact", [True, False])
def test_relaxation_optimum_equals_linprog(exact: bool) -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        matrix, lower, upper, counts, _ = _random_polytope(
            rng, types=int(rng.integers(6, 30)), categories=3, exact=exact
        )
        weights = rng.normal(size=matrix.shape[1])
        weights[rng.random(len(weights)) < 0.3] = 0.0  # degenerate, like duals with many zeros
        status, values = smalllp.relaxation(matrix, lower, upper, counts, weights, 10_000)
        reference = linprog(
            -weights,
            A_ub=np.vstack([matrix, -matrix]),
            b_ub=np.concatenate([upper, -lower]),
            bounds=list(zip(np.zeros_like(counts), counts, strict=True)),
            method="highs",
        )
        assert reference.status == 0
        assert status == smalllp.OPTIMAL
        assert weights @ values == pytest.approx(-reference.fun, abs=1e-9)
        activity = matrix @ values
        assert (activity >= lower - 1e-9).all() and (activity <= upper + 1e-9).all()
        assert (values >= -1e-9).all() and (values <= counts + 1e-9).all()


def test_relaxation_reports_infeasible() -> None:
    matrix = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    status, _ = smalllp.relaxation(matrix, np.array([2.0, 3.0]), np.array([2.0, 3.0]), np.ones(3), np.ones(3), 100)
    assert status == smalllp.INFEASIBLE  # the first type has one person, but three are required


def test_dive_panels_are_feasible_and_found_where_brute_force_finds_one() -> None:
    """Small 0/1 pools: a dive's panel meets every quota; its value never beats the brute-force optimum."""
    rng = np.random.default_rng(3)
    dived = 0
    for _ in range(60):
        types = int(rng.integers(5, 11))
        matrix, lower, upper, _, _ = _random_polytope(rng, types=types, categories=2, exact=True)
        counts = np.ones(types)
        weights = rng.random(types)
        best = -np.inf
        for bits in itertools.product((0, 1), repeat=types):
            c = np.array(bits, dtype=float)
            activity = matrix @ c
            if (activity >= lower).all() and (activity <= upper).all():
                best = max(best, float(weights @ c))
        status, panel = smalllp.dive(matrix, lower, upper, counts, weights, 120, 10_000)
        assert best > -np.inf  # the pool was built around a feasible panel
        if status == smalllp.OPTIMAL:
            dived += 1
            activity = matrix @ panel
            assert ((activity >= lower) & (activity <= upper)).all()
            assert set(np.unique(panel)) <= {0, 1}
            assert weights @ panel <= best + 1e-12
    assert dived >= 50  # dead ends are rare on these pools


def test_oracle_dive_on_the_tight_pool_meets_every_quota_exactly() -> None:
    pool, quotas, size, _ = tight_pool(360, 0)
    space, _ = build_space(pool, quotas, size=size, address_column=None)
    oracle = PanelOracle(space)
    rng = np.random.default_rng(0)
    panels = [oracle.dive(rng.random(space.n_types) / space.counts) for _ in range(20)]
    assert sum(p is not None for p in panels) >= 12
    for panel in (p for p in panels if p is not None):
        assert panel.sum() == size
        load = space.membership @ panel
        assert (load == space.feature_min).all() and (load == space.feature_max).all()  # every quota exact


def test_households_are_respected() -> None:
    """A household row (at most one of types 0 and 1) holds in the dive's panel even when both weigh most."""
    space = PanelSpace(
        size=2,
        counts=np.ones(4),
        membership=np.zeros((0, 4)),
        feature_min=np.zeros(0),
        feature_max=np.zeros(0),
        feature_labels=(),
        households=((0, 1),),
    )
    panel = PanelOracle(space).dive(np.array([5.0, 4.0, 1.0, 0.5]))
    assert panel is not None and panel.tolist() == [1, 0, 1, 0]
