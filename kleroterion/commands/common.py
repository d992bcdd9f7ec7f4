"""Helpers shared by the command modules: the workspace option, the console, versions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from kleroterion.progress import RichProgress
    from kleroterion.workspace import Workspace

console = Console(highlight=False)

#: Key in the click context's ``meta`` (shared by every command of one call) set by ``klero --quiet``.
QUIET_KEY = "kleroterion.quiet"

WorkspaceOption = Annotated[
    Path, typer.Option("--workspace", "-w", help="The process workspace folder (default: the current folder).")
]

RootOption = Annotated[
    Path, typer.Option("--root", help="Folder holding one workspace folder per process and the server store.")
]

EncodingOption = Annotated[
    str,
    typer.Option(
        "--encoding",
        help="CSV encoding: cp1252 (Windows-1252, what Dutch Excel opens directly; the default) or utf-8.",
    ),
]


def open_workspace(path: Path) -> Workspace:
    from kleroterion.workspace import Workspace  # imported here: ``klero --help`` needs no store

    return Workspace.open(path)


def is_quiet() -> bool:
    """True under ``klero --quiet`` (read from the running click context; False outside the CLI)."""
    from typer._click.globals import get_current_context  # typer vendors click and exposes no alias

    ctx = get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(QUIET_KEY))


def progress_bars(*, as_json: bool = False) -> RichProgress:
    """Progress bars for a command's long work: shown on a terminal, silent under --quiet or --json."""
    from kleroterion.progress import RichProgress

    try:
        terminal = sys.stdout.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        terminal = False
    return RichProgress(enabled=terminal and not (as_json or is_quiet()))


def hint(command: str, *, workspace: Path | None = None, as_json: bool = False) -> None:
    """Print the usual next step, ``Next: klero ...`` (with ``-w WORKSPACE`` unless it is the current
    folder), as the last line of a workflow command; nothing under --quiet or --json."""
    if as_json or is_quiet():
        return
    if workspace is not None and workspace != Path("."):
        command += f" -w {workspace}"
    console.print(f"Next: {command}", markup=False, soft_wrap=True)


def export_and_tell(workspace: Path, kind: str, file: Path, *, encoding: str, what: str) -> None:
    """Write the organiser's list ``kind`` (``kleroterion.lists``) to ``file`` and say what was written."""
    from kleroterion.exports import describe
    from kleroterion.lists import export_list

    with open_workspace(workspace) as ws:
        result = export_list(ws, kind, file, encoding=encoding)
    for line in describe(result, what=what):
        console.print(line, soft_wrap=True)
