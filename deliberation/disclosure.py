"""Statistical disclosure control for published tables (DOMAIN.md §6)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def suppressed_cells(counts: Sequence[int], threshold: int) -> set[int]:
    """Positions to hide among the cells of one variable: counts in ``1..threshold−1`` (primary), and,
    when exactly one cell is hidden, the smallest other non-zero cell too (complementary), because the
    total would reveal a lone hidden cell. A zero count discloses nobody and stays visible.
    """
    hidden = {i for i, n in enumerate(counts) if 0 < n < threshold}
    if len(hidden) == 1:
        others = [(n, i) for i, n in enumerate(counts) if i not in hidden and n > 0]
        if others:
            hidden.add(min(others)[1])
    return hidden


def suppressed_by_category(categories: Sequence[str], counts: Sequence[int], threshold: int) -> set[int]:
    """Rows to hide in a table with one row per (category, value) and its ``counts``: ``suppressed_cells``
    within each category's rows (each category's counts sum to the same published total)."""
    hidden: set[int] = set()
    for category in dict.fromkeys(categories):
        positions = [i for i, c in enumerate(categories) if c == category]
        hidden |= {positions[j] for j in suppressed_cells([counts[i] for i in positions], threshold)}
    return hidden


#: Key columns that, where a table has them, mark the cells of one variable for complementary suppression.
GROUP_KEYS = ("item", "variable", "wave", "group", "arm", "category_set")


def is_count_column(name: str) -> bool:
    """``n``, ``n_*`` (not the effective sizes ``n_eff*``) and ``count_*``: the person counts of a table."""
    return name == "n" or (name.startswith("n_") and not name.startswith("n_eff")) or name.startswith("count_")


def suppress_table(table: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """``table`` as it may be published: every row with a person count in ``1..threshold−1`` (primary), and
    per variable the smallest other row when exactly one is hidden (complementary, ``suppressed_cells``
    over each group of ``GROUP_KEYS``), has its counts shown as ``<threshold`` and its other numbers
    blanked; a ``suppressed`` column says which rows. A table without count columns is returned as is.
    """
    counts = [c for c in table.columns if is_count_column(str(c))]
    if not counts or table.empty:
        return table
    sizes = table[counts].apply(pd.to_numeric, errors="coerce")
    smallest = sizes.where(sizes > 0).min(axis=1).fillna(0).astype(int)
    keys = [c for c in GROUP_KEYS if c in table.columns]
    hidden = pd.Series(False, index=table.index)
    group_of = table.groupby(keys, sort=False, dropna=False).ngroup() if keys else pd.Series(0, index=table.index)
    for _, rows in group_of.groupby(group_of, sort=False):
        positions = list(rows.index)
        for i in suppressed_cells([int(smallest[r]) for r in positions], threshold):
            hidden[positions[i]] = True
    if "suppressed" in table.columns:
        hidden |= table["suppressed"].fillna(False).astype(bool)
    if not hidden.any():
        return table
    out = table.astype({c: object for c in table.columns if pd.api.types.is_numeric_dtype(table[c])})
    numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c]) and c != "suppressed"]
    for column in numeric:
        out.loc[hidden, column] = f"<{threshold}" if column in counts else None
    out["suppressed"] = hidden
    return out
