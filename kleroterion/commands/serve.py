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
    smtp_host: Annotated[
        str | None, typer.Option(help="SMTP server for the sign-up page's confirmation e-mails (none: no e-mail).")
    ] = None,
    smtp_port: Annotated[int, typer.Option(help="Port of the SMTP server.")] = 25,
    mail_from: Annotated[str, typer.Option(help="Sender of the confirmation e-mails.")] = "aanmelding@localhost",
) -> None:
    """Serve the staff web app (Dutch first, English by a switch) over the processes in --root."""
    import uvicorn  # only when serving: `klero --help` stays fast

    from kleroterion.app.accounts import list_accounts
    from kleroterion.web.app import WebSettings, create_app

    app = create_app(root, settings=WebSettings(smtp_host=smtp_host, smtp_port=smtp_port, mail_from=mail_from))
    if not list_accounts(root):
        console.print(f"No users yet: add a server beheerder first with `klero user add NAME --admin --root {root}`.")
    console.print(f"Kleroterion web app on http://{host}:{port}/ (processes in {root.resolve()}); Ctrl+C stops it.")
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
