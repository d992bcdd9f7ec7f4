"""Subgroup opinion change with small-cell suppression (DOMAIN.md §3.5 and §6).

Subgroups are defined by T1 characteristics (e.g. gender, age band, education); each subgroup gets its
own paired t-test on its own complete pairs. Cells with fewer than ``min_cell`` pairs are suppressed,
and when a variable has exactly one suppressed category the next smallest is suppressed too
(complementary suppression), so the hidden cell cannot be recovered from the published total.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from deliberation.analysis import items_waves, paired_t, pairs_of
from deliberation.disclosure import suppressed_cells
from deliberation.instrument import Instrument

MIN_CELL = 5
STAT_COLUMNS = ("n_pairs", "mean_pre", "mean_post", "mean_change", "sd_change", "t", "df", "p_value", "ci_low",
                "ci_high", "d_z")  # fmt: skip
SUBGROUP_COLUMNS = ("item", "variable", "category", *STAT_COLUMNS, "suppressed", "suppression")


def subgroup_change(
    scored: pd.DataFrame,
    instrument: Instrument,
    characteristics: pd.DataFrame,
    *,
    variables: Sequence[str],
    pre: str,
    post: str,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Paired t per attitude item within each category of each T1 characteristic.

    ``characteristics`` is indexed by participant id. Columns: ``item, variable, category`` and the
    ``analysis.paired_t`` statistics (``n_pairs, mean_pre, …, d_z``), ``suppressed`` and
    ``suppression`` (``primary`` when n_pairs < min_cell, ``complementary``, or empty). Suppressed rows
    keep no statistic at all, n_pairs included. Persons with no value on a characteristic form the
    category ``(missing)``. Unweighted.
    """
    rows = []
    labels = {var: characteristics[var].astype("string").replace("", pd.NA) for var in variables}
    waves = items_waves(scored, [i.code for i in instrument.attitude_items], pre=pre, post=post)
    for item in instrument.attitude_items:
        pairs = pairs_of(waves[item.code])
        if pairs is None:
            continue
        before, after = pairs["pre"].to_numpy(dtype=float), pairs["post"].to_numpy(dtype=float)
        for var in variables:
            groups = labels[var].reindex(pairs.index).fillna("(missing)").to_numpy(dtype=object)
            block = []
            for cat in sorted(set(groups)):
                sel = groups == cat
                stats_row = paired_t(before[sel], after[sel])
                block.append({"item": item.code, "variable": var, "category": cat, **stats_row})
            rows.extend(_suppress(block, min_cell))
    return pd.DataFrame(rows, columns=list(SUBGROUP_COLUMNS))


def _suppress(block: list[dict[str, object]], min_cell: int) -> list[dict[str, object]]:
    sizes = [int(r["n_pairs"]) for r in block]  # type: ignore[call-overload]
    hidden = suppressed_cells(sizes, min_cell)  # every category here has at least one pair
    primary = {k for k in hidden if sizes[k] < min_cell}
    complementary = hidden - primary
    out = []
    for k, row in enumerate(block):
        reason = "primary" if k in primary else ("complementary" if k in complementary else "")
        if reason:
            row = {**row, **dict.fromkeys(STAT_COLUMNS, np.nan)}
        out.append({**row, "suppressed": bool(reason), "suppression": reason})
    return out
