"""Helpers shared by the command modules: the workspace option, the console, versions."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from kleroterion.workspace import Workspace

console = Console(highlight=False)

#: Key in the click context's ``meta`` (shared by every command of one call) set by ``klero --quiet``.
QUIET_KEY = "kleroterion.quiet"

WorkspaceOption = Annotated[
    Path, typer.Option("--workspace", "-w", help="The process workspace folder (default: the current folder).")
]


def open_workspace(path: Path) -> Workspace:
    from kleroterion.workspace import Workspace  # imported here: ``klero --help`` needs no store

    return Workspace.open(path)


def versions() -> dict[str, str]:
    """Versions of the libraries a draw depends on (recorded with every draw)."""
    out = {}
    for name in ("kleroterion", "sortition-algorithms", "highspy", "numpy", "pandas", "scipy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out
