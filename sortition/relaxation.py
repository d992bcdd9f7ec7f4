"""Leximin through the quota polytope's LP relaxation, and its exact decomposition into panels.

Every distribution over feasible panels gives expected counts ``y_t = n_t·π_t`` that meet the quotas in
expectation: ``Σ_t y_t = k``, ``min_f ≤ Σ_{t∈f} y_t ≤ max_f``, ``Σ_{t∈h} y_t ≤ 1`` for a household ``h`` and
``0 ≤ y_t ≤ n_t``. So the set ``P`` of probability vectors that distributions over panels reach lies inside the
polytope ``Q`` of these constraints, and the leximin point of ``Q`` (``relaxed_leximin``: a few small LPs of one
variable per type) is lexicographically at least that of ``P``. When it lies in ``P`` it *is* leximin over
panels; ``peel_panels`` then writes it as a distribution over feasible panels (Carathéodory's theorem made
constructive, each step a dive in the face of ``Q`` that holds the point).

On the bench's self-selected pools (skewed n = 1,000-2,000, climate n = 4,000) the peeling succeeds, which proves
the two points equal, in 1-6 s where the column generation took minutes (bench notes §17). Where the relaxation's
point is not in ``P`` (a gap between ``Q`` and its integer hull: 4 of 200 random 9-person pools, with exact and
with ranged quotas) the peeling runs into a face without a panel and returns ``None``; the caller then runs the
column generation. ``relaxed_nash`` does the same for the Nash welfare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.linalg import qr as scipy_qr
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from sortition import smalllp
from sortition.columngen import DIVE_SOLVES, PanelSpace

LP_TOLERANCE = 1e-10
LP_OPTIONS = {"primal_feasibility_tolerance": LP_TOLERANCE, "dual_feasibility_tolerance": LP_TOLERANCE}
FIX_EPS = 1e-7  # a level row whose dual exceeds this is tight in every optimum: its type is held there
# held types keep their level to within the first of these (below the LP tolerance: levels stay exact), or
# the next where the LP tolerance made a level a hair too high to hold (climate n = 600, k = 100)
LEVEL_SLACKS = (1e-11, 1e-9)
ACCEPT = 1e-8  # a decomposition is accepted when every type is at least this close to its relaxed level
PEEL_STOP = 1e-10  # peeling stops once the undecomposed rest weighs less than this (its probability error)
SETTLED = 1e-11  # a type whose rest is this close (in counts) to 0 or to 1 stays there
TIGHT = 1e-9  # a quota row within this of its bound (at the rest's scale) is held there by the next panel
EXTREME = 1e-3  # a type whose rest is this close to 0 or 1 is settled first, while the rest is still central
DIVE_NOISE = 0.01  # the dive's weights: the rest's values plus this much Gaussian noise (seeded)
RETRY_DIVES = 4  # more dives (other draws of the noise) before the exact ILP finds a panel in the face
MAX_STEPS_PER_TYPE = 4  # peeling gives up after this many steps per type


class RelaxationFailed(Exception):
    """The relaxation could not be solved (numerical trouble); the caller runs the column generation."""


@dataclass(frozen=True)
class RelaxedLeximin:
    """Leximin over ``Q``: per-type probabilities ``fixed`` (each type's level), the expected counts ``counts``
    of the last level's LP (in ``Q``, within ``LEVEL_SLACKS`` of ``fixed·n`` below) and the levels in order,
    each as ``(value, types held there)``."""

    fixed: np.ndarray
    counts: np.ndarray
    levels: tuple[tuple[float, tuple[int, ...]], ...]


def relaxed_leximin(space: PanelSpace, covered: np.ndarray, weight: np.ndarray) -> RelaxedLeximin:
    """Leximin of ``π_t / weight_t`` over ``Q`` (the quotas in expectation), types not ``covered`` at 0.

    Level by level: ``max z s.t. y_t ≥ n_t·weight_t·z`` (free types), ``y_t ≥ n_t·(f_t - LEVEL_SLACKS[0])`` (held
    types), ``y ∈ Q``; every free type whose level row has a positive dual is tight in every optimum
    (complementary slackness) and is held at ``f_t = weight_t·z*``; at least one is held per level (the
    duals of the level rows sum to 1), as in ``sortition.columngen.leximin_distribution``.
    """
    n_types = space.n_types
    counts = np.asarray(space.counts, dtype=float)
    rows, lower, upper = space.rows()
    # y (n_types) and z; quota rows two-sided as A_ub: Σ rows·y ≤ upper, -Σ rows·y ≤ -lower
    finite_upper, finite_lower = np.isfinite(upper), np.isfinite(lower)
    quota_ub = np.vstack([rows[finite_upper], -rows[finite_lower]])
    quota_block = sparse.csr_matrix(quota_ub)
    quota_b = np.concatenate([upper[finite_upper], -lower[finite_lower]])
    fixed = np.where(covered, np.nan, 0.0)
    levels: list[tuple[float, tuple[int, ...]]] = []
    solution = np.zeros(n_types)
    cap = np.where(covered, counts, 0.0)  # types on no panel stay at 0
    cost = np.zeros(n_types + 1)
    cost[n_types] = -1.0  # maximise z
    while np.isnan(fixed).any():
        free = np.flatnonzero(np.isnan(fixed))
        # level rows -y_t + n_t·w_t·z ≤ 0, sparse (a dense one is types² numbers: 128 MB at 4,000 types)
        level_rows = sparse.csr_matrix(
            (
                np.concatenate([-np.ones(len(free)), counts[free] * weight[free]]),
                (np.tile(np.arange(len(free)), 2), np.concatenate([free, np.full(len(free), n_types)])),
            ),
            shape=(len(free), n_types + 1),
        )
        a_ub = sparse.vstack([sparse.hstack([quota_block, sparse.csr_matrix((len(quota_ub), 1))]), level_rows]).tocsr()
        b_ub = np.concatenate([quota_b, np.zeros(len(free))])
        for slack in LEVEL_SLACKS:
            held_low = np.where(np.isnan(fixed), 0.0, np.maximum(np.nan_to_num(fixed) - slack, 0.0) * counts)
            bounds = [(float(held_low[t]), float(cap[t])) for t in range(n_types)] + [(None, None)]
            result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs", options=LP_OPTIONS)
            if result.status == 0:
                break
        else:
            raise RelaxationFailed(f"the relaxed level LP ended with status {result.status}: {result.message}")
        level = float(result.x[n_types])
        duals = -np.asarray(result.ineqlin.marginals)[len(quota_ub) :]
        tight = duals > FIX_EPS
        if not tight.any():
            tight[int(np.argmax(duals))] = True
        held = free[tight]
        fixed[held] = weight[held] * level
        levels.append((level, tuple(int(t) for t in held)))
        solution = np.asarray(result.x[:n_types])
    return RelaxedLeximin(fixed=fixed, counts=solution, levels=tuple(levels))


def peel_panels(
    space: PanelSpace,
    counts: np.ndarray,
    rng: np.random.Generator,
    *,
    on_step: Callable[[], None] | None = None,
) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Panels and weights whose expected counts are ``counts`` (a point of ``Q``), or ``None``.

    Write ``counts = low + x`` with ``low`` the integer parts. Repeat: find a feasible panel ``d`` on the
    smallest face of ``Q`` holding the rest ``x`` (types at 0 or 1 kept there, quota rows at a bound kept at it),
    good for the weights ``x`` (a dive), give it the largest weight ``α`` that keeps ``(x - α·d)/(1 - α)`` in
    ``Q``, and go on with that rest. Each full step settles a type or a quota row; the weight left to the rest
    shrinks by ``1 - α`` a step. Types within ``EXTREME`` of 0 or 1 are settled first (a panel against them),
    while the rest is still central: left to the end they corner it into a face without panels. Stops when
    the rest weighs less than ``PEEL_STOP``: the panels' expected counts (renormalised) then differ from
    ``counts`` by less than that per person. Returns ``None`` when a face has no panel (the point is not in
    the panels' hull, or the peeling cornered itself) while the rest still weighs more than ``ACCEPT`` (a
    lighter rest is dropped: climate n = 4,000 cornered itself at 3e-10), or after ``MAX_STEPS_PER_TYPE``
    steps per type.

    The rest is kept in absolute terms (``ρ = R·x``, ``R`` its weight) so rounding does not grow with ``1/R``.
    ``on_step`` is called before each step (progress and cancel).
    """
    n_types = space.n_types
    rows, lower, upper = space.rows()
    low = np.floor(np.asarray(counts, dtype=float) + TIGHT)
    rest = np.clip(counts - low, 0.0, 1.0)
    shift = rows @ low
    row_lower, row_upper = lower - shift, upper - shift
    size = float(space.size - low.sum())
    panels: list[np.ndarray] = []
    weights: list[float] = []
    remaining = 1.0
    for _ in range(MAX_STEPS_PER_TYPE * n_types + 16):
        if remaining <= PEEL_STOP:
            break
        if on_step is not None:
            on_step()
        x = rest / remaining
        ones = (1.0 - x) * remaining < SETTLED
        free = ~ones & (x * remaining >= SETTLED)
        activity = rows @ x
        face_lower, face_upper = row_lower.copy(), row_upper.copy()
        at_upper = activity >= row_upper - TIGHT
        at_lower = activity <= row_lower + TIGHT
        face_lower[at_upper] = row_upper[at_upper]
        face_upper[at_lower] = row_lower[at_lower]
        panel = _face_panel(rows, face_lower, face_upper, ones, free, x, rng)
        alpha = 0.0 if panel is None else _step_length(rows, row_lower, row_upper, activity, panel, x, free)
        if panel is None or alpha <= 0.0:
            # a face without a panel, or a rest on a bound the face did not hold: a corner the peeling cannot
            # leave. A rest this light changes no probability by more than its weight: drop it.
            if remaining <= ACCEPT:
                break
            return None
        panels.append(low.astype(np.int64) + panel.astype(np.int64))
        weights.append(remaining * alpha)
        rest = np.clip(rest - remaining * alpha * panel, 0.0, None)
        remaining = float(rest.sum() / size) if alpha < 1.0 and size > 0 else 0.0
    else:
        return None
    total = np.asarray(weights)
    return panels, total / total.sum()


def _face_panel(
    rows: np.ndarray,
    face_lower: np.ndarray,
    face_upper: np.ndarray,
    ones: np.ndarray,
    free: np.ndarray,
    x: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray | None:
    """A feasible 0/1 panel (over the rest) on the face: ``ones`` in, only ``free`` types besides, rows in bounds.

    A compiled dive for ``max (x + noise)·d`` first, the type nearest 0 or 1 pushed the other way (within
    ``EXTREME``); then dives at other draws of the noise; then the exact ILP (``None`` when the face has no panel)."""
    n_types = len(x)
    shift = rows @ ones
    lower = np.where(np.isfinite(face_lower), face_lower - shift, -1e30)
    upper = np.where(np.isfinite(face_upper), face_upper - shift, 1e30)
    caps = free.astype(float)
    gap = np.where(free, np.minimum(x, 1.0 - x), np.inf)
    extreme = int(np.argmin(gap))
    budget = 40 * (len(rows) + n_types)
    for attempt in range(RETRY_DIVES + 1):
        weights = np.where(free, x + rng.normal(scale=DIVE_NOISE, size=n_types), 0.0)
        if attempt == 0 and gap[extreme] < EXTREME:
            weights[extreme] = 1e3 if x[extreme] < 0.5 else -1e3
        status, values = smalllp.dive(rows, lower, upper, caps, weights, DIVE_SOLVES, budget)
        if status == smalllp.OPTIMAL:
            panel = np.rint(values)
            activity = rows @ panel  # 0/1 rows times integers: exact
            if (
                np.abs(panel - values).max() <= 1e-9
                and (panel <= caps).all()
                and (activity >= lower - 0.5).all()
                and (activity <= upper + 0.5).all()
            ):
                return ones + panel
    result = milp(
        -np.where(free, x, 0.0),
        constraints=LinearConstraint(rows, lower, upper),
        integrality=np.ones(n_types),
        bounds=Bounds(0.0, caps),
        options={"mip_rel_gap": 1e-2},
    )
    if result.status != 0 or result.x is None:
        return None
    return ones + np.rint(result.x)


def _step_length(
    rows: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    activity: np.ndarray,
    panel: np.ndarray,
    x: np.ndarray,
    free: np.ndarray,
) -> float:
    """The largest ``α ≤ 1`` keeping ``(x - α·panel)/(1 - α)`` in ``[0, 1]`` and within the row bounds."""
    limits = [1.0]
    taken, left = free & (panel == 1), free & (panel == 0)
    if taken.any():
        limits.append(float(x[taken].min()))
    if left.any():
        limits.append(float((1.0 - x[left]).min()))
    on_panel = rows @ panel
    # (a - α·p)/(1 - α) ≤ u  ⟺  α·(u - p) ≤ u - a ; ≥ l  ⟺  α·(p - l) ≤ a - l
    room_up = np.isfinite(row_upper) & (row_upper - on_panel > 1e-12)
    if room_up.any():
        limits.append(float(((row_upper - activity)[room_up] / (row_upper - on_panel)[room_up]).min()))
    room_down = np.isfinite(row_lower) & (on_panel - row_lower > 1e-12)
    if room_down.any():
        limits.append(float(((activity - row_lower)[room_down] / (on_panel - row_lower)[room_down]).min()))
    return max(min(limits), 0.0)


def relaxed_distribution(
    space: PanelSpace,
    covered: np.ndarray,
    weight: np.ndarray,
    rng: np.random.Generator,
    *,
    on_step: Callable[[], None] | None = None,
) -> tuple[list[np.ndarray], np.ndarray, RelaxedLeximin] | None:
    """Leximin over panels through the relaxation: ``(compositions, weights, relaxed)``, or ``None``.

    ``None`` when the relaxation's leximin point could not be written as a distribution over panels (within
    ``ACCEPT`` of every type's level); the caller then runs the column generation, which is exact on any pool.
    A returned distribution is leximin-optimal over panels to within ``ACCEPT``: its probabilities reach the
    relaxation's levels, and no distribution over panels is lexicographically above those.
    """
    try:
        relaxed = relaxed_leximin(space, covered, weight)
    except RelaxationFailed:
        return None
    found = _decompose(space, relaxed.counts, rng, on_step)
    if found is None:
        return None
    compositions, shares, probabilities = found
    if covered.any() and float((probabilities - relaxed.fixed)[covered].min()) < -ACCEPT:
        return None
    return compositions, shares, relaxed


BARRIER_GAP = 1e-11  # the barrier stops when its duality gap (μ per inequality) is below this times Σ n_t
BARRIER_NEWTON_STEPS = 60  # Newton steps per value of μ
BARRIER_MU_STEP = 0.1  # μ shrinks by this factor between values
# the barrier's Newton steps cost ~types³ (dense rows for the bounds too): Frank-Wolfe beyond this many types
BARRIER_MAX_TYPES = 1000


def relaxed_nash(space: PanelSpace, covered: np.ndarray) -> np.ndarray | None:
    """Expected counts ``y`` maximising the Nash welfare ``Σ_t n_t log(y_t/n_t)`` over ``Q`` (``None``: failed).

    ``Q`` as in ``relaxed_leximin``; types not ``covered`` at 0. A log-barrier method in type space: first the
    rows that no point of ``Q`` leaves tight (implicit equalities, e.g. a quota that needs every member of a
    feature) are found by LPs that maximise the inequalities' slack (each capped at 1) until no new row
    becomes slack; the average of those LP points is strictly inside the others. Then Newton's method on
    ``-Σ n_t log y_t - μ Σ log(slack)`` with the equalities held (KKT system), μ falling by ``BARRIER_MU_STEP``
    until its duality gap (μ per inequality) is below ``BARRIER_GAP·Σn``.
    """
    types = np.flatnonzero(covered)
    if not len(types) or len(types) > BARRIER_MAX_TYPES:
        return None
    n = np.asarray(space.counts, dtype=float)[types]
    rows, lower, upper = space.rows()
    rows = rows[:, types]
    exact = np.isfinite(lower) & np.isfinite(upper) & (lower == upper)
    ineq_rows, ineq_bound = [], []
    for r in np.flatnonzero(~exact):
        if np.isfinite(upper[r]):
            ineq_rows.append(rows[r])
            ineq_bound.append(upper[r])
        if np.isfinite(lower[r]):
            ineq_rows.append(-rows[r])
            ineq_bound.append(-lower[r])
    size = len(types)
    g = np.vstack([np.array(ineq_rows).reshape(-1, size), -np.eye(size), np.eye(size)])
    h = np.concatenate([np.array(ineq_bound, dtype=float), np.zeros(size), n])
    e, e_rhs = rows[exact], lower[exact]
    start = _relative_interior(g, h, e, e_rhs)
    if start is None:
        return None
    point, slack_rows = start
    equal = np.vstack([e, g[~slack_rows]])
    if len(equal):
        _, _, pivots = scipy_qr(equal.T, pivoting=True, mode="economic")
        equal = equal[np.sort(pivots[: int(np.linalg.matrix_rank(equal))])]
    y = _barrier(n, g[slack_rows], h[slack_rows], equal, point)
    if y is None:
        return None
    counts = np.zeros(space.n_types)
    counts[types] = y
    return counts


def _barrier(n: np.ndarray, g: np.ndarray, h: np.ndarray, equal: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Newton's method on ``-Σ n_t log y_t - μ Σ log(h - g·y)`` from the strictly feasible ``y``, steps in the
    null space of ``equal`` (KKT system), μ falling by ``BARRIER_MU_STEP`` until ``μ·rows ≤ BARRIER_GAP·Σn``."""
    size, k, total = len(n), len(equal), float(n.sum())
    mu = total / max(len(h), 1)
    while True:
        for _ in range(BARRIER_NEWTON_STEPS):
            slack = h - g @ y
            if (slack <= 0).any() or (y <= 0).any():
                return None
            gradient = -n / y + mu * (g.T @ (1.0 / slack))
            hessian = np.diag(n / y**2) + mu * (g.T * (1.0 / slack**2)) @ g
            kkt = np.block([[hessian, equal.T], [equal, np.zeros((k, k))]])
            try:
                step = np.linalg.solve(kkt, np.concatenate([-gradient, np.zeros(k)]))[:size]
            except np.linalg.LinAlgError:
                return None
            if float(-gradient @ step) <= 1e-12 * total:  # Newton decrement
                break
            y = y + _fraction_to_boundary(slack, g @ step, y, step) * step
        if mu * len(h) <= BARRIER_GAP * total:
            return y
        mu *= BARRIER_MU_STEP


def _fraction_to_boundary(slack: np.ndarray, shrink: np.ndarray, y: np.ndarray, step: np.ndarray) -> float:
    """The full step, or 0.99 of the way to the nearest inequality or zero count it would cross."""
    limit = 1.0
    grow = shrink > 0
    if grow.any():
        limit = min(limit, 0.99 * float((slack[grow] / shrink[grow]).min()))
    fall = step < 0
    if fall.any():
        limit = min(limit, 0.99 * float((-y[fall] / step[fall]).min()))
    return limit


def _relative_interior(
    g: np.ndarray, h: np.ndarray, e: np.ndarray, e_rhs: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """A point of ``{g·y ≤ h, e·y = e_rhs}`` strictly inside every inequality that some point leaves slack,
    and which inequalities those are (the others are implicit equalities)."""
    m, size = g.shape
    slack_rows = np.zeros(m, dtype=bool)
    points = []
    # variables y (size), s (m): max Σ_{open} s  s.t.  g y + s ≤ h, e y = e_rhs, 0 ≤ s ≤ 1
    a_ub = sparse.hstack([sparse.csr_matrix(g), sparse.identity(m, format="csr")]).tocsr()
    a_eq = sparse.hstack([sparse.csr_matrix(e), sparse.csr_matrix((len(e), m))]).tocsr() if len(e) else None
    bounds = [(None, None)] * size + [(0.0, 1.0)] * m
    while True:
        open_rows = ~slack_rows
        cost = np.concatenate([np.zeros(size), -open_rows.astype(float)])
        result = linprog(
            cost,
            A_ub=a_ub,
            b_ub=h,
            A_eq=a_eq,
            b_eq=e_rhs if len(e) else None,
            bounds=bounds,
            method="highs",
            options=LP_OPTIONS,
        )
        if result.status != 0:
            return None
        slack = np.asarray(result.x[size:])
        points.append(np.asarray(result.x[:size]))
        new = open_rows & (slack > 1e-7)
        if not new.any():
            break
        slack_rows |= new
    point = np.mean(points, axis=0)
    return point, slack_rows


def relaxed_nash_distribution(
    space: PanelSpace,
    covered: np.ndarray,
    rng: np.random.Generator,
    *,
    on_step: Callable[[], None] | None = None,
) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Nash welfare over panels through the relaxation: ``(compositions, weights)``, or ``None``.

    The maximum of ``Σ n_t log π_t`` over ``Q`` is at least that over panels (``P ⊆ Q``); a decomposition of
    ``Q``'s optimum into panels (``peel_panels``, every type within ``ACCEPT``) therefore is the optimum over
    panels. Skewed n = 500: Σ n log π -1192.9293439743 against -1192.929343975 by Frank-Wolfe (bench notes §17).
    """
    counts = relaxed_nash(space, covered)
    if counts is None:
        return None
    found = _decompose(space, counts, rng, on_step)
    if found is None:
        return None
    compositions, weights, probabilities = found
    if float(np.abs(probabilities - counts / space.counts).max()) > ACCEPT:
        return None
    return compositions, weights


def _decompose(
    space: PanelSpace, counts: np.ndarray, rng: np.random.Generator, on_step: Callable[[], None] | None
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray] | None:
    """``peel_panels`` with one entry per distinct composition (weights summed) and the per-type probabilities
    the result gives, for the caller's check."""
    peeled = peel_panels(space, counts, rng, on_step=on_step)
    if peeled is None:
        return None
    merged: dict[bytes, float] = {}
    kept: dict[bytes, np.ndarray] = {}
    for panel, share in zip(*peeled, strict=True):
        key = panel.tobytes()
        merged[key] = merged.get(key, 0.0) + float(share)
        kept.setdefault(key, panel)
    compositions = list(kept.values())
    weights = np.array([merged[key] for key in kept])
    return compositions, weights, weights @ (np.array(compositions, dtype=float) / space.counts)
