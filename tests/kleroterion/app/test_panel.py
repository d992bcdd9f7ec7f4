"""The panel and lottery use cases without the CLI: typed records, one transaction, cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kleroterion.app import lottery as lottery_app
from kleroterion.app import panel as panel_app
from kleroterion.app.lottery import LotteryRequest, draw_from_lottery, make_lottery_draw
from kleroterion.app.panel import (
    PanelStatus,
    ReplaceRequest,
    SelectRequest,
    panel_status,
    replace_member,
    select_panel,
    verify_panel,
)
from kleroterion.errors import Cancelled, KleroError
from kleroterion.store.sortition import SortitionStore
from kleroterion.workspace import Workspace
from sortition.draw_record import DrawRecord, Redraw
from tests.sortition.test_panel import pooled  # noqa: F401  (fixture)


class Injected(RuntimeError):
    """The failure a test injects midway through a use case."""


def counting_cancel(after: int) -> tuple[Callable[[], bool], list[int]]:
    """A cancel signal that answers True from its ``after``-th question on; the list counts the questions."""
    asked = [0]

    def cancel() -> bool:
        asked[0] += 1
        return asked[0] > after

    return cancel, asked


def test_select_returns_the_typed_record_the_store_keeps(pooled: Workspace) -> None:  # noqa: F811
    events: list[tuple[str, int, int | None]] = []
    selected = select_panel(
        pooled, SelectRequest(seed=42, alternates=6), progress=lambda s, d, t, _m: events.append((s, d, t))
    )
    record = selected.record
    assert isinstance(record, DrawRecord) and record.kind == "panel" and record.seed == 42
    assert len(record.panel) == 10 and len(record.alternates or ()) == 6 and record.alternates_wanted == 6
    assert record.engine == "native" and record.redraw is None and selected.pool_size == 40
    stored = pooled.store.latest_panel_record()
    assert (
        stored.draw_id == selected.draw_id and stored.panel == record.panel and stored.alternates == record.alternates
    )
    assert stored.to_dict()["parameters"] == record.to_dict()["parameters"]
    assert sum(stored.probabilities.values()) == pytest.approx(10.0)  # Σπ_i = panel size
    assert ("panel draw", 3, 3) in events  # the use case's own stage ran to its end
    verified = verify_panel(pooled)
    assert (verified.draw_id, verified.panel, verified.alternates) == (stored.draw_id, record.panel, record.alternates)


def test_a_redraw_needs_a_reason_and_records_it_typed(pooled: Workspace) -> None:  # noqa: F811
    first = select_panel(pooled, SelectRequest(seed=42))
    with pytest.raises(KleroError) as info:
        select_panel(pooled, SelectRequest(seed=43))
    assert info.value.code == "panel_exists"
    second = select_panel(pooled, SelectRequest(seed=43, redraw_reason="quota fout"))
    assert second.record.redraw == Redraw(reason="quota fout", replaces_draw=first.draw_id, number=2)
    assert pooled.store.latest_panel_record().redraw == second.record.redraw
    status = panel_status(pooled)
    assert isinstance(status, PanelStatus)
    assert (status.draws, status.redraws, status.redraw_reason, status.members) == (2, 1, "quota fout", 10)


def test_status_is_none_before_the_first_draw(pooled: Workspace) -> None:  # noqa: F811
    assert panel_status(pooled) is None


def test_a_failure_after_the_draw_was_written_stores_nothing(
    pooled: Workspace,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = pooled.store.table_counts()
    original = SortitionStore.save_selection

    def save_then_fail(self: SortitionStore, **kwargs: Any) -> int:
        original(self, **kwargs)  # the draw, its members, distribution and audit row are written ...
        raise Injected("disk full")  # ... and then the unit of work fails

    monkeypatch.setattr(SortitionStore, "save_selection", save_then_fail)
    with pytest.raises(Injected):
        select_panel(pooled, SelectRequest(seed=42, alternates=6))
    assert pooled.store.table_counts() == before
    assert pooled.store.draw_records() == []


def test_a_redraw_failing_while_following_participants_keeps_the_first_draw_only(
    pooled: Workspace,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = select_panel(pooled, SelectRequest(seed=42))
    before = pooled.store.table_counts()

    def fail(_ws: Workspace) -> None:
        raise Injected("participants")

    monkeypatch.setattr(panel_app, "resync_participants", fail)
    with pytest.raises(Injected):
        select_panel(pooled, SelectRequest(seed=43, redraw_reason="again"))
    assert pooled.store.table_counts() == before
    assert [r.draw_id for r in pooled.store.draw_records("panel")] == [first.draw_id]


def test_a_replacement_failing_midway_stores_nothing(
    pooled: Workspace,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    select_panel(pooled, SelectRequest(seed=42, alternates=6))
    draw_id = pooled.store.latest_panel_record().draw_id or 0
    panel, alternates = pooled.store.current_panel(draw_id)
    before = pooled.store.table_counts()

    def fail(_ws: Workspace, _out: str, _in: str) -> str | None:
        raise Injected("groups")

    monkeypatch.setattr(panel_app, "move_into_group", fail)
    with pytest.raises(Injected):
        replace_member(pooled, ReplaceRequest(panel[0], accept_quota_break=True))
    assert pooled.store.table_counts() == before
    assert pooled.store.current_panel(draw_id) == (panel, alternates)
    assert pooled.store.replacements() == []


def test_a_replacement_is_typed(pooled: Workspace) -> None:  # noqa: F811
    select_panel(pooled, SelectRequest(seed=42, alternates=6))
    draw_id = pooled.store.latest_panel_record().draw_id or 0
    panel, alternates = pooled.store.current_panel(draw_id)
    done = replace_member(pooled, ReplaceRequest(panel[0], reason="verhuisd", accept_quota_break=True))
    assert done.person_in in alternates and done.group is None and not done.from_pool
    assert done.person_in in pooled.store.current_panel(draw_id)[0]
    assert [r["reason"] for r in pooled.store.replacements(draw_id)] == ["verhuisd"]


@pytest.mark.parametrize("after", [0, 1, 2], ids=["at-once", "after-inputs", "before-storing"])
def test_a_cancelled_draw_stores_nothing(pooled: Workspace, after: int) -> None:  # noqa: F811
    before = pooled.store.table_counts()
    cancel, asked = counting_cancel(after)
    with pytest.raises(Cancelled):
        select_panel(pooled, SelectRequest(seed=42, alternates=2), cancel=cancel)
    assert asked[0] == after + 1  # it stopped at the first True
    assert pooled.store.table_counts() == before


def test_a_cancelled_lottery_stores_nothing(pooled: Workspace) -> None:  # noqa: F811
    before = pooled.store.table_counts()
    cancel, _ = counting_cancel(1)
    with pytest.raises(Cancelled):
        make_lottery_draw(pooled, LotteryRequest(20, SelectRequest(seed=5)), cancel=cancel)
    assert pooled.store.table_counts() == before


def test_lottery_then_public_number_gives_a_typed_panel_that_verifies(pooled: Workspace) -> None:  # noqa: F811
    made = make_lottery_draw(pooled, LotteryRequest(20, SelectRequest(seed=5, alternates=2)))
    assert made.record.kind == "lottery" and made.record.lottery_size == 20 and len(made.tickets) == 20
    assert pooled.store.latest_lottery_record().draw_id == made.draw_id
    drawn = draw_from_lottery(pooled, "7")
    record = drawn.record
    assert record.from_lottery and record.lottery_draw_id == made.draw_id and record.number == 7
    assert frozenset(record.panel) == dict(made.tickets)[7] and len(record.alternates or ()) == 2
    assert verify_panel(pooled).lottery_number == 7
    with pytest.raises(KleroError) as info:
        draw_from_lottery(pooled, "8")
    assert info.value.code == "lottery_already_drawn"


def test_a_lottery_draw_failing_midway_stores_nothing(
    pooled: Workspace,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_lottery_draw(pooled, LotteryRequest(20, SelectRequest(seed=5)))
    before = pooled.store.table_counts()
    original = SortitionStore.save_selection

    def save_then_fail(self: SortitionStore, **kwargs: Any) -> int:
        original(self, **kwargs)
        raise Injected("after the write")

    monkeypatch.setattr(SortitionStore, "save_selection", save_then_fail)
    with pytest.raises(Injected):
        draw_from_lottery(pooled, "3")
    assert pooled.store.table_counts() == before
    assert lottery_app.lottery_tickets(pooled)[0] == pooled.store.latest_lottery_record().draw_id


def test_a_draw_stored_meanwhile_stops_the_slower_one(
    pooled: Workspace,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two draws computed at once: the second to store finds the first and stores nothing."""
    original = panel_app.draw_panel
    calls = [0]

    def draw_while_another_is_stored(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 1:  # while this draw computes, another process stores its draw
            select_panel(pooled, SelectRequest(seed=1))
        return original(*args, **kwargs)

    monkeypatch.setattr(panel_app, "draw_panel", draw_while_another_is_stored)
    with pytest.raises(KleroError) as info:
        select_panel(pooled, SelectRequest(seed=42))
    assert info.value.code == "panel_exists"
    assert [r.seed for r in pooled.store.draw_records("panel")] == [1]
