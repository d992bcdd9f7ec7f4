"""Store methods of the personal data lifecycle: find, minimise and delete personal data, then make
sure the deleted text has left the database file. What is removed, column by column, and why the rest
is kept, is in ``kleroterion.app.privacy``."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from kleroterion.errors import StoreError
from kleroterion.store.core import POSTGRESQL, StoreCore, now_iso

#: Address keys after a purge or erasure start with this (a raw key starts with a postcode).
ADDRESS_PSEUDONYM = "adres-"
_PSEUDONYMOUS = f"address_key LIKE '{ADDRESS_PSEUDONYM}%'"


def _named(table: str = "") -> str:
    """SQL condition: a registry row (of ``table`` alias) that still holds a name or an address."""
    t = f"{table}." if table else ""
    return (
        f"({t}given_names IS NOT NULL OR {t}name_prefix IS NOT NULL OR {t}surname IS NOT NULL"
        f" OR {t}street IS NOT NULL OR {t}city IS NOT NULL OR {t}postcode != '' OR {t}house_number != ''"
        f" OR {t}house_letter IS NOT NULL OR {t}house_suffix IS NOT NULL"
        f" OR {t}buurt IS NOT NULL OR {t}address_key NOT LIKE '{ADDRESS_PSEUDONYM}%')"
    )


@dataclass(frozen=True)
class Minimisation:
    """What stays of one invitee: the letter, a pseudonymous address key and a generalised birth date."""

    letter_code: str
    address_key: str
    birth_date: str


class PrivacyStore(StoreCore):
    def personal_data_counts(self) -> dict[str, int]:
        """Rows that still hold personal data a purge removes (all zero after a purge)."""
        invited = "id IN (SELECT resident_id FROM letters)"
        return {
            "residents_deleted": int(self._scalar(f"SELECT COUNT(*) FROM residents WHERE NOT {invited}")),  # noqa: S608
            "residents_minimised": int(
                self._scalar(f"SELECT COUNT(*) FROM residents WHERE {invited} AND {_named()}")  # noqa: S608
            ),
            "letter_addresses": int(self._scalar(f"SELECT COUNT(*) FROM letters WHERE NOT {_PSEUDONYMOUS}")),  # noqa: S608
            "pool_addresses": int(self._scalar(f"SELECT COUNT(*) FROM pool_members WHERE NOT {_PSEUDONYMOUS}")),  # noqa: S608
            "pool_contacts": int(self._scalar("SELECT COUNT(*) FROM pool_members WHERE contact != '{}'")),
            "test_signups": int(self._scalar("SELECT COUNT(*) FROM signup_test_pool")),  # the sign-up page's test list
        }

    def invitees(self) -> list[dict[str, Any]]:
        """Every letter with its resident's birth date and address key, by code."""
        rows = self._query(
            "SELECT l.code, l.address_key, r.birth_date FROM letters l JOIN residents r ON r.id = l.resident_id"
            " ORDER BY l.code"
        )
        return [dict(r) for r in rows]

    def find_person(self, code: str) -> dict[str, Any] | None:
        """One invitee by invitation code or pool id: letter, resident and (if signed up) pool fields.

        ``referenced``: how many draw rows (probabilities, panel places, replacements) name the person."""
        rows = self._query(
            "SELECT l.code, l.address_key, r.birth_date, p.id AS pool_id, p.contact, p.features"  # noqa: S608
            f", {_named('r')} AS named"
            " FROM letters l JOIN residents r ON r.id = l.resident_id"
            " LEFT JOIN pool_members p ON p.letter_code = l.code WHERE l.code = ? OR p.id = ?",
            (code, code),
        )
        if not rows:
            return None
        person = dict(rows[0])
        pid = person["pool_id"]
        person["referenced"] = 0
        if pid is not None:
            person["referenced"] = int(
                self._scalar(
                    "SELECT (SELECT COUNT(*) FROM selection_probabilities WHERE person_id = ?)"
                    " + (SELECT COUNT(*) FROM panel_members WHERE person_id = ?)"
                    " + (SELECT COUNT(*) FROM replacements WHERE person_out = ? OR person_in = ?)",
                    (pid, pid, pid, pid),
                )
            )
        return person

    def quota_categories(self) -> set[str]:
        """Every category of every quota set (the pool features some draw depends on)."""
        return {str(r["category"]) for r in self._query("SELECT DISTINCT category FROM quotas")}

    # -- writes (each inside the caller's transaction, or its own) --------------------------
    def delete_uninvited_residents(self) -> int:
        """Delete the registry rows of every resident who got no letter; returns how many."""
        self._conn.execute("PRAGMA secure_delete = ON")
        with self.transaction() as conn:
            return int(conn.execute("DELETE FROM residents WHERE id NOT IN (SELECT resident_id FROM letters)").rowcount)

    def minimise_invitees(self, people: Sequence[Minimisation]) -> None:
        """Strip the invitees' registry rows to pseudonym, gender, wijk and the generalised birth date; give
        their letters and pool rows the pseudonymous address key; drop the pool rows' contact details."""
        self._conn.execute("PRAGMA secure_delete = ON")
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE residents SET given_names = NULL, name_prefix = NULL, surname = NULL, street = NULL,"
                " city = NULL, postcode = '', house_number = '', house_letter = NULL, house_suffix = NULL,"
                " buurt = NULL, restricted = 0, birth_date = ?, address_key = ?"
                " WHERE id = (SELECT resident_id FROM letters WHERE code = ?)",
                [(p.birth_date, p.address_key, p.letter_code) for p in people],
            )
            conn.executemany(
                "UPDATE letters SET address_key = ? WHERE code = ?", [(p.address_key, p.letter_code) for p in people]
            )
            conn.executemany(
                "UPDATE pool_members SET address_key = ?, contact = '{}' WHERE letter_code = ?",
                [(p.address_key, p.letter_code) for p in people],
            )
            # a test sign-up (the sign-up page's test state) is only a trial: it goes altogether
            conn.executemany("DELETE FROM signup_test_pool WHERE letter_code = ?", [(p.letter_code,) for p in people])

    def delete_pool_member(self, letter_code: str) -> None:
        """Remove a sign-up no draw refers to."""
        self._conn.execute("PRAGMA secure_delete = ON")
        with self.transaction() as conn:
            conn.execute("DELETE FROM pool_members WHERE letter_code = ?", (letter_code,))

    def keep_pool_features(self, letter_code: str, keep: Collection[str]) -> int:
        """Drop a pool member's sign-up answers outside ``keep``; returns how many were dropped."""
        raw = self._scalar("SELECT features FROM pool_members WHERE letter_code = ?", (letter_code,))
        if raw is None:
            return 0
        features = json.loads(raw)
        kept = {k: v for k, v in features.items() if k in keep}
        if len(kept) < len(features):
            with self.transaction() as conn:
                conn.execute(
                    "UPDATE pool_members SET features = ? WHERE letter_code = ?",
                    (json.dumps(kept, ensure_ascii=False, sort_keys=True), letter_code),
                )
        return len(features) - len(kept)

    # -- pool hashes accepted after pseudonymisation ---------------------------------------
    def accepted_pool_hashes(self, draw_id: int) -> set[str]:
        """The pool hash a draw recorded plus those recorded when a purge or erasure pseudonymised it."""
        recorded = self._scalar("SELECT pool_hash FROM selection_draws WHERE id = ?", (draw_id,))
        rows = self._query("SELECT pool_hash FROM pool_rehashes WHERE draw_id = ?", (draw_id,))
        return {str(recorded), *(str(r["pool_hash"]) for r in rows)}

    def save_pool_rehash(self, draw_id: int, pool_hash: str, *, action: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO pool_rehashes (draw_id, pool_hash, recorded_at, action) VALUES (?, ?, ?, ?)",
                (draw_id, pool_hash, now_iso(), action),
            )

    # -- after the commit: the bytes ------------------------------------------------------
    def scrub(self) -> dict[str, int]:
        """Rewrite the database without free pages and empty the write-ahead log, so deleted text is gone
        from the workspace's files (``VACUUM`` plus ``wal_checkpoint(TRUNCATE)``). Returns the database
        size in bytes before and after (database plus log)."""
        if self._in_transaction:
            raise StoreError("Cannot scrub the database inside a transaction.", code="scrub_in_transaction")
        before = self._file_bytes()
        if self.dialect == POSTGRESQL:  # VACUUM FULL rewrites every table of the workspace's schema
            for name in self._conn.table_names():
                self._conn.execute(f'VACUUM FULL "{name}"')
            return {"bytes_before": before, "bytes_after": self._file_bytes()}
        self._conn.execute("PRAGMA secure_delete = ON")
        self._conn.execute("PRAGMA temp_store = MEMORY")
        self._checkpoint()
        self._conn.execute("VACUUM")
        self._checkpoint()
        return {"bytes_before": before, "bytes_after": self._file_bytes()}

    def _checkpoint(self) -> None:
        busy, _log, _done = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise StoreError(
                "Another program has the workspace database open, so deleted data may remain in its log; "
                "close it and run the command again.",
                code="database_busy",
            )

    def _file_bytes(self) -> int:
        if self.dialect == POSTGRESQL:
            return int(self._conn.database_bytes())
        wal = self.path.with_name(self.path.name + "-wal")
        return self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
