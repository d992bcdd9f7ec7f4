"""``klero replay``: redo a published draw from its publish kit alone (no workspace)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.commands.common import console


def replay_cmd(
    directory: Annotated[Path, typer.Argument(help="The publish kit folder (`klero publish-kit` wrote it).")],
) -> None:
    """Replay a draw from its publish kit (no workspace needed); exit code 1 if it does not match."""
    from kleroterion.app.replay import replay_kit

    result = replay_kit(directory)
    console.print(
        f"The kit matches its replay: draw {result.draw_id} gives the same {len(result.panel)} panel members, "
        f"{len(result.alternates)} alternates in order and {result.probabilities_compared} selection probabilities."
    )
    console.print(f"Check the anchor against the published one: {result.anchor_entry}:{result.anchor_hash}")
