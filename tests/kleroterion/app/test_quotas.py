"""``kleroterion.app.quotas`` without the CLI: typed results, one transaction, cancel."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kleroterion.app import quotas as quota_cases
from kleroterion.app.quotas import derive_workspace_quotas, import_quotas, write_quotas
from kleroterion.errors import Cancelled, InputError
from kleroterion.workspace import Workspace
from tests.kleroterion.app.conftest import Injected, cancel_at, fail, stored


def test_derived_quotas_are_proportional_to_the_registry(registered: Workspace) -> None:
    out = derive_workspace_quotas(registered, size=16, tolerance=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.quota_set_id = 0  # type: ignore[misc]
    assert out.categories == ("age_band", "gender", "wijk")
    assert out.without_shares == ("education",)  # the built-in education has no population shares
    assert out.quota_set_id == registered.store.quotas()[0]
    targets = {(r.category, r.feature): r.target for r in out.quotas.itertuples(index=False)}
    # 16 seats: gender 40/80 each -> 8; age bands 15, 25, 30, 10 of 80 -> 3, 5, 6, 2; wijk all unknown -> 16
    assert targets == {
        ("gender", "M"): 8,
        ("gender", "V"): 8,
        ("age_band", "25-39"): 3,
        ("age_band", "40-54"): 5,
        ("age_band", "55-69"): 6,
        ("age_band", "70+"): 2,
        ("wijk", "(onbekend)"): 16,
    }


@pytest.mark.parametrize("call", [1, 2, 3])
def test_cancelled_derivation_stores_nothing(registered: Workspace, call: int) -> None:
    asked, cancel = cancel_at(call)  # before, after deriving, after storing (before the commit)
    with pytest.raises(Cancelled):
        derive_workspace_quotas(registered, size=16, cancel=cancel)  # type: ignore[arg-type]
    assert len(asked) == call and stored(registered, "quota_sets") == {"quota_sets": 0}


def test_an_edited_file_round_trips(registered: Workspace, tmp_path: Path) -> None:
    derived = derive_workspace_quotas(registered, size=16)
    path = tmp_path / "quotas.csv"
    write_quotas(derived.quotas, path)
    out = import_quotas(registered, path, size=16)
    assert out.rows == derived.rows == 7
    assert out.quota_set_id == registered.store.quotas()[0] != derived.quota_set_id
    assert out.categories == ("gender", "age_band", "wijk")


def test_a_failure_after_the_quota_set_is_written_stores_nothing(
    registered: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "quotas.csv"
    path.write_text("category,feature,min,max\ngender,M,4,5\ngender,V,4,5\n", encoding="utf-8")
    monkeypatch.setattr(quota_cases, "sha256_file", fail)  # hashed for the audit, after the set is saved
    with pytest.raises(Injected):
        import_quotas(registered, path, size=9)
    assert stored(registered, "quota_sets") == {"quota_sets": 0}


def test_bad_shares_name_every_cell(registered: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "quotas.csv"
    path.write_text("category,feature,min,max,population_share\ngender,M,4,5,x\ngender,V,4,5,y\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        import_quotas(registered, path, size=9)
    assert [(p.column, p.value) for p in info.value.problems] == [("population_share", "x"), ("population_share", "y")]
    assert stored(registered, "quota_sets") == {"quota_sets": 0}
