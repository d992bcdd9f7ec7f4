"""Single-peakedness of rankings (List, Luskin, Fishkin & McLean 2013, Journal of Politics 75(1)).

A ranking is single-peaked on an axis (an ordering of the options along one dimension) when, walking
away from its top option in either direction along the axis, preference strictly decreases. For a
complete ranking that is the same as: for every k, the k best options lie next to each other on the
axis. The measure of List et al. is the proportion of respondents whose rankings are single-peaked on
the *best* axis, the axis (up to reversal) on which that proportion is largest; it is computed at
each wave and the change pre -> post is the effect of deliberation they report.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from deliberation.instrument import RANKING_SEPARATOR, Instrument, Item

Ranking = Sequence[str]


def is_single_peaked(ranking: Ranking, axis: Sequence[str]) -> bool:
    """Whether ``ranking`` (options best first, all of them) is single-peaked on ``axis``."""
    position = {option: k for k, option in enumerate(axis)}
    low = high = position[ranking[0]]
    for option in ranking[1:]:
        where = position[option]
        if where == low - 1:
            low = where
        elif where == high + 1:
            high = where
        else:
            return False
    return True


def candidate_axes(options: Sequence[str]) -> list[tuple[str, ...]]:
    """Every ordering of ``options``, one of each pair of reversals (m!/2 axes), in a fixed order."""
    index = {option: k for k, option in enumerate(options)}
    return [axis for axis in itertools.permutations(options) if index[axis[0]] < index[axis[-1]]]


def single_peaked_shares(rankings: Sequence[Ranking], options: Sequence[str]) -> pd.Series:
    """Share of ``rankings`` single-peaked on each candidate axis, indexed by the axis ``a-b-c``.

    Vectorised form of :func:`is_single_peaked`: with the axis positions of the options in ranked
    order, the k best options are adjacent iff ``max − min`` of the first k positions is ``k − 1``.
    Each distinct ranking is checked once and counted with its frequency.
    """
    axes = candidate_axes(options)
    labels = ["-".join(axis) for axis in axes]
    if not rankings:
        return pd.Series(np.nan, index=labels, dtype=float)
    code = {option: k for k, option in enumerate(options)}
    every = np.array([[code[o] for o in ranking] for ranking in rankings])  # respondents x ranks
    ranked, counts = np.unique(every, axis=0, return_counts=True)  # at most m! distinct rankings
    steps = np.arange(len(options))
    shares = np.empty(len(axes))
    for a, axis in enumerate(axes):
        position = np.empty(len(options), dtype=int)
        position[[code[o] for o in axis]] = steps
        on_axis = position[ranked]
        spread = np.maximum.accumulate(on_axis, axis=1) - np.minimum.accumulate(on_axis, axis=1)
        shares[a] = float(counts[(spread == steps).all(axis=1)].sum() / len(every))
    return pd.Series(shares, index=labels, dtype=float)


def best_axis(rankings: Sequence[Ranking], options: Sequence[str]) -> tuple[str, float, int]:
    """The best axis, its share of single-peaked rankings and how many axes tie with it.

    Ties keep the first axis in :func:`candidate_axes` order (options in instrument order).
    """
    shares = single_peaked_shares(rankings, options)
    if shares.isna().all():
        return "", float("nan"), 0
    top = float(shares.max())
    return str(shares.idxmax()), top, int((shares == top).sum())


def parse_ranking(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(RANKING_SEPARATOR))


def _complete(item: Item, raw: str) -> bool:
    ranked = parse_ranking(raw)
    return len(ranked) == len(item.options) and set(ranked) == set(item.options)


def summarise_single_peakedness(answers: pd.DataFrame, instrument: Instrument, *, pre: str, post: str) -> pd.DataFrame:
    """Proportion single-peaked on the best axis, per ranking item, before and after deliberation.

    ``answers`` are long answers (``participant_id, wave, item_code, raw``). Only respondents with a
    complete ranking at both waves count (pairs; don't-know and missing answers are left out and
    counted in ``n_excluded``). One row per ranking item; columns: ``item_code, n_pairs,
    n_excluded, options, best_axis_pre, share_pre, tied_axes_pre, best_axis_post, share_post,
    tied_axes_post, share_post_on_pre_axis, change`` (``share_post − share_pre``, the List et al.
    2013 measure of change; ``share_post_on_pre_axis`` holds the axis fixed at its pre-wave best).
    """
    rows = []
    for item in instrument.ranking_items:
        mine = answers[answers["item_code"] == item.code].drop_duplicates(["participant_id", "wave"])
        raw = {w: mine[mine["wave"] == w].set_index("participant_id")["raw"].astype(str) for w in (pre, post)}
        respondents = raw[pre].index.union(raw[post].index)
        paired = [
            pid
            for pid in raw[pre].index.intersection(raw[post].index)
            if _complete(item, raw[pre][pid]) and _complete(item, raw[post][pid])
        ]
        before = [parse_ranking(raw[pre][pid]) for pid in paired]
        after = [parse_ranking(raw[post][pid]) for pid in paired]
        options = list(item.options)
        axis_pre, share_pre, tied_pre = best_axis(before, options)
        axis_post, share_post, tied_post = best_axis(after, options)
        on_pre = single_peaked_shares(after, options).get(axis_pre, np.nan) if axis_pre else np.nan
        rows.append(
            {
                "item_code": item.code,
                "n_pairs": len(paired),
                "n_excluded": len(respondents) - len(paired),
                "options": len(options),
                "best_axis_pre": axis_pre,
                "share_pre": share_pre,
                "tied_axes_pre": tied_pre,
                "best_axis_post": axis_post,
                "share_post": share_post,
                "tied_axes_post": tied_post,
                "share_post_on_pre_axis": float(on_pre),
                "change": share_post - share_pre,
            }
        )
    return pd.DataFrame(rows, columns=SINGLE_PEAKEDNESS_COLUMNS)


SINGLE_PEAKEDNESS_COLUMNS = [
    "item_code",
    "n_pairs",
    "n_excluded",
    "options",
    "best_axis_pre",
    "share_pre",
    "tied_axes_pre",
    "best_axis_post",
    "share_post",
    "tied_axes_post",
    "share_post_on_pre_axis",
    "change",
]
