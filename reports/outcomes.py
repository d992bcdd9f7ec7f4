"""Recommendations and the council's responses: validation and the feedback report's context."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sortition.errors import KleroError

STATUSES = ("adopted", "partly", "rejected", "pending")


def check_response(status: str, reason: str, due: str | None) -> None:
    """Raise if a council response is incomplete: a known status, a reason unless adopted, an ISO due date."""
    problems = []
    if status not in STATUSES:
        problems.append(f"status {status!r} is not one of {', '.join(STATUSES)}")
    if status != "adopted" and not reason.strip():
        problems.append("a reason is required unless the recommendation is adopted")
    if due:
        try:
            date.fromisoformat(due)
        except ValueError:
            problems.append(f"due date {due!r} is not a date (use YYYY-MM-DD)")
    if problems:
        raise KleroError("Council response rejected: " + "; ".join(problems) + ".", code="bad_response")


def check_support(support_pct: float | None) -> float | None:
    """Support given in percent (0..100) as a share 0..1; raise when out of range."""
    if support_pct is None:
        return None
    if not 0 <= support_pct <= 100:
        raise KleroError(f"Support {support_pct} is not a percentage between 0 and 100.", code="bad_support")
    return support_pct / 100


@dataclass(frozen=True)
class ResponseUpdate:
    """One dated council response to a recommendation (the history is kept, newest last)."""

    recorded_on: str
    status: str
    reason: str
    due: str | None
    owner: str = ""


@dataclass(frozen=True)
class RecommendationRow:
    """A recommendation in the panel's words, its support and the council's latest response."""

    number: int
    text: str
    support: float | None
    minority: str
    status: str
    reason: str
    due: str | None
    owner: str = ""
    updates: list[ResponseUpdate] = field(default_factory=list)


@dataclass(frozen=True)
class FeedbackContext:
    """The participants' feedback report (B1 language): what the council did with each recommendation."""

    process_name: str
    municipality: str
    lang: str
    report_date: str
    remit: str
    panel_size: int
    recommendations: list[RecommendationRow]
    status_counts: dict[str, int]


def recommendation_rows(
    recommendations: Iterable[Mapping[str, Any]], responses: Iterable[Mapping[str, Any]]
) -> list[RecommendationRow]:
    """Join recommendations with their dated responses; without a response the status is ``pending``."""
    by_rec: dict[int, list[ResponseUpdate]] = {}
    for r in responses:
        by_rec.setdefault(int(r["recommendation_id"]), []).append(
            ResponseUpdate(
                recorded_on=str(r["recorded_at"])[:10],
                status=str(r["status"]),
                reason=str(r["reason"]),
                due=r["due"],
                owner=str(r.get("owner") or ""),
            )
        )
    rows = []
    for number, rec in enumerate(recommendations, start=1):
        updates = by_rec.get(int(rec["id"]), [])
        latest = updates[-1] if updates else ResponseUpdate(recorded_on="", status="pending", reason="", due=None)
        rows.append(
            RecommendationRow(
                number=number,
                text=str(rec["text"]),
                support=None if rec["support"] is None else float(rec["support"]),
                minority=str(rec["minority"] or ""),
                status=latest.status,
                reason=latest.reason,
                due=latest.due,
                owner=latest.owner,
                updates=updates,
            )
        )
    return rows


def status_counts(rows: Iterable[RecommendationRow]) -> dict[str, int]:
    """How many recommendations have each status (every status present, zeros included)."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row.status] += 1
    return counts
