"""Transparent lotteries: a distribution over panels rounded to m equally likely tickets.

Flanigan, Kehne, Procaccia, "Fair sortition made transparent", NeurIPS 2021: round the weights ``λ``
to integer ticket counts ``x_P`` with ``Σ_P x_P = m``, number the ``m`` tickets 1..m in a published
order, and draw one number uniformly (e.g. with physical dice or balls). Person ``i``'s probability
becomes ``π'_i = Σ_{P∋i} x_P / m``; ``fairness_lost`` reports the change from ``π_i``.

``make_lottery`` computes the native distribution and its numbered tickets from one seed (the path both
making and replaying a lottery take); ``lottery_alternates`` draws the alternates of the ticket drawn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sortition.alternates import select_alternates
from sortition.errors import KleroError
from sortition.progress import Cancel, Progress
from sortition.selection import SelectionResult, probabilities_from_distribution, select_panel

#: a published lottery: tickets 1..m, each with its panel
Tickets = Sequence[tuple[int, frozenset[str]]]

ROUNDING_TRIALS = 64  # starts tried by the systematic rounding; the best (smallest deviation) is kept


def round_to_lottery(
    panels: Sequence[frozenset[str]], weights: np.ndarray, *, m: int = 1000, rng: np.random.Generator
) -> list[tuple[frozenset[str], int]]:
    """Round ``m·λ`` to integer ticket counts summing to ``m`` (dependent rounding).

    Every count is ``⌊mλ_P⌋`` or ``⌈mλ_P⌉``. Which panels round up is decided by systematic sampling
    on the fractional parts ``f_P = mλ_P - ⌊mλ_P⌋`` (Madow 1949; a dependent rounding in the sense of
    Gandhi et al., JACM 2006): with a start ``u``, panel ``P`` rounds up when an integer lies in
    ``[F_{P-1} - u, F_P - u)`` for the cumulative sums ``F``. For a uniform ``u`` each panel rounds up
    with probability ``f_P``, so ``E[π'_i] = π_i`` and ``Σ x_P = m`` exactly. ``ROUNDING_TRIALS``
    starts are drawn from ``rng`` and the one with the smallest ``max_i |π'_i - π_i|`` is kept.
    Returns ``(panel, count)`` pairs with ``count > 0``.
    """
    lam = np.asarray(weights, dtype=float)
    if m < 1:
        raise KleroError("The lottery needs at least one ticket.", code="bad_lottery_size")
    if len(panels) != len(lam) or not len(lam) or np.any(lam < 0) or not np.isclose(lam.sum(), 1.0):
        raise KleroError("Lottery rounding needs one non-negative weight per panel, summing to 1.", code="bad_lottery")
    scaled = lam / lam.sum() * m
    base = np.floor(scaled)
    fractions = scaled - base
    missing = round(m - base.sum())
    people = sorted({person for panel in panels for person in panel})
    index = {person: j for j, person in enumerate(people)}
    incidence = np.zeros((len(panels), len(people)))
    for p, panel in enumerate(panels):
        incidence[p, [index[person] for person in panel]] = 1.0
    target = scaled @ incidence
    cumulative = np.concatenate([[0.0], np.cumsum(fractions)])
    cumulative *= missing / cumulative[-1] if cumulative[-1] > 0 else 1.0
    best_counts, best_gap = base, np.inf
    for start in rng.random(ROUNDING_TRIALS):
        up = np.diff(np.floor(cumulative - start)) > 0.5
        counts = base + up
        gap = float(np.abs(counts @ incidence - target).max())
        if gap < best_gap:
            best_counts, best_gap = counts, gap
    return [(panel, int(c)) for panel, c in zip(panels, best_counts, strict=True) if c > 0]


def fairness_lost(
    panels: Sequence[frozenset[str]], weights: np.ndarray, lottery: Sequence[tuple[frozenset[str], int]]
) -> dict[str, float]:
    """Compare ``π`` (from ``λ``) with ``π'`` (tickets / m): min and max probability before and after.

    Keys: ``old_min``, ``new_min``, ``old_max``, ``new_max``, ``max_abs_change`` (``max_i |π'_i - π_i|``)
    and ``tickets`` (m). People on no panel of the distribution are not counted.
    """
    before: dict[str, float] = {}
    for panel, weight in zip(panels, np.asarray(weights, dtype=float), strict=True):
        for person in panel:
            before[person] = before.get(person, 0.0) + float(weight)
    m = sum(count for _, count in lottery)
    after = dict.fromkeys(before, 0.0)
    for panel, count in lottery:
        for person in panel:
            after[person] = after.get(person, 0.0) + count / m
    old = np.array([before.get(p, 0.0) for p in after])
    new = np.array(list(after.values()))
    return {
        "old_min": float(old.min()),
        "new_min": float(new.min()),
        "old_max": float(old.max()),
        "new_max": float(new.max()),
        "max_abs_change": float(np.abs(new - old).max()),
        "tickets": float(m),
    }


def number_panels(lottery: Sequence[tuple[frozenset[str], int]]) -> list[tuple[int, frozenset[str]]]:
    """Ticket numbers 1..m: panels in order of their sorted member ids, each repeated ``count`` times."""
    ordered = sorted(lottery, key=lambda item: tuple(sorted(item[0])))
    numbered: list[tuple[int, frozenset[str]]] = []
    for panel, count in ordered:
        for _ in range(count):
            numbered.append((len(numbered) + 1, panel))
    return numbered


def panel_for_number(numbered: Sequence[tuple[int, frozenset[str]]], number: int) -> frozenset[str]:
    """The panel on ticket ``number`` (1..m) of ``number_panels``' list."""
    if not 1 <= number <= len(numbered):
        raise KleroError(f"Ticket {number} does not exist; tickets run from 1 to {len(numbered)}.", code="bad_ticket")
    ticket, panel = numbered[number - 1]
    if ticket != number:
        raise KleroError("The numbered list is not in ticket order 1..m.", code="bad_ticket")
    return panel


def seeded_generator(seed: int) -> np.random.Generator:
    """numpy ``SeedSequence → PCG64`` generator for a stored seed (the same as ``kleroterion.seeds.generator``)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))


def make_lottery(
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    size: int,
    seed: int,
    algorithm: str,
    tickets: int,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    exclude: Sequence[str] = (),
) -> tuple[SelectionResult, list[tuple[int, frozenset[str]]], dict[str, float], pd.Series]:
    """The distribution, its numbered tickets 1..M, the fairness lost and the lottery probabilities.

    One generator from ``seed`` computes the native distribution and then the rounding, so the same
    seed, pool and quotas give the same published ticket list: the one path both drawing and replay take.
    ``exclude``: ids left out with their households (rotation), as in ``select_panel``.
    """
    rng = seeded_generator(seed)
    result = select_panel(
        pool,
        quotas,
        size=size,
        rng=rng,
        algorithm=algorithm,
        engine="native",
        progress=progress,
        cancel=cancel,
        exclude=exclude,
    )
    weights = np.asarray(result.weights, dtype=float)
    rounded = round_to_lottery(result.panels, weights, m=tickets, rng=rng)
    lost = fairness_lost(result.panels, weights, rounded)
    counts = np.array([count for _, count in rounded], dtype=float)
    probabilities = probabilities_from_distribution(
        result.probabilities.index.to_series(), [panel for panel, _ in rounded], counts / counts.sum()
    )
    return result, number_panels(rounded), lost, probabilities


def lottery_alternates(
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    panel: frozenset[str],
    *,
    seed: int,
    number: int,
    count: int,
    algorithm: str,
    exclude: Sequence[str] = (),
) -> list[str]:
    """Ordered alternates for the panel on ticket ``number``, drawn as for any panel.

    Their generator's seed is ``SHA-256("{lottery seed}:{number}")``: fixed by the published seed and the
    public number, so anyone can replay them, and unknown before the number is drawn.
    """
    if count <= 0:
        return []
    derived = int(hashlib.sha256(f"{seed}:{number}".encode()).hexdigest(), 16)
    order, _reserve = select_alternates(
        pool,
        tuple(sorted(panel)),
        quotas,
        count=count,
        rng=seeded_generator(derived),
        algorithm=algorithm,
        engine="native",
        exclude=exclude,
    )
    return order
