"""Alternates: an ordered reserve drawn the same way as the panel, from those not selected."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sortition.quotas import derive_quotas
from sortition.selection import SelectionResult, select_panel


def alternate_quotas(quotas: pd.DataFrame, *, count: int, tolerance: float = 1.0) -> pd.DataFrame:
    """Quotas for a reserve of ``count``, proportional to the panel's population shares."""
    shares: dict[str, dict[str, float]] = {}
    for row in quotas.itertuples(index=False):
        shares.setdefault(str(row.category), {})[str(row.feature)] = float(row.population_share)
    return derive_quotas(shares, size=count, tolerance=tolerance)


def select_alternates(
    pool: pd.DataFrame,
    panel: tuple[str, ...],
    quotas: pd.DataFrame,
    *,
    count: int,
    rng: np.random.Generator,
    algorithm: str = "maximin",
    address_column: str | None = "address_key",
    tolerance: float = 1.0,
) -> tuple[list[str], SelectionResult]:
    """Draw ``count`` ordered alternates from the pool members not on the panel nor at a panel address.

    The reserve meets proportional quotas of its own (``alternate_quotas``); its order (who is asked
    first) is a uniform random permutation. Returns the ordered ids and the selection result.
    """
    rest = pool[~pool["id"].isin(panel)]
    if address_column:
        taken = set(pool.loc[pool["id"].isin(panel), address_column])
        rest = rest[~rest[address_column].isin(taken)]
    reserve_quotas = alternate_quotas(quotas, count=count, tolerance=tolerance)
    result = select_panel(
        rest.reset_index(drop=True),
        reserve_quotas,
        size=count,
        rng=rng,
        algorithm=algorithm,
        address_column=address_column,
    )
    order = list(result.panel)
    rng.shuffle(order)
    return order, result
