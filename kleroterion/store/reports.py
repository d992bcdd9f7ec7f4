"""Store methods of the outcome side: recommendations, council responses and rendered reports."""

from __future__ import annotations

from typing import Any

from kleroterion.errors import StoreError
from kleroterion.store.core import StoreCore, now_iso


class ReportStore(StoreCore):
    def record_report(self, *, kind: str, lang: str, fmt: str, path: str, sha256: str) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO reports (made_at, kind, lang, format, path, sha256) VALUES (?, ?, ?, ?, ?, ?)",
                (now_iso(), kind, lang, fmt, path, sha256),
            )
            self.audit(
                "report.render",
                parameters={"kind": kind, "lang": lang, "format": fmt},
                result={"path": path, "sha256": sha256},
            )
            return int(cur.lastrowid or 0)

    # -- recommendations and council responses ------------------------------------------------
    def add_recommendation(
        self, *, text: str, support: float | None, minority: str, text_en: str = "", minority_en: str = ""
    ) -> int:
        """Append one recommendation (``support`` as a share 0..1 of the panel, or None); ``text_en`` and
        ``minority_en``: the English wording, if any."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO recommendations (added_at, text, support, minority, text_en, minority_en)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (now_iso(), text, support, minority, text_en, minority_en),
            )
            rec_id = int(cur.lastrowid or 0)
            self.audit(
                "recommendation.add",
                parameters={"support": support, "has_minority": bool(minority)},
                result={"recommendation_id": rec_id},
            )
        return rec_id

    def record_response(
        self, *, recommendation_id: int, status: str, reason: str, due: str | None, owner: str = ""
    ) -> int:
        """Append one dated council response; earlier ones stay as the history of updates."""
        with self.transaction() as conn:
            if not self._scalar("SELECT COUNT(*) FROM recommendations WHERE id = ?", (recommendation_id,)):
                raise StoreError(
                    f"There is no recommendation {recommendation_id}: see `klero recommendation list`.",
                    code="no_recommendation",
                    recommendation_id=recommendation_id,
                )
            cur = conn.execute(
                "INSERT INTO council_responses (recommendation_id, recorded_at, status, reason, due, owner)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (recommendation_id, now_iso(), status, reason, due, owner),
            )
            resp_id = int(cur.lastrowid or 0)
            self.audit(
                "response.record",
                parameters={"recommendation_id": recommendation_id, "status": status, "due": due, "owner": owner},
                result={"response_id": resp_id},
            )
        return resp_id

    def recommendations(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._query("SELECT * FROM recommendations ORDER BY id")]

    def council_responses(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._query("SELECT * FROM council_responses ORDER BY recommendation_id, id")]

    def wave_respondents(self, wave: str, *, arms: tuple[str, ...]) -> int:
        """How many respondents of ``arms`` (e.g. participant, invited) answered anything in ``wave``."""
        marks = ", ".join("?" for _ in arms)
        sql = (
            "SELECT COUNT(DISTINCT a.participant_id) FROM answers a JOIN participants p ON p.id = a.participant_id"
            " WHERE a.wave_code = ? AND p.arm IN ("
        )
        return int(self._scalar(sql + marks + ")", (wave, *arms)) or 0)

    def letters_sent(self) -> int:
        """How many invitation letters the workspace holds (every letter draw together)."""
        return int(self._scalar("SELECT COUNT(*) FROM letters") or 0)
