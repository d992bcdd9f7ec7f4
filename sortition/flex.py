"""Selection within the Sortition Foundation's ``min_flex``/``max_flex``: when no panel meets the quotas,
the smallest relaxation of the bounds (``engine.diagnose_infeasibility``) is applied if it stays within
the flex bounds, and the relaxation used is returned for the report; otherwise the error stands."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kleroterion.errors import InfeasibleQuotaError
from sortition.selection import SelectionResult, select_panel

RELAXATION_COLUMNS = ("category", "feature", "min", "max", "min_used", "max_used", "min_flex", "max_flex")


def select_within_flex(
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    size: int,
    rng: np.random.Generator,
    algorithm: str = "maximin",
    engine: str = "native",
    address_column: str | None = None,
) -> tuple[SelectionResult, pd.DataFrame]:
    """``select_panel`` on ``quotas``; if they are infeasible and ``quotas`` has ``min_flex``/``max_flex``,
    ``select_panel`` again on the smallest relaxation, provided every relaxed bound stays within
    ``[min_flex, max_flex]``. Returns the result and the relaxed rows (``RELAXATION_COLUMNS``; empty
    when the quotas were met as given). A relaxation beyond the flex bounds raises
    ``InfeasibleQuotaError`` naming the quotas it would need to move further."""
    bounds = quotas[["category", "feature", "min", "max"]]
    none = pd.DataFrame(columns=list(RELAXATION_COLUMNS))
    try:
        return select_panel(
            pool, bounds, size=size, rng=rng, algorithm=algorithm, engine=engine, address_column=address_column
        ), none
    except InfeasibleQuotaError as exc:
        if "min_flex" not in quotas.columns:
            raise
        relaxed, table = _relaxed(quotas, exc)
    result = select_panel(
        pool, relaxed, size=size, rng=rng, algorithm=algorithm, engine=engine, address_column=address_column
    )
    return result, table


def _relaxed(quotas: pd.DataFrame, exc: InfeasibleQuotaError) -> tuple[pd.DataFrame, pd.DataFrame]:
    moves = {k: v for k, v in exc.relaxation.items() if isinstance(v, Mapping)}
    if not moves:
        raise InfeasibleQuotaError(
            f"{exc.message} No bound-by-bound relaxation was found, so min_flex/max_flex cannot be applied.",
            conflicts=exc.conflicts,
            relaxation=exc.relaxation,
        )
    relaxed = quotas[["category", "feature", "min", "max"]].copy()
    rows, beyond = [], []
    labels = quotas["category"].astype(str) + "=" + quotas["feature"].astype(str)
    for label, move in moves.items():
        where = np.flatnonzero(labels.to_numpy() == label)
        if len(where) != 1:
            beyond.append(f"{label}: not a quota row")
            continue
        i = int(where[0])
        row = quotas.iloc[i]
        low, high = int(move.get("min", row["min"])), int(move.get("max", row["max"]))
        if low < int(row["min_flex"]) or high > int(row["max_flex"]):
            flex = f"min_flex {int(row['min_flex'])}, max_flex {int(row['max_flex'])}"
            beyond.append(f"{label}: needs min {low}, max {high}; {flex}")
        relaxed.iloc[i, relaxed.columns.get_loc("min")] = low
        relaxed.iloc[i, relaxed.columns.get_loc("max")] = high
        rows.append(
            {
                "category": row["category"],
                "feature": row["feature"],
                "min": int(row["min"]),
                "max": int(row["max"]),
                "min_used": low,
                "max_used": high,
                "min_flex": int(row["min_flex"]),
                "max_flex": int(row["max_flex"]),
            }
        )
    if beyond:
        raise InfeasibleQuotaError(
            f"{exc.message} That goes beyond the allowed flexibility: " + "; ".join(beyond) + ".",
            conflicts=[*exc.conflicts, *beyond],
            relaxation=exc.relaxation,
        )
    return relaxed, pd.DataFrame(rows, columns=list(RELAXATION_COLUMNS))
