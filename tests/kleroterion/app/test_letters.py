"""``kleroterion.app.letters`` without the CLI: typed results, one transaction, cancel."""

from __future__ import annotations

import dataclasses

import pytest

from kleroterion.app.letters import LetterDraw, Oversample, draw_letters, plan_letter_topup
from kleroterion.errors import Cancelled, KleroError
from kleroterion.workspace import Workspace
from tests.kleroterion.app.conftest import Injected, cancel_at, fail, stored

TABLES = ("letters", "letter_draws")


def test_a_draw_returns_a_frozen_typed_result_matching_the_store(registered: Workspace) -> None:
    out = draw_letters(registered, count=10, seed=5, code_seed=6)
    record = registered.store.letter_draw_records()
    assert out == LetterDraw(draw_id=record[0].id, letters=10, eligible=80, restricted_excluded=0, addresses=10, seed=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.seed = 1  # type: ignore[misc]
    assert (record[0].seed, record[0].letter_count, record[0].stratify_by, record[0].min_age) == ("5", 10, None, 16)
    # all 80 residents are aged 25 or more: a minimum age of 40 leaves the 65 born 1984 or earlier
    older = draw_letters(registered, count=5, seed=6, code_seed=7, min_age=40)
    assert older.eligible == 65


def test_stratified_letters_record_their_column(registered: Workspace) -> None:
    draw_letters(registered, count=10, seed=5, code_seed=6, stratify_by="gender")
    letters = registered.store.letters()
    assert letters["stratum"].value_counts().to_dict() == {"M": 5, "V": 5}  # 40 M, 40 V: 10 split evenly
    assert registered.store.letter_draw_records()[0].stratify_by == "gender"


def test_a_failure_while_storing_stores_nothing(registered: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registered.store, "audit", fail)  # after the letters' rows are inserted
    with pytest.raises(Injected):
        draw_letters(registered, count=10, seed=5)
    assert stored(registered, *TABLES) == dict.fromkeys(TABLES, 0)


@pytest.mark.parametrize("call", [1, 2, 3])
def test_cancel_stops_with_cancelled_and_stores_nothing(registered: Workspace, call: int) -> None:
    asked, cancel = cancel_at(call)  # before reading, after drawing, after storing (before the commit)
    with pytest.raises(Cancelled):
        draw_letters(registered, count=10, seed=5, cancel=cancel)  # type: ignore[arg-type]
    assert len(asked) == call
    assert stored(registered, *TABLES) == dict.fromkeys(TABLES, 0)


@pytest.mark.parametrize(
    ("stratify_by", "oversample", "code"),
    [
        ("gender", Oversample("wijk", {"WK01": 2.0}), "bad_oversample"),
        ("postcode", None, "bad_stratum_column"),
    ],
)
def test_bad_stratification_is_refused(
    registered: Workspace, stratify_by: str, oversample: Oversample | None, code: str
) -> None:
    with pytest.raises(KleroError) as info:
        draw_letters(registered, count=10, seed=5, stratify_by=stratify_by, oversample=oversample)
    assert info.value.code == code
    assert stored(registered, *TABLES) == dict.fromkeys(TABLES, 0)


def test_letters_need_a_registry(workspace: Workspace) -> None:
    with pytest.raises(KleroError) as info:
        draw_letters(workspace, count=10, seed=5)
    assert info.value.code == "no_registry"


@pytest.mark.parametrize(("stratify_by", "code"), [(None, "no_strata"), ("gender", "no_pool")])
def test_a_topup_needs_stratified_letters_and_sign_ups(
    registered: Workspace, stratify_by: str | None, code: str
) -> None:
    with pytest.raises(KleroError) as info:
        plan_letter_topup(registered, count=10)
    assert info.value.code == "no_letters"
    draw_letters(registered, count=10, seed=5, stratify_by=stratify_by)
    with pytest.raises(KleroError) as info:
        plan_letter_topup(registered, count=10)
    assert info.value.code == code
