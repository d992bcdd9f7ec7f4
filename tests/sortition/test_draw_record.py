"""The typed draw record: round trip through the store's JSON layout, old layouts, and replay."""

from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest

from sortition.alternates import select_alternates
from sortition.draw_record import DrawRecord, Redraw, draw_panel, replay_draw
from sortition.lottery import make_lottery, panel_for_number
from sortition.selection import fairness_summary, select_panel
from tests.conftest import make_pool, make_quotas

#: a panel record as ``klero panel select`` stored it in the first release (commit 523f561): no rotation,
#: notes, end-to-end chances or left-out count; engine sortition-algorithms, the default then
FOUNDATION_RECORD: dict[str, Any] = {
    "algorithm": "leximin",
    "engine": "sortition-algorithms",
    "seed": "123456789012345678901234567890",
    "pool_hash": "ab" * 32,
    "parameters": {"size": 2, "public_value": None, "alternates": 1, "exact": True, "probability_se": 0.0},
    "versions": {"kleroterion": "0.1.0", "numpy": "2.1.0"},
    "result": {
        "n": 4.0,
        "min_probability": 0.5,
        "max_probability": 0.5,
        "mean_probability": 0.5,
        "gini": 0.0,
        "geometric_mean": 0.5,
        "share_below_k_over_n": 0.0,
        "count_zero": 0.0,
        "panel": ["p0", "p2"],
        "panels_in_distribution": 2,
        "alternates": ["p3"],
    },
}

#: a re-drawn, rotating panel picked from a lottery, as the release before typed records stored it
LOTTERY_PANEL_RECORD: dict[str, Any] = {
    "algorithm": "maximin",
    "engine": "native",
    "seed": "7",
    "pool_hash": "cd" * 32,
    "parameters": {
        "size": 2,
        "public_value": "lotto 2026-03-01",
        "alternates": 2,
        "lottery_size": 9,
        "exact": True,
        "probability_se": 0.0,
        "redraw": {"reason": "verkeerde quota", "replaces_draw": 3, "number": 2},
        "excluded": ["p9"],
        "lottery_draw_id": 4,
        "number": 5,
        "a_key_from_a_later_version": {"kept": True},
    },
    "versions": {"kleroterion": "0.3.0"},
    "result": {
        "min_probability": 1 / 3,
        "panel": ["p1", "p3"],
        "alternates": ["p2", "p4"],
        "fairness_lost": {"max_abs_change": 0.0, "tickets": 9.0},
        "panels_in_distribution": 3,
        "end_to_end": {"unavailable": "No letters in this workspace"},
    },
}


def one_of_each() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three women and three men, a panel of one of each: every panel is {a woman, a man}, so by symmetry
    each person's selection probability under maximin is exactly 1/3 (one seat per three people)."""
    pool = make_pool([{"gender": g} for g in "VVVMMM"])
    return pool, make_quotas([("gender", "V", 1, 1), ("gender", "M", 1, 1)])


def record_of(seed: int, *, alternates: int) -> DrawRecord:
    pool, quotas = one_of_each()
    result, order = draw_panel(
        pool, quotas, size=2, seed=seed, algorithm="maximin", engine="native", alternates=alternates
    )
    return DrawRecord(
        algorithm="maximin",
        engine=result.engine,
        seed=seed,
        pool_hash="ef" * 32,
        size=2,
        panel=tuple(result.panel),
        alternates=tuple(order),
        alternates_wanted=alternates,
        exact=result.exact,
        probability_se=result.probability_se,
        fairness=fairness_summary(result.probabilities, size=2),
        panels_in_distribution=len(result.panels),
        left_out=0,
        notes=(),
        versions={"numpy": "x"},
    )


@pytest.mark.parametrize(
    ("stored", "kind"),
    [(FOUNDATION_RECORD, "panel"), (LOTTERY_PANEL_RECORD, "panel")],
    ids=["first-release", "lottery-panel"],
)
def test_every_stored_layout_reads_and_writes_back_unchanged(stored: dict[str, Any], kind: str) -> None:
    record = DrawRecord.from_dict(stored, kind=kind, draw_id=5)
    assert record.to_dict() == stored
    assert record.draw_id == 5 and record.kind == kind


def test_the_first_release_record_reads_typed() -> None:
    record = DrawRecord.from_dict(FOUNDATION_RECORD)
    assert record.seed == 123456789012345678901234567890  # stored as text, read as an int
    assert record.panel == ("p0", "p2") and record.alternates == ("p3",) and record.alternates_wanted == 1
    assert record.engine == "sortition-algorithms" and record.kind == "panel"
    assert record.fairness["min_probability"] == 0.5 and len(record.fairness) == 8
    assert record.notes is None and record.end_to_end is None and record.left_out is None  # not recorded then
    assert record.redraw is None and record.excluded == () and not record.from_lottery


def test_a_lottery_panel_reads_typed_and_keeps_unknown_keys() -> None:
    record = DrawRecord.from_dict(LOTTERY_PANEL_RECORD)
    assert record.redraw == Redraw(reason="verkeerde quota", replaces_draw=3, number=2)
    assert record.from_lottery and record.lottery_draw_id == 4 and record.number == 5
    assert record.excluded == ("p9",) and record.public_value == "lotto 2026-03-01"
    assert record.extra_parameters == {"a_key_from_a_later_version": {"kept": True}}
    assert record.end_to_end == {"unavailable": "No letters in this workspace"}


def test_a_lottery_record_has_no_panel_and_says_so() -> None:
    stored = {**LOTTERY_PANEL_RECORD, "result": {"panels_in_lottery": 3, "panels_in_distribution": 3}}
    stored["parameters"] = {k: v for k, v in LOTTERY_PANEL_RECORD["parameters"].items() if k != "number"}
    del stored["parameters"]["lottery_draw_id"]
    record = DrawRecord.from_dict(stored)
    assert record.kind == "lottery" and record.panel == () and record.panels_in_lottery == 3
    assert "panel" not in record.to_dict()["result"]
    assert record.to_dict() == stored


def test_a_new_record_round_trips() -> None:
    record = record_of(11, alternates=2)
    again = DrawRecord.from_dict(record.to_dict())
    assert again == record
    assert again.to_dict() == record.to_dict()
    assert record.to_dict()["seed"] == "11"  # the store's layout keeps 128-bit seeds as text


def test_the_record_is_frozen() -> None:
    record = record_of(11, alternates=0)
    with pytest.raises(AttributeError):
        record.seed = 12  # type: ignore[misc]


def test_one_of_each_has_the_hand_worked_probabilities() -> None:
    pool, quotas = one_of_each()
    result, order = draw_panel(pool, quotas, size=2, seed=7, algorithm="maximin", engine="native", alternates=2)
    assert result.probabilities.to_dict() == pytest.approx(dict.fromkeys(pool["id"], 1 / 3), abs=1e-9)
    genders = pool.set_index("id")["gender"]
    assert sorted(genders[list(result.panel)]) == ["M", "V"]
    assert len(order) == 2 and not set(order) & set(result.panel)  # reserve quotas allow one either way


@pytest.mark.parametrize("seed", [1, 7, 2**100 + 3])
def test_replay_equals_the_original(seed: int) -> None:
    pool, quotas = one_of_each()
    record = record_of(seed, alternates=2)
    result, _ = draw_panel(pool, quotas, size=2, seed=seed, algorithm="maximin", engine="native", alternates=2)
    distribution = list(zip(result.panels, result.weights, strict=True))
    assert replay_draw(record, pool, quotas, distribution=distribution) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"panel": ("p0", "p3")}, "the replayed panel differs"),
        ({"alternates": ()}, "the replayed alternates (or their order) differ"),
        ({"seed": 8}, "differ"),
    ],
    ids=["panel", "alternates", "seed"],
)
def test_replay_names_what_differs(change: dict[str, Any], problem: str) -> None:
    pool, quotas = one_of_each()
    original = record_of(7, alternates=2)
    changed = replace(original, **change)
    if change.get("seed") == 8:  # a different seed must change the panel or the alternates' order
        other = record_of(8, alternates=2)
        assert (other.panel, other.alternates) != (original.panel, original.alternates)
    problems = replay_draw(changed, pool, quotas)
    assert any(problem in p for p in problems)


def test_replay_names_a_different_distribution() -> None:
    pool, quotas = one_of_each()
    record = record_of(7, alternates=0)
    wrong = [(frozenset({"p0", "p3"}), 1.0)]
    assert replay_draw(record, pool, quotas, distribution=wrong) == [
        "the replayed distribution (3 panels) differs from the stored one (1 panels)"
    ]


def test_a_lottery_panel_replays_through_its_tickets() -> None:
    pool, quotas = one_of_each()
    _result, tickets, lost, probabilities = make_lottery(pool, quotas, size=2, seed=7, algorithm="maximin", tickets=9)
    # 9 tickets over the three disjoint panels: 3 each, so everyone keeps 3/9 = 1/3 (nothing lost)
    assert probabilities.to_dict() == pytest.approx(dict.fromkeys(pool["id"], 1 / 3))
    assert lost["max_abs_change"] == pytest.approx(0.0, abs=1e-9)
    lottery = DrawRecord(
        kind="lottery", algorithm="maximin", engine="native", seed=7, pool_hash="", size=2, lottery_size=9,
        draw_id=1,
    )  # fmt: skip
    panel = panel_for_number(tickets, 5)
    from sortition.lottery import lottery_alternates

    order = lottery_alternates(pool, quotas, panel, seed=7, number=5, count=0, algorithm="maximin")
    drawn = DrawRecord(
        algorithm="maximin", engine="native", seed=7, pool_hash="", size=2, panel=tuple(sorted(panel)),
        alternates=tuple(order), lottery_draw_id=1, number=5,
    )  # fmt: skip
    assert replay_draw(drawn, pool, quotas, lottery=lottery, tickets=tickets) == []
    tampered = [(n, panel if n != 2 else frozenset({"p0", "p3"})) for n, panel in tickets]
    problems = replay_draw(drawn, pool, quotas, lottery=lottery, tickets=tampered)
    assert problems == [
        "the replayed ticket list of lottery 1 differs from the published one (1 tickets differ, first 2)"
    ]


def test_alternates_default_to_the_native_engine_like_the_panel() -> None:
    panel_default = inspect.signature(select_panel).parameters["engine"].default
    assert inspect.signature(select_alternates).parameters["engine"].default == panel_default == "native"
