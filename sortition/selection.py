"""Stage 2: fair panel selection over a pool, with exact selection probabilities.

The engine seam: ``select_panel`` takes a pool, a quota table and an engine name. Both engines,
``native`` (the default: ``sortition.engine`` on HiGHS) and ``sortition-algorithms``, compute a
distribution over feasible panels (maximin, nash, leximin; goldilocks, end-to-end and max-entropy natively) by
column generation (natively, leximin and Nash first through the quota polytope's relaxation,
``sortition.relaxation``, where its optimum decomposes into panels); person i's probability is
``π_i = Σ_{P∋i} λ_P`` (Flanigan et al., Nature 2021). The panel is then
drawn from that distribution with the caller's generator. The legacy greedy algorithm has no
distribution: its probabilities are estimated by repeated draws, with a stated standard error. Both
engines run it through sortition-algorithms' greedy code with the caller's generator (the native engine
has no greedy algorithm of its own), so a legacy draw replays from its seed like a native one.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sortition.errors import InfeasibleQuotaError, KleroError
from sortition.progress import Cancel, Progress, Tracker

ALGORITHMS = ("maximin", "leximin", "nash", "legacy", "goldilocks", "end-to-end", "max-entropy")
ENGINES = ("sortition-algorithms", "native")
#: Which algorithms each engine offers (goldilocks, end-to-end and max-entropy only natively; legacy in both,
#: always computed by sortition-algorithms' greedy algorithm, whose only randomness is the caller's generator).
ENGINE_ALGORITHMS = {
    "sortition-algorithms": ("maximin", "leximin", "nash", "legacy"),
    "native": ("maximin", "leximin", "nash", "goldilocks", "end-to-end", "max-entropy", "legacy"),
}
LEGACY_ESTIMATE_RUNS = 200


@dataclass(frozen=True)
class SelectionResult:
    """A drawn panel with the distribution it was drawn from.

    ``probabilities`` is indexed by the id of everyone who could be drawn; ``panels``/``weights`` is the
    distribution over panels (one panel with weight 1 for legacy). ``probability_se`` is 0 for exact
    probabilities. ``excluded``: the pool members left out of this draw (rotation: earlier rounds'
    members and anyone at their addresses), sorted; they are not in ``probabilities``.
    """

    panel: tuple[str, ...]
    probabilities: pd.Series
    panels: tuple[frozenset[str], ...]
    weights: tuple[float, ...]
    algorithm: str
    engine: str
    exact: bool
    probability_se: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    excluded: tuple[str, ...] = ()


class _GeneratorRandom:
    """Adapter giving sortition-algorithms' random-provider interface a numpy Generator."""

    max_int = 2**31 - 1

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def uniform(self, lower: float, upper: float) -> float:
        return float(self._rng.uniform(lower, upper))

    def randbelow(self, upper: int) -> int:
        return int(self._rng.integers(0, upper))

    def randint(self) -> int:
        return self.randbelow(self.max_int)

    def choice(self, seq: Sequence[str]) -> str:
        return seq[int(self._rng.integers(0, len(seq)))]


@contextmanager
def _library_randomness(rng: np.random.Generator) -> Iterator[None]:
    """Route sortition-algorithms' randomness through ``rng`` for the duration of one call."""
    from sortition_algorithms import utils

    saved = utils._random_provider
    utils._random_provider = _GeneratorRandom(rng)  # type: ignore[assignment]
    loggers = [logging.getLogger(name) for name in ("sortition_algorithms", "sortition_algorithms_user")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        utils._random_provider = saved
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def library_inputs(pool: pd.DataFrame, quotas: pd.DataFrame, address_column: str | None) -> tuple[object, object]:
    """sortition-algorithms' FeatureCollection and People for a pool and quota table (ids as strings)."""
    from sortition_algorithms import Settings, read_in_features, read_in_people

    body = [
        {"feature": str(r.category), "value": str(r.feature), "min": str(int(r.min)), "max": str(int(r.max))}
        for r in quotas.itertuples(index=False)
    ]
    features, _, _ = read_in_features(["feature", "value", "min", "max"], body)
    categories = list(dict.fromkeys(quotas["category"].astype(str)))
    address_cols = [address_column] if address_column else []
    settings = Settings(
        id_column="id",
        columns_to_keep=[],
        check_same_address=bool(address_cols),
        check_same_address_columns=address_cols,
    )
    head = ["id", *categories, *address_cols]
    rows = pool[head].astype(str).to_dict("records")
    people, _ = read_in_people(head, rows, features, settings)
    return features, people


def _translate_library_error(exc: Exception) -> KleroError:
    from sortition_algorithms import errors as sa_errors

    if isinstance(exc, sa_errors.InfeasibleQuotasError):
        lines = [str(line) for line in getattr(exc, "all_lines", [str(exc)])]
        return InfeasibleQuotaError(
            "No panel meets all quotas with this pool. " + " ".join(lines),
            conflicts=lines[1:],
            relaxation={"suggestion": " ".join(lines[1:])},
        )
    if isinstance(exc, sa_errors.InfeasibleQuotasCantRelaxError):
        return InfeasibleQuotaError(f"No panel meets all quotas and no relaxation was found: {exc}", conflicts=[])
    return KleroError(f"Selection failed: {exc}", code="selection_failed")


def select_panel(
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    size: int,
    rng: np.random.Generator,
    algorithm: str = "maximin",
    engine: str = "native",
    address_column: str | None = "address_key",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    exclude: Collection[str] = (),
) -> SelectionResult:
    """Select a panel of ``size`` from ``pool`` (an ``id`` column plus one column per quota category).

    At most one person per value of ``address_column`` (None: no address check). ``progress`` and
    ``cancel`` follow ``sortition.progress``: the native engine reports every step (see
    ``sortition.engine.find_distribution``); sortition-algorithms only its start and end. ``exclude``:
    ids that may not be drawn (a rotating council's earlier members); with an address column, everyone
    at their addresses is left out too (``rotation_exclusions``). The result names who was left out.
    """
    if exclude:
        left_out, notes = rotation_exclusions(pool, exclude, address_column=address_column)
        rest = pool[~pool["id"].astype(str).isin(left_out)].reset_index(drop=True)
        result = select_panel(
            rest,
            quotas,
            size=size,
            rng=rng,
            algorithm=algorithm,
            engine=engine,
            address_column=address_column,
            progress=progress,
            cancel=cancel,
        )
        return replace(result, notes=(*result.notes, *notes), excluded=tuple(sorted(left_out)))
    if algorithm not in ALGORITHMS:
        raise KleroError(f"Unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}.", code="bad_algo")
    if engine not in ENGINES:
        raise KleroError(f"Unknown engine {engine!r}; choose one of {', '.join(ENGINES)}.", code="bad_engine")
    if algorithm not in ENGINE_ALGORITHMS[engine]:
        raise KleroError(
            f"The {engine} engine has no {algorithm!r}; it offers {', '.join(ENGINE_ALGORITHMS[engine])}.",
            code="bad_algo",
        )
    if pool["id"].duplicated().any():
        raise KleroError("The pool has duplicate ids.", code="duplicate_pool_ids")
    tracker = Tracker(progress, cancel)
    if engine == "native" and algorithm != "legacy":
        return _select_native(
            pool, quotas, size=size, rng=rng, algorithm=algorithm, address_column=address_column, tracker=tracker
        )
    tracker.step("selection", 0, 1, f"sortition-algorithms {algorithm}")
    from sortition_algorithms import errors as sa_errors

    if algorithm == "legacy":
        # the greedy walk picks "the r-th remaining person" of a feature: fix the order the pool hash ignores
        pool = pool.sort_values("id", key=lambda ids: ids.astype(str), kind="stable").reset_index(drop=True)
    features, people = library_inputs(pool, quotas, address_column)
    try:
        with _library_randomness(rng):
            if algorithm == "legacy":
                return _select_legacy(pool, features, people, size, rng, address_column, engine=engine)
            panels, weights = _distribution(algorithm, features, people, size, address_column)
    except sa_errors.SortitionBaseError as exc:
        raise _translate_library_error(exc) from exc
    tracker.step("selection", 1, 1, "done")
    return _drawn(pool, panels, weights, rng, algorithm=algorithm, engine=engine)


def rotation_exclusions(
    pool: pd.DataFrame, exclude: Collection[str], *, address_column: str | None
) -> tuple[frozenset[str], tuple[str, ...]]:
    """Who a rotating council's next round leaves out, and lines saying so.

    The ids in ``exclude`` that are in the pool plus, when ``address_column`` is given (one person per
    household), every pool member sharing a non-missing address with one of them. Ids not in the pool are
    counted in a note (an earlier round's member who did not sign up again), never dropped silently.
    """
    ids = pool["id"].astype(str)
    wanted = {str(person) for person in exclude}
    direct = ids.isin(wanted)
    left_out = direct.copy()
    if address_column is not None and address_column in pool.columns:  # else the engine names the gap
        addresses = pool.loc[direct.to_numpy(), address_column].dropna()
        left_out |= pool[address_column].isin(set(addresses)).to_numpy()
    absent = len(wanted - set(ids))
    notes = [f"{int(direct.sum())} pool member(s) excluded from this draw (earlier rounds or an exclusion list)"]
    if int(left_out.sum()) > int(direct.sum()):
        notes.append(f"{int(left_out.sum() - direct.sum())} more excluded for living at their address")
    if absent:
        notes.append(f"{absent} excluded id(s) are not in this pool")
    return frozenset(ids[left_out.to_numpy()]), tuple(notes)


def _drawn(
    pool: pd.DataFrame,
    panels: Sequence[frozenset[str]],
    weights: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
    *,
    algorithm: str,
    engine: str,
) -> SelectionResult:
    """Draw one panel from a distribution put in canonical order; exact probabilities for everyone."""
    canonical, weights_arr = canonical_distribution(panels, np.asarray(weights, dtype=float))
    probabilities = probabilities_from_distribution(pool["id"].astype(str), canonical, weights_arr)
    index = int(rng.choice(len(canonical), p=weights_arr))
    return SelectionResult(
        panel=tuple(sorted(canonical[index])),
        probabilities=probabilities,
        panels=tuple(canonical),
        weights=tuple(float(w) for w in weights_arr),
        algorithm=algorithm,
        engine=engine,
        exact=True,
    )


def _select_native(
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    size: int,
    rng: np.random.Generator,
    algorithm: str,
    address_column: str | None,
    tracker: Tracker,
) -> SelectionResult:
    """The native HiGHS engine (``sortition.engine.find_distribution``), drawn like the library's."""
    from sortition.engine import find_distribution

    panels, weights = find_distribution(
        pool,
        quotas,
        size=size,
        algorithm=algorithm,
        rng=rng,
        address_column=address_column,
        progress=tracker.progress,
        cancel=tracker.cancel,
    )
    return _drawn(pool, panels, weights, rng, algorithm=algorithm, engine="native")


def _distribution(
    algorithm: str, features: object, people: object, size: int, address_column: str | None
) -> tuple[list[frozenset[str]], list[float]]:
    from sortition_algorithms.committee_generation import (
        GUROBI_AVAILABLE,
        find_distribution_leximin,
        find_distribution_maximin,
        find_distribution_nash,
    )

    address_cols = [address_column] if address_column else []
    if algorithm == "leximin" and not GUROBI_AVAILABLE:
        raise KleroError(
            "Leximin in sortition-algorithms needs the commercial Gurobi solver, which is not installed. "
            "Choose --algorithm maximin or nash (sortition-algorithms would silently switch to maximin; we do not).",
            code="leximin_needs_gurobi",
        )
    finder = {
        "maximin": find_distribution_maximin,
        "leximin": find_distribution_leximin,
        "nash": find_distribution_nash,
    }[algorithm]
    panels, weights, _report = finder(features, people, size, address_cols)  # type: ignore[arg-type]
    return list(panels), list(weights)


def canonical_distribution(
    panels: Sequence[frozenset[str]], weights: np.ndarray
) -> tuple[list[frozenset[str]], np.ndarray]:
    """Merge equal panels and sort them by their sorted ids, weights clipped at 0 and summing to 1.

    Engines return panels in an order that can depend on Python's per-process string hashing
    (``PYTHONHASHSEED``); drawing an index from a canonical order makes a stored seed replay anywhere.
    """
    merged: dict[tuple[str, ...], float] = {}
    for panel, weight in zip(panels, weights, strict=True):
        key = tuple(sorted(panel))
        merged[key] = merged.get(key, 0.0) + max(float(weight), 0.0)
    keys = sorted(merged)
    out = np.array([merged[k] for k in keys], dtype=float)
    return [frozenset(k) for k in keys], out / out.sum()


def probabilities_from_distribution(ids: pd.Series, panels: Sequence[frozenset[str]], weights: np.ndarray) -> pd.Series:
    """Selection probability ``π_i = Σ_{P∋i} λ_P`` of every id (0 for ids in no panel)."""
    probs = dict.fromkeys(ids, 0.0)
    for panel, weight in zip(panels, weights, strict=True):
        for person in panel:
            probs[person] += float(weight)
    return pd.Series(probs, name="probability", dtype=float)


def _select_legacy(
    pool: pd.DataFrame,
    features: object,
    people: object,
    size: int,
    rng: np.random.Generator,
    address_column: str | None,
    *,
    engine: str,
) -> SelectionResult:
    """The Sortition Foundation's greedy algorithm (sortition-algorithms), its probabilities estimated.

    Its only randomness is ``rng`` (through ``_library_randomness``) and it walks the pool in id order, so
    the same seed gives the same panel in any process. ``engine`` is the engine the caller asked for: a
    replay of the draw then takes this same path.
    """
    from sortition_algorithms.committee_generation.legacy import find_random_sample_legacy

    address_cols = [address_column] if address_column else []

    def one() -> frozenset[str]:
        panels, _ = find_random_sample_legacy(people, features, size, address_cols, max_attempts=100)  # type: ignore[arg-type]
        return frozenset(panels[0])

    drawn = one()
    counts = dict.fromkeys(pool["id"].astype(str), 0)
    for _ in range(LEGACY_ESTIMATE_RUNS):
        for person in one():
            counts[person] += 1
    runs = LEGACY_ESTIMATE_RUNS
    probabilities = pd.Series({k: v / runs for k, v in counts.items()}, name="probability", dtype=float)
    # worst-case binomial standard error of a frequency over `runs` draws: sqrt(0.25 / runs)
    se = float(np.sqrt(0.25 / runs))
    return SelectionResult(
        panel=tuple(sorted(drawn)),
        probabilities=probabilities,
        panels=(drawn,),
        weights=(1.0,),
        algorithm="legacy",
        engine=engine,
        exact=False,
        probability_se=se,
        notes=(
            "legacy is sortition-algorithms' greedy algorithm, with this draw's seed",
            f"legacy probabilities estimated from {runs} repeated draws (standard error ≤ {se:.3f})",
        ),
    )


def fairness_summary(probabilities: pd.Series, *, size: int) -> dict[str, float]:
    """Min, max, mean, Gini and geometric mean of π; share below k/n; count with π = 0 (DOMAIN.md §2).

    Gini by the sorted-values formula ``G = Σ_i (2i − n − 1)·x_(i) / (n·Σx)`` (i = 1..n).
    """
    values = np.sort(probabilities.to_numpy(dtype=float))
    n = len(values)
    ranks = np.arange(1, n + 1)
    gini = float(((2 * ranks - n - 1) * values).sum() / (n * values.sum())) if values.sum() > 0 else 0.0
    positive = values[values > 0]
    geo = float(np.exp(np.log(values).mean())) if len(positive) == n else 0.0
    return {
        "n": float(n),
        "min_probability": float(values.min()),
        "max_probability": float(values.max()),
        "mean_probability": float(values.mean()),
        "gini": gini,
        "geometric_mean": geo,
        "share_below_k_over_n": float((values < size / n - 1e-12).mean()),
        "count_zero": float((values <= 1e-12).sum()),
    }
