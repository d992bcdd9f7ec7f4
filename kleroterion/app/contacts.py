"""The pool's contact workflow: search the sign-ups, record a call, a confirmation or a withdrawal.

The staff web app's pool page calls these; the store keeps every change (status, note, who, when) and
audits it without the note's text (``kleroterion.store.contacts``).
"""

from __future__ import annotations

from dataclasses import dataclass

from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.store.contacts import CONTACT_STATUSES
from kleroterion.workspace import Workspace

__all__ = [
    "CONTACT_STATUSES",
    "MAX_NOTE",
    "ContactRecord",
    "PoolPage",
    "contact_record",
    "search_pool",
    "set_contact_status",
]

#: The longest note kept (characters); a longer one is refused, not cut.
MAX_NOTE = 2000


@dataclass(frozen=True)
class PoolPage:
    """Sign-ups matching a search (at most ``limit``) and how many matched in all."""

    people: list[dict[str, str]]
    matched: int
    total: int


@dataclass(frozen=True)
class ContactRecord:
    """One sign-up and its contact history, newest first."""

    person: dict[str, str]
    history: list[dict[str, str]]


def search_pool(ws: Workspace, search: str = "", *, status: str = "", limit: int = 200) -> PoolPage:
    """The sign-ups whose invitation code, name or wijk contains ``search`` (and whose contact status is
    ``status``, when given), with their contact status."""
    if status and status not in CONTACT_STATUSES:
        raise InputError(
            "the search form", [Problem(f"choose one of {', '.join(CONTACT_STATUSES)}", column="status", value=status)]
        )
    people, matched = ws.store.pool_people(search, status=status, limit=limit)
    total = int(ws.store.table_counts().get("pool_members", 0))
    return PoolPage(people=people, matched=matched, total=total)


def contact_record(ws: Workspace, person_id: str) -> ContactRecord:
    """One sign-up with its history; a ``KleroError`` when the id is not in the pool."""
    person = ws.store.pool_person(person_id)
    if person is None:
        raise KleroError(f"{person_id} is not in the pool.", code="unknown_person")
    return ContactRecord(person=person, history=ws.store.contact_history(person_id))


def set_contact_status(ws: Workspace, person_id: str, *, status: str, note: str = "") -> ContactRecord:
    """Record a new contact status (and note) of a sign-up, by ``ws.store.actor``; audited."""
    note = note.strip()
    problems = []
    if status not in CONTACT_STATUSES:
        problems.append(Problem(f"choose one of {', '.join(CONTACT_STATUSES)}", column="status", value=status))
    if len(note) > MAX_NOTE:
        problems.append(Problem(f"the note is longer than {MAX_NOTE} characters", column="note", value=len(note)))
    if problems:
        raise InputError("the contact form", problems)
    contact_record(ws, person_id)
    ws.store.save_contact_status(person_id, status, note)
    return contact_record(ws, person_id)
