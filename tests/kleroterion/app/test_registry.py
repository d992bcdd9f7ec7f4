"""``kleroterion.app.registry`` without the CLI: typed results, one transaction, cancel."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from kleroterion.app import registry
from kleroterion.app.registry import ImportResult, import_registry, registry_shares, strata
from kleroterion.errors import Cancelled, KleroError
from kleroterion.workspace import Workspace
from tests.kleroterion.app.conftest import Injected, cancel_at, fail, registry_file, stored

TABLES = ("residents", "registry_imports", "audit_log")


def areas_file(folder: Path) -> Path:
    """Places the whole postcode 5981 AB in WK01; 5988 CD is not covered."""
    path = folder / "areas.csv"
    path.write_text("postcode,huisnummer,wijk\n5981 AB,,WK01\n", encoding="utf-8")
    return path


def test_import_returns_a_frozen_typed_result(workspace: Workspace, tmp_path: Path) -> None:
    path = registry_file(tmp_path)
    out = import_registry(workspace, path)
    assert out == ImportResult(
        residents=80, restricted=0, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), addresses=80
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.residents = 0  # type: ignore[misc]
    info = workspace.store.registry_import()
    assert info is not None and (info.row_count, info.source_name) == (80, "brp.csv")


def test_areas_place_residents_and_the_shares_follow(workspace: Workspace, tmp_path: Path) -> None:
    out = import_registry(workspace, registry_file(tmp_path), areas=areas_file(tmp_path))
    assert out.areas is not None
    assert (out.areas.areas_file, len(out.areas.unplaced_addresses)) == ("areas.csv", 40)
    assert all(key.startswith("5988CD") for key in out.areas.unplaced_addresses)
    # 40 of 80 residents in WK01, 40 unknown; 40 M and 40 V; every one of them 16 or older
    assert registry_shares(workspace) == {
        "gender": {"M": 0.5, "V": 0.5},
        "age_band": {"25-39": 15 / 80, "40-54": 25 / 80, "55-69": 30 / 80, "70+": 10 / 80},
        "wijk": {"(onbekend)": 0.5, "WK01": 0.5},
    }
    assert [r["action"] for r in workspace.store.audit_records("registry.areas")] == ["registry.areas"]


def test_a_failure_after_the_residents_are_written_stores_nothing(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the areas' audit record comes after every resident is inserted, in the same transaction
    before = stored(workspace, *TABLES)
    monkeypatch.setattr(registry, "sha256_file", fail)
    with pytest.raises(Injected):
        import_registry(workspace, registry_file(tmp_path), areas=areas_file(tmp_path))
    assert stored(workspace, *TABLES) == before
    assert before["residents"] == before["registry_imports"] == 0
    assert workspace.store.registry_import() is None


@pytest.mark.parametrize("call", [1, 2, 3])
def test_cancel_stops_with_cancelled_and_stores_nothing(workspace: Workspace, tmp_path: Path, call: int) -> None:
    # questions: at the start, after the one chunk, and at the end (before the commit)
    before = stored(workspace, *TABLES)
    asked, cancel = cancel_at(call)
    with pytest.raises(Cancelled):
        import_registry(workspace, registry_file(tmp_path), cancel=cancel)  # type: ignore[arg-type]
    assert len(asked) == call
    assert stored(workspace, *TABLES) == before


def test_strata_without_a_column_put_everyone_in_one(registered: Workspace) -> None:
    columns = registered.store.resident_columns()
    codes, labels = strata(columns, None)
    assert labels == ["all"] and np.array_equal(codes, np.zeros(80))
    codes, labels = strata(columns, "gender")
    assert labels == ["M", "V", "(onbekend)"] and np.bincount(codes).tolist() == [40, 40]


def test_a_second_extract_is_refused_and_the_first_kept(registered: Workspace, tmp_path: Path) -> None:
    with pytest.raises(KleroError, match="already holds a registry extract"):
        import_registry(registered, registry_file(tmp_path))
    assert stored(registered, "residents") == {"residents": 80}
