"""Store methods for the pool's contact workflow (migration 0031): who was called, confirmed or withdrew,
with a note, who changed it and when. Each change is a new row; the newest is the current status."""

from __future__ import annotations

from typing import Any

from kleroterion.errors import StoreError
from kleroterion.store.core import StoreCore, now_iso

#: The contact statuses, in workflow order; a sign-up without any row is ``aangemeld``.
CONTACT_STATUSES = ("aangemeld", "gebeld", "bevestigd", "afgemeld")
_PERSON = (
    "SELECT p.id, p.letter_code, r.wijk, r.given_names, r.name_prefix, r.surname,"
    " c.status, c.changed_by, c.changed_at FROM pool_members p"
    " LEFT JOIN letters l ON l.code = p.letter_code LEFT JOIN residents r ON r.id = l.resident_id"
    " LEFT JOIN pool_contacts c ON c.id = (SELECT MAX(id) FROM pool_contacts WHERE person_id = p.id)"
)


def _person(r: Any) -> dict[str, str]:
    name = " ".join(str(part) for part in (r["given_names"], r["name_prefix"], r["surname"]) if part)
    return {
        "id": str(r["id"]),
        "letter_code": str(r["letter_code"]),
        "wijk": str(r["wijk"] or ""),
        "name": name,
        "status": str(r["status"] or "aangemeld"),
        "changed_by": str(r["changed_by"] or ""),
        "changed_at": str(r["changed_at"] or ""),
    }


class ContactStore(StoreCore):
    def pool_people(self, search: str = "", *, status: str = "", limit: int = 200) -> tuple[list[dict[str, str]], int]:
        """Sign-ups whose code, name or wijk contains ``search`` (case-insensitive) and, when given, whose
        current contact ``status`` it is, by code, at most ``limit``; with the number that matched. Each:
        ``id, letter_code, wijk, name, status, changed_by, changed_at``."""
        like = f"%{search.strip()}%"
        where = (
            " WHERE (p.letter_code LIKE :q OR r.wijk LIKE :q OR r.surname LIKE :q OR r.given_names LIKE :q"
            " OR (COALESCE(r.given_names, '') || ' ' || COALESCE(r.name_prefix || ' ', '') || COALESCE(r.surname, ''))"
            " LIKE :q)"
        )
        if status:
            where += " AND COALESCE(c.status, 'aangemeld') = :status"
        rows = self._query(_PERSON + where + " ORDER BY p.letter_code", {"q": like, "status": status})
        return [_person(r) for r in rows[:limit]], len(rows)

    def pool_person(self, person_id: str) -> dict[str, str] | None:
        """One sign-up with its current contact status; ``None`` when the id is not in the pool."""
        rows = self._query(_PERSON + " WHERE p.id = ?", (person_id,))
        return _person(rows[0]) if rows else None

    def contact_history(self, person_id: str) -> list[dict[str, str]]:
        """Every contact change of one sign-up, newest first: ``status, note, changed_by, changed_at``."""
        rows = self._query(
            "SELECT status, note, changed_by, changed_at FROM pool_contacts WHERE person_id = ? ORDER BY id DESC",
            (person_id,),
        )
        return [{k: str(r[k]) for k in ("status", "note", "changed_by", "changed_at")} for r in rows]

    def save_contact_status(self, person_id: str, status: str, note: str) -> int:
        """Record a new contact status of a sign-up (by ``self.actor``), audited without the note's text."""
        if status not in CONTACT_STATUSES:
            raise StoreError(f"Unknown contact status {status!r}: use one of {', '.join(CONTACT_STATUSES)}.")
        with self.transaction() as conn:
            if self._scalar("SELECT COUNT(*) FROM pool_members WHERE id = ?", (person_id,)) == 0:
                raise StoreError(f"{person_id} is not in the pool.", code="unknown_person")
            cur = conn.execute(
                "INSERT INTO pool_contacts (person_id, status, note, changed_by, changed_at) VALUES (?, ?, ?, ?, ?)",
                (person_id, status, note, self.actor, now_iso()),
            )
            change_id = int(cur.lastrowid or 0)
            self.audit(
                "pool.contact",
                parameters={"person_id": person_id, "status": status},
                result={"change": change_id, "note_chars": len(note)},
            )
        return change_id
