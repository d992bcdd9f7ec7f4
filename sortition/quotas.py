"""Quotas: targets proportional to the population, min/max bands, feasibility against a pool.

``target_{f,v} = k·share_{f,v}``; ``[min, max] = [floor(target−tol), ceil(target+tol)]``
(DOMAIN.md §1a step 6), with largest-remainder rounding for the point targets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from sortition.errors import InfeasibleQuotaError, KleroError

#: Columns of a quota table, as in the published ``category,feature,min,max`` format plus targets.
QUOTA_COLUMNS = ("category", "feature", "population_share", "target", "rounded", "min", "max")


def largest_remainder(shares: pd.Series, total: int) -> pd.Series:
    """Hamilton (largest-remainder) apportionment of ``total`` seats over ``shares`` (summing to 1).

    Ties in the remainders are broken by the order of the index, so the result is deterministic.
    """
    if total < 0:
        raise KleroError("Cannot apportion a negative total.", code="negative_total", total=total)
    quotas = shares.astype(float) * total
    floors = np.floor(quotas + 1e-12).astype(int)
    left = total - int(floors.sum())
    remainders = (quotas - floors).to_numpy()
    order = np.argsort(-remainders, kind="stable")[:left]
    result = floors.to_numpy().copy()
    result[order] += 1
    return pd.Series(result, index=shares.index, dtype=int)


def derive_quotas(shares: Mapping[str, Mapping[str, float]], *, size: int, tolerance: float = 1.0) -> pd.DataFrame:
    """Quota table for a panel of ``size`` from population shares per category.

    Returns columns ``category, feature, population_share, target, rounded, min, max``: ``target`` is
    ``size·share``, ``rounded`` its largest-remainder rounding (summing to ``size`` per category),
    ``min = max(0, floor(target − tolerance))`` and ``max = ceil(target + tolerance)``.
    """
    if size <= 0:
        raise KleroError("Panel size must be positive.", code="bad_panel_size", size=size)
    rows = []
    for category, values in shares.items():
        series = pd.Series(dict(values), dtype=float)
        if (series < 0).any() or series.sum() <= 0:
            raise KleroError(f"Category {category!r} has no positive shares.", code="bad_shares", category=category)
        series = series / series.sum()
        rounded = largest_remainder(series, size)
        for feature, share in series.items():
            target = size * share
            rows.append(
                {
                    "category": category,
                    "feature": str(feature),
                    "population_share": share,
                    "target": target,
                    "rounded": int(rounded[feature]),
                    "min": max(0, math.floor(target - tolerance + 1e-9)),
                    "max": min(size, math.ceil(target + tolerance - 1e-9)),
                }
            )
    return pd.DataFrame(rows, columns=list(QUOTA_COLUMNS))


def check_quota_bounds(quotas: pd.DataFrame, size: int) -> None:
    """Per category: sum of minima ≤ size ≤ sum of maxima; raise ``InfeasibleQuotaError`` if not."""
    conflicts = []
    relax: dict[str, str] = {}
    for category, group in quotas.groupby("category", sort=False):
        low, high = int(group["min"].sum()), int(group["max"].sum())
        if low > size:
            conflicts.append(f"{category}: the minima add up to {low}, more than the panel size {size}")
            relax[str(category)] = f"lower the minima by {low - size} in total"
        if high < size:
            conflicts.append(f"{category}: the maxima add up to {high}, less than the panel size {size}")
            relax[str(category)] = f"raise the maxima by {size - high} in total"
    if conflicts:
        raise InfeasibleQuotaError(
            "The quotas cannot add up to the panel size:\n  " + "\n  ".join(conflicts),
            conflicts=conflicts,
            relaxation=relax,
        )


def check_panel_size(size: int, pool_size: int) -> None:
    """A panel has at least one seat and no more seats than the pool has people; ``KleroError`` if not."""
    if size < 1:
        raise KleroError(f"The panel size must be 1 or more, not {size}.", code="bad_panel_size", size=size)
    if size > pool_size:
        raise KleroError(
            f"A panel of {size:,} cannot be drawn from a pool of {pool_size:,}: choose a size of at most "
            f"{pool_size:,} (a fraction of the pool leaves the lottery room to be fair), or import more sign-ups.",
            code="panel_larger_than_pool",
            size=size,
            pool_size=pool_size,
        )


def check_pool_against_quotas(pool: pd.DataFrame, quotas: pd.DataFrame, size: int) -> None:
    """Necessary conditions before any draw: enough pool members for each minimum, and for the panel, and
    every pool member with a value for every quota category.

    The full check (whether one panel meets all quotas at once) is done by the selection engine.
    """
    check_quota_bounds(quotas, size)
    conflicts = []
    relax: dict[str, str] = {}
    if len(pool) < size:
        conflicts.append(f"the pool has {len(pool)} people, fewer than the panel size {size}")
    for category in dict.fromkeys(quotas["category"]):
        unanswered = (
            int(pool[category].isna().sum() + (pool[category].astype(str) == "").sum()) if category in pool else 0
        )
        if unanswered:  # e.g. a category declared after they signed up: the draw cannot place them
            conflicts.append(f"{unanswered} people in the pool have no value for '{category}'")
    for row in quotas.itertuples(index=False):
        if row.category not in pool.columns:
            conflicts.append(f"the pool has no column '{row.category}'")
            continue
        have = int((pool[row.category].astype(str) == str(row.feature)).sum())
        if have < row.min:
            conflicts.append(f"{row.category}={row.feature}: minimum {row.min} but only {have} in the pool")
            relax[f"{row.category}={row.feature}"] = f"min {have}"
    if conflicts:
        raise InfeasibleQuotaError(
            "The pool cannot meet the quotas:\n  " + "\n  ".join(conflicts),
            conflicts=conflicts,
            relaxation=relax,
        )


def count_by_quota(members: pd.DataFrame, quotas: pd.DataFrame) -> pd.Series:
    """Number of ``members`` in each (category, feature) of the quota table."""
    counts = []
    for row in quotas.itertuples(index=False):
        counts.append(int((members[row.category].astype(str) == str(row.feature)).sum()))
    return pd.Series(counts, index=pd.MultiIndex.from_frame(quotas[["category", "feature"]]), dtype=int)


def quota_breaks(members: pd.DataFrame, quotas: pd.DataFrame) -> list[str]:
    """Each quota the ``members`` fall outside of, as ``category=feature: n (allowed min–max)``."""
    counts = count_by_quota(members, quotas)
    out = []
    for (category, feature), n, low, high in zip(
        counts.index, counts.to_numpy(), quotas["min"].to_numpy(), quotas["max"].to_numpy(), strict=True
    ):
        if not low <= n <= high:
            out.append(f"{category}={feature}: {int(n)} (allowed {int(low)}–{int(high)})")
    return out


def quotas_met(members: pd.DataFrame, quotas: pd.DataFrame) -> bool:
    """True when the members' counts lie inside every [min, max] band."""
    return not quota_breaks(members, quotas)
