"""``klero quotas``: derive, write and import the quotas (``kleroterion.app.quotas``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.quotas import derive_workspace_quotas, import_quotas, write_quotas
from kleroterion.commands.common import WorkspaceOption, console, hint, open_workspace, progress_bars

quotas_app = typer.Typer(help="Derive and show the quotas.", no_args_is_help=True)


@quotas_app.command("derive")
def quotas_derive_cmd(
    size: Annotated[int, typer.Option(help="Panel size.")],
    workspace: WorkspaceOption = Path("."),
    tolerance: Annotated[float, typer.Option(help="Band around each target.")] = 1.0,
    shares: Annotated[list[Path] | None, typer.Option("--shares", help="Extra category,feature,share file.")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Also write the quotas to this CSV, to edit and `quotas import`.")
    ] = None,
) -> None:
    """Derive quotas proportional to the registry (plus extra shares, e.g. CBS education)."""
    with open_workspace(workspace) as ws, progress_bars() as bars:
        out = derive_workspace_quotas(ws, size=size, tolerance=tolerance, extra=shares, progress=bars)
    console.print(out.quotas[["category", "feature", "target", "min", "max"]].to_string(index=False))
    for name in out.without_shares:
        console.print(
            f"No quotas for {name}: no population shares. Pass --shares FILE (category,feature,share) "
            "or set population_shares for it in process.toml."
        )
    if out_file is not None:
        write_quotas(out.quotas, out_file)
        console.print(
            f"Written to {out_file}; edit min/max there and run `klero quotas import {out_file} --size {size}`."
        )
    else:
        hint("klero panel select --alternates N", workspace=workspace)


@quotas_app.command("import")
def quotas_import_cmd(
    file: Path,
    size: Annotated[int, typer.Option(help="Panel size.")],
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Use a category,feature,min,max file (e.g. an edited `quotas derive --out` file) as the quotas."""
    with open_workspace(workspace) as ws:
        out = import_quotas(ws, file, size=size)
    console.print(f"Imported {out.rows} quota rows (set {out.quota_set_id}) for a panel of {size}.")
    hint("klero panel select --alternates N", workspace=workspace)
