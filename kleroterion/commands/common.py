"""Helpers shared by the command modules: the workspace option, the console, versions."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kleroterion.workspace import Workspace

console = Console(highlight=False)

WorkspaceOption = Annotated[
    Path, typer.Option("--workspace", "-w", help="The process workspace folder (default: the current folder).")
]

EncodingOption = Annotated[
    str,
    typer.Option(
        "--encoding",
        help="CSV encoding: cp1252 (Windows-1252, what Dutch Excel opens directly; the default) or utf-8.",
    ),
]


def open_workspace(path: Path) -> Workspace:
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
