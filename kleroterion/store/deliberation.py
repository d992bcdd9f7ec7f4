"""Store methods of the Deliberative Poll: instrument, participants, waves, answers, analyses."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pandas as pd

from deliberation.instrument import Instrument
from kleroterion.store.core import StoreCore, _to_json, now_iso


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
        rows = self.query("SELECT definition FROM instruments ORDER BY id DESC LIMIT 1")
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
        rows = self.query("SELECT id, letter_code, arm, features FROM participants ORDER BY id")
        return pd.DataFrame.from_records(
            [
                {
                    "participant_id": r["id"],
                    "letter_code": r["letter_code"],
                    "arm": r["arm"],
                    **json.loads(r["features"]),
                }
                for r in rows
            ]
        )

    def save_wave(self, wave: str, answers: pd.DataFrame, *, source: str, sha256: str) -> int:
        """Store the answers of one wave (``participant_id, item_code, raw, value``), replacing earlier ones."""
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
                parameters={"wave": wave, "source": source},
                input_hashes={source: sha256},
                result={"answers": len(answers), "respondents": int(answers["participant_id"].nunique())},
            )
        return len(answers)

    def answers(self) -> pd.DataFrame:
        rows = self.query("SELECT participant_id, wave_code, item_code, raw FROM answers")
        return pd.DataFrame([tuple(r) for r in rows], columns=["participant_id", "wave", "item_code", "raw"])

    # -- briefing packets and small groups ----------------------------------------------------
    def save_packet(self, title: str, arguments: pd.DataFrame) -> int:
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
                "packet.save", parameters={"title": title, "version": version}, result={"arguments": len(arguments)}
            )
        return packet_id

    def packet_arguments(self) -> pd.DataFrame:
        """Arguments of the latest version of every packet: ``title, version, option, side, text, source``."""
        rows = self.query(
            "SELECT p.title, p.version, a.option_code, a.side, a.text, a.source FROM packet_arguments a"
            " JOIN packets p ON p.id = a.packet_id"
            " WHERE p.version = (SELECT MAX(version) FROM packets q WHERE q.title = p.title)"
            " ORDER BY p.title, a.position"
        )
        return pd.DataFrame([tuple(r) for r in rows], columns=["title", "version", "option", "side", "text", "source"])

    def save_groups(self, assignment: pd.DataFrame, *, seed: str) -> int:
        """Store a small-group assignment (``participant_id, group``), replacing any earlier one."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM group_members")
            conn.execute("DELETE FROM small_groups")
            when = now_iso()
            for group, part in assignment.groupby("group", sort=True):
                cur = conn.execute(
                    "INSERT INTO small_groups (name, assignment_seed) VALUES (?, ?)", (f"group {group}", seed)
                )
                conn.executemany(
                    "INSERT INTO group_members (group_id, participant_id, assigned_at) VALUES (?, ?, ?)",
                    [(int(cur.lastrowid or 0), str(pid), when) for pid in part["participant_id"]],
                )
            self.audit("groups.assign", parameters={"seed": seed}, result={"members": len(assignment)})
        return len(assignment)

    def groups(self) -> pd.DataFrame:
        """Active group members: ``participant_id, group`` (group name)."""
        rows = self.query(
            "SELECT m.participant_id, g.name FROM group_members m JOIN small_groups g ON g.id = m.group_id"
            " WHERE m.active = 1 ORDER BY g.id, m.participant_id"
        )
        return pd.DataFrame([tuple(r) for r in rows], columns=["participant_id", "group"])

    def save_analysis(self, kind: str, table: pd.DataFrame, *, parameters: dict[str, Any]) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO analyses (run_at, kind, parameters, result) VALUES (?, ?, ?, ?)",
                (now_iso(), kind, _to_json(parameters), table.to_json(orient="records")),
            )
            self.audit("analysis.run", parameters={"kind": kind, **parameters}, result={"rows": len(table)})
            return int(cur.lastrowid or 0)

    def analysis(self, kind: str) -> pd.DataFrame | None:
        rows = self.query("SELECT result FROM analyses WHERE kind = ? ORDER BY id DESC LIMIT 1", (kind,))
        return pd.DataFrame(json.loads(rows[0]["result"])) if rows else None
