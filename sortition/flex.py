"""Selection within the Sortition Foundation's ``min_flex``/``max_flex``: when no panel meets the quotas,
the smallest relaxation of the bounds that stays within the flex bounds is applied, and the relaxation
used is returned for the report; when none exists, the error stands."""

from __future__ import annotations

from collections.abc import Collection

import highspy
import numpy as np
import pandas as pd

from sortition.columngen import panel_model
from sortition.engine import build_space
from sortition.errors import InfeasibleQuotaError
from sortition.progress import Cancel, Progress
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
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    exclude: Collection[str] = (),
) -> tuple[SelectionResult, pd.DataFrame]:
    """``select_panel`` on ``quotas`` (``progress``/``cancel`` passed on, ``sortition.progress``); if they are
    infeasible and ``quotas`` has ``min_flex``/``max_flex``,
    ``select_panel`` again on the smallest relaxation with every bound within ``[min_flex, max_flex]``
    (``_relaxed``). Returns the result and the relaxed rows (``RELAXATION_COLUMNS``; empty when the
    quotas were met as given). When no relaxation within the flex bounds exists,
    ``InfeasibleQuotaError`` with the engine's diagnosis (the quotas that conflict)."""
    bounds = quotas[["category", "feature", "min", "max"]]

    def draw(limits: pd.DataFrame) -> SelectionResult:
        return select_panel(
            pool,
            limits,
            size=size,
            rng=rng,
            algorithm=algorithm,
            engine=engine,
            address_column=address_column,
            progress=progress,
            cancel=cancel,
            exclude=exclude,
        )

    try:
        return draw(bounds), pd.DataFrame(columns=list(RELAXATION_COLUMNS))
    except InfeasibleQuotaError as exc:
        if "min_flex" not in quotas.columns:
            raise
        relaxed, table = _relaxed(pool, quotas, exc, size=size, address_column=address_column)
    return draw(relaxed), table


def _relaxed(
    pool: pd.DataFrame, quotas: pd.DataFrame, exc: InfeasibleQuotaError, *, size: int, address_column: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The smallest relaxation *within the flex bounds*: ``min Σ_f (s⁻_f + s⁺_f)`` over compositions of
    ``size`` (one person per address) with ``min_f − s⁻_f ≤ Σ_{t∋f} c_t ≤ max_f + s⁺_f`` and
    ``0 ≤ s⁻_f ≤ min_f − min_flex_f``, ``0 ≤ s⁺_f ≤ max_flex_f − max_f`` (``engine.diagnose_infeasibility``
    with the slacks capped; an ILP on HiGHS). None within the bounds: ``InfeasibleQuotaError``."""
    bounds = quotas[["category", "feature", "min", "max"]].reset_index(drop=True)
    space, _ = build_space(pool, bounds, size=size, address_column=address_column)
    model = panel_model(space, integral=True)
    model.changeObjectiveSense(highspy.ObjSense.kMinimize)
    down = (quotas["min"] - quotas["min_flex"]).to_numpy(dtype=float)
    up = (quotas["max_flex"] - quotas["max"]).to_numpy(dtype=float)
    for f in range(len(bounds)):  # s⁻_f then s⁺_f, on the quota row 1 + f (as diagnose_infeasibility)
        model.addCol(1.0, 0.0, down[f], 1, np.array([1 + f], dtype=np.int32), np.array([1.0]))
        model.addCol(1.0, 0.0, up[f], 1, np.array([1 + f], dtype=np.int32), np.array([-1.0]))
    model.run()
    if model.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise InfeasibleQuotaError(
            f"{exc.message} No relaxation within min_flex/max_flex makes a panel possible: that goes beyond "
            "the allowed flexibility; widen min_flex/max_flex of the quotas named.",
            conflicts=exc.conflicts,
            relaxation=exc.relaxation,
        )
    slack = np.rint(np.asarray(model.getSolution().col_value)[space.n_types :]).astype(int)
    relaxed = bounds.copy()
    relaxed["min"] = bounds["min"].to_numpy() - slack[0::2]
    relaxed["max"] = bounds["max"].to_numpy() + slack[1::2]
    moved = (slack[0::2] > 0) | (slack[1::2] > 0)
    table = pd.DataFrame(
        {
            "category": bounds["category"],
            "feature": bounds["feature"],
            "min": bounds["min"].astype(int),
            "max": bounds["max"].astype(int),
            "min_used": relaxed["min"].astype(int),
            "max_used": relaxed["max"].astype(int),
            "min_flex": quotas["min_flex"].to_numpy(dtype=int),
            "max_flex": quotas["max_flex"].to_numpy(dtype=int),
        }
    )[moved]
    return relaxed, table.reset_index(drop=True)[list(RELAXATION_COLUMNS)]
