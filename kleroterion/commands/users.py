"""``klero user``: staff accounts of the web app (add, grant a role, list, change a password)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kleroterion.commands.common import RootOption, console
from kleroterion.errors import KleroError

user_app = typer.Typer(help="Staff accounts of the web app: add, grant, list, passwd.", no_args_is_help=True)
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]
ROLE_HELP = "beheerder (everything), medewerker (runs the steps) or auditor (read-only)."


def _read_password(from_stdin: bool) -> str:
    """The password from standard input or a hidden prompt (asked twice), never from an argument."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise KleroError("No password on standard input.", code="no_password")
        return line
    return str(typer.prompt("Password (12 characters or more)", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def add_cmd(
    name: str,
    root: RootOption = Path("."),
    admin: Annotated[bool, typer.Option("--admin", help="Server beheerder: every process, user management.")] = False,
    role: Annotated[str | None, typer.Option(help=ROLE_HELP)] = None,
    process: Annotated[str | None, typer.Option(help="The process (workspace folder name) the role is for.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user (the password is asked, or read with --password-stdin)."""
    from kleroterion.app.accounts import add_user, grant

    if (role is None) != (process is None):
        raise KleroError("Give --role and --process together.", code="usage")
    add_user(root, name, _read_password(password_stdin), is_admin=admin)
    if role is not None and process is not None:
        grant(root, name, process, role)
    console.print(f"User {name} added" + (" (server beheerder)." if admin else "."))


@user_app.command("grant")
def grant_cmd(
    name: str,
    process: Annotated[str, typer.Option(help="The process (workspace folder name).")],
    role: Annotated[str, typer.Option(help=ROLE_HELP + " 'none' takes the role away.")],
    root: RootOption = Path("."),
) -> None:
    """Give a user a role in one process (or take it away with --role none)."""
    from kleroterion.app.accounts import grant

    grant(root, name, process, None if role == "none" else role)
    console.print(f"{name}: {role} in {process}.")


@user_app.command("list")
def list_cmd(root: RootOption = Path(".")) -> None:
    """List the users and their roles."""
    from kleroterion.app.accounts import list_accounts

    accounts = list_accounts(root)
    if not accounts:
        console.print("No users yet.")
    for account in accounts:
        roles = ", ".join(f"{p}: {r}" for p, r in account.roles.items()) or "no roles"
        flags = (" \\[server beheerder]" if account.is_admin else "") + (" \\[TOTP]" if account.totp else "")
        console.print(f"{account.username}{flags} — {roles}")


@user_app.command("passwd")
def passwd_cmd(name: str, root: RootOption = Path("."), password_stdin: PasswordStdin = False) -> None:
    """Set a user's password; every session of theirs ends."""
    from kleroterion.app.accounts import set_password

    set_password(root, name, _read_password(password_stdin))
    console.print(f"Password of {name} changed; their sessions have ended.")
