"""``klero audit``: check the hash-chained audit record and print its head for publication."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.commands.common import WorkspaceOption, console, open_workspace, progress_bars

audit_app = typer.Typer(help="The tamper-evident record: verify the chain and every draw, publish its head.")


@audit_app.command("verify")
def audit_verify_cmd(
    workspace: WorkspaceOption = Path("."),
    anchor: Annotated[
        list[str] | None,
        typer.Option(
            "--anchor",
            help="A published anchor to check: the JSON file `klero audit anchor --out` wrote, or ENTRY:HASH.",
        ),
    ] = None,
    no_replay: Annotated[bool, typer.Option("--no-replay", help="Check the chain and digests only.")] = False,
) -> None:
    """Check the whole audit chain and replay every stored draw; exit code 1 naming the first broken entry."""
    from kleroterion.app.audit import read_anchor, verify_audit

    anchors = []
    for text in anchor or []:
        path = Path(text)
        source = str(path) if path.is_file() else "--anchor"
        anchors.append(read_anchor(path.read_text(encoding="utf-8") if path.is_file() else text, source=source))
    with open_workspace(workspace) as ws, progress_bars() as bars:
        report = verify_audit(ws, anchors=anchors, replay=not no_replay, progress=bars)
    console.print(
        f"The audit record holds: {report.entries} chained entries; {report.draws_checked} draws (letters and "
        f"panels) checked, {report.draws_replayed} replayed identically; {report.replacements} replacements "
        f"replayed. Head: entry {report.head.entry}, {report.head.hash}"
    )
    for note in report.not_replayable:
        console.print(f"  {note}")


@audit_app.command("anchor")
def audit_anchor_cmd(
    workspace: WorkspaceOption = Path("."),
    out: Annotated[Path | None, typer.Option("--out", help="Also write the anchor as JSON to this file.")] = None,
) -> None:
    """Print the chain head (entry number and hash) to publish; anyone can later check the log against it."""
    from kleroterion.app.audit import chain_head, write_anchor

    with open_workspace(workspace) as ws:
        head = chain_head(ws)
    if out is not None:
        write_anchor(head, out)
    console.print(f"{head.entry}:{head.hash}")
