"""Statistical disclosure control for published tables (DOMAIN.md §6)."""

from __future__ import annotations

from collections.abc import Sequence


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
