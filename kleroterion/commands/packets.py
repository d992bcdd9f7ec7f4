"""``klero packet``: briefing packets — versions of pro/con arguments, balance, sign-off, receipts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.packets import PacketCheck, check_packet, import_packet, record_receipts, sign_off_packet
from kleroterion.commands.common import WorkspaceOption, console, hint, open_workspace

packet_app = typer.Typer(help="Briefing packets: arguments, balance, sign-off, receipts.", no_args_is_help=True)
TitleOption = Annotated[str | None, typer.Option(help="Packet title (default: the only stored packet).")]


def _print_balance(out: PacketCheck) -> None:
    console.print(f"{out.title} version {out.version}: balance per option")
    console.print(out.balance.round(2).to_string(index=False))
    missing = out.balance.loc[out.balance["missing_side"] != "", "option"].tolist()
    if missing:
        console.print(f"[yellow]Options with a side missing:[/yellow] {', '.join(map(str, missing))}")
    one_sided = out.sources.loc[out.sources["one_sided"].astype(bool), "source"].tolist()
    if one_sided:
        console.print(f"[yellow]Sources used on one side only:[/yellow] {', '.join(map(str, one_sided))}")


def _reviewers(out: PacketCheck) -> str:
    return ", ".join(out.signoffs["reviewer"]) if out.signoffs is not None else ""


@packet_app.command("import")
def packet_import_cmd(
    file: Path,
    title: Annotated[
        str | None, typer.Option(help="Packet title (default: the file's title, else 'Informatiebrochure').")
    ] = None,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Store FILE (CSV, XLSX or TOML: option, side pro/con, text, source) as the packet's next version."""
    with open_workspace(workspace) as ws:
        out = import_packet(ws, file, title=title)
    console.print(f"Stored {out.arguments} arguments as {out.title!r} version {out.version}.")
    _print_balance(out)
    hint(f"klero packet signoff --version {out.version} --reviewer NAME (once reviewed)", workspace=workspace)


@packet_app.command("list")
def packet_list_cmd(workspace: WorkspaceOption = Path(".")) -> None:
    """Every stored packet version with its sign-offs and number of receipts."""
    with open_workspace(workspace) as ws:
        versions = ws.store.packet_versions()
    console.print(versions.to_string(index=False) if len(versions) else "No packets stored.")


@packet_app.command("balance")
def packet_balance_cmd(
    title: TitleOption = None,
    version: Annotated[int | None, typer.Option(help="Version (default: the latest).")] = None,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Balance check: count and length of pro and con arguments per option, missing sides, one-sided sources."""
    with open_workspace(workspace) as ws:
        out = check_packet(ws, title=title, version=version)
    _print_balance(out)
    console.print(f"Signed off by: {_reviewers(out) or 'nobody yet'}; received by {out.receipts} participants.")


@packet_app.command("signoff")
def packet_signoff_cmd(
    version: Annotated[int, typer.Option(help="The version the reviewer approves.")],
    reviewer: Annotated[str, typer.Option(help="Name of the reviewer (advisory board member).")],
    title: TitleOption = None,
    remark: Annotated[str, typer.Option(help="Remark recorded with the sign-off.")] = "",
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Record a reviewer's sign-off of one packet version."""
    with open_workspace(workspace) as ws:
        out = sign_off_packet(ws, reviewer=reviewer, version=version, title=title, remark=remark)
    console.print(f"{reviewer} signed off {out.title!r} version {out.version}.")
    _print_balance(out)
    console.print(f"Signed off by: {_reviewers(out)}.")


@packet_app.command("receipts")
def packet_receipts_cmd(
    file: Path,
    version: Annotated[int, typer.Option(help="The version these participants received.")],
    title: TitleOption = None,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Record who received a version (FILE: participant_id, received_on as YYYY-MM-DD)."""
    with open_workspace(workspace) as ws:
        out = record_receipts(ws, file, version=version, title=title)
    console.print(f"{out.receipts} participants received {out.title!r} version {out.version}.")
