"""``klero backup`` and ``klero restore``: one archive holding a whole workspace, checked when restored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.commands.common import WorkspaceOption, console, open_workspace, progress_bars


def backup_cmd(
    file: Annotated[Path, typer.Argument(help="The archive to write (a new file, e.g. backup.tar.gz).")],
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Write a consistent backup of the workspace (database, process.toml, key) to one archive, mode 0600."""
    from kleroterion.app.backup import backup_workspace

    with open_workspace(workspace) as ws, progress_bars() as bars:
        result = backup_workspace(ws, file, progress=bars)
    size = sum(m.size for m in result.members)
    console.print(
        f"Backup written to {result.archive} (mode 0600; it holds the key and personal data: keep it safe): "
        f"{', '.join(m.name for m in result.members)}, {size:,} bytes; schema version {result.schema_version}; "
        f"audit chain head: entry {result.head.entry}, {result.head.hash or '(empty log)'}.",
        markup=False,
    )


def restore_cmd(
    file: Annotated[Path, typer.Argument(help="The archive `klero backup` wrote.")],
    directory: Annotated[Path, typer.Argument(help="A new (or empty) folder to restore the workspace into.")],
    no_replay: Annotated[
        bool, typer.Option("--no-replay", help="Check the chain and digests only, without replaying draws.")
    ] = False,
) -> None:
    """Restore a backup into a new folder, check every file's SHA-256 and verify its audit record."""
    from kleroterion.app.backup import restore_workspace

    with progress_bars() as bars:
        result = restore_workspace(file, directory, replay=not no_replay, progress=bars)
    report = result.audit
    console.print(
        f"Restored into {result.target}: {', '.join(m.name for m in result.members)}, every SHA-256 as in the "
        f"manifest; schema version {result.schema_version}. Audit verify on the restored copy: the record holds, "
        f"{report.entries} chained entries up to the backup's head (entry {result.head.entry}); "
        f"{report.draws_checked} draws checked, {report.draws_replayed} replayed identically.",
        markup=False,
    )
    for note in report.not_replayable:
        console.print(f"  {note}", markup=False)
