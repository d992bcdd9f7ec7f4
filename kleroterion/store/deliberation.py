"""Store methods of the Deliberative Poll: instrument, participants, waves, answers, analyses."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from deliberation.instrument import Instrument
from kleroterion.deferred import deferred
from kleroterion.errors import StoreError
from kleroterion.store.core import StoreCore, _to_json, now_iso

if TYPE_CHECKING:
    import pandas as pd

    from deliberation.plan import AnalysisRun
else:
    pd = deferred("pandas")  # ``klero status`` needs no pandas (kleroterion.deferred)


class DeliberationStore(StoreCore):
    def save_instrument(self, instrument: Instrument, *, source: str, sha256: str) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO instruments (defined_at, name, definition) VALUES (?, ?, ?)",
                (now_iso(), instrument.name, _to_json(dataclasses.asdict(instrument))),
            )
            inst_id = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT INTO instrument_items (instrument_id, code, position, kind, text, scale_min, scale_max,"
                " correct) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (inst_id, i.code, pos, i.kind, i.text, i.scale_min, i.scale_max, i.correct)
                    for pos, i in enumerate(instrument.items, start=1)
                ],
            )
            for wave in instrument.waves:
                conn.execute(
                    "INSERT INTO waves (code, kind) VALUES (?, ?)"
                    " ON CONFLICT (code) DO UPDATE SET kind = excluded.kind",
                    (wave.code, wave.kind),
                )
            self.audit(
                "poll.define",
                parameters={"name": instrument.name},
                input_hashes={source: sha256},
                result={"items": len(instrument.items), "waves": len(instrument.waves)},
            )
        return inst_id

    def instrument_definition(self) -> dict[str, Any] | None:
        rows = self._query("SELECT definition FROM instruments ORDER BY id DESC LIMIT 1")
        return json.loads(rows[0]["definition"]) if rows else None

    def save_participants(self, participants: pd.DataFrame) -> int:
        """Store respondents (``participant_id, letter_code, arm`` + feature columns as JSON)."""
        features = [c for c in participants.columns if c not in ("participant_id", "letter_code", "arm")]
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO participants (id, letter_code, arm, features) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET arm = excluded.arm, features = excluded.features",
                [
                    (
                        str(r["participant_id"]),
                        r.get("letter_code"),
                        str(r["arm"]),
                        _to_json({c: str(r[c]) for c in features}),
                    )
                    for r in participants.to_dict("records")
                ],
            )
        return len(participants)

    def participants(self) -> pd.DataFrame:
        """Respondents: ``participant_id, letter_code, arm`` + their features (the columns exist when empty)."""
        rows = self._query("SELECT id, letter_code, arm, features FROM participants ORDER BY id")
        return pd.DataFrame.from_records(
            [
                {
                    "participant_id": r["id"],
                    "letter_code": r["letter_code"],
                    "arm": r["arm"],
                    **json.loads(r["features"]),
                }
                for r in rows
            ],
            columns=None if rows else ["participant_id", "letter_code", "arm"],
        )

    def save_weights(self, wave: str, weights: pd.DataFrame) -> int:
        """Replace the design weights of ``wave`` (``participant_id, name, weight``; NaN rows skipped: the
        respondent was absent at the wave). Called inside the wave import's transaction."""
        rows = [
            (wave, str(r.participant_id), str(r.name), float(r.weight))
            for r in weights.itertuples(index=False)
            if not pd.isna(r.weight)
        ]
        with self.transaction() as conn:
            conn.execute("DELETE FROM respondent_weights WHERE wave_code = ?", (wave,))
            conn.executemany(
                "INSERT INTO respondent_weights (wave_code, participant_id, name, weight) VALUES (?, ?, ?, ?)", rows
            )
        return len(rows)

    def weights(self) -> pd.DataFrame:
        """Stored design weights: ``participant_id, wave, name, weight``."""
        rows = self._query("SELECT participant_id, wave_code, name, weight FROM respondent_weights")
        return pd.DataFrame([tuple(r) for r in rows], columns=["participant_id", "wave", "name", "weight"])

    def wave_answer_count(self, wave: str) -> int:
        """How many answers of ``wave`` are stored (0 before its first import)."""
        return int(self._scalar("SELECT COUNT(*) FROM answers WHERE wave_code = ?", (wave,)) or 0)

    def save_wave(self, wave: str, answers: pd.DataFrame, *, source: str, sha256: str, replaced: int = 0) -> int:
        """Store the answers of one wave (``participant_id, item_code, raw, value``), replacing earlier ones
        (``replaced``: how many there were, for the audit log; the caller asks the user first)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM answers WHERE wave_code = ?", (wave,))
            conn.execute(
                "UPDATE waves SET imported_at = ?, source_sha256 = ? WHERE code = ?", (now_iso(), sha256, wave)
            )
            conn.executemany(
                "INSERT INTO answers (wave_code, participant_id, item_code, value, raw) VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        wave,
                        str(r.participant_id),
                        str(r.item_code),
                        None if pd.isna(r.value) else float(r.value),
                        str(r.raw),
                    )
                    for r in answers.itertuples(index=False)
                ],
            )
            self.audit(
                "survey.import",
                parameters={"wave": wave, "source": source, "replaced_answers": replaced},
                input_hashes={source: sha256},
                result={"answers": len(answers), "respondents": int(answers["participant_id"].nunique())},
            )
        return len(answers)

    def answers(self) -> pd.DataFrame:
        """Every stored answer: ``participant_id, wave, item_code, raw`` (read as plain tuples: fast)."""
        cursor = self._conn.cursor()
        cursor.row_factory = None  # plain tuples: a million answers read without building Row objects
        rows = cursor.execute("SELECT participant_id, wave_code, item_code, raw FROM answers").fetchall()
        return pd.DataFrame.from_records(rows, columns=["participant_id", "wave", "item_code", "raw"])

    # -- briefing packets and small groups ----------------------------------------------------
    def save_packet(self, title: str, arguments: pd.DataFrame, *, source: str = "", sha256: str = "") -> int:
        """Store a new version of a briefing packet (``option, side, text, source`` per argument)."""
        with self.transaction() as conn:
            version = int(
                conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM packets WHERE title = ?", (title,)).fetchone()[
                    0
                ]
            )
            cur = conn.execute(
                "INSERT INTO packets (title, version, created_at) VALUES (?, ?, ?)", (title, version, now_iso())
            )
            packet_id = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT INTO packet_arguments (packet_id, position, option_code, side, text, source)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (packet_id, k, str(r["option"]), str(r["side"]), str(r["text"]), str(r.get("source", "") or ""))
                    for k, (_, r) in enumerate(arguments.iterrows())
                ],
            )
            self.audit(
                "packet.save",
                parameters={"title": title, "version": version, "source": source},
                input_hashes={source: sha256} if source else {},
                result={"arguments": len(arguments)},
            )
        return packet_id

    def packet_arguments(self) -> pd.DataFrame:
        """Arguments of the latest version of every packet: ``title, version, option, side, text, source``."""
        rows = self._query(
            "SELECT p.title, p.version, a.option_code, a.side, a.text, a.source FROM packet_arguments a"
            " JOIN packets p ON p.id = a.packet_id"
            " WHERE p.version = (SELECT MAX(version) FROM packets q WHERE q.title = p.title)"
            " ORDER BY p.title, a.position"
        )
        return pd.DataFrame([tuple(r) for r in rows], columns=["title", "version", "option", "side", "text", "source"])

    def packet_versions(self) -> pd.DataFrame:
        """Every stored packet version: ``title, version, created_at, n_arguments, n_signoffs, reviewers``
        (``; ``-joined, in signing order) and ``n_receipts``."""
        rows = self._query(
            "SELECT p.title, p.version, p.created_at,"
            " (SELECT COUNT(*) FROM packet_arguments a WHERE a.packet_id = p.id),"
            " (SELECT COUNT(*) FROM packet_signoffs s WHERE s.packet_id = p.id),"
            " (SELECT GROUP_CONCAT(reviewer, '; ') FROM (SELECT reviewer FROM packet_signoffs s"
            "   WHERE s.packet_id = p.id ORDER BY signed_at, reviewer) signers),"
            " (SELECT COUNT(*) FROM packet_receipts r WHERE r.packet_id = p.id)"
            " FROM packets p ORDER BY p.title, p.version"
        )
        columns = ["title", "version", "created_at", "n_arguments", "n_signoffs", "reviewers", "n_receipts"]
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        return frame.assign(reviewers=frame["reviewers"].fillna(""))

    def packet_version_arguments(self, title: str, version: int) -> pd.DataFrame:
        """Arguments of one packet version: ``option, side, text, source`` in packet order."""
        packet_id = self._packet_id(title, version)
        rows = self._query(
            "SELECT option_code, side, text, source FROM packet_arguments WHERE packet_id = ? ORDER BY position",
            (packet_id,),
        )
        return pd.DataFrame([tuple(r) for r in rows], columns=["option", "side", "text", "source"])

    def _packet_id(self, title: str, version: int) -> int:
        found = self._scalar("SELECT id FROM packets WHERE title = ? AND version = ?", (title, version))
        if found is None:
            known = self.packet_versions()
            listed = ", ".join(f"{t!r} v{v}" for t, v in zip(known["title"], known["version"], strict=True))
            raise StoreError(
                f"No packet {title!r} version {version} (stored: {listed or 'none'}).",
                code="no_packet",
                title=title,
                version=version,
            )
        return int(found)

    def save_signoff(self, title: str, version: int, reviewer: str, *, remark: str = "") -> None:
        """Record a reviewer's sign-off of one packet version (once per reviewer and version)."""
        packet_id = self._packet_id(title, version)
        with self.transaction() as conn:
            if conn.execute(
                "SELECT 1 FROM packet_signoffs WHERE packet_id = ? AND reviewer = ?", (packet_id, reviewer)
            ).fetchone():
                raise StoreError(
                    f"{reviewer} has already signed off {title!r} version {version}.",
                    code="already_signed_off",
                    reviewer=reviewer,
                )
            conn.execute(
                "INSERT INTO packet_signoffs (packet_id, reviewer, signed_at, remark) VALUES (?, ?, ?, ?)",
                (packet_id, reviewer, now_iso(), remark),
            )
            self.audit(
                "packet.signoff",
                parameters={"title": title, "version": version, "reviewer": reviewer, "remark": remark},
            )

    def packet_signoffs(self) -> pd.DataFrame:
        """Sign-offs: ``title, version, reviewer, signed_at, remark``."""
        rows = self._query(
            "SELECT p.title, p.version, s.reviewer, s.signed_at, s.remark FROM packet_signoffs s"
            " JOIN packets p ON p.id = s.packet_id ORDER BY p.title, p.version, s.signed_at, s.reviewer"
        )
        return pd.DataFrame([tuple(r) for r in rows], columns=["title", "version", "reviewer", "signed_at", "remark"])

    def save_receipts(self, title: str, version: int, receipts: pd.DataFrame, *, source: str, sha256: str) -> int:
        """Record which participants received a packet version (``participant_id, received_on``);
        a participant already recorded for this version gets the new date."""
        packet_id = self._packet_id(title, version)
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO packet_receipts (packet_id, participant_id, received_on) VALUES (?, ?, ?)"
                " ON CONFLICT (packet_id, participant_id) DO UPDATE SET received_on = excluded.received_on",
                [(packet_id, str(r.participant_id), str(r.received_on)) for r in receipts.itertuples(index=False)],
            )
            self.audit(
                "packet.receipts",
                parameters={"title": title, "version": version, "source": source},
                input_hashes={source: sha256},
                result={"receipts": len(receipts)},
            )
        return len(receipts)

    def packet_receipts(self) -> pd.DataFrame:
        """Who received which version: ``title, version, participant_id, received_on``."""
        rows = self._query(
            "SELECT p.title, p.version, r.participant_id, r.received_on FROM packet_receipts r"
            " JOIN packets p ON p.id = r.packet_id ORDER BY p.title, p.version, r.participant_id"
        )
        return pd.DataFrame([tuple(r) for r in rows], columns=["title", "version", "participant_id", "received_on"])

    def save_groups(
        self,
        assignment: pd.DataFrame,
        *,
        seed: str,
        moderators: dict[int, str] | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> int:
        """Store a small-group assignment (``participant_id, group``), replacing any earlier one;
        ``moderators`` maps group number to moderator name."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM group_members")
            conn.execute("DELETE FROM small_groups")
            when = now_iso()
            for group, part in assignment.groupby("group", sort=True):
                cur = conn.execute(
                    "INSERT INTO small_groups (name, moderator, assignment_seed) VALUES (?, ?, ?)",
                    (f"group {group}", (moderators or {}).get(int(group), ""), seed),
                )
                conn.executemany(
                    "INSERT INTO group_members (group_id, participant_id, assigned_at) VALUES (?, ?, ?)",
                    [(int(cur.lastrowid or 0), str(pid), when) for pid in part["participant_id"]],
                )
            self.audit(
                "groups.assign",
                parameters={"seed": seed, **(parameters or {})},
                result={"members": len(assignment), "moderators": {str(k): v for k, v in (moderators or {}).items()}},
            )
        return len(assignment)

    def small_groups(self) -> pd.DataFrame:
        """The groups: ``group`` (name), ``moderator``, ``n_active``, ``assignment_seed``."""
        rows = self._query(
            "SELECT g.name, g.moderator,"
            " (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id AND m.active = 1),"
            " g.assignment_seed FROM small_groups g ORDER BY g.id"
        )
        return pd.DataFrame([tuple(r) for r in rows], columns=["group", "moderator", "n_active", "assignment_seed"])

    def set_moderators(self, moderators: dict[str, str]) -> None:
        """Set the moderator of each named group (``group name -> moderator``)."""
        known = set(self.small_groups()["group"])
        unknown = sorted(set(moderators) - known)
        if unknown:
            raise StoreError(
                f"No such group(s): {', '.join(unknown)} (groups: {', '.join(sorted(known))}).", code="no_group"
            )
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE small_groups SET moderator = ? WHERE name = ?", [(m, g) for g, m in moderators.items()]
            )
            self.audit("groups.moderators", parameters={"moderators": moderators})

    def reassign_group_member(
        self,
        dropout: str,
        *,
        replacement: str | None = None,
        moved: tuple[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """Record a drop-out: ``dropout`` leaves their group (kept, marked inactive); ``replacement``
        (if any) takes the seat; ``moved = (person, group name)`` moves a member to another group."""
        groups = self.groups().set_index("participant_id")["group"]
        if dropout not in groups.index:
            raise StoreError(
                f"{dropout} is not an active member of any small group.", code="not_in_group", participant=dropout
            )
        home = str(groups[dropout])
        with self.transaction() as conn:
            when = now_iso()
            conn.execute("UPDATE group_members SET active = 0 WHERE participant_id = ?", (dropout,))
            joins = [(replacement, home)] if replacement else []
            if moved:
                conn.execute("UPDATE group_members SET active = 0 WHERE participant_id = ?", (moved[0],))
                joins.append(moved)
            for person, name in joins:
                conn.execute(
                    "INSERT INTO group_members (group_id, participant_id, assigned_at, active)"
                    " SELECT id, ?, ?, 1 FROM small_groups WHERE name = ?"
                    " ON CONFLICT (group_id, participant_id)"
                    " DO UPDATE SET active = 1, assigned_at = excluded.assigned_at",
                    (person, when, name),
                )
            self.audit(
                "groups.reassign",
                parameters={"dropout": dropout, "group": home, **(parameters or {})},
                result={"replacement": replacement, "moved": list(moved) if moved else None},
            )

    def groups(self) -> pd.DataFrame:
        """Active group members: ``participant_id, group`` (group name)."""
        rows = self._query(
            "SELECT m.participant_id, g.name FROM group_members m JOIN small_groups g ON g.id = m.group_id"
            " WHERE m.active = 1 ORDER BY g.id, m.participant_id"
        )
        return pd.DataFrame([tuple(r) for r in rows], columns=["participant_id", "group"])

    def save_analysis(self, kind: str, table: pd.DataFrame, *, parameters: dict[str, Any]) -> int:
        """Store one table made outside an analysis run (``group_balance``)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO analyses (run_at, kind, parameters, result) VALUES (?, ?, ?, ?)",
                (now_iso(), kind, _to_json(parameters), _integer_counts(table).to_json(orient="records")),
            )
            self.audit("analysis.run", parameters={"kind": kind, **parameters}, result={"rows": len(table)})
            return int(cur.lastrowid or 0)

    def save_analysis_run(self, run: AnalysisRun) -> int:
        """Store one analysis run whole, in one transaction: the run with the parameters the core used,
        every table keyed by the run's id, then status ``complete``; a failure halfway stores nothing
        and the previous complete run stays the one reports read. Returns the run id."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO analysis_runs (started_at, status, parameters) VALUES (?, 'running', ?)",
                (now_iso(), _to_json(dict(run.parameters))),
            )
            run_id = int(cur.lastrowid or 0)
            for name, table in run.tables.items():
                conn.execute(
                    "INSERT INTO analysis_tables (run_id, name, parameters, result) VALUES (?, ?, ?, ?)",
                    (
                        run_id,
                        name,
                        _to_json(dict(table.parameters)),
                        _integer_counts(table.frame).to_json(orient="records"),
                    ),
                )
            conn.execute(
                "UPDATE analysis_runs SET status = 'complete', finished_at = ? WHERE id = ?", (now_iso(), run_id)
            )
            self.audit(
                "analysis.run",
                parameters=dict(run.parameters),
                result={"run_id": run_id, "tables": sorted(run.tables)},
            )
        return run_id

    def latest_complete_run(self) -> dict[str, Any] | None:
        """The latest complete analysis run: ``id, started_at, finished_at, parameters`` (dict) and
        ``tables`` (name -> the parameters that made it); None before the first run."""
        rows = self._query(
            "SELECT id, started_at, finished_at, parameters FROM analysis_runs"
            " WHERE status = 'complete' ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        run = rows[0]
        tables = self._query(
            "SELECT name, parameters FROM analysis_tables WHERE run_id = ? ORDER BY name", (run["id"],)
        )
        return {
            "id": int(run["id"]),
            "started_at": run["started_at"],
            "finished_at": run["finished_at"],
            "parameters": json.loads(run["parameters"]),
            "tables": {t["name"]: json.loads(t["parameters"]) for t in tables},
        }

    def analysis(self, kind: str) -> pd.DataFrame | None:
        """Table ``kind`` of the latest complete analysis run. A kind that analysis runs make but the
        latest run did not (e.g. no control arm any more) is None, never an older run's table; a kind
        no run makes (``group_balance``, or a workspace analysed before runs existed) comes from the
        ``analyses`` table."""
        rows = self._query(
            "SELECT t.result FROM analysis_tables t WHERE t.name = ? AND t.run_id ="
            " (SELECT MAX(id) FROM analysis_runs WHERE status = 'complete')",
            (kind,),
        )
        if rows:
            return pd.DataFrame(json.loads(rows[0]["result"]))
        if self._scalar("SELECT 1 FROM analysis_tables WHERE name = ? LIMIT 1", (kind,)):
            return None
        rows = self._query("SELECT result FROM analyses WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,))
        return pd.DataFrame(json.loads(rows[0]["result"])) if rows else None


def _integer_counts(table: pd.DataFrame) -> pd.DataFrame:
    """``deliberation.analysis.integer_counts``, imported when a table is saved (it brings scipy, which
    ``klero status`` must not load)."""
    from deliberation.analysis import integer_counts

    return integer_counts(table)
