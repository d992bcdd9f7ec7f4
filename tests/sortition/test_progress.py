"""The progress protocol of the selection engine: monotone events, a final event, a working cancel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kleroterion.errors import Cancelled
from sortition.engine import ALGORITHMS, LEVELS_STAGE, ROUNDS_STAGE, STAGE, find_distribution
from sortition.progress import Progress
from sortition.selection import select_panel

Event = tuple[str, int, int | None, str]


def skewed_pool() -> tuple[pd.DataFrame, pd.DataFrame]:
    """24 people over gender x age with few old women: leximin needs several levels."""
    genders = ["f"] * 6 + ["m"] * 18
    ages = ["old"] * 2 + ["young"] * 4 + ["old"] * 9 + ["young"] * 9
    pool = pd.DataFrame({"id": [f"p{i}" for i in range(24)], "gender": genders, "age": ages})
    pool["address_key"] = pool["id"]
    quotas = pd.DataFrame(
        [("gender", "f", 3, 3), ("gender", "m", 3, 3), ("age", "old", 3, 3), ("age", "young", 3, 3)],
        columns=["category", "feature", "min", "max"],
    )
    return pool, quotas


def record(events: list[Event]) -> Progress:
    """A progress callback appending every event to ``events``."""

    def progress(stage: str, done: int, total: int | None, message: str) -> None:
        events.append((stage, done, total, message))

    return progress


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_engine_reports_monotone_steps_and_a_final_event(algorithm: str) -> None:
    pool, quotas = skewed_pool()
    events: list[Event] = []
    find_distribution(pool, quotas, size=6, algorithm=algorithm, rng=np.random.default_rng(0), progress=record(events))
    assert events[-1][:3] == (STAGE, 3, 3)
    assert events[0][:3] == (STAGE, 0, 3)
    for stage in {e[0] for e in events}:
        done = [e[1] for e in events if e[0] == stage]
        assert done == sorted(done), stage
        totals = {e[2] for e in events if e[0] == stage}
        assert len(totals) == 1, stage
        total = totals.pop()
        assert total is None or max(done) <= total
    assert any(e[0] == ROUNDS_STAGE for e in events)
    if algorithm == "leximin":
        levels = [e for e in events if e[0] == LEVELS_STAGE]
        assert len(levels) >= 2
        assert levels[-1][1] == levels[-1][2]  # every type fixed at the end


@pytest.mark.parametrize("after", [0, 1, 3])
def test_the_cancel_signal_stops_the_engine(after: int) -> None:
    pool, quotas = skewed_pool()
    asked = []

    def cancel() -> bool:
        asked.append(True)
        return len(asked) > after

    events: list[Event] = []
    with pytest.raises(Cancelled) as raised:
        find_distribution(
            pool,
            quotas,
            size=6,
            algorithm="leximin",
            rng=np.random.default_rng(0),
            progress=record(events),
            cancel=cancel,
        )
    assert raised.value.code == "cancelled"
    assert len(events) == after  # nothing reported once cancelled
    assert not any(e[:3] == (STAGE, 3, 3) for e in events)


def test_select_panel_passes_progress_and_cancel_to_the_engine() -> None:
    pool, quotas = skewed_pool()
    events: list[Event] = []
    result = select_panel(pool, quotas, size=6, rng=np.random.default_rng(1), progress=record(events))
    assert len(result.panel) == 6
    assert events[-1][:3] == (STAGE, 3, 3)
    with pytest.raises(Cancelled):
        select_panel(pool, quotas, size=6, rng=np.random.default_rng(1), cancel=lambda: True)


def ranged_pool() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same people with quota ranges: leximin and Nash go through the relaxation (``sortition.relaxation``)."""
    pool, quotas = skewed_pool()
    return pool, quotas.assign(min=[2, 2, 2, 2], max=[4, 4, 4, 4])


@pytest.mark.parametrize("algorithm", ["leximin", "nash"])
def test_the_relaxation_reports_progress_and_obeys_cancel(algorithm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sortition.engine as engine

    def column_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the relaxation should have answered")

    monkeypatch.setattr(engine, "leximin_distribution", column_generation)
    monkeypatch.setattr(engine, "nash_distribution", column_generation)
    pool, quotas = ranged_pool()
    events: list[Event] = []
    find_distribution(pool, quotas, size=6, algorithm=algorithm, rng=np.random.default_rng(0), progress=record(events))
    assert events[-1][:3] == (STAGE, 3, 3)
    assert any(e[0] == ROUNDS_STAGE for e in events)  # one event per peeling step
    if algorithm == "leximin":
        levels = [e for e in events if e[0] == LEVELS_STAGE]
        assert levels and levels[-1][1] == levels[-1][2]
    steps = sum(e[0] == ROUNDS_STAGE for e in events)
    asked: list[bool] = []

    def cancel() -> bool:  # cancelled in the middle of the peeling
        asked.append(True)
        return len(asked) > 2 + steps // 2

    with pytest.raises(Cancelled):
        find_distribution(
            pool, quotas, size=6, algorithm=algorithm, rng=np.random.default_rng(0), progress=record([]), cancel=cancel
        )
