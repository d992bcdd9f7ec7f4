"""``kleroterion.app.privacy``: purge and erasure as use cases, without the CLI.

The chain (``tests/kleroterion/app/conftest.py``): 600 named residents, 150 of them sent a letter,
70 of those signed up with an e-mail address, a panel of 10 drawn from them. So a purge deletes the
600 - 150 = 450 residents without a letter and minimises the 150 invitees' rows, pseudonymises 150
letter and 70 sign-up addresses and removes 70 contacts.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from kleroterion.app.privacy import erase_person, purge, purge_plan
from kleroterion.errors import KleroError
from kleroterion.workspace import Workspace
from tests.kleroterion.test_privacy import SURNAME, set_retention, workspace_bytes

TODAY = date(2028, 1, 15)
EXPECTED_COUNTS = {
    "residents_deleted": 450,
    "residents_minimised": 150,
    "letter_addresses": 150,
    "pool_addresses": 70,
    "pool_contacts": 70,
    "test_signups": 0,
}


@pytest.mark.parametrize(
    ("retention", "reason", "code"),
    [
        (None, None, "no_retention_date"),
        ("2999-12-31", None, "before_retention_date"),
        ("2999-12-31", "  ", "bad_reason"),
        (None, "", "bad_reason"),
    ],
)
def test_the_purge_refuses_before_its_date_without_a_reason(
    chain_copy: Path, retention: str | None, reason: str | None, code: str
) -> None:
    if retention:
        set_retention(chain_copy, retention)
    with Workspace.open(chain_copy) as ws:
        counts = ws.store.personal_data_counts()
        with pytest.raises(KleroError) as caught:
            purge(ws, today=TODAY, reason=reason)
        assert caught.value.code == code
        assert ws.store.personal_data_counts() == counts
        assert ws.store.audit_records("privacy.purge") == []


@pytest.mark.parametrize(
    ("retention", "reason"),
    [("2028-01-15", None), ("2028-01-14", None), ("2999-12-31", "besluit van de raad")],
)
def test_the_purge_plan_counts_what_would_go(chain_copy: Path, retention: str, reason: str | None) -> None:
    set_retention(chain_copy, retention)
    with Workspace.open(chain_copy) as ws:
        plan = purge_plan(ws, today=TODAY, reason=reason)
    assert plan.counts == EXPECTED_COUNTS
    assert not plan.empty


def test_purge_removes_the_personal_data_keeps_the_draw_and_runs_once(chain_copy: Path) -> None:
    with Workspace.open(chain_copy) as ws:
        done = purge(ws, today=TODAY, reason="besluit van de raad")
        assert (done.removed, done.counts, done.draws_rehashed) == (True, EXPECTED_COUNTS, (1,))
        assert done.bytes_after > 0
        assert ws.store.personal_data_counts() == dict.fromkeys(EXPECTED_COUNTS, 0)
        assert len(ws.store.panel_members("panel")) == 10
        again = purge(ws, today=TODAY, reason="besluit van de raad")
        assert (again.removed, again.draws_rehashed) == (False, ())
        assert len(ws.store.audit_records("privacy.purge")) == 1
    assert SURNAME.encode() not in workspace_bytes(chain_copy)
    assert dataclasses.is_dataclass(done)
    with pytest.raises(dataclasses.FrozenInstanceError):
        done.removed = False  # type: ignore[misc]


@pytest.mark.parametrize(("code", "reason"), [("", "verzoek"), ("XXXX-XXXX", "verzoek")])
def test_erasing_an_unknown_person_is_refused(chain_copy: Path, code: str, reason: str) -> None:
    with Workspace.open(chain_copy) as ws, pytest.raises(KleroError) as caught:
        erase_person(ws, code, reason=reason)
    assert caught.value.code == "unknown_person"


def test_erasing_a_panel_member_keeps_the_draw_replayable(chain_copy: Path) -> None:
    with Workspace.open(chain_copy) as ws:
        member = str(ws.store.panel_members("panel")["person_id"].iloc[0])
        with pytest.raises(KleroError) as caught:
            erase_person(ws, member, reason=" ")
        assert caught.value.code == "bad_reason"
        done = erase_person(ws, member.lower())
        assert done.erased
        assert (done.registry_row_minimised, done.contact_removed, done.sign_up_deleted) == (True, True, False)
        assert done.draws_rehashed == (1,)
        person = ws.store.find_person(member)
        assert person is not None
        assert not person["named"]
        assert person["contact"] == "{}"
        assert erase_person(ws, member).erased is False  # nothing left to erase
        assert len(ws.store.audit_records("privacy.erase")) == 1
