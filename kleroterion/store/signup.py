"""The public sign-up page's SQL (issue 17): its settings, sign-ups into the pool or the test pool,
corrections and withdrawals, and what the staff's live counts read. The use cases are in
``kleroterion.app.signup``; nothing here decides, it only stores and reads in one transaction each."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kleroterion.store.core import StoreCore, _to_json, now_iso

#: The two tables a sign-up can land in: the pool (open page) and the test pool (test page).
POOL_TABLES = {False: "pool_members", True: "signup_test_pool"}


@dataclass(frozen=True)
class SignupLetter:
    """What a sign-up needs of its letter: the address it lands with and the postcode and house number
    the invitee confirms before changing or withdrawing."""

    code: str
    address_key: str
    wijk: str
    postcode: str
    house_number: str


@dataclass(frozen=True)
class StoredSignup:
    """One sign-up as stored: its answers (``features`` without ``wijk``) and contact details."""

    features: dict[str, str]
    contact: dict[str, str]


class SignupStore(StoreCore):
    # -- the page's settings ------------------------------------------------------------------
    def signup_settings(self) -> dict[str, Any] | None:
        """The page's settings (``state, opens_at, closes_at, about_nl, about_en, updated_at``); None when never set."""
        rows = self._query("SELECT state, opens_at, closes_at, about_nl, about_en, updated_at FROM signup_page")
        return dict(rows[0]) if rows else None

    def save_signup_settings(
        self, *, state: str, opens_at: str | None, closes_at: str | None, about_nl: str, about_en: str
    ) -> int:
        """Store the page's settings, audited. Opening the page (state ``open``) empties the test pool;
        returns the number of test sign-ups removed."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO signup_page (id, state, opens_at, closes_at, about_nl, about_en, updated_at)"
                " VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state,"
                " opens_at = excluded.opens_at, closes_at = excluded.closes_at, about_nl = excluded.about_nl,"
                " about_en = excluded.about_en, updated_at = excluded.updated_at",
                (state, opens_at, closes_at, about_nl, about_en, now_iso()),
            )
            removed = 0
            if state == "open":
                removed = int(conn.execute("DELETE FROM signup_test_pool").rowcount or 0)
                conn.execute("DELETE FROM signup_withdrawals WHERE test = 1")
            self.audit(
                "signup.settings",
                parameters={"state": state, "opens_at": opens_at, "closes_at": closes_at},
                result={"test_signups_removed": removed},
            )
        return removed

    # -- codes and letters --------------------------------------------------------------------
    def letter_codes(self) -> tuple[str, list[str]]:
        """(``letter_draw_marker``, every invitation code): the use case keeps its own index of them."""
        marker = self.letter_draw_marker()  # first: a wave stored in between only makes the next call rebuild
        return marker, [str(r[0]) for r in self._query("SELECT code FROM letters")]

    def letter_draw_marker(self) -> str:
        """The latest letter draw's id and time with the lowest and highest code ('' before any; each an index
        lookup): changes when a new wave is stored, and between two workspaces made in turn in one folder."""
        rows = self._query(
            "SELECT id, drawn_at, (SELECT MIN(code) FROM letters), (SELECT MAX(code) FROM letters)"
            " FROM letter_draws ORDER BY id DESC LIMIT 1"
        )
        return ":".join(str(v) for v in rows[0]) if rows else ""

    def signup_letter(self, code: str) -> SignupLetter | None:
        """The letter of ``code`` (an exact code the caller found in its index), with its addressee's
        postcode and house number."""
        rows = self._query(
            "SELECT l.code, l.address_key, COALESCE(r.wijk, '') AS wijk, r.postcode, r.house_number"
            " FROM letters l JOIN residents r ON r.id = l.resident_id WHERE l.code = ?",
            (code,),
        )
        if not rows:
            return None
        r = rows[0]
        return SignupLetter(str(r[0]), str(r[1]), str(r[2]), str(r[3] or ""), str(r[4] or ""))

    def code_state(self, code: str, *, test: bool) -> str:
        """``free`` (never signed up), ``signed_up`` or ``withdrawn``, on the real or the test side."""
        table = POOL_TABLES[test]
        if self._scalar(f"SELECT 1 FROM {table} WHERE letter_code = ?", (code,)):  # noqa: S608 - fixed names
            return "signed_up"
        if self._scalar("SELECT 1 FROM signup_withdrawals WHERE letter_code = ? AND test = ?", (code, int(test))):
            return "withdrawn"
        return "free"

    # -- sign-ups -----------------------------------------------------------------------------
    def stored_signup(self, code: str, *, test: bool) -> StoredSignup | None:
        rows = self._query(
            f"SELECT features, contact FROM {POOL_TABLES[test]} WHERE letter_code = ?",  # noqa: S608
            (code,),
        )
        if not rows:
            return None
        features = {k: v for k, v in json.loads(rows[0][0]).items() if k != "wijk"}
        return StoredSignup(features, json.loads(rows[0][1]))

    def add_signup(
        self,
        *,
        person_id: str,
        letter: SignupLetter,
        features: dict[str, str],
        contact: dict[str, str],
        test: bool,
        audit: bool = True,
    ) -> bool:
        """Store one sign-up with its letter's address, in one transaction that first takes the write lock
        and then checks the code is still free: of many requests with one code exactly one is stored.
        False (nothing stored) when the code was used meanwhile."""
        with self.transaction() as conn:
            if self.code_state(letter.code, test=test) != "free":
                return False
            values = _to_json({"wijk": letter.wijk, **features})
            if test:
                conn.execute(
                    "INSERT INTO signup_test_pool (letter_code, signed_up_at, address_key, features, contact)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (letter.code, now_iso(), letter.address_key, values, _to_json(contact)),
                )
            else:
                conn.execute(
                    "INSERT INTO pool_members (id, letter_code, signed_up_at, address_key, features, contact)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (person_id, letter.code, now_iso(), letter.address_key, values, _to_json(contact)),
                )
            if audit:
                self.audit("signup.web", parameters={"test": test}, result={"signups": 1})
        return True

    def add_signups(self, batch: list[tuple[str, SignupLetter, dict[str, str], dict[str, str], bool]]) -> list[bool]:
        """Store several sign-ups ``(person id, letter, features, contact, test)`` in one transaction (one
        commit, one audit entry): a burst of sign-ups costs one disk flush per batch, not one each. Each is
        checked as ``add_signup`` checks it, in order, so of two with one code only the first is stored."""
        stored = []
        with self.transaction():
            for person, letter, features, contact, test in batch:
                stored.append(
                    self.add_signup(
                        person_id=person, letter=letter, features=features, contact=contact, test=test, audit=False
                    )
                )
            if any(stored):
                tests = sorted({t for (*_, t), ok in zip(batch, stored, strict=True) if ok})
                self.audit("signup.web", parameters={"test": tests == [True]}, result={"signups": sum(stored)})
        return stored

    def update_signup(
        self, *, letter: SignupLetter, features: dict[str, str], contact: dict[str, str], test: bool
    ) -> bool:
        """Replace the answers and contact details of a sign-up (audited without them); False when gone."""
        table = POOL_TABLES[test]
        with self.transaction() as conn:
            cur = conn.execute(
                f"UPDATE {table} SET features = ?, contact = ? WHERE letter_code = ?",  # noqa: S608
                (_to_json({"wijk": letter.wijk, **features}), _to_json(contact), letter.code),
            )
            if not cur.rowcount:
                return False
            self.audit("signup.change", parameters={"test": test}, result={"signups": 1})
        return True

    def withdraw_signup(self, code: str, *, test: bool) -> bool:
        """Remove a sign-up from the (test) pool and remember the code as withdrawn; audited without personal
        data. False when there was nothing to withdraw."""
        table = POOL_TABLES[test]
        with self.transaction() as conn:
            cur = conn.execute(f"DELETE FROM {table} WHERE letter_code = ?", (code,))  # noqa: S608
            if not cur.rowcount:
                return False
            conn.execute(
                "INSERT INTO signup_withdrawals (letter_code, test, withdrawn_at) VALUES (?, ?, ?)"
                " ON CONFLICT (letter_code, test) DO UPDATE SET withdrawn_at = excluded.withdrawn_at",
                (code, int(test), now_iso()),
            )
            pool = int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
            self.audit("signup.withdraw", parameters={"test": test}, result={"withdrawn": 1, "pool_size": pool})
        return True

    # -- live counts --------------------------------------------------------------------------
    def signup_response_rows(self) -> list[tuple[str, str, str, bool, bool]]:
        """One row per letter: (wijk, birth date, gender of the addressee, signed up?, test sign-up?)."""
        rows = self._query(
            "SELECT COALESCE(r.wijk, ''), r.birth_date, r.gender,"
            " EXISTS (SELECT 1 FROM pool_members p WHERE p.letter_code = l.code),"
            " EXISTS (SELECT 1 FROM signup_test_pool t WHERE t.letter_code = l.code)"
            " FROM letters l JOIN residents r ON r.id = l.resident_id"
        )
        return [(str(r[0]), str(r[1]), str(r[2]), bool(r[3]), bool(r[4])) for r in rows]

    def signup_counts(self) -> dict[str, int]:
        """Sign-ups in the pool, in the test pool, and withdrawals."""
        return {
            "pool": int(self._scalar("SELECT COUNT(*) FROM pool_members")),
            "test": int(self._scalar("SELECT COUNT(*) FROM signup_test_pool")),
            "withdrawn": int(self._scalar("SELECT COUNT(*) FROM signup_withdrawals WHERE test = 0")),
        }
