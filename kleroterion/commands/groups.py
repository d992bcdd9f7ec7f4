"""``klero groups``: random, balanced small groups with moderators; re-assignment after a drop-out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from deliberation.groups import assign_groups, choose_move, group_balance
from kleroterion.commands.common import EncodingOption, WorkspaceOption, console, export_and_tell, hint, open_workspace
from kleroterion.commands.deliberation import sync_participants
from kleroterion.errors import KleroError, ProblemCollector
from kleroterion.exports import DEFAULT_ENCODING
from kleroterion.io import read_table
from kleroterion.lists import group_list
from kleroterion.seeds import fresh_seed, generator
from kleroterion.workspace import Workspace


def _panel(ws: Workspace) -> pd.DataFrame:
    """The participants who attend (arm ``participant``), synced from the panel if not stored yet."""
    participants = ws.store.participants()
    if participants.empty and len(ws.store.letters()):
        sync_participants(ws)
        participants = ws.store.participants()
    if participants.empty or not (participants["arm"] == "participant").any():
        raise KleroError("No panel participants yet: select the panel first.", code="no_participants")
    return participants[participants["arm"] == "participant"].reset_index(drop=True)


def read_moderators(path: Path, *, groups: int) -> dict[int, str]:
    """Moderators from a table with a ``moderator`` column (and optionally ``group``, 1..G).

    Without ``group`` the first G names go to groups 1..G in file order; more names than groups is
    an error (name the reserves elsewhere), as are fewer names, empty or repeated names.
    """
    frame = read_table(path)
    problems = ProblemCollector(path.name)
    if "moderator" not in frame.columns:
        problems.add("missing column", column="moderator")
        problems.raise_if_any("give one moderator per row in a column 'moderator' (optionally 'group')")
    names = frame["moderator"].astype(str).str.strip()
    problems.add_rows("the moderator is empty", list(names.index[names == ""]), column="moderator")
    repeated = names.index[(names != "") & names.duplicated()]
    problems.add_rows("moderator listed twice", list(repeated), column="moderator", values=names.to_dict())
    if "group" in frame.columns:
        numbers = pd.to_numeric(frame["group"], errors="coerce")
        bad = numbers.index[~numbers.isin(range(1, groups + 1))]
        problems.add_rows(
            f"group must be a number from 1 to {groups}", list(bad), column="group", values=frame["group"].to_dict()
        )
        twice = numbers.index[numbers.notna() & numbers.duplicated()]
        problems.add_rows("group has a moderator already", list(twice), column="group", values=frame["group"].to_dict())
        mapping = {int(g): n for g, n in zip(numbers, names, strict=True) if pd.notna(g)}
    else:
        mapping = dict(enumerate(names, start=1))
    if len(names) != groups and not problems:
        problems.add(f"{len(names)} moderators for {groups} groups: give exactly one per group")
    problems.raise_if_any("one moderator per group; moderators give no opinions")
    return mapping


def assign_groups_action(
    ws: Workspace,
    *,
    size: int,
    balance: list[str] | None = None,
    seed: int | None = None,
    moderators: Path | None = None,
) -> pd.DataFrame:
    """Randomly assign the panel to small groups balanced on ``balance`` (default: the process's sign-up
    categories, built-in gender, age band and education, where known) and store it, with moderators from
    a file if given.

    The seed comes from ``secrets`` unless given (e.g. a publicly announced value) and is stored.
    Returns the panel with a ``group`` column (1..G).
    """
    panel = _panel(ws)
    default = [c.name for c in ws.signup_categories]
    chosen = [c for c in default if c in panel] if balance is None else balance
    used = ws.draw_seed("groups") if seed is None else seed
    assignment = assign_groups(panel, size=size, balance=chosen, rng=generator(used))
    names = read_moderators(moderators, groups=int(assignment["group"].max())) if moderators else None
    ws.store.save_groups(
        assignment[["participant_id", "group"]],
        seed=str(used),
        moderators=names,
        parameters={"size": size, "balance": chosen},
    )
    _store_balance(ws, chosen)
    return assignment


def _store_balance(ws: Workspace, balance: list[str]) -> pd.DataFrame:
    """The balance of the active groups, stored as analysis ``group_balance``."""
    members = ws.store.groups().merge(ws.store.participants(), on="participant_id", how="left")
    table = group_balance(members, balance=balance)
    ws.store.save_analysis("group_balance", table, parameters={"balance": balance, "members": len(members)})
    return table


def current_balance(ws: Workspace, balance: list[str] | None = None) -> pd.DataFrame:
    """The balance of the stored active groups on ``balance`` (default: as at assignment)."""
    if ws.store.groups().empty:
        raise KleroError("No small groups yet: run `klero groups assign` first.", code="no_groups")
    return group_balance(_members(ws), balance=balance or _assigned_balance(ws))


def _members(ws: Workspace) -> pd.DataFrame:
    return ws.store.groups().merge(ws.store.participants(), on="participant_id", how="left")


def _assigned_balance(ws: Workspace) -> list[str]:
    records = ws.store.audit_records("groups.assign")
    return list(records[-1]["parameters"].get("balance", [])) if records else []


def reassign_after_dropout(
    ws: Workspace, person: str, *, replacement: str | None = None, seed: int | None = None
) -> dict[str, Any]:
    """``person`` drops out of their group. A ``replacement`` (a panel participant in no group) takes
    the seat; without one, if group sizes would differ by more than one, a member of a largest group
    who shares the drop-out's characteristics moves to the short group, drawn at random (seed from
    ``secrets`` unless given, stored in the audit log). Returns what happened and the new balance."""
    members = _members(ws)
    if person not in set(members["participant_id"]):
        raise KleroError(f"{person} is not an active member of any small group.", code="not_in_group")
    balance = _assigned_balance(ws)
    dropout = members.set_index("participant_id").loc[person]
    moved = None
    used = None
    if replacement:
        panel = set(_panel(ws)["participant_id"])
        if replacement not in panel:
            raise KleroError(f"Replacement {replacement} is not a panel participant.", code="bad_replacement")
        if replacement in set(members["participant_id"]):
            raise KleroError(f"Replacement {replacement} already sits in a group.", code="bad_replacement")
    else:
        used = fresh_seed() if seed is None else seed
        rest = members[members["participant_id"] != person]
        row = pd.Series({**dropout.to_dict(), "participant_id": person})
        choice = choose_move(rest, row, balance=balance, rng=generator(used))
        moved = (choice[0], str(choice[1])) if choice else None
    ws.store.reassign_group_member(
        person, replacement=replacement, moved=moved, parameters={"seed": None if used is None else str(used)}
    )
    return {
        "group": str(dropout["group"]),
        "replacement": replacement,
        "moved": moved,
        "balance": _store_balance(ws, balance),
    }


def balance_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per characteristic and value: share over all members, lowest and highest group share, and the
    largest absolute difference in percentage points."""
    return (
        table.groupby(["characteristic", "value"], sort=False)
        .agg(
            share_all=("share_all", "first"),
            min_share=("share", "min"),
            max_share=("share", "max"),
            max_abs_difference_pp=("difference_pp", lambda d: d.abs().max()),
        )
        .reset_index()
    )


groups_app = typer.Typer(help="Small groups: random balanced assignment, moderators, drop-outs.", no_args_is_help=True)


def _print_balance(table: pd.DataFrame) -> None:
    if table.empty:
        console.print("No balance characteristics chosen.")
        return
    console.print("Balance (shares; each group compared with all members):")
    console.print(balance_summary(table).round(3).to_string(index=False))


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
        assignment = assign_groups_action(ws, size=size, balance=chosen, seed=seed, moderators=moderators)
        groups = ws.store.small_groups()
        table = current_balance(ws)
    console.print(f"{len(assignment)} participants in {len(groups)} groups (sizes {sorted(set(groups['n_active']))}).")
    console.print(groups[["group", "moderator", "n_active"]].to_string(index=False))
    _print_balance(table)
    hint("klero survey import answers.csv --wave T2 (after the deliberation)", workspace=workspace)


def stored_groups(ws: Workspace) -> pd.DataFrame:
    """``Store.small_groups``, or a clear error when no groups have been assigned yet."""
    groups = ws.store.small_groups()
    if groups.empty:
        raise KleroError("No small groups yet: run `klero groups assign` first.", code="no_groups")
    return groups


def set_moderators_action(ws: Workspace, path: Path) -> pd.DataFrame:
    """Read one moderator per group from ``path`` and store them; the groups afterwards."""
    names = read_moderators(path, groups=len(stored_groups(ws)))
    ws.store.set_moderators({f"group {g}": n for g, n in names.items()})
    return ws.store.small_groups()


@groups_app.command("moderators")
def groups_moderators_cmd(file: Path, workspace: WorkspaceOption = Path(".")) -> None:
    """Set the moderators of the stored groups from FILE (moderator, optionally group)."""
    with open_workspace(workspace) as ws:
        groups = set_moderators_action(ws, file)
    console.print(groups[["group", "moderator", "n_active"]].to_string(index=False))


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
    console.print(groups[["group", "moderator", "n_active"]].to_string(index=False))
    if people is not None:
        for line in member_lines(people):
            console.print(line, soft_wrap=True)
    _print_balance(table)


def member_lines(people: pd.DataFrame) -> list[str]:
    """Each group with its moderator, then one line per member: participant id and name."""
    lines = []
    for (group, moderator), part in people.groupby(["groep", "gespreksleider"], sort=False):
        lines.append(f"group {group}" + (f" (moderator: {moderator})" if moderator else "") + ":")
        for r in part.itertuples(index=False):
            name = " ".join(str(n) for n in (r.voornamen, r.voorvoegsel, r.geslachtsnaam) if n)
            lines.append(f"  {r.deelnemer_id}  {name}")
    return lines


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
    console.print(f"{person} left {out['group']}.")
    if out["replacement"]:
        console.print(f"{out['replacement']} takes the seat in {out['group']}.")
    elif out["moved"]:
        console.print(f"{out['moved'][0]} moves to {out['moved'][1]} to keep group sizes within one.")
    else:
        console.print("Group sizes still differ by at most one: nobody moves.")
    _print_balance(out["balance"])
