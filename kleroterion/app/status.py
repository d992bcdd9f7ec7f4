"""What ``klero status`` shows: the workspace's settings, what it holds, and the latest panel draw.

Light on purpose: ``klero status`` must not import pandas, numpy or pyarrow (``tests/kleroterion/
test_cli_lazy.py``), so the panel's numbers (which need the panel module) are read only when the
workspace holds a selection draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kleroterion.workspace import Workspace

#: The tables ``klero status`` lists, in the order of the chain.
SHOWN_TABLES = ("residents", "letters", "pool_members", "selection_draws", "answers", "audit_log")


@dataclass(frozen=True)
class WorkspaceStatus:
    """The status of one workspace.

    ``counts``: rows per table of the store; ``panel``: the latest panel draw in numbers
    (``draw_id``, ``members``, ``alternates``, ``replaced``, ``draws``, ``redraws``, ``redraw_reason``,
    ...; see the panel use case's ``panel_status``), ``None`` before the first draw; ``example_label``:
    "example, synthetic data" for a shipped example's workspace, empty for a real process."""

    name: str
    municipality: str
    reference_date: str
    example: str
    example_label: str
    counts: dict[str, int] = field(default_factory=dict)
    panel: dict[str, Any] | None = None

    def shown_counts(self) -> list[tuple[str, int]]:
        """The counts ``klero status`` prints: ``SHOWN_TABLES``, 0 for a table the store lacks."""
        return [(table, self.counts.get(table, 0)) for table in SHOWN_TABLES]

    def to_record(self) -> dict[str, object]:
        """The status as plain JSON-ready data (``klero status --json``): settings, table counts, the
        panel (``alternates_left`` and ``replacements`` kept for earlier readers)."""
        return {
            "name": self.name,
            "municipality": self.municipality,
            "reference_date": self.reference_date,
            "example": self.example,
            "counts": dict(self.counts),
            "panel": self.panel,
        }


def workspace_status(ws: Workspace) -> WorkspaceStatus:
    """Read the status of ``ws`` (no writes)."""
    counts = ws.store.table_counts()
    return WorkspaceStatus(
        name=ws.settings.name,
        municipality=ws.settings.municipality,
        reference_date=ws.settings.reference_date,
        example=ws.settings.example,
        example_label=ws.example_label("en"),
        counts=counts,
        panel=_panel(ws, counts),
    )


def _panel(ws: Workspace, counts: dict[str, int]) -> dict[str, Any] | None:
    """The latest panel draw in numbers; the panel module (pandas, the engine) loads only once there is one."""
    if not counts.get("selection_draws"):
        return None
    from kleroterion.app.panel import panel_status

    status = panel_status(ws)
    return None if status is None else status.to_dict()
