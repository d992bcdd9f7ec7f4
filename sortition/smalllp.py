"""LP dives over the panel polytope, compiled: a dense bounded dual simplex for pricing heuristics.

``PanelOracle.good`` finds good feasible panels without the ILP by *diving* in the LP relaxation
(``max Σ_t w_t c_t`` over the quota polytope: solve, force one more person of the most fractional type onto
the panel, solve again, ...). Through HiGHS a dive cost 9 ms on the tight pool (n = 360, 28 rows, 326
types: 24 solves of ~7 simplex pivots), nearly all of it per-call overhead of a solver built for large
sparse models, and dives were more than half of a maximin run (tight n = 360: 12 of 22 s CPU; climate
n = 4,000: 56 + 16 of 130 s; bench notes §15). The LP has only ``1 + features + households`` rows, so here
it is solved as a dense tableau, in one compiled call per dive (numba): the textbook bounded dual
simplex (Koberstein 2005, ch. 3; Harris's two-pass ratio test) over ``[A | -I]·(c, s) = 0`` with box
bounds on the counts ``c`` and the row activities ``s``.

Every nonbasic count starts at the bound its objective prefers, so the all-slack basis is dual feasible
and the dual simplex needs no phase 1; fixing a bound in a dive keeps the basis dual feasible, so each
re-solve continues from the last basis. The tableau is recomputed from the basis every
``REINVERT_PIVOTS`` pivots.

A dive is a heuristic, never a certificate: the caller checks each panel exactly (integers, quotas,
addresses) and the exact pricing (HiGHS's relaxation and ILP) keeps the last word, so an error here can
cost a panel but never a wrong distribution.
"""

from __future__ import annotations

import numpy as np
from numba import njit

REINVERT_PIVOTS = 64  # the tableau is recomputed from the basis this often
PRIMAL_TOLERANCE = 1e-9
PIVOT_TOLERANCE = 1e-9
INTEGRAL_TOLERANCE = 1e-9
OPTIMAL, INFEASIBLE, LIMIT = 0, 1, 2


@njit(cache=True)
def _reinvert(
    matrix: np.ndarray,
    basis: np.ndarray,
    basic: np.ndarray,
    cost: np.ndarray,
    tableau: np.ndarray,
    value: np.ndarray,
    reduced: np.ndarray,
) -> None:  # pragma: no cover
    """Tableau ``B⁻¹[A | -I]``, basic values and reduced costs recomputed from the basis."""
    m = matrix.shape[0]
    base = np.empty((m, m))
    for i in range(m):
        base[:, i] = matrix[:, basis[i]]
    tableau[:, :] = np.linalg.solve(base, matrix)
    _basic_values(basis, basic, tableau, value)
    for j in range(matrix.shape[1]):
        total = cost[j]
        for i in range(m):
            total -= cost[basis[i]] * tableau[i, j]
        reduced[j] = 0.0 if basic[j] else total


@njit(cache=True)
def _basic_values(
    basis: np.ndarray, basic: np.ndarray, tableau: np.ndarray, value: np.ndarray
) -> None:  # pragma: no cover
    """``v_B = -T_N·v_N`` (the rows read ``v_B + T_N v_N = 0``)."""
    m, width = tableau.shape
    for i in range(m):
        total = 0.0
        for j in range(width):
            if not basic[j]:
                total -= tableau[i, j] * value[j]
        value[basis[i]] = total


@njit(cache=True)
def _leaving_row(
    basis: np.ndarray, lower: np.ndarray, upper: np.ndarray, value: np.ndarray
) -> tuple[int, float]:  # pragma: no cover
    """The row whose basic variable lies furthest outside its bounds, and by how much (-1: none)."""
    row, worst = -1, PRIMAL_TOLERANCE
    for i in range(len(basis)):
        q = basis[i]
        gap = max(lower[q] - value[q], value[q] - upper[q])
        if gap > worst:
            row, worst = i, gap
    return row, worst


@njit(cache=True)
def _entering(
    row: int,
    worst: float,
    increase: bool,
    tableau: np.ndarray,
    basis: np.ndarray,
    basic: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    at_upper: np.ndarray,
    reduced: np.ndarray,
    value: np.ndarray,
) -> int:  # pragma: no cover
    """Bound-flipping ratio test for the leaving ``row``; returns the entering variable (-1: infeasible).

    Walk the breakpoints ``|d_j / α_j|`` in order: a boxed candidate whose whole range does not yet repair
    the leaving variable flips to its other bound (applied here), the first one that does enters. Without
    the flips a cold start took a pivot per count (~500 on the tight pool)."""
    m, width = tableau.shape
    candidates = np.empty(width, dtype=np.int64)
    ratios = np.empty(width)
    found = 0
    for j in range(width):
        if basic[j] or upper[j] - lower[j] <= 0.0:
            continue
        alpha = tableau[row, j]
        if abs(alpha) <= PIVOT_TOLERANCE:
            continue
        # moving j by Δ changes v_q by -alpha·Δ; j may rise from its lower bound or fall from its upper
        rises = (alpha < 0.0) if increase else (alpha > 0.0)
        if at_upper[j] == rises:
            continue
        candidates[found] = j
        ratios[found] = abs(reduced[j]) / abs(alpha)
        found += 1
    slope = worst
    while found > 0:  # the next breakpoint, by selection (usually the first one enters)
        pick = 0
        for k in range(1, found):
            if ratios[k] < ratios[pick]:
                pick = k
        j = candidates[pick]
        found -= 1
        candidates[pick], ratios[pick] = candidates[found], ratios[found]
        span = upper[j] - lower[j]
        repair = abs(tableau[row, j]) * span
        if found == 0 or span == np.inf or slope - repair <= PRIMAL_TOLERANCE:
            return j
        slope -= repair
        target = lower[j] if at_upper[j] else upper[j]
        delta = target - value[j]
        for i in range(m):
            value[basis[i]] -= tableau[i, j] * delta
        value[j] = target
        at_upper[j] = not at_upper[j]
    return -1


@njit(cache=True)
def _pivot(
    row: int,
    enter: int,
    increase: bool,
    tableau: np.ndarray,
    basis: np.ndarray,
    basic: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    at_upper: np.ndarray,
    reduced: np.ndarray,
    value: np.ndarray,
) -> None:  # pragma: no cover
    """``enter`` replaces the basic variable of ``row``, which leaves at the bound it violated."""
    m, width = tableau.shape
    q = basis[row]
    alpha = tableau[row, enter]
    step = reduced[enter] / alpha
    for j in range(width):
        if not basic[j]:
            reduced[j] -= step * tableau[row, j]
    reduced[enter] = 0.0
    # within tolerance a leaving reduced cost can get a tiny wrong sign: clip it
    reduced[q] = max(-step, 0.0) if increase else min(-step, 0.0)
    target = lower[q] if increase else upper[q]
    delta = -(target - value[q]) / alpha
    for i in range(m):
        value[basis[i]] -= tableau[i, enter] * delta
    value[enter] += delta
    value[q] = target
    pivot_row = tableau[row]
    for j in range(width):
        pivot_row[j] /= alpha
    for i in range(m):
        factor = tableau[i, enter]
        if i != row and factor != 0.0:
            target_row = tableau[i]
            for j in range(width):
                target_row[j] -= factor * pivot_row[j]
    basis[row] = enter
    basic[enter] = True
    basic[q] = False
    at_upper[q] = not increase


@njit(cache=True)
def _dual_simplex(
    matrix: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    cost: np.ndarray,
    basis: np.ndarray,
    basic: np.ndarray,
    at_upper: np.ndarray,
    tableau: np.ndarray,
    value: np.ndarray,
    reduced: np.ndarray,
    budget: int,
) -> tuple[int, int]:  # pragma: no cover
    """Bounded dual simplex from a dual feasible basis; returns (status, pivots used)."""
    pivots = 0
    while True:
        row, worst = _leaving_row(basis, lower, upper, value)
        if row < 0:
            return OPTIMAL, pivots
        if pivots >= budget:
            return LIMIT, pivots
        increase = value[basis[row]] < lower[basis[row]]
        enter = _entering(row, worst, increase, tableau, basis, basic, lower, upper, at_upper, reduced, value)
        if enter < 0:
            return INFEASIBLE, pivots
        _pivot(row, enter, increase, tableau, basis, basic, lower, upper, at_upper, reduced, value)
        pivots += 1
        if pivots % REINVERT_PIVOTS == 0:
            _reinvert(matrix, basis, basic, cost, tableau, value, reduced)
            for j in range(len(reduced)):  # clip the signs the refresh may have perturbed
                if not basic[j]:
                    reduced[j] = min(reduced[j], 0.0) if at_upper[j] else max(reduced[j], 0.0)


@njit(cache=True)
def _start(
    matrix: np.ndarray, row_lower: np.ndarray, row_upper: np.ndarray, counts: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, ...]:  # pragma: no cover
    """The all-slack basis over ``[A | -I]``, each count at the bound its objective prefers (dual feasible)."""
    m, n = matrix.shape
    width = n + m
    full = np.zeros((m, width))
    full[:, :n] = matrix
    for i in range(m):
        full[i, n + i] = -1.0
    lower = np.empty(width)
    upper = np.empty(width)
    cost = np.zeros(width)
    lower[:n] = 0.0
    upper[:n] = counts
    lower[n:] = row_lower
    upper[n:] = row_upper
    cost[:n] = -weights
    basis = np.arange(n, width)
    basic = np.zeros(width, dtype=np.bool_)
    basic[n:] = True
    at_upper = np.zeros(width, dtype=np.bool_)
    value = np.zeros(width)
    for j in range(n):
        if weights[j] > 0.0:
            at_upper[j] = True
            value[j] = counts[j]
    tableau = np.zeros((m, width))
    reduced = np.zeros(width)
    _reinvert(full, basis, basic, cost, tableau, value, reduced)
    return full, lower, upper, cost, basis, basic, at_upper, tableau, value, reduced


@njit(cache=True)
def relaxation(
    matrix: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
    budget: int,
) -> tuple[int, np.ndarray]:  # pragma: no cover
    """``(status, c)``: an optimal vertex of ``max weights·c`` over the relaxation (``c`` fractional)."""
    full, lower, upper, cost, basis, basic, at_upper, tableau, value, reduced = _start(
        matrix, row_lower, row_upper, counts, weights
    )
    status, _ = _dual_simplex(full, lower, upper, cost, basis, basic, at_upper, tableau, value, reduced, budget)
    return status, value[: matrix.shape[1]].copy()


@njit(cache=True)
def dive(
    matrix: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    counts: np.ndarray,
    weights: np.ndarray,
    max_solves: int,
    budget: int,
) -> tuple[int, np.ndarray]:  # pragma: no cover
    """Dive for ``max weights·c`` over ``row_lower ≤ matrix·c ≤ row_upper``, ``0 ≤ c ≤ counts``.

    Returns ``(status, c)``: ``OPTIMAL`` with an integral ``c`` (the first vertex when already integral:
    then it is the relaxation's optimum), ``INFEASIBLE`` when the dive ran into a dead end, ``LIMIT``
    when it used ``budget`` pivots or ``max_solves`` solves.
    """
    n = matrix.shape[1]
    full, lower, upper, cost, basis, basic, at_upper, tableau, value, reduced = _start(
        matrix, row_lower, row_upper, counts, weights
    )
    used = 0
    undo_type, undo_lower = -1, 0.0
    result = np.zeros(n, dtype=np.int64)
    for _ in range(max_solves):
        status, pivots = _dual_simplex(
            full, lower, upper, cost, basis, basic, at_upper, tableau, value, reduced, budget - used
        )
        used += pivots
        if status == LIMIT:
            return LIMIT, result
        if status == INFEASIBLE:
            if undo_type < 0:
                return INFEASIBLE, result
            j = undo_type
            upper[j] = lower[j] - 1.0  # bar the type instead of forcing it
            lower[j] = undo_lower
            undo_type = -1
            _set_nonbasic(j, lower, upper, basic, at_upper, value)
            _basic_values(basis, basic, tableau, value)
            continue
        pick, largest = -1, INTEGRAL_TOLERANCE
        for j in range(n):
            fraction = value[j] - np.floor(value[j] + INTEGRAL_TOLERANCE)
            if fraction > largest:
                pick, largest = j, fraction
        if pick < 0:
            for j in range(n):
                result[j] = np.int64(np.rint(value[j]))
            return OPTIMAL, result
        undo_type, undo_lower = pick, lower[pick]
        lower[pick] = np.ceil(value[pick])
        _set_nonbasic(pick, lower, upper, basic, at_upper, value)
        _basic_values(basis, basic, tableau, value)
    return LIMIT, result


@njit(cache=True)
def _set_nonbasic(
    j: int, lower: np.ndarray, upper: np.ndarray, basic: np.ndarray, at_upper: np.ndarray, value: np.ndarray
) -> None:  # pragma: no cover
    """A nonbasic variable sits at the bound of its status (after that bound moved)."""
    if not basic[j]:
        value[j] = upper[j] if at_upper[j] else lower[j]
