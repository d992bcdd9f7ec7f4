"""``klero registry``: import the registry (BRP) extract (``kleroterion.app.registry``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.registry import import_registry
from kleroterion.commands.common import WorkspaceOption, console, hint, open_workspace, progress_bars

registry_app = typer.Typer(help="Import the registry (BRP) extract.", no_args_is_help=True)


@registry_app.command("import")
def registry_import_cmd(
    file: Path,
    workspace: WorkspaceOption = Path("."),
    mapping: Annotated[Path | None, typer.Option(help="TOML file mapping your column names to ours.")] = None,
    areas: Annotated[
        Path | None, typer.Option(help="Table postcode,huisnummer,wijk[,buurt] giving each address its wijk.")
    ] = None,
) -> None:
    """Import a BRP extract (CSV UTF-8/Windows-1252 with , or ;, XLSX or Parquet)."""
    with open_workspace(workspace) as ws, progress_bars() as bars:
        out = import_registry(ws, file, mapping=mapping, areas=areas, progress=bars)
    console.print(
        f"Imported {out.residents:,} residents at {out.addresses:,} addresses "
        f"({out.restricted} with the restricted-data flag). SHA-256 {out.sha256[:16]}…"
    )
    if out.areas is not None:
        unplaced = out.areas.unplaced_addresses
        console.print(
            f"Areas from {out.areas.areas_file}: {out.addresses - len(unplaced):,} addresses placed, "
            f"{len(unplaced):,} not placed (wijk unknown); "
            f"{out.areas.wijk_changed} residents had another wijk in the extract."
        )
        for key in unplaced[:20]:
            console.print(f"  not placed: {key.replace('|', ' ').strip()}")
        if len(unplaced) > 20:
            console.print(f"  ... and {len(unplaced) - 20} more (all listed in the audit log)")
    hint("klero letters draw --count N", workspace=workspace)
