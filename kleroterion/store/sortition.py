"""Store methods of the citizen lottery: registry, letters, pool, quotas, draws, panel."""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from kleroterion.deferred import deferred
from kleroterion.errors import StoreError
from kleroterion.store.core import StoreCore, _to_json, now_iso

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from sortition.draw_record import DrawRecord
else:
    np = deferred("numpy")  # ``klero status`` needs neither (kleroterion.deferred)
    pd = deferred("pandas")


def _none(value: Any) -> Any:
    return None if value is pd.NA or (isinstance(value, float) and pd.isna(value)) else value


def _pack_panel(panel: frozenset[str], position: dict[str, int]) -> bytes:
    """One panel as a zlib-compressed bitmap over the draw's sorted people (``draw_people``; migration 0011)."""
    bits = np.zeros(len(position), dtype=bool)
    bits[[position[person] for person in panel]] = True
    return zlib.compress(np.packbits(bits).tobytes(), 6)


def _unpack_panel(row: sqlite3.Row, people: np.ndarray) -> frozenset[str]:
    """A stored panel: the bitmap of ``_pack_panel`` when present, else the JSON members of older draws."""
    if row["packed"] is None:
        return frozenset(json.loads(row["members"]))
    bits = np.unpackbits(np.frombuffer(zlib.decompress(row["packed"]), dtype=np.uint8), count=len(people))
    return frozenset(people[bits.astype(bool)].tolist())


@dataclass(frozen=True)
class LetterDrawRecord:
    """One stored letter draw: its id, time, seed, parameters (as the draw recorded them) and size."""

    id: int
    drawn_at: str
    seed: str
    parameters: dict[str, Any]
    letter_count: int

    @property
    def stratify_by(self) -> str | None:
        """The column the letters were allocated over (None: not stratified)."""
        value = self.parameters.get("stratify_by")
        return str(value) if value else None

    @property
    def min_age(self) -> int:
        """The minimum age of the draw's eligible residents."""
        return int(self.parameters.get("min_age", 16))


class SortitionStore(StoreCore):
    # -- letters ----------------------------------------------------------------------------
    def save_letters(self, letters: pd.DataFrame, *, seed: str, parameters: dict[str, Any]) -> int:
        """Store one letter draw (columns ``code, resident_id, address_key, stratum, inclusion_probability``).

        A draw avoids every address drawn before, as ``letter_addresses`` listed them. If another command
        stored a letter draw after that list was read (two ``letters draw`` at once), this one is refused
        with a clean message and nothing is stored: its addresses and probabilities are no longer right.
        """
        with self.transaction() as conn:
            seen = getattr(self, "_letter_draw_seen", None)
            latest = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM letter_draws").fetchone()[0])
            if seen is not None and latest != seen:
                raise StoreError(
                    "Another letter draw was stored while this one ran (two `klero letters draw` at once?); "
                    "this draw was not stored. Check `klero status`, then draw again if a further wave is "
                    "really wanted.",
                    code="concurrent_letter_draw",
                    draw_id=latest,
                )
            cur = conn.execute(
                "INSERT INTO letter_draws (drawn_at, seed, parameters, letter_count) VALUES (?, ?, ?, ?)",
                (now_iso(), seed, _to_json(parameters), len(letters)),
            )
            draw_id = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT INTO letters (code, draw_id, resident_id, address_key, stratum, inclusion_probability)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (r.code, draw_id, r.resident_id, r.address_key, str(r.stratum), float(r.inclusion_probability))
                    for r in letters.itertuples(index=False)
                ],
            )
            self.audit(
                "letters.draw",
                parameters={**parameters, "seed": seed, "draw_id": draw_id},
                result={"letters": len(letters)},
            )
        return draw_id

    def letter_draws(self) -> list[dict[str, Any]]:
        """Every letter draw, oldest first: ``id, drawn_at, seed, parameters`` (dict), ``letter_count``."""
        rows = self._query("SELECT id, drawn_at, seed, parameters, letter_count FROM letter_draws ORDER BY id")
        return [{**dict(r), "parameters": json.loads(r["parameters"] or "{}")} for r in rows]

    def letter_draw_records(self) -> list[LetterDrawRecord]:
        """Every letter draw, oldest first, as typed records."""
        rows = self._conn.execute(
            "SELECT id, drawn_at, seed, parameters, letter_count FROM letter_draws ORDER BY id"
        ).fetchall()
        return [
            LetterDrawRecord(
                id=int(r["id"]),
                drawn_at=str(r["drawn_at"]),
                seed=str(r["seed"]),
                parameters=json.loads(r["parameters"] or "{}"),
                letter_count=int(r["letter_count"]),
            )
            for r in rows
        ]

    def letter_addresses(self) -> pd.DataFrame:
        """Code and address key of every letter drawn so far (what a new draw must avoid; no join).
        Remembers the latest draw it saw, so that ``save_letters`` can refuse a draw made on a stale list."""
        self._letter_draw_seen = int(self._scalar("SELECT COALESCE(MAX(id), 0) FROM letter_draws"))
        rows = self._query("SELECT code, address_key FROM letters ORDER BY code")
        return pd.DataFrame([tuple(r) for r in rows], columns=["code", "address_key"])

    def letters(self) -> pd.DataFrame:
        rows = self._query(
            "SELECT l.code, l.draw_id, l.resident_id, l.address_key, l.stratum, l.inclusion_probability,"
            " r.birth_date, r.gender, r.wijk FROM letters l JOIN residents r ON r.id = l.resident_id ORDER BY l.code"
        )
        cols = [
            "code",
            "draw_id",
            "resident_id",
            "address_key",
            "stratum",
            "inclusion_probability",
            "birth_date",
            "gender",
            "wijk",
        ]
        return pd.DataFrame([tuple(r) for r in rows], columns=cols)

    # -- pool -------------------------------------------------------------------------------
    def save_pool(
        self,
        pool: pd.DataFrame,
        *,
        feature_columns: list[str],
        source: str,
        sha256: str,
        summary: dict[str, Any] | None = None,
        corrections: dict[str, dict[str, str]] | None = None,
        correct_by: str = "letter_code",
    ) -> int:
        """Store sign-ups (``id, letter_code, address_key`` + feature columns + optional ``contact``);
        ``corrections`` replaces the features of members already in the pool (letter code, or pool id with
        ``correct_by="id"``, → all features); a row with an ``external_id`` is a member from a people file;
        ``summary`` (e.g. rows already in the pool, conflicts) goes into the audit record with the count.
        One transaction: all of it is stored, or nothing."""
        with self.transaction() as conn:
            if correct_by not in ("letter_code", "id"):
                raise ValueError(correct_by)
            conn.executemany(
                f"UPDATE pool_members SET features = ? WHERE {correct_by} = ?",  # noqa: S608 (one of two names)
                [(_to_json(features), code) for code, features in (corrections or {}).items()],
            )
            conn.executemany(
                "INSERT INTO pool_members (id, source, letter_code, external_id, signed_up_at, address_key, features,"
                " contact) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        str(r["id"]),
                        "file" if _present(r.get("external_id")) else "letters",
                        str(r["letter_code"]) if _present(r.get("letter_code")) else None,
                        str(r["external_id"]) if _present(r.get("external_id")) else None,
                        now_iso(),
                        str(r["address_key"]),
                        _to_json({c: str(r[c]) for c in feature_columns}),
                        _to_json(r.get("contact", {}) or {}),
                    )
                    for r in pool.to_dict("records")
                ],
            )
            self.audit(
                "pool.import",
                parameters={"source": source},
                input_hashes={source: sha256},
                result={"members": len(pool), **(summary or {})},
            )
        return len(pool)

    def pool_sources(self) -> set[str]:
        """Where the pool's members come from: ``letters`` (sign-ups to invitation letters), ``file`` (a
        people file, e.g. the Sortition Foundation's); empty for an empty pool."""
        return {str(r["source"]) for r in self._query("SELECT DISTINCT source FROM pool_members")}

    def pool_external_ids(self) -> dict[str, str]:
        """Pool id → the id its people file gave it (members from a file only)."""
        rows = self._query("SELECT id, external_id FROM pool_members WHERE external_id IS NOT NULL")
        return {str(r["id"]): str(r["external_id"]) for r in rows}

    def pool(self) -> pd.DataFrame:
        """The pool: ``id, letter_code, address_key`` + the features (``letter_code`` is None for a member
        from a people file; ``pool_external_ids`` gives those members' own ids)."""
        rows = self._query("SELECT id, letter_code, address_key, features FROM pool_members ORDER BY id")
        records = [
            {
                "id": r["id"],
                "letter_code": r["letter_code"],
                "address_key": r["address_key"],
                **json.loads(r["features"]),
            }
            for r in rows
        ]
        return pd.DataFrame.from_records(records)

    # -- quotas -----------------------------------------------------------------------------
    def save_quotas(self, quotas: pd.DataFrame, *, panel_size: int, source: str, tolerance: float) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO quota_sets (created_at, panel_size, source, tolerance) VALUES (?, ?, ?, ?)",
                (now_iso(), panel_size, source, tolerance),
            )
            set_id = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT INTO quotas (quota_set_id, category, feature, population_share, target, min_count,"
                " max_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (set_id, q.category, q.feature, _none(q.population_share), _none(q.target), int(q.min), int(q.max))
                    for q in quotas.itertuples(index=False)
                ],
            )
            self.audit(
                "quotas.save",
                parameters={"panel_size": panel_size, "source": source, "tolerance": tolerance},
                result={"quota_set_id": set_id, "rows": len(quotas)},
            )
        return set_id

    def quotas(self) -> tuple[int, int, pd.DataFrame]:
        """The latest quota set: (id, panel size, table)."""
        set_id = self._scalar("SELECT MAX(id) FROM quota_sets")
        if set_id is None:
            raise StoreError("No quotas yet: run `klero quotas derive --size K` first.", code="no_quotas")
        size, table = self.quota_set(int(set_id))
        return int(set_id), size, table

    # -- selection --------------------------------------------------------------------------
    def save_selection(
        self,
        *,
        quota_set_id: int,
        kind: str,
        record: dict[str, Any],
        probabilities: pd.Series,
        members: list[tuple[str, str, int]],
        distribution: Sequence[tuple[frozenset[str], float]] = (),
        tickets: Sequence[int] = (),
    ) -> int:
        """Store one draw: its record, per-person probabilities and (person, role, rank) members.

        ``distribution``: the (panel, weight) pairs the draw came from, stored in this order as positions
        1, 2, ...; ``tickets``: for a transparent lottery, the distribution position of tickets 1..m.
        """
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO selection_draws (drawn_at, quota_set_id, kind, algorithm, engine, seed, pool_hash,"
                " parameters, versions, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    now_iso(),
                    quota_set_id,
                    kind,
                    record["algorithm"],
                    record["engine"],
                    record["seed"],
                    record["pool_hash"],
                    _to_json(record["parameters"]),
                    _to_json(record["versions"]),
                    _to_json(record["result"]),
                ),
            )
            draw_id = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT INTO selection_probabilities (draw_id, person_id, probability) VALUES (?, ?, ?)",
                [(draw_id, str(pid), float(p)) for pid, p in probabilities.items()],
            )
            conn.executemany(
                "INSERT INTO panel_members (draw_id, person_id, role, rank) VALUES (?, ?, ?, ?)",
                [(draw_id, pid, role, rank) for pid, role, rank in members],
            )
            people = sorted(set().union(*(panel for panel, _ in distribution)))
            if distribution:
                conn.execute("INSERT INTO draw_people (draw_id, ids) VALUES (?, ?)", (draw_id, json.dumps(people)))
            position = {person: j for j, person in enumerate(people)}
            conn.executemany(
                "INSERT INTO draw_panels (draw_id, position, weight, members, packed) VALUES (?, ?, ?, '', ?)",
                [
                    (draw_id, number, float(weight), _pack_panel(panel, position))
                    for number, (panel, weight) in enumerate(distribution, start=1)
                ],
            )
            conn.executemany(
                "INSERT INTO lottery_tickets (draw_id, ticket, position) VALUES (?, ?, ?)",
                [(draw_id, ticket, int(position)) for ticket, position in enumerate(tickets, start=1)],
            )
            self.audit(
                f"selection.{kind}",
                parameters={
                    **record["parameters"],
                    "seed": record["seed"],
                    "algorithm": record["algorithm"],
                    "draw_id": draw_id,
                },
                input_hashes={"pool": record["pool_hash"]},
                result=record["result"],
            )
        return draw_id

    def pool_drawn_from(self) -> bool:
        """True once any panel or lottery has been drawn from the pool (its answers are then frozen)."""
        return self._conn.execute("SELECT EXISTS (SELECT 1 FROM selection_draws)").fetchone()[0] == 1

    def selection_draws(self) -> list[dict[str, Any]]:
        out = []
        for r in self._query("SELECT * FROM selection_draws ORDER BY id"):
            rec = dict(r)
            for key in ("parameters", "versions", "result"):
                rec[key] = json.loads(rec[key])
            out.append(rec)
        return out

    # -- typed draw records (sortition.draw_record) ------------------------------------------
    def save_draw(
        self,
        record: DrawRecord,
        *,
        quota_set_id: int,
        probabilities: pd.Series,
        members: list[tuple[str, str, int]],
        distribution: Sequence[tuple[frozenset[str], float]] = (),
        tickets: Sequence[int] = (),
    ) -> int:
        """Store a typed draw record (``save_selection`` with ``record.to_dict()``); returns the draw id."""
        return self.save_selection(
            quota_set_id=quota_set_id,
            kind=record.kind,
            record=record.to_dict(),
            probabilities=probabilities,
            members=members,
            distribution=distribution,
            tickets=tickets,
        )

    def draw_records(self, kind: str | None = None) -> list[DrawRecord]:
        """Every stored draw (of ``kind``: ``panel`` or ``lottery``), oldest first, as typed records."""
        from sortition.draw_record import DrawRecord

        return [
            DrawRecord.from_dict(
                d, kind=d["kind"], draw_id=int(d["id"]), quota_set_id=int(d["quota_set_id"]), drawn_at=d["drawn_at"]
            )
            for d in self.selection_draws()
            if kind is None or d["kind"] == kind
        ]

    def draw_record(self, draw_id: int) -> DrawRecord:
        """One stored draw by id, with its per-person probabilities; ``StoreError`` when there is none."""
        found = [r for r in self.draw_records() if r.draw_id == draw_id]
        if not found:
            raise StoreError(f"Draw {draw_id} does not exist.", code="no_draw")
        return self._with_probabilities(found[0])

    def latest_panel_record(self) -> DrawRecord:
        """The most recent panel draw, typed, with its probabilities; ``StoreError`` when there is none."""
        draws = self.draw_records("panel")
        if not draws:
            raise StoreError("No panel drawn yet: run `klero panel select` first.", code="no_panel_draw")
        return self._with_probabilities(draws[-1])

    def latest_lottery_record(self) -> DrawRecord:
        """The most recent transparent lottery (``klero panel select --lottery-size M``), typed."""
        draws = self.draw_records("lottery")
        if not draws:
            raise StoreError("No lottery yet: run `klero panel select --lottery-size M` first.", code="no_lottery_draw")
        return self._with_probabilities(draws[-1])

    def _with_probabilities(self, record: DrawRecord) -> DrawRecord:
        """``record`` with its per-person selection probabilities (their own table)."""
        return replace(record, probabilities=self.selection_probabilities(int(record.draw_id or 0)).to_dict())

    def draw_distribution(self, draw_id: int) -> list[tuple[frozenset[str], float]]:
        """The (panel, weight) pairs a draw came from, in stored order (empty for draws before 0005)."""
        rows = self._query(
            "SELECT weight, members, packed FROM draw_panels WHERE draw_id = ? ORDER BY position", (draw_id,)
        )
        people = self._draw_people(draw_id)
        return [(_unpack_panel(r, people), float(r["weight"])) for r in rows]

    def _draw_people(self, draw_id: int) -> np.ndarray:
        """The sorted ids a draw's packed panels index (empty before migration 0011)."""
        ids = self._scalar("SELECT ids FROM draw_people WHERE draw_id = ?", (draw_id,))
        return np.array(json.loads(ids) if ids else [], dtype=object)

    def lottery_tickets(self, draw_id: int) -> list[tuple[int, frozenset[str]]]:
        """The numbered tickets 1..m of a lottery draw, each with its panel."""
        rows = self._query(
            "SELECT t.ticket, p.members, p.packed FROM lottery_tickets t JOIN draw_panels p"
            " ON p.draw_id = t.draw_id AND p.position = t.position WHERE t.draw_id = ? ORDER BY t.ticket",
            (draw_id,),
        )
        people = self._draw_people(draw_id)
        return [(int(r["ticket"]), _unpack_panel(r, people)) for r in rows]

    def latest_lottery_draw(self) -> dict[str, Any]:
        """The most recent transparent lottery (``klero panel select --lottery-size M``)."""
        draws = [d for d in self.selection_draws() if d["kind"] == "lottery"]
        if not draws:
            raise StoreError("No lottery yet: run `klero panel select --lottery-size M` first.", code="no_lottery_draw")
        return draws[-1]

    def draws_from_lottery(self, lottery_draw_id: int) -> list[dict[str, Any]]:
        """Panel draws that picked a ticket of this lottery (at most one is allowed)."""
        return [
            d
            for d in self.selection_draws()
            if d["kind"] == "panel" and d["parameters"].get("lottery_draw_id") == lottery_draw_id
        ]

    def panel_members(self, role: str | None = None) -> pd.DataFrame:
        sql = "SELECT draw_id, person_id, role, rank, status FROM panel_members"
        params: tuple[Any, ...] = ()
        if role:
            sql += " WHERE role = ?"
            params = (role,)
        rows = self._query(sql + " ORDER BY role DESC, rank", params)
        return pd.DataFrame([tuple(r) for r in rows], columns=["draw_id", "person_id", "role", "rank", "status"])

    def earlier_panel_members(self) -> list[str]:
        """Everyone who sat on a panel of this workspace: drawn members, replacements, promoted alternates.

        Sorted and without repeats; what ``klero panel select --exclude-previous`` leaves out.
        """
        rows = self._query(
            "SELECT DISTINCT person_id FROM panel_members WHERE role IN ('panel', 'replacement')"
            " OR (role = 'alternate' AND status != 'active') ORDER BY person_id"
        )
        return [str(r["person_id"]) for r in rows]

    def quota_set(self, set_id: int) -> tuple[int, pd.DataFrame]:
        """One stored quota set by id: (panel size, table)."""
        head = self._query("SELECT panel_size FROM quota_sets WHERE id = ?", (set_id,))
        if not head:
            raise StoreError(f"Quota set {set_id} does not exist.", code="no_quotas")
        rows = self._query(
            "SELECT category, feature, population_share, target, min_count, max_count FROM quotas"
            " WHERE quota_set_id = ? ORDER BY rowid",
            (set_id,),
        )
        table = pd.DataFrame(
            [tuple(r) for r in rows], columns=["category", "feature", "population_share", "target", "min", "max"]
        )
        return int(head[0]["panel_size"]), table

    # -- panel after the draw: alternates and replacements ---------------------------------
    def latest_panel_draw(self) -> dict[str, Any]:
        """The most recent panel draw (with parsed JSON fields); ``StoreError`` when there is none."""
        draws = [d for d in self.selection_draws() if d["kind"] == "panel"]
        if not draws:
            raise StoreError("No panel drawn yet: run `klero panel select` first.", code="no_panel_draw")
        return draws[-1]

    def current_panel(self, draw_id: int) -> tuple[list[str], list[str]]:
        """(sitting panel members, available alternates in order) of a draw, after replacements."""
        rows = self._query(
            "SELECT person_id, role, rank, status FROM panel_members WHERE draw_id = ? ORDER BY role DESC, rank",
            (draw_id,),
        )
        sitting = (("panel", "active"), ("alternate", "promoted"), ("replacement", "active"))
        panel = [r["person_id"] for r in rows if (r["role"], r["status"]) in sitting]
        alternates = [r["person_id"] for r in rows if (r["role"], r["status"]) == ("alternate", "active")]
        return panel, alternates

    def save_replacement(
        self,
        *,
        draw_id: int,
        person_out: str,
        person_in: str,
        reason: str,
        details: dict[str, Any],
        from_pool: bool = False,
    ) -> int:
        """Record one replacement: the member leaves, the alternate (or, ``from_pool``, a pool member
        drawn by the caller) joins; replacements row and audit, all in one transaction."""
        with self.transaction() as conn:
            left = conn.execute(
                "UPDATE panel_members SET status = 'replaced' WHERE draw_id = ? AND person_id = ?"
                " AND ((status = 'active' AND role IN ('panel', 'replacement'))"
                " OR (role = 'alternate' AND status = 'promoted'))",
                (draw_id, person_out),
            ).rowcount
            if from_pool:
                earlier = self._scalar(
                    "SELECT COUNT(*) FROM panel_members WHERE draw_id = ? AND role = 'replacement'", (draw_id,)
                )
                joined = conn.execute(
                    "INSERT OR IGNORE INTO panel_members (draw_id, person_id, role, rank)"
                    " VALUES (?, ?, 'replacement', ?)",
                    (draw_id, person_in, int(earlier) + 1),
                ).rowcount
            else:
                joined = conn.execute(
                    "UPDATE panel_members SET status = 'promoted' WHERE draw_id = ? AND person_id = ?"
                    " AND role = 'alternate' AND status = 'active'",
                    (draw_id, person_in),
                ).rowcount
            if left != 1 or joined != 1:
                raise StoreError(
                    f"Cannot replace {person_out} by {person_in} in draw {draw_id}: not a sitting member and an "
                    "available alternate.",
                    code="bad_replacement",
                )
            cur = conn.execute(
                "INSERT INTO replacements (replaced_at, draw_id, person_out, person_in, reason) VALUES (?, ?, ?, ?, ?)",
                (now_iso(), draw_id, person_out, person_in, reason),
            )
            replacement_id = int(cur.lastrowid or 0)
            self.audit(
                "panel.replace",
                parameters={"draw_id": draw_id, "person_out": person_out, "reason": reason},
                result={"replacement_id": replacement_id, "person_in": person_in, **details},
            )
        return replacement_id

    def replacements(self, draw_id: int | None = None) -> list[dict[str, Any]]:
        """Recorded replacements (of one draw, or all), oldest first."""
        if draw_id is None:
            return [dict(r) for r in self._query("SELECT * FROM replacements ORDER BY id")]
        return [dict(r) for r in self._query("SELECT * FROM replacements WHERE draw_id = ? ORDER BY id", (draw_id,))]

    def selection_probabilities(self, draw_id: int) -> pd.Series:
        """Per-person selection probability of one draw, indexed by pool id."""
        rows = self._query(
            "SELECT person_id, probability FROM selection_probabilities WHERE draw_id = ? ORDER BY person_id",
            (draw_id,),
        )
        return pd.Series({r["person_id"]: float(r["probability"]) for r in rows}, dtype=float)


def _present(value: object) -> bool:
    """A cell that holds a value (not None, NaN or empty)."""
    return value is not None and value == value and str(value) != ""
