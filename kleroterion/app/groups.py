"""``klero groups``: random, balanced small groups with moderators; re-assignment after a drop-out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from deliberation.groups import assign_groups, choose_move, group_balance
from kleroterion.app.participants import sync_participants
from kleroterion.errors import KleroError, ProblemCollector
from kleroterion.io import read_table
from kleroterion.seeds import fresh_seed, generator
from kleroterion.workspace import Workspace


@dataclass(frozen=True)
class GroupAssignment:
    """The panel with a ``group`` column (1..G), the groups as stored (``Store.small_groups``) and
    their balance on the chosen characteristics (``deliberation.groups.group_balance``)."""

    assignment: pd.DataFrame
    groups: pd.DataFrame
    balance: pd.DataFrame


@dataclass(frozen=True)
class Reassignment:
    """After a drop-out: the group left, who took the seat (or None), who moved where (or None) and
    the new balance."""

    group: str
    replacement: str | None
    moved: tuple[str, str] | None
    balance: pd.DataFrame


def panel_members(ws: Workspace) -> pd.DataFrame:
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


def assign_small_groups(
    ws: Workspace,
    *,
    size: int,
    balance: list[str] | None = None,
    seed: int | None = None,
    moderators: Path | None = None,
) -> GroupAssignment:
    """Randomly assign the panel to small groups balanced on ``balance`` (default: the process's sign-up
    categories, where known) and store them, with moderators from a file if given, and their balance
    (analysis ``group_balance``), in one transaction.

    The seed comes from ``secrets`` unless given (e.g. a publicly announced value) and is stored.
    """
    with ws.store.transaction():
        panel = panel_members(ws)
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
        table = _store_balance(ws, chosen)
    return GroupAssignment(assignment=assignment, groups=ws.store.small_groups(), balance=table)


def _store_balance(ws: Workspace, balance: list[str]) -> pd.DataFrame:
    """The balance of the active groups, stored as analysis ``group_balance``."""
    members = _members(ws)
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
) -> Reassignment:
    """``person`` drops out of their group. A ``replacement`` (a panel participant in no group) takes
    the seat; without one, if group sizes would differ by more than one, a member of a largest group
    who shares the drop-out's characteristics moves to the short group, drawn at random (seed from
    ``secrets`` unless given, stored in the audit log). One transaction; the new balance is stored."""
    members = _members(ws)
    if person not in set(members["participant_id"]):
        raise KleroError(f"{person} is not an active member of any small group.", code="not_in_group")
    balance = _assigned_balance(ws)
    dropout = members.set_index("participant_id").loc[person]
    moved = None
    used = None
    if replacement:
        panel = set(panel_members(ws)["participant_id"])
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
    with ws.store.transaction():
        ws.store.reassign_group_member(
            person, replacement=replacement, moved=moved, parameters={"seed": None if used is None else str(used)}
        )
        table = _store_balance(ws, balance)
    return Reassignment(group=str(dropout["group"]), replacement=replacement, moved=moved, balance=table)


def stored_groups(ws: Workspace) -> pd.DataFrame:
    """``Store.small_groups``, or a clear error when no groups have been assigned yet."""
    groups = ws.store.small_groups()
    if groups.empty:
        raise KleroError("No small groups yet: run `klero groups assign` first.", code="no_groups")
    return groups


def set_moderators(ws: Workspace, path: Path) -> pd.DataFrame:
    """Read one moderator per group from ``path`` and store them; the groups afterwards."""
    names = read_moderators(path, groups=len(stored_groups(ws)))
    ws.store.set_moderators({f"group {g}": n for g, n in names.items()})
    return ws.store.small_groups()


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
