"""The bench's profile comparison (bench/selection.py is a script, loaded here from its path)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "selection.py"


@pytest.fixture(scope="module")
def selection_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_selection", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_first_difference_names_the_leximin_larger_profile(selection_bench) -> None:  # type: ignore[no-untyped-def]
    # Hand-made sorted profiles: equal minimum (within solver noise 5e-10), then native 0.2 > 0.19 at the
    # second position; the later 0.3 < 0.31 does not matter in the lexicographic order.
    ours = [0.1, 0.2, 0.3]
    theirs = [0.1 + 5e-10, 0.19, 0.31]
    assert selection_bench.first_difference(ours, theirs) == "native higher at #2"
    assert selection_bench.first_difference(theirs, ours) == "s-a higher at #2"
    assert selection_bench.first_difference(ours, [0.1 - 5e-8, 0.2, 0.3 + 9e-8]) == "same"


def test_first_difference_shows_a_trade_below_the_tolerance(selection_bench) -> None:  # type: ignore[no-untyped-def]
    # s-a gives up 8e-8 at the second position (below the 1e-7 tolerance) and is 2e-6 higher at the third:
    # the cell must show the earlier loss, since a leximin-larger profile cannot be read from it.
    ours = [0.1, 0.2, 0.3]
    theirs = [0.1, 0.2 - 8e-8, 0.3 + 2e-6]
    assert selection_bench.first_difference(ours, theirs) == "s-a higher at #3 (lower by 8.0e-08 at #2)"
    assert selection_bench.first_difference(theirs, ours) == "native higher at #3 (lower by 8.0e-08 at #2)"


def test_work_column_shows_effective_panels_and_the_lottery(selection_bench) -> None:  # type: ignore[no-untyped-def]
    work = {"levels": 2, "solves": 5, "pivots": 40, "pricing": 3, "ilp": 1, "dives": 7, "panels": 12}
    assert selection_bench.work({"work": {**work, "effective": 9.6}}) == "2 | 5 (40) | 3 (1) | 7 | 12 | 10"
    lottery = {**work, "effective": 9.6, "lottery_panels": 11, "lottery_change": 0.01234}
    assert selection_bench.work({"work": lottery}) == "2 | 5 (40) | 3 (1) | 7 | 12 | 10 | 11 (0.0123)"
