"""``klero analyse``: run the poll's analysis (``kleroterion.app.analysis``) and print its headlines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.analysis import AnalysisRequest, analyse, write_tables
from kleroterion.commands.common import WorkspaceOption, console, hint, open_workspace, progress_bars


def analyse_cmd(
    workspace: WorkspaceOption = Path("."),
    pre: Annotated[str, typer.Option(help="Wave before.")] = "T1",
    post: Annotated[str, typer.Option(help="Wave after.")] = "T2",
    output: Annotated[
        Path | None, typer.Option(help="Also write every analysis table as DIR/<name>.csv (UTF-8, ',').")
    ] = None,
    weights: Annotated[
        str,
        typer.Option(
            help="raking (to the quota population margins), none, or an imported design-weight column "
            "(design-based SEs; never frequency weights)."
        ),
    ] = "raking",
) -> None:
    """The full analysis (stored in the workspace); prints opinion change and knowledge gain."""
    with open_workspace(workspace) as ws, progress_bars() as bars:
        out = analyse(ws, AnalysisRequest(pre=pre, post=post, weights=weights), progress=bars)
        threshold = ws.settings.suppression_threshold
    console.print(out.tables["opinion_change"].round(3).to_string(index=False))
    console.print(out.tables["knowledge_gain"].round(4).to_string(index=False))
    for row in out.tables["exclusions"].itertuples(index=False):
        if row.n_excluded and not row.item:
            console.print(f"Wave {row.wave}: {row.n_excluded:,} respondents absent (every answer blank), left out.")
        elif row.item:
            console.print(f"Item {row.item}: never answered, no analysis of it.")
    if output is not None:
        written = write_tables(out.tables, output, threshold=threshold)
        console.print(f"Wrote {len(written)} tables to {output}.")
    hint("klero report council --format pdf", workspace=workspace)
