"""The web app's one door to the application: thin adapters over the use cases the handlers call.

Phase 2 swaps the bodies here for ``kleroterion.app`` use cases as they land; the handlers stay.
Heavy modules (pandas behind the registry import) load only when a use case that needs them runs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kleroterion.workspace import PROCESS_FILE, ProcessSettings, Workspace
from sortition.progress import Cancel, Progress

#: The tables the overview counts, as ``klero status`` shows them.
STATUS_TABLES = ("residents", "letters", "pool_members", "selection_draws", "answers", "audit_log")


@dataclass(frozen=True)
class ProcessInfo:
    """One process under the serve root, as the process list shows it."""

    slug: str
    name: str
    municipality: str
    example: str


@dataclass(frozen=True)
class ProcessStatus:
    """What ``klero status`` shows of a process."""

    info: ProcessInfo
    reference_date: str
    retention_date: str
    counts: dict[str, int]
    panel: dict[str, Any] | None


def list_processes(root: Path) -> list[ProcessInfo]:
    """Every workspace folder directly under ``root``, by name."""
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        info = process_info(root, folder.name)
        if info is not None:
            found.append(info)
    return found


def process_info(root: Path, slug: str) -> ProcessInfo | None:
    """The name and municipality of the process in ``root/slug``; ``None`` when there is none."""
    path = root / slug / PROCESS_FILE
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")).get("process", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return ProcessInfo(slug, slug, "", "")
    return ProcessInfo(
        slug, str(data.get("name", slug)), str(data.get("municipality", "")), str(data.get("example", ""))
    )


def create_process(root: Path, slug: str, settings: ProcessSettings, *, actor: str) -> ProcessInfo:
    """A new workspace in ``root/slug``, as ``klero init`` makes it."""
    with Workspace.create(root / slug, settings) as ws:
        _act_as(ws, actor)
    return ProcessInfo(slug, settings.name, settings.municipality, settings.example)


def process_status(root: Path, slug: str) -> ProcessStatus:
    """Settings, table counts and the latest panel draw of a process."""
    with Workspace.open(root / slug) as ws:
        counts = ws.store.table_counts()
        panel = None
        if counts.get("selection_draws"):
            from kleroterion.app.panel import panel_status

            status = panel_status(ws)
            panel = None if status is None else status.to_dict()
        s = ws.settings
        return ProcessStatus(
            info=ProcessInfo(slug, s.name, s.municipality, s.example),
            reference_date=s.reference_date,
            retention_date=s.retention_date,
            counts={t: int(counts.get(t, 0)) for t in STATUS_TABLES},
            panel=panel,
        )


def audit_log(root: Path, slug: str, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest ``limit`` audit records of a process, newest first."""
    with Workspace.open(root / slug) as ws:
        return list(reversed(ws.store.audit_records()[-limit:]))


def import_registry(
    root: Path, slug: str, path: Path, *, actor: str, progress: Progress, cancel: Cancel
) -> dict[str, Any]:
    """Validate and store a registry extract (nothing stored on any bad cell or on cancel)."""
    from kleroterion.app.registry import import_registry as run

    with Workspace.open(root / slug) as ws:
        _act_as(ws, actor)
        result = run(ws, path, progress=progress, cancel=cancel)
    return {
        "residents": result.residents,
        "restricted": result.restricted,
        "sha256": result.sha256,
        "addresses": result.addresses,
    }


def _act_as(ws: Workspace, actor: str) -> None:
    """Every audit record of this unit of work names the web user (``store.actor``)."""
    ws.store.actor = actor
