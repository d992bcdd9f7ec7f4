"""``klero purge`` and ``klero person erase``: parse, call ``kleroterion.app.privacy``, print.

What is removed and what is kept, table by table and column by column, and why: ``kleroterion.app.privacy``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.privacy import COUNT_LABELS, ERASE_REASON, erase_person, purge, purge_plan
from kleroterion.commands.common import WorkspaceOption, console, open_workspace


def _print_counts(counts: dict[str, int]) -> None:
    for key, label in COUNT_LABELS.items():
        console.print(f"  {counts.get(key, 0):>8,}  {label}")


def purge_cmd(
    workspace: WorkspaceOption = Path("."),
    reason: Annotated[
        str | None, typer.Option(help="Purge now, before the retention date, for this reason (recorded).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove names, addresses, contact details and the registry extract after the retention date.

    Keeps the pseudonymised draw records and aggregates: `klero panel verify` and the reports still work.

    Says what it removes and asks for confirmation unless --yes; recorded in the audit log.
    """
    with open_workspace(workspace) as ws:
        plan = purge_plan(ws, today=date.today(), reason=reason)
        if plan.empty:
            purge(ws, today=date.today(), reason=reason)
            console.print("Nothing to remove: this workspace holds no names, addresses or contact details.")
            return
        console.print(f"This removes for good from {ws.root}:")
        _print_counts(plan.counts)
        if plan.columns_file:
            console.print(f"  and the residents copy {ws.store.columns_path.name}")
        if not yes:
            typer.confirm("Remove this personal data for good?", abort=True)
        out = purge(ws, today=date.today(), reason=reason)
    console.print(
        f"Purged. Database {out.bytes_before:,} -> {out.bytes_after:,} bytes; the deleted text is gone from "
        "the workspace files. `klero panel verify` and the reports still work."
    )
    for name, day in plan.exports:
        console.print(f"  The exported list {name} (exported {day}) holds personal data: delete every copy.")


person_app = typer.Typer(help="One person's data: erasure on request (AVG art. 17).", no_args_is_help=True)


@person_app.command("erase")
def person_erase_cmd(
    code: Annotated[str, typer.Argument(help="The invitation code on the letter, or the pool id (P...).")],
    workspace: WorkspaceOption = Path("."),
    reason: Annotated[str, typer.Option(help="Recorded in the audit log (without the code).")] = ERASE_REASON,
) -> None:
    """Erase one person's name, address, contact details and the sign-up answers no draw needs.

    The pseudonymised draw record stays, so `klero panel verify` still passes.

    AVG art. 17(3)(b) and (e) allow keeping it: it shows, and defends, that the panel was drawn fairly.

    It holds no name, address or contact detail. A sign-up no draw used yet is deleted outright.
    """
    with open_workspace(workspace) as ws:
        out = erase_person(ws, code, reason=reason)
    if not out.erased:
        console.print("Nothing left to erase for this person: already erased or purged.")
        return
    done = ["name and address"]
    if out.contact_removed:
        done.append("contact details")
    if out.sign_up_deleted:
        done.append("the sign-up (no draw used it)")
    if out.answers_dropped:
        done.append(f"{out.answers_dropped} sign-up answer(s) no draw needs")
    console.print(f"Erased: {', '.join(done)}. The pseudonymised draw record stays; recorded in the audit log.")
