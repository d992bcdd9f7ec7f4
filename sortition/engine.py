"""The native selection engine: fair distributions over feasible panels on HiGHS (no Gurobi).

``find_distribution`` computes a distribution ``λ`` over feasible panels (quotas met, at most one
person per address) and person ``i``'s exact probability is ``π_i = Σ_{P∋i} λ_P``. Objectives:

- ``leximin``: maximise the smallest ``π_i``, then the second smallest, ... (Flanigan, Gölz, Gupta,
  Hennig, Procaccia, "Fair algorithms for selecting citizens' assemblies", Nature 596, 2021).
- ``maximin``: maximise ``min_i π_i`` (same paper, the first leximin level).
- ``nash``: maximise ``Σ_i log π_i`` (the Nash welfare; same paper, Supplementary Information).
- ``end-to-end``: leximin of ``q_i·π_i``, with ``q_i`` (pool column ``pool_probability``) person ``i``'s
  probability of being in the pool (letter × sign-up): the end-to-end chances of a seat made as equal
  as the quotas allow (Flanigan, Gölz, Gupta, Procaccia, "Neutralizing self-selection bias in
  sampling for sortition", NeurIPS 2020; ``sortition.propensity`` estimates ``q``).
- ``max-entropy``: leximin's probabilities, with the distribution over panels spread as widely as possible
  (maximum entropy over the panels generated; ``sortition.randomness``), so a transparent lottery can
  publish many distinct panels (issue 16, item 6).
- ``goldilocks``: minimise ``(n/k)·max_i π_i + gamma·(k/n)/min_i π_i`` with ``gamma = 1`` (Baharav & Flanigan,
  "Fair, manipulation-robust, and transparent sortition", arXiv 2406.15009).

People on no feasible panel get ``π_i = 0``; the minimum in Nash and Goldilocks ranges over the others
(``log 0`` and ``1/0`` would make every distribution equally bad). The optimisation runs over panel
*compositions* (see ``sortition.columngen``); ``expand_panels`` turns each composition into panels of
ids by systematic sampling, which gives every member of a type exactly the probability ``c_t/n_t``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import highspy
import numpy as np
import pandas as pd
import scipy.linalg
from threadpoolctl import threadpool_limits

from sortition.columngen import (
    INF,
    PERTURB_SIGMA,
    MasterLP,
    PanelOracle,
    PanelSpace,
    SwapSearch,
    covering_compositions,
    generate_columns,
    leximin_distribution,
    leximin_weights,
    maximin_distribution,
    panel_model,
    reaches_uniform,
    rescue_panel,
    uniform_level,
)
from sortition.errors import InfeasibleQuotaError, KleroError
from sortition.progress import Cancel, Progress, Tracker
from sortition.randomness import max_entropy_distribution
from sortition.relaxation import relaxed_distribution, relaxed_nash_distribution

ALGORITHMS = ("leximin", "maximin", "nash", "goldilocks", "max-entropy")
MAX_ENTROPY = "max-entropy"
#: Leximin of the end-to-end probabilities; needs the pool column ``POOL_PROBABILITY``.
END_TO_END = "end-to-end"
#: The pool column ``end-to-end`` reads: each person's probability of being in the pool, in (0, 1].
POOL_PROBABILITY = "pool_probability"
#: People are grouped into types by ``q`` rounded to this many significant digits (people of one type
#: share a target); the type's target is its members' mean ``q``, a relative change below 0.05 %.
POOL_PROBABILITY_DIGITS = 4
GOLDILOCKS_GAMMA = 1.0
GOLDILOCKS_PENALTY = 1e4  # cost per unit of unmet probability floor (big-M; zero at the optimum)
NASH_TOLERANCE = 1e-7  # relative Frank-Wolfe gap of the Nash welfare at which the optimum is declared
NASH_DROP = 1e-9  # panels weighing less than this times the heaviest leave the restricted Nash problem
NASH_PERTURBED = 32  # dives at perturbed gradients per Frank-Wolfe round that found an improving panel
NASH_UNIFORM_CHECK = 1e-4  # a Nash optimum whose minimum is this close (relative) to k/n is checked by maximin
# The restricted Nash barrier (``_nash_restricted``; μ relative to Σ n_t): the first round follows the path from
# NASH_MU_FIRST, later rounds start at NASH_MU_WARM next to the last optimum (skewed n = 500: 83 -> ~15 Newton steps
# a round, 26 -> 7.8 s; bench notes §16), and a round that does not settle there within NASH_WARM_STEPS steps
# (tight pools add 30+ panels a round) goes on from NASH_MU_BACKOFF with up to NASH_NEWTON_STEPS a value of μ.
NASH_MU_FIRST = 1e-2
NASH_MU_WARM = 1e-12
NASH_MU_BACKOFF = 1e-9
NASH_MU_FLOOR = 1e-13
NASH_NEWTON_STEPS = 60
NASH_WARM_STEPS = 30
NASH_CENTRING = 0.1  # between two values of μ, Newton stops once its decrement is below this times μ
QUOTA_COLUMNS = ("category", "feature", "min", "max")
#: Stages reported to ``progress`` (``sortition.progress``): the overall steps (0..3), every column
#: generation round (running count, no total) and, for leximin, the types fixed so far (of all types).
STAGE = "selection"
ROUNDS_STAGE = "column generation"
LEVELS_STAGE = "leximin levels"


def find_distribution(
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    size: int,
    algorithm: str,
    rng: np.random.Generator,
    address_column: str | None = "address_key",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> tuple[list[frozenset[str]], np.ndarray]:
    """Fair distribution over feasible panels of ``size`` people from ``pool``.

    ``pool``: column ``id`` (str) plus one column per quota category (plus ``address_column``, whose
    missing values count as distinct addresses). ``quotas``: columns category, feature, min, max.
    Returns ``(panels, weights)``: panels as frozensets of ids, weights summing to 1. ``rng`` only
    orders the members of each type before the systematic expansion (which people share panels); the
    probabilities do not depend on it. Raises ``InfeasibleQuotaError`` when no panel meets the quotas
    and ``KleroError`` for any other failure. ``progress`` and ``cancel`` follow ``sortition.progress``
    (stages ``STAGE``, ``ROUNDS_STAGE``, ``LEVELS_STAGE``); a set cancel signal stops the work between
    two column generation rounds with ``Cancelled``.
    """
    tracker = Tracker(progress, cancel)
    if algorithm not in (*ALGORITHMS, END_TO_END):
        choices = ", ".join((*ALGORITHMS, END_TO_END))
        raise KleroError(f"Unknown algorithm {algorithm!r}; choose one of {choices}.", code="bad_algo")
    weights = None
    if algorithm == END_TO_END:
        _check_inputs(pool, quotas, size=size, address_column=address_column)
        weights = _pool_probability_key(pool)
    space, members = build_space(pool, quotas, size=size, address_column=address_column, extra_key=weights)
    target = None
    if weights is not None:  # each type's 1/q, from the mean of its members' unrounded q
        exact = pool[POOL_PROBABILITY].astype(float).set_axis(pool["id"].astype(str).to_numpy())
        target = np.array([1.0 / float(exact[group].mean()) for group in members])
    oracle = PanelOracle(space)
    try:
        oracle.best(np.zeros(space.n_types))
    except KleroError as exc:
        if exc.code == "no_panel":
            raise diagnose_infeasibility(space, quotas) from exc
        raise
    # The matrices here are small (hundreds of rows): a second BLAS thread only adds synchronisation,
    # and on a busy machine oversubscription made the Nash Newton steps 4-20x slower (bench notes §5).
    with threadpool_limits(limits=1, user_api="blas"):
        compositions, panel_weights = _solve(algorithm, oracle, space, tracker, target)
    ordered = [members[t][rng.permutation(len(members[t]))] for t in range(space.n_types)]
    panels = expand_panels(compositions, panel_weights, ordered)
    tracker.step(STAGE, 3, 3, f"{len(panels)} panels")
    return list(panels), np.fromiter(panels.values(), dtype=float, count=len(panels))


def _pool_probability_key(pool: pd.DataFrame) -> pd.Series:
    """Each person's ``pool_probability``, checked and rounded (``POOL_PROBABILITY_DIGITS``) to group types."""
    if POOL_PROBABILITY not in pool.columns:
        raise KleroError(
            "The end-to-end algorithm needs each pool member's probability of being in the pool "
            f"(column {POOL_PROBABILITY!r}; `klero panel select` estimates it from the letters and sign-ups).",
            code="no_pool_probability",
        )
    values = pd.to_numeric(pool[POOL_PROBABILITY], errors="coerce").astype(float)
    bad = pool.loc[~((values > 0) & (values <= 1)), "id"].astype(str).tolist()
    if bad:
        raise KleroError(
            f"{len(bad)} pool member(s) have no probability of being in the pool in (0, 1], e.g. {bad[0]}.",
            code="bad_pool_probability",
        )
    exponent = np.floor(np.log10(values.to_numpy()))
    scale = 10.0 ** (POOL_PROBABILITY_DIGITS - 1 - exponent)
    return pd.Series(np.round(values.to_numpy() * scale) / scale, index=pool.index)


def _solve(
    algorithm: str,
    oracle: PanelOracle,
    space: PanelSpace,
    tracker: Tracker,
    target: np.ndarray | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    tracker.step(STAGE, 0, 3, "finding initial panels")
    search = SwapSearch(space)
    # 1.5 rounds per type: on pools of hundreds of types the first master LP is then already optimal, and
    # each master solve costs seconds there while a covering round costs milliseconds (bench notes §9)
    rounds = max(min(3 * space.n_types, 60), (3 * space.n_types) // 2)
    initial, covered = covering_compositions(oracle, search, rounds=rounds)
    tracker.step(STAGE, 1, 3, f"optimising {algorithm}")
    rounds_done = itertools.count(1)

    def on_round() -> None:
        tracker.step(ROUNDS_STAGE, next(rounds_done), None, "pricing new panels")

    result = _optimise(algorithm, oracle, search, initial, covered, tracker, on_round, target)
    tracker.step(STAGE, 2, 3, "drawing panels from the distribution")
    return result


def _optimise(
    algorithm: str,
    oracle: PanelOracle,
    search: SwapSearch,
    initial: list[np.ndarray],
    covered: np.ndarray,
    tracker: Tracker,
    on_round: Callable[[], None],
    target: np.ndarray | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """The chosen algorithm's distribution; ``end-to-end`` is leximin of ``π_t / target_t`` (``target`` = 1/q)."""
    if algorithm in ("leximin", END_TO_END, MAX_ENTROPY, "maximin"):

        def on_level(done: int, total: int, level: float) -> None:
            tracker.step(LEVELS_STAGE, done, total, f"probability level {level:.6f}")

        # max-entropy spreads weight over the panels the column generation met; the peeling meets too few
        relaxed = None
        if algorithm != MAX_ENTROPY:
            relaxed = _relaxed_leximin(oracle.space, covered, target, on_round, on_level)
        if relaxed is not None:
            compositions, weights = relaxed
        elif algorithm == "maximin":
            compositions, weights, _ = maximin_distribution(oracle, initial, covered, search=search, on_round=on_round)
            return compositions, weights
        else:
            compositions, weights, _ = leximin_distribution(
                oracle, initial, covered, search=search, on_level=on_level, on_round=on_round, target=target
            )
        if algorithm == MAX_ENTROPY:
            return max_entropy_distribution(oracle, compositions, weights, covered, on_round=on_round)
        return compositions, weights
    bound = uniform_level(oracle.space, covered)
    if algorithm == "nash":
        found = _relaxed_nash(oracle, covered, bound, on_round)
        if found is not None:
            return found
        # Nash straight from the initial panels; maximin only to certify a uniform optimum exactly, which
        # Frank-Wolfe approaches only to its tolerance. Running maximin first cost tight n = 360 7 of 13 s (§15).
        compositions, weights = nash_distribution(oracle, initial, covered, on_round=on_round)
        smallest = float((weights @ (np.array(compositions, dtype=float) / oracle.space.counts))[covered].min())
        if smallest < bound * (1.0 - NASH_UNIFORM_CHECK):
            return compositions, weights
    maximin_panels, maximin_weights, level = maximin_distribution(
        oracle, initial, covered, search=search, on_round=on_round
    )
    if algorithm == "maximin" or reaches_uniform(level, bound):
        # everyone covered at k/n: optimal for Nash and Goldilocks too (``uniform_level``)
        return maximin_panels, maximin_weights
    if algorithm == "nash":
        return compositions, weights
    return goldilocks_distribution(oracle, initial, covered, search=search, maximin_level=level, on_round=on_round)


def _relaxed_nash(
    oracle: PanelOracle, covered: np.ndarray, bound: float, on_round: Callable[[], None]
) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Nash through the relaxation's optimum where the peeling writes it with panels (skewed n = 1,000 seed 2:
    61.6 s -> ~5 s; bench notes §17), or ``None``. Not under exact quotas, where the peeling corners itself,
    and not at the uniform optimum, which the maximin certifies exactly (the barrier stops 3e-7 from it)."""
    if oracle.space.exact_quotas:
        return None
    found = relaxed_nash_distribution(oracle.space, covered, np.random.default_rng(0), on_step=on_round)
    if found is None:
        return None
    compositions, weights = found
    smallest = float((weights @ (np.array(compositions, dtype=float) / oracle.space.counts))[covered].min())
    return found if smallest < bound * (1.0 - NASH_UNIFORM_CHECK) else None


def _relaxed_leximin(
    space: PanelSpace,
    covered: np.ndarray,
    target: np.ndarray | None,
    on_round: Callable[[], None],
    on_level: Callable[[int, int, float], None],
) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Leximin (also an optimal maximin) through the quota polytope's relaxation (``sortition.relaxation``),
    or ``None`` when its point is not a distribution over panels. Skewed n = 1,000 leximin: ~110 s of column
    generation -> under a second (bench notes §17). The same weighting as ``leximin_distribution``.

    Not tried under exact quotas (every min = max): there the peeling cornered itself on two of three tight
    pools (n = 360) after 1-2 s, where the column generation takes 1-10 s (bench notes §17)."""
    if space.exact_quotas:
        return None
    found = relaxed_distribution(
        space, covered, leximin_weights(covered, target), np.random.default_rng(0), on_step=on_round
    )
    if found is None:
        return None
    compositions, weights, relaxed = found
    held = int((~covered).sum())  # types on no panel are held at 0 from the start
    for level, types in relaxed.levels:
        held += len(types)
        on_level(held, space.n_types, level)
    return compositions, weights


# --- the pool as types --------------------------------------------------------------------------


def build_space(
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    size: int,
    address_column: str | None,
    extra_key: pd.Series | None = None,
) -> tuple[PanelSpace, list[np.ndarray]]:
    """Aggregate ``pool`` into types (see ``sortition.columngen``); returns the space and each type's ids.

    ``extra_key`` (aligned with ``pool``'s index) splits types further: people of one type share it."""
    categories = _check_inputs(pool, quotas, size=size, address_column=address_column)
    if extra_key is not None:
        pool = pool.assign(_extra_key=extra_key.astype(str))
    pool = pool.sort_values("id", kind="stable").reset_index(drop=True)
    ids = pool["id"].astype(str).to_numpy()
    values = pool[categories].astype(str)
    key = values.agg("\x1f".join, axis=1).to_numpy() if categories else np.full(len(pool), "")
    key = key.astype(object)
    if extra_key is not None:
        key = key + "\x1d" + pool["_extra_key"].to_numpy(dtype=object)
    shared: np.ndarray = np.zeros(len(pool), dtype=bool)
    if address_column is not None:
        address = pool[address_column]
        present = address.notna().to_numpy()
        shared = present & address.duplicated(keep=False).to_numpy()
        key[shared] = ["\x1e" + person for person in ids[shared]]  # sharing an address: a type of one
    codes, uniques = pd.factorize(pd.Series(key), sort=False)
    members = [ids[codes == t] for t in range(len(uniques))]
    counts = np.bincount(codes, minlength=len(uniques)).astype(float)
    first = np.array([np.flatnonzero(codes == t)[0] for t in range(len(uniques))])
    labels, membership = [], []
    for row in quotas.itertuples(index=False):
        labels.append(f"{row.category}={row.feature}")
        membership.append((values[str(row.category)].to_numpy()[first] == str(row.feature)).astype(float))
    households: list[tuple[int, ...]] = []
    if address_column is not None and shared.any():
        by_address = pd.Series(codes[shared]).groupby(pool[address_column].to_numpy()[shared]).agg(tuple)
        households = [tuple(int(t) for t in group) for group in by_address]
    space = PanelSpace(
        size=size,
        counts=counts,
        membership=np.array(membership).reshape(len(labels), len(uniques)),
        feature_min=quotas["min"].to_numpy(dtype=float),
        feature_max=quotas["max"].to_numpy(dtype=float),
        feature_labels=tuple(labels),
        households=tuple(households),
    )
    return space, members


def _check_inputs(pool: pd.DataFrame, quotas: pd.DataFrame, *, size: int, address_column: str | None) -> list[str]:
    missing = [c for c in QUOTA_COLUMNS if c not in quotas.columns]
    if missing:
        raise KleroError(f"The quota table lacks column(s) {', '.join(missing)}.", code="bad_quotas")
    if "id" not in pool.columns:
        raise KleroError("The pool has no 'id' column.", code="bad_pool")
    if pool["id"].duplicated().any():
        raise KleroError("The pool has duplicate ids.", code="duplicate_pool_ids")
    if address_column is not None and address_column not in pool.columns:
        raise KleroError(f"The pool has no address column {address_column!r}.", code="bad_pool")
    if not 0 < size <= len(pool):
        raise KleroError(f"Panel size {size} must be between 1 and the pool size {len(pool)}.", code="bad_size")
    categories = [str(c) for c in dict.fromkeys(quotas["category"].astype(str))]
    absent = [c for c in categories if c not in pool.columns]
    if absent:
        raise KleroError(f"The pool has no column for quota categories {', '.join(absent)}.", code="bad_pool")
    problems = []
    for category in categories:
        known = set(quotas.loc[quotas["category"].astype(str) == category, "feature"].astype(str))
        unknown = sorted(set(pool[category].astype(str)) - known)
        if unknown:
            problems.append(f"{category}: {', '.join(unknown)}")
    if problems:
        raise KleroError(
            "Pool values without a quota row (add a row, even with min 0): " + "; ".join(problems),
            code="values_without_quota",
        )
    return categories


# --- infeasible quotas --------------------------------------------------------------------------


def diagnose_infeasibility(space: PanelSpace, quotas: pd.DataFrame) -> InfeasibleQuotaError:
    """Name the conflicting quotas and the smallest relaxation of the min/max bounds.

    The relaxation solves ``min Σ_f (s⁻_f + s⁺_f)`` over compositions with ``Σ c = k``, one person per
    address and ``min_f - s⁻_f ≤ Σ_{t∋f} c_t ≤ max_f + s⁺_f``, ``s ≥ 0`` (an ILP on HiGHS).
    """
    conflicts = []
    for category, rows in quotas.groupby(quotas["category"].astype(str), sort=False):
        low, high = int(rows["min"].sum()), int(rows["max"].sum())
        if low > space.size:
            conflicts.append(f"{category}: the minimums add up to {low}, more than the panel size {space.size}")
        if high < space.size:
            conflicts.append(f"{category}: the maximums add up to {high}, less than the panel size {space.size}")
    n_types, n_features = space.n_types, len(space.feature_labels)
    model = panel_model(space, integral=True)
    model.changeObjectiveSense(highspy.ObjSense.kMinimize)
    for f in range(n_features):  # s⁻_f then s⁺_f, on the quota row 1 + f
        model.addCol(1.0, 0.0, INF, 1, np.array([1 + f], dtype=np.int32), np.array([1.0]))
        model.addCol(1.0, 0.0, INF, 1, np.array([1 + f], dtype=np.int32), np.array([-1.0]))
    model.run()
    if model.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        message = f"No panel of {space.size} exists even without quotas: the pool has too few distinct addresses."
        return InfeasibleQuotaError(message, conflicts=[*conflicts, "panel size"], relaxation={})
    slack = np.rint(np.asarray(model.getSolution().col_value)[n_types:]).astype(int)
    relaxation: dict[str, dict[str, int]] = {}
    for f, label in enumerate(space.feature_labels):
        lower, upper = slack[2 * f], slack[2 * f + 1]
        if lower:
            relaxation.setdefault(label, {})["min"] = int(space.feature_min[f]) - int(lower)
            conflicts.append(
                f"{label}: min {int(space.feature_min[f])} cannot be met (at most {relaxation[label]['min']})"
            )
        if upper:
            relaxation.setdefault(label, {})["max"] = int(space.feature_max[f]) + int(upper)
            conflicts.append(
                f"{label}: max {int(space.feature_max[f])} cannot be met (at least {relaxation[label]['max']})"
            )
    change = "; ".join(
        f"{label} {', '.join(f'{b} {v}' for b, v in bounds.items())}" for label, bounds in relaxation.items()
    )
    message = (
        f"No panel of {space.size} meets all quotas with this pool. Smallest relaxation: {change or 'none found'}."
    )
    return InfeasibleQuotaError(message, conflicts=conflicts, relaxation=relaxation)


# --- Nash welfare -------------------------------------------------------------------------------


def nash_distribution(
    oracle: PanelOracle,
    initial: Sequence[np.ndarray],
    covered: np.ndarray,
    *,
    search: SwapSearch | None = None,
    max_rounds: int = 10_000,
    on_round: Callable[[], None] | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Maximise the Nash welfare ``Σ_i log π_i`` by fully corrective Frank-Wolfe over panels.

    Over the current panels the concave problem ``max Σ_t n_t log (Aλ)_t, λ ∈ simplex`` is solved by
    a barrier Newton method (``_nash_restricted``). Pricing (swap search, then the exact ILP) finds
    panels maximising the gradient ``Σ_t (n_t/π_t)·c_t/n_t``; since ``Σ_P λ_P·grad_P = Σ_t n_t`` at any
    λ, the optimum is reached when no panel's gradient exceeds ``Σ_t n_t`` (the Frank-Wolfe gap,
    relative ``NASH_TOLERANCE``). ``on_round`` is called before each Frank-Wolfe round.
    """
    space = oracle.space
    people = np.where(covered, space.counts, 0.0)
    columns = [np.asarray(c, dtype=np.int64) for c in initial]
    weights = np.full(len(columns), 1.0 / len(columns))
    bar = people.sum() * (1 + NASH_TOLERANCE)
    mu_start = NASH_MU_FIRST
    rng = np.random.default_rng(0)
    # Perturbed dives only under exact quotas (no one-for-one swap is feasible, every panel is a dive's):
    # there they cut tight n = 360 from 17 s to 4 s; on the skewed pool n = 500 (quota ranges, types of
    # several people) they made the restricted problems larger and Nash 23 s -> 252 s (bench notes §15).
    exact = space.exact_quotas
    for _ in range(max_rounds):
        if on_round is not None:
            on_round()
        shares = np.array(columns, dtype=float) / space.counts
        weights = _nash_restricted(
            shares[:, covered], people[covered], weights, mu_start=mu_start, mu_floor=NASH_MU_FLOOR
        )
        mu_start = NASH_MU_WARM  # later rounds start near the optimum of the previous panels (warm start)
        # Drop panels the restricted optimum does not use (the barrier leaves them ~1e-13): the Newton
        # system is (panels x panels), and without this it grew to 7,000 panels on a skewed pool of 500.
        # A dropped panel that prices out again is added again, so the stopping test stays exact.
        keep = weights >= NASH_DROP * weights.max()
        if not keep.all():
            columns = [c for c, kept in zip(columns, keep, strict=True) if kept]
            shares, weights = shares[keep], weights[keep] / weights[keep].sum()
        known = {c.tobytes() for c in columns}
        pi = weights @ shares
        gradient = np.divide(people, pi, out=np.zeros_like(pi), where=covered) / space.counts
        found = search.improving(columns, gradient, bar) if search is not None else []
        if not found:  # a dive's panel (milliseconds) before the exact ILP (bench notes §13)
            heuristic = oracle.good(gradient, retry=True)
            if heuristic is not None and float(heuristic @ gradient) > bar and heuristic.tobytes() not in known:
                found = [heuristic]
        if found and exact:  # beside it, panels good for nearby gradients (the column generation's §11 a)
            found.extend(_perturbed_dives(oracle, gradient, rng, NASH_PERTURBED, known))
        if not found:
            rescued = rescue_panel(oracle, gradient, bar, rng, known)
            found = [] if rescued is None else [rescued]
        if not found:
            composition, value = oracle.best(gradient, start=heuristic)
            found = [composition] if value > bar else []
        found = list({c.tobytes(): c for c in found if c.tobytes() not in known}.values())
        if not found:
            return columns, weights
        columns.extend(found)
        towards = (np.array(found, dtype=float) / space.counts)[:, covered].mean(axis=0)
        step = _frank_wolfe_step(pi[covered], towards, people[covered])
        weights = np.append(weights * (1.0 - step), np.full(len(found), step / len(found)))
    raise KleroError("The Nash welfare optimisation did not converge.", code="no_convergence")


def _frank_wolfe_step(pi: np.ndarray, towards: np.ndarray, people: np.ndarray) -> float:
    """The weight ``γ`` that maximises ``Σ_t people_t log((1-γ)π_t + γ·towards_t)`` on ``[0, 1)``: the classic
    Frank-Wolfe line search, as the new panels' start weight for the next restricted solve (skewed n = 500: 7.8 ->
    6.0 s against a fixed 0.01; bench notes §16). Bisection on the derivative, which falls in ``γ``; at least
    ``1e-6``, so the new panels start inside the barrier's domain."""
    direction = towards - pi

    def slope(gamma: float) -> float:
        return float(people @ (direction / (pi + gamma * direction)))

    low, high = 0.0, 1.0 - 1e-9
    if slope(low) <= 0.0:
        return 1e-6
    if slope(high) >= 0.0:
        return high
    for _ in range(60):
        middle = 0.5 * (low + high)
        if slope(middle) > 0.0:
            low = middle
        else:
            high = middle
    return max(low, 1e-6)


def _perturbed_dives(
    oracle: PanelOracle, gradient: np.ndarray, rng: np.random.Generator, count: int, known: set[bytes]
) -> list[np.ndarray]:
    """Up to ``count`` new panels from dives at the gradient times ``exp(σ·N(0, 1))`` per type (σ =
    ``PERTURB_SIGMA``): Frank-Wolfe added one panel a round, and each round costs a restricted barrier solve."""
    found: dict[bytes, np.ndarray] = {}
    for _ in range(count):
        composition = oracle.good(gradient * np.exp(PERTURB_SIGMA * rng.standard_normal(len(gradient))))
        if composition is not None and composition.tobytes() not in known:
            found.setdefault(composition.tobytes(), composition)
    return list(found.values())


def _nash_restricted(
    shares: np.ndarray, people: np.ndarray, start: np.ndarray, *, mu_start: float, mu_floor: float
) -> np.ndarray:
    """``argmax_λ Σ_t people_t log (λ·shares)_t`` over the simplex, by a primal barrier Newton method.

    Minimises ``F_μ(λ) = -Σ_t w_t log s_t - μ Σ_P log λ_P`` subject to ``Σλ = 1`` for ``μ`` from
    ``mu_start·Σw`` down to ``mu_floor·Σw`` in steps of 10 (gap ``≤ m·μ``; Boyd & Vandenberghe, Convex
    Optimization, §11.3). Between two values of ``μ`` the point is centred only roughly (Newton decrement
    ``< NASH_CENTRING·μ``; the last value to ``1e-14·Σw``) and then moved along the central path's tangent
    ``dλ/dμ = H⁻¹(1/λ − ν1)`` (a predictor: a panel the optimum does not use has ``λ_P ∝ μ`` there, and a
    Newton step alone shrinks it by at most half). A warm start at a small ``μ`` that Newton does not
    settle in ``NASH_WARM_STEPS`` steps goes back to ``NASH_MU_BACKOFF`` once.
    The Frank-Wolfe stop in ``nash_distribution`` does not rely on this precision: its gap bounds the
    distance to the optimum at whatever ``λ`` this returns.
    """
    m = len(start)
    lam = np.clip(start, min(1e-3 / m, mu_start), None)
    lam /= lam.sum()
    total = people.sum()
    mu = mu_start * total
    backed_off = mu_start >= NASH_MU_BACKOFF
    while mu > mu_floor * total:
        last = mu * 0.1 <= mu_floor * total
        settled = False
        for _ in range(NASH_NEWTON_STEPS if backed_off else NASH_WARM_STEPS):
            s = lam @ shares
            gradient = -(shares @ (people / s)) - mu / lam
            hessian = (shares * (people / s**2)) @ shares.T + np.diag(mu / lam**2)
            step = _newton_step(hessian, gradient)
            decrement = -float(gradient @ step)
            if decrement < 1e-14 * total or (not last and decrement < NASH_CENTRING * mu):
                settled = True
                break
            lam = _barrier_line_search(lam, step, gradient, shares, people, mu)
        if not settled and not backed_off:
            mu, backed_off = NASH_MU_BACKOFF * total, True
            continue
        if not last:
            lam = _path_predictor(lam, shares, people, mu, 0.1 * mu)
        mu *= 0.1
    return lam / lam.sum()


def _path_predictor(lam: np.ndarray, shares: np.ndarray, people: np.ndarray, mu: float, target: float) -> np.ndarray:
    """``λ`` moved from ``μ`` to ``target`` along the central path's tangent, kept inside ``λ > 0``.

    Differentiating the centring condition ``∇f(λ) − μ/λ + ν1 = 0`` in ``μ`` gives ``H dλ/dμ = 1/λ − (dν/dμ)1``
    with ``1ᵀdλ/dμ = 0``: the Newton system with ``−1/λ`` in place of the gradient."""
    s = lam @ shares
    hessian = (shares * (people / s**2)) @ shares.T + np.diag(mu / lam**2)
    move = (target - mu) * _newton_step(hessian, -1.0 / lam)
    shrinking = move < 0
    fraction = min(1.0, 0.9 * float(np.min(-lam[shrinking] / move[shrinking]))) if shrinking.any() else 1.0
    return lam + fraction * move


def _newton_step(hessian: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """Solve ``[H 1; 1ᵀ 0][d; nu] = [-g; 0]`` by Cholesky: ``d = -H⁻¹(g + nu1)`` with ``1ᵀd = 0``."""
    factor = scipy.linalg.cho_factor(hessian, check_finite=False)
    both = scipy.linalg.cho_solve(factor, np.column_stack([gradient, np.ones_like(gradient)]), check_finite=False)
    hg, h1 = both[:, 0], both[:, 1]
    nu = -hg.sum() / h1.sum()
    return -(hg + nu * h1)


def _barrier_line_search(
    lam: np.ndarray, step: np.ndarray, gradient: np.ndarray, shares: np.ndarray, people: np.ndarray, mu: float
) -> np.ndarray:
    """Backtracking (Armijo, ``alpha = 0.25``, ``beta = 0.5``) that keeps ``λ > 0``."""

    def value(x: np.ndarray) -> float:
        return float(-(people @ np.log(x @ shares)) - mu * np.log(x).sum())

    negative = step < 0
    t = min(1.0, 0.99 * float(np.min(-lam[negative] / step[negative]))) if negative.any() else 1.0
    current = value(lam)
    slope = float(gradient @ step)
    while t > 1e-12:
        candidate = lam + t * step
        if np.all(candidate > 0) and value(candidate) <= current + 0.25 * t * slope:
            return candidate
        t *= 0.5
    return lam


# --- Goldilocks ---------------------------------------------------------------------------------


def goldilocks_distribution(
    oracle: PanelOracle,
    initial: Sequence[np.ndarray],
    covered: np.ndarray,
    *,
    search: SwapSearch | None = None,
    maximin_level: float,
    gamma: float = GOLDILOCKS_GAMMA,
    on_round: Callable[[], None] | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Minimise ``G(λ) = (n/k)·max_i π_i + gamma·(k/n)/min_i π_i`` (Baharav & Flanigan, arXiv 2406.15009).

    Formulation: for a fixed floor ``L`` the best ceiling ``g(L) = min{u : L ≤ π_t ≤ u ∀t, λ ∈ simplex}``
    is an LP (solved by column generation). ``g`` is convex and non-decreasing in ``L`` (the value of an
    LP as a function of its right-hand side), so ``φ(L) = (n/k)·g(L) + gamma(k/n)/L`` is convex on
    ``(0, L*]`` with ``L*`` the maximin value, and ``min G = min_L φ(L)``, found by golden-section
    search. Since ``g ≤ 1``, the optimum has ``L ≥ gamma(k/n)/(n/k + gamma(k/n)/L*)``, the search's lower end.
    ``initial`` should hold the maximin panels, so every floor searched is feasible from the start; a
    deficit variable (``π_t + d ≥ L``, cost ``GOLDILOCKS_PENALTY``) keeps the LP feasible regardless.
    """
    space = oracle.space
    n, k = float(space.counts.sum()), float(space.size)
    master = MasterLP(space)
    ceiling = master.add_variable(1.0, 0.0, 1.0)
    deficit = master.add_variable(GOLDILOCKS_PENALTY, 0.0, INF)
    floors = []
    for t in np.flatnonzero(covered):
        floors.append(master.add_row(0.0, INF, type_index=int(t)))
        master.model.changeCoeff(floors[-1], deficit, 1.0)
        upper = master.add_row(-INF, 0.0, type_index=int(t))
        master.model.changeCoeff(upper, ceiling, -1.0)
    for composition in initial:
        master.add_panel(composition)

    def phi(floor: float) -> float:
        for row in floors:
            master.model.changeRowBounds(row, floor, INF)
        generate_columns(master, oracle, search, on_round=on_round)
        return (n / k) * master.objective() + gamma * (k / n) / floor

    low = gamma * (k / n) / (n / k + gamma * (k / n) / maximin_level)
    high = maximin_level * (1 - 1e-9)
    best = _golden_section(phi, low, high)
    phi(best)
    if master.values()[deficit] > 1e-9:
        raise KleroError("The Goldilocks LP could not meet its probability floor.", code="lp_failed")
    return master.compositions, master.panel_weights()


def _golden_section(function: Callable[[float], float], low: float, high: float, *, tolerance: float = 1e-7) -> float:
    """Minimiser of a convex function on ``[low, high]`` by golden-section search, checking both ends."""
    ratio = (np.sqrt(5.0) - 1) / 2
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = function(c), function(d)
    while b - a > tolerance * max(1.0, abs(b)):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = function(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = function(d)
    candidates = [(fc, c), (fd, d), (function(high), high)]
    return min(candidates)[1]


# --- from compositions to panels of ids ---------------------------------------------------------


def expand_panels(
    compositions: Sequence[np.ndarray], weights: np.ndarray, members: Sequence[np.ndarray]
) -> dict[frozenset[str], float]:
    """Distribution over panels of ids realising each composition with exact per-person probabilities.

    Systematic sampling (Madow 1949): for a start ``u ∈ [0, 1)``, member ``p`` (0-based) of type ``t``
    is chosen when an integer lies in ``[p·c_t/n_t - u, (p+1)·c_t/n_t - u)``; exactly ``c_t`` members are
    chosen and, for ``u`` uniform, each with probability ``c_t/n_t``. The chosen set only changes at the
    breakpoints ``frac(p·c_t/n_t)``, so the uniform ``u`` becomes finitely many panels weighted by the
    lengths of the intervals between breakpoints.
    """
    panels: dict[frozenset[str], float] = {}
    for composition, weight in zip(compositions, weights, strict=True):
        if weight <= 0:
            continue
        present: list[int] = np.flatnonzero(composition).tolist()
        partial = [t for t in present if composition[t] < len(members[t])]
        whole = [person for t in present if composition[t] == len(members[t]) for person in members[t]]
        cuts = [np.mod(np.arange(len(members[t])) * composition[t], len(members[t])) / len(members[t]) for t in partial]
        edges = np.unique(np.round(np.concatenate([[0.0, 1.0], *cuts]), 12))
        starts = (edges[:-1] + edges[1:]) / 2
        chosen = [_systematic(composition[t], len(members[t]), starts) for t in partial]
        for j, length in enumerate(np.diff(edges)):
            people = [
                *whole,
                *(person for t, rows in zip(partial, chosen, strict=True) for person in members[t][rows[j]]),
            ]
            panel = frozenset(people)
            panels[panel] = panels.get(panel, 0.0) + float(weight * length)
    total = sum(panels.values())
    return {panel: value / total for panel, value in panels.items()}


def _systematic(count: int, size: int, starts: np.ndarray) -> np.ndarray:
    """Boolean matrix (start x member): member ``p`` chosen when ``⌊(p+1)c/n - u⌋ - ⌊p·c/n - u⌋ = 1``."""
    positions = np.arange(size + 1) * (count / size)
    floors = np.floor(positions[None, :] - starts[:, None])
    return np.diff(floors, axis=1) > 0.5
