"""``klero pool``: import sign-ups into the pool (``kleroterion.app.pool``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.pool import import_pool
from kleroterion.commands.common import WorkspaceOption, console, hint, open_workspace, progress_bars

pool_app = typer.Typer(help="Import sign-ups into the pool.", no_args_is_help=True)


@pool_app.command("import")
def pool_import_cmd(
    file: Path,
    workspace: WorkspaceOption = Path("."),
    keep_stored: Annotated[
        bool, typer.Option(help="Codes already in the pool with other answers: keep the pool's answers.")
    ] = False,
    use_sheet: Annotated[
        bool,
        typer.Option(help="Codes already in the pool with other answers: take the sheet's (only before any draw)."),
    ] = False,
) -> None:
    """Import a sign-up sheet: code plus one column per sign-up category (Dutch or English names).

    Import the same sheet again when it has grown: only the new codes are added. A code already in the
    pool with other answers stops the import until you choose --keep-stored or --use-sheet."""
    with open_workspace(workspace) as ws, progress_bars() as bars:
        out = import_pool(ws, file, keep_stored=keep_stored, use_sheet=use_sheet, progress=bars)
    console.print(f"{file.name}: {out.summary}{':' if out.conflicts else '.'}")
    kept = "changed to the sheet's answers" if out.corrected else "kept as in the pool"
    for line in out.conflicts[:20]:
        console.print(f"  {line} ({kept})")
    if len(out.conflicts) > 20:
        console.print(f"  ... and {len(out.conflicts) - 20} more (all listed in the audit log)")
    if out.ignored_columns:
        console.print(f"Columns not used: {', '.join(out.ignored_columns)}.")
    console.print(f"Added {out.members:,} sign-ups; the pool now has {out.pool_size:,} people.")
    hint("klero quotas derive --size N", workspace=workspace)
