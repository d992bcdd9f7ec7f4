"""``kleroterion.app.pool`` without the CLI: typed results, one transaction, cancel."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kleroterion.app.pool import PoolImport, import_pool
from kleroterion.errors import Cancelled, InputError, KleroError
from kleroterion.workspace import Workspace
from tests.kleroterion.app.conftest import Injected, cancel_at, fail, signup_sheet, stored


def pool_rows(ws: Workspace) -> int:
    return len(ws.store.pool())


def test_import_returns_a_frozen_typed_result_and_a_grown_sheet_adds_only_new_rows(
    lettered: Workspace, tmp_path: Path
) -> None:
    out = import_pool(lettered, signup_sheet(lettered, tmp_path / "s.csv", people=6))
    assert out == PoolImport(
        members=6, already=0, conflicts=(), corrected=0, ignored_columns=(), summary="6 new, 0 already in the "
        "pool, 0 conflicts", pool_size=6
    )  # fmt: skip
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.members = 0  # type: ignore[misc]
    again = import_pool(lettered, signup_sheet(lettered, tmp_path / "s.csv", people=10))
    assert (again.members, again.already, again.pool_size) == (4, 6, 10)
    assert pool_rows(lettered) == 10


def test_conflicts_block_unless_a_side_is_chosen(lettered: Workspace, tmp_path: Path) -> None:
    import_pool(lettered, signup_sheet(lettered, tmp_path / "a.csv", people=4))
    other = signup_sheet(lettered, tmp_path / "b.csv", people=6, education="laag")
    with pytest.raises(InputError) as info:
        import_pool(lettered, other)
    assert len(info.value.problems) == 4 and pool_rows(lettered) == 4
    with pytest.raises(KleroError, match="not both"):
        import_pool(lettered, other, keep_stored=True, use_sheet=True)
    out = import_pool(lettered, other, use_sheet=True)
    assert (out.members, out.corrected, len(out.conflicts)) == (2, 4, 4)
    assert set(lettered.store.pool()["education"]) == {"laag"}


def test_a_failure_while_storing_stores_nothing(
    lettered: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = stored(lettered, "audit_log")
    monkeypatch.setattr(lettered.store, "audit", fail)  # after the members' rows are inserted
    with pytest.raises(Injected):
        import_pool(lettered, signup_sheet(lettered, tmp_path / "s.csv"))
    assert pool_rows(lettered) == 0 and stored(lettered, "audit_log") == before


@pytest.mark.parametrize("call", [1, 2, 3])
def test_cancel_stops_with_cancelled_and_stores_nothing(lettered: Workspace, tmp_path: Path, call: int) -> None:
    asked, cancel = cancel_at(call)  # before reading, after checking, after storing (before the commit)
    with pytest.raises(Cancelled):
        import_pool(lettered, signup_sheet(lettered, tmp_path / "s.csv"), cancel=cancel)  # type: ignore[arg-type]
    assert len(asked) == call and pool_rows(lettered) == 0
