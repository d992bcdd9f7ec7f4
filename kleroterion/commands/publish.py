"""``klero publish-kit``: write what a third party needs to replay a panel draw, without personal data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.commands.common import WorkspaceOption, console, open_workspace


def publish_kit_cmd(
    directory: Annotated[Path, typer.Argument(help="Folder to write the kit to (created if needed).")],
    workspace: WorkspaceOption = Path("."),
    draw: Annotated[int | None, typer.Option("--draw", help="The panel draw's id (default: the latest).")] = None,
) -> None:
    """Write a panel draw's publish kit (pseudonymised pool, quotas, seed, chain anchor) for `klero replay`."""
    from kleroterion.app.replay import write_publish_kit

    with open_workspace(workspace) as ws:
        kit = write_publish_kit(ws, directory, draw_id=draw)
    console.print(
        f"Wrote the publish kit of draw {kit.draw_id} to {kit.directory} ({', '.join(kit.files)}; "
        f"{kit.pool_size} people, no personal data)."
    )
    console.print(f"Publish this anchor with it: {kit.anchor_entry}:{kit.anchor_hash}")
    console.print(f"Anyone can then run: klero replay {kit.directory}")
