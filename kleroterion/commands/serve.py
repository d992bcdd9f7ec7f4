"""``klero serve``: the staff web app on the processes of one folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.commands.common import RootOption, console


def serve_cmd(
    root: RootOption = Path("."),
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this computer only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the staff web app (Dutch first, English by a switch) over the processes in --root."""
    import uvicorn  # only when serving: `klero --help` stays fast

    from kleroterion.app.accounts import list_accounts
    from kleroterion.web.app import create_app

    app = create_app(root)
    if not list_accounts(root):
        console.print(f"No users yet: add a server beheerder first with `klero user add NAME --admin --root {root}`.")
    console.print(f"Kleroterion web app on http://{host}:{port}/ (processes in {root.resolve()}); Ctrl+C stops it.")
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
