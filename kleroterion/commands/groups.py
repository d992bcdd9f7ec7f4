"""``klero groups``: random, balanced small groups with moderators; re-assignment after a drop-out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from kleroterion.app.groups import (
    assign_small_groups,
    balance_summary,
    current_balance,
    reassign_after_dropout,
    set_moderators,
    stored_groups,
)
from kleroterion.commands.common import EncodingOption, WorkspaceOption, console, export_and_tell, hint, open_workspace
from kleroterion.exports import DEFAULT_ENCODING
from kleroterion.lists import group_list

groups_app = typer.Typer(help="Small groups: random balanced assignment, moderators, drop-outs.", no_args_is_help=True)


def _print_balance(table: pd.DataFrame) -> None:
    if table.empty:
        console.print("No balance characteristics chosen.")
        return
    console.print("Balance (shares; each group compared with all members):")
    console.print(balance_summary(table).round(3).to_string(index=False))


def _print_groups(groups: pd.DataFrame) -> None:
    console.print(groups[["group", "moderator", "n_active"]].to_string(index=False))


@groups_app.command("assign")
def groups_assign_cmd(
    size: Annotated[int, typer.Option(help="Target group size (groups differ by at most one).")] = 8,
    balance: Annotated[
        str | None, typer.Option(help="Comma-separated characteristics to balance (default: the sign-up categories).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (e.g. announced in public); default from secrets.")] = None,
    moderators: Annotated[
        Path | None, typer.Option(help="Table with a moderator column (and optionally group).")
    ] = None,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Randomly assign the panel to small groups, each as mixed as the whole."""
    chosen = [c.strip() for c in balance.split(",") if c.strip()] if balance is not None else None
    with open_workspace(workspace) as ws:
        out = assign_small_groups(ws, size=size, balance=chosen, seed=seed, moderators=moderators)
    sizes = sorted(set(out.groups["n_active"]))
    console.print(f"{len(out.assignment)} participants in {len(out.groups)} groups (sizes {sizes}).")
    _print_groups(out.groups)
    _print_balance(out.balance)
    hint("klero survey import answers.csv --wave T2 (after the deliberation)", workspace=workspace)


@groups_app.command("moderators")
def groups_moderators_cmd(file: Path, workspace: WorkspaceOption = Path(".")) -> None:
    """Set the moderators of the stored groups from FILE (moderator, optionally group)."""
    with open_workspace(workspace) as ws:
        groups = set_moderators(ws, file)
    _print_groups(groups)


@groups_app.command("list")
def groups_list_cmd(
    workspace: WorkspaceOption = Path("."),
    members: Annotated[
        bool, typer.Option("--members", help="Also list every member: participant id (for `groups reassign`), name.")
    ] = False,
) -> None:
    """The groups, their moderators and sizes, and the current balance; with --members who sits where."""
    with open_workspace(workspace) as ws:
        groups = stored_groups(ws)
        table = current_balance(ws)
        people = group_list(ws) if members else None
    _print_groups(groups)
    if people is not None:
        for (group, moderator), part in people.groupby(["groep", "gespreksleider"], sort=False):
            console.print(f"group {group}" + (f" (moderator: {moderator})" if moderator else "") + ":", soft_wrap=True)
            for r in part.itertuples(index=False):
                name = " ".join(str(n) for n in (r.voornamen, r.voorvoegsel, r.geslachtsnaam) if n)
                console.print(f"  {r.deelnemer_id}  {name}", soft_wrap=True)
    _print_balance(table)


@groups_app.command("export")
def groups_export_cmd(
    file: Path, workspace: WorkspaceOption = Path("."), encoding: EncodingOption = DEFAULT_ENCODING
) -> None:
    """Write the small groups to FILE (.csv or .xlsx): group, moderator, participant id, name, contact."""
    export_and_tell(workspace, "groups", file, encoding=encoding, what="group members")


@groups_app.command("reassign")
def groups_reassign_cmd(
    person: Annotated[str, typer.Argument(help="Participant id of the person who dropped out.")],
    replacement: Annotated[str | None, typer.Option(help="Participant id who takes the seat.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for choosing who moves; default from secrets.")] = None,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Record a drop-out and keep the groups within one of each other in size."""
    with open_workspace(workspace) as ws:
        out = reassign_after_dropout(ws, person, replacement=replacement, seed=seed)
    console.print(f"{person} left {out.group}.")
    if out.replacement:
        console.print(f"{out.replacement} takes the seat in {out.group}.")
    elif out.moved:
        console.print(f"{out.moved[0]} moves to {out.moved[1]} to keep group sizes within one.")
    else:
        console.print("Group sizes still differ by at most one: nobody moves.")
    _print_balance(out.balance)
