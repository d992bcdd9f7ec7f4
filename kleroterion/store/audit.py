"""The SQL of the hash-chained audit log: append an entry, chain older entries, read the chain back,
and digest the draw rows an entry vouches for.

The hashing itself is the pure ``sortition.audit_chain``; this module only reads and writes rows. The
digests cover pseudonymous content only (pool ids, resident pseudonyms, invitation codes, strata,
probabilities, seeds) and never ``address_key`` or names, which the personal-data purge rewrites.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kleroterion.store.core import StoreCore
from sortition.audit_chain import GENESIS, ChainEntry, content_digest, entry_hash

#: The tables whose rows ``klero audit verify`` expects to be vouched for by a chained entry.
SUBJECT_TABLES = {"letter_draw": "letter_draws", "selection_draw": "selection_draws", "replacement": "replacements"}


def subject_of(action: str, parameters: dict[str, Any], result: dict[str, Any]) -> str:
    """The draw rows an audit entry vouches for, from its action: ``letter_draw:N``, ``selection_draw:N``,
    ``replacement:N`` or '' (the write paths of ``kleroterion/store/sortition.py`` name the ids)."""
    if action == "letters.draw" and "draw_id" in parameters:
        return f"letter_draw:{int(parameters['draw_id'])}"
    if action.startswith("selection.") and "draw_id" in parameters:
        return f"selection_draw:{int(parameters['draw_id'])}"
    if action == "panel.replace" and "replacement_id" in result:
        return f"replacement:{int(result['replacement_id'])}"
    return ""


def _rows(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[list[Any]]:
    return [list(r) for r in conn.execute(sql, params).fetchall()]


def _letter_draw(conn: sqlite3.Connection, draw_id: int) -> dict[str, Any] | None:
    head = _rows(conn, "SELECT id, drawn_at, seed, parameters, letter_count FROM letter_draws WHERE id = ?", (draw_id,))
    if not head:
        return None
    letters = _rows(
        conn,
        "SELECT code, draw_id, resident_id, stratum, inclusion_probability FROM letters WHERE draw_id = ?"
        " ORDER BY code",
        (draw_id,),
    )
    return {"draw": head[0], "letters": letters}


def _selection_draw(conn: sqlite3.Connection, draw_id: int) -> dict[str, Any] | None:
    head = _rows(
        conn,
        "SELECT id, drawn_at, quota_set_id, kind, algorithm, engine, seed, pool_hash, parameters, versions, result"
        " FROM selection_draws WHERE id = ?",
        (draw_id,),
    )
    if not head:
        return None
    by_draw = (draw_id,)
    return {
        "draw": head[0],
        "probabilities": _rows(
            conn,
            "SELECT person_id, probability FROM selection_probabilities WHERE draw_id = ? ORDER BY person_id",
            by_draw,
        ),
        # replacement rows join later and are vouched for by their own entry; status is replayed
        "members": _rows(
            conn,
            "SELECT person_id, role, rank FROM panel_members WHERE draw_id = ? AND role IN ('panel', 'alternate')"
            " ORDER BY role, rank, person_id",
            by_draw,
        ),
        "people": _rows(conn, "SELECT ids FROM draw_people WHERE draw_id = ?", by_draw),
        "panels": _rows(
            conn,
            "SELECT position, weight, members, packed FROM draw_panels WHERE draw_id = ? ORDER BY position",
            by_draw,
        ),
        "tickets": _rows(
            conn, "SELECT ticket, position FROM lottery_tickets WHERE draw_id = ? ORDER BY ticket", by_draw
        ),
        "quotas": _rows(
            conn,
            "SELECT q.category, q.feature, q.min_count, q.max_count, s.panel_size FROM quotas q"
            " JOIN quota_sets s ON s.id = q.quota_set_id WHERE s.id = (SELECT quota_set_id FROM selection_draws"
            " WHERE id = ?) ORDER BY q.category, q.feature",
            by_draw,
        ),
    }


def _replacement(conn: sqlite3.Connection, replacement_id: int) -> dict[str, Any] | None:
    head = _rows(
        conn,
        "SELECT id, replaced_at, draw_id, person_out, person_in, reason FROM replacements WHERE id = ?",
        (replacement_id,),
    )
    if not head:
        return None
    _id, _at, draw_id, _out, person_in, _reason = head[0]
    joined = _rows(
        conn,
        "SELECT person_id, role, rank FROM panel_members WHERE draw_id = ? AND person_id = ? AND role = 'replacement'",
        (draw_id, person_in),
    )
    return {"replacement": head[0], "joined": joined}


_CONTENT: dict[str, Callable[[sqlite3.Connection, int], dict[str, Any] | None]] = {
    "letter_draw": _letter_draw,
    "selection_draw": _selection_draw,
    "replacement": _replacement,
}


def subject_digest(conn: sqlite3.Connection, subject: str) -> str | None:
    """``content_digest`` of the rows ``subject`` names; '' for no subject, ``None`` when the rows are gone."""
    if not subject:
        return ""
    kind, _, number = subject.partition(":")
    content = _CONTENT[kind](conn, int(number))
    return None if content is None else content_digest(content)


def _entry(row: sqlite3.Row | tuple[Any, ...]) -> ChainEntry:
    seq, recorded_at, actor, action, parameters, input_hashes, result, subject, digest = tuple(row)[:9]
    return ChainEntry(
        seq=int(seq),
        recorded_at=str(recorded_at),
        actor=str(actor),
        action=str(action),
        parameters=str(parameters),
        input_hashes=str(input_hashes),
        result=str(result),
        subject=str(subject),
        digest=str(digest),
    )


_COLUMNS = "id, recorded_at, actor, action, parameters, input_hashes, result, subject, digest"


def _head(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute("SELECT id, entry_hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def append_entry(
    conn: sqlite3.Connection,
    *,
    recorded_at: str,
    actor: str,
    action: str,
    parameters: str,
    input_hashes: str,
    result: str,
    subject: str,
) -> int:
    """Append one chained entry (the caller holds the write transaction); returns its number."""
    seq, previous = _head(conn)
    digest = subject_digest(conn, subject) or ""
    entry = ChainEntry(seq + 1, recorded_at, actor, action, parameters, input_hashes, result, subject, digest)
    conn.execute(
        f"INSERT INTO audit_log ({_COLUMNS}, previous_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        (*_values(entry), previous, entry_hash(entry, previous)),
    )
    return entry.seq


def _values(entry: ChainEntry) -> tuple[Any, ...]:
    return (
        entry.seq,
        entry.recorded_at,
        entry.actor,
        entry.action,
        entry.parameters,
        entry.input_hashes,
        entry.result,
        entry.subject,
        entry.digest,
    )


def chain_pending(conn: sqlite3.Connection) -> int:
    """Chain the entries without a hash (those of a workspace made before migration 0021), in order,
    digesting their draws as stored now; returns how many were chained. The caller holds the transaction."""
    pending = conn.execute(f"SELECT {_COLUMNS} FROM audit_log WHERE entry_hash IS NULL ORDER BY id").fetchall()  # noqa: S608
    if not pending:
        return 0
    first = int(pending[0][0])
    row = conn.execute("SELECT entry_hash FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT 1", (first,)).fetchone()
    previous = GENESIS if row is None else str(row[0])
    for raw in pending:
        old = _entry(raw)
        subject = subject_of(old.action, json.loads(old.parameters), json.loads(old.result))
        entry = ChainEntry(
            old.seq, old.recorded_at, old.actor, old.action, old.parameters, old.input_hashes, old.result,
            subject, subject_digest(conn, subject) or "",
        )  # fmt: skip
        digest = entry_hash(entry, previous)
        conn.execute(
            "UPDATE audit_log SET subject = ?, digest = ?, previous_hash = ?, entry_hash = ? WHERE id = ?",
            (entry.subject, entry.digest, previous, digest, entry.seq),
        )
        previous = digest
    return len(pending)


@dataclass(frozen=True)
class StoredEntry:
    """One audit row as stored: the hashed entry, its stored previous hash and hash."""

    entry: ChainEntry
    previous_hash: str
    entry_hash: str


def stored_chain(conn: sqlite3.Connection) -> Iterator[StoredEntry]:
    """Every audit row, in the order of its number."""
    for row in conn.execute(f"SELECT {_COLUMNS}, previous_hash, entry_hash FROM audit_log ORDER BY id"):  # noqa: S608
        yield StoredEntry(_entry(row), str(row[9] or ""), str(row[10] or ""))


class AuditStore(StoreCore):
    """Reading the chain back for ``klero audit verify`` and ``klero audit anchor``."""

    def audit_chain(self) -> list[StoredEntry]:
        return list(stored_chain(self._conn))

    def audit_digest(self, subject: str) -> str | None:
        """The digest of ``subject``'s rows as stored now (``None``: they are gone)."""
        return subject_digest(self._conn, subject)

    def audit_subject_ids(self) -> dict[str, list[int]]:
        return subject_ids(self._conn)

    def panel_places(self) -> dict[tuple[int, str], tuple[str, str]]:
        return panel_statuses(self._conn)

    def replacement_moves(self) -> list[tuple[int, str, str]]:
        return replacement_rows(self._conn)


def subject_ids(conn: sqlite3.Connection) -> dict[str, list[int]]:
    """The ids of every row of the tables entries vouch for (``SUBJECT_TABLES``), by subject kind."""
    return {
        kind: [int(r[0]) for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]  # noqa: S608
        for kind, table in SUBJECT_TABLES.items()
    }


def panel_statuses(conn: sqlite3.Connection) -> dict[tuple[int, str], tuple[str, str]]:
    """(draw id, person id) -> (role, status) of every stored panel place."""
    rows = conn.execute("SELECT draw_id, person_id, role, status FROM panel_members")
    return {(int(r[0]), str(r[1])): (str(r[2]), str(r[3])) for r in rows}


def replacement_rows(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
    """(draw id, person out, person in) of every replacement, oldest first."""
    rows = conn.execute("SELECT draw_id, person_out, person_in FROM replacements ORDER BY id")
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]
