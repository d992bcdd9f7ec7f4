"""``klero packet``: briefing packets — versions of pro/con arguments, balance, sign-off, receipts."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from deliberation.packets import packet_balance, source_sides, validate_arguments, validate_receipts
from kleroterion.commands.common import WorkspaceOption, console, hint, open_workspace
from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.io import read_table, sha256_file
from kleroterion.workspace import Workspace

DEFAULT_TITLE = "Informatiebrochure"


def read_arguments(path: Path) -> tuple[str | None, pd.DataFrame]:
    """Arguments from a CSV/XLSX table (rows numbered as in the sheet) or a TOML file with
    ``[[arguments]]`` tables (numbered 1, 2, … in file order) and an optional top-level ``title``."""
    if path.suffix.lower() != ".toml":
        return None, read_table(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(
            str(path), [Problem(f"not a readable TOML file: {exc}")], hint="check the file's syntax"
        ) from exc
    entries = data.get("arguments")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(
            str(path),
            [Problem("no [[arguments]] tables")],
            hint="give each argument as an [[arguments]] table with option, side, text and source",
        )
    frame = pd.DataFrame(entries, index=range(1, len(entries) + 1)).astype(object)
    title = data.get("title")
    return (str(title) if title is not None else None), frame


def import_packet(ws: Workspace, path: Path, *, title: str | None = None) -> dict[str, Any]:
    """Store the arguments of ``path`` as the next version of packet ``title`` and check its balance."""
    file_title, raw = read_arguments(path)
    arguments = validate_arguments(raw, source=path.name)
    name = title or file_title or DEFAULT_TITLE
    digest = sha256_file(path)
    ws.store.save_packet(name, arguments, source=path.name, sha256=digest)
    versions = ws.store.packet_versions()
    version = int(versions.loc[versions["title"] == name, "version"].max())
    return {
        "title": name,
        "version": version,
        "arguments": len(arguments),
        "sha256": digest,
        "balance": packet_balance(arguments),
        "sources": source_sides(arguments),
    }


def resolve_packet(ws: Workspace, title: str | None, version: int | None) -> tuple[str, int]:
    """The packet meant: the only title when none is given, the latest version when none is given."""
    versions = ws.store.packet_versions()
    if versions.empty:
        raise KleroError("No briefing packet yet: run `klero packet import FILE` first.", code="no_packet")
    titles = sorted(set(versions["title"]))
    if title is None:
        if len(titles) > 1:
            raise KleroError(f"Several packets are stored ({', '.join(titles)}): give --title.", code="packet_title")
        title = titles[0]
    if title not in titles:
        raise KleroError(f"No packet {title!r} (stored: {', '.join(titles)}).", code="packet_title")
    if version is None:
        version = int(versions.loc[versions["title"] == title, "version"].max())
    return title, version


def check_packet(ws: Workspace, *, title: str | None = None, version: int | None = None) -> dict[str, Any]:
    """Balance and one-sided sources of one packet version, with its sign-offs and receipts."""
    name, number = resolve_packet(ws, title, version)
    arguments = ws.store.packet_version_arguments(name, number)
    signoffs = ws.store.packet_signoffs()
    receipts = ws.store.packet_receipts()
    mine = (signoffs["title"] == name) & (signoffs["version"] == number)
    return {
        "title": name,
        "version": number,
        "balance": packet_balance(arguments),
        "sources": source_sides(arguments),
        "signoffs": signoffs[mine].reset_index(drop=True),
        "receipts": int(((receipts["title"] == name) & (receipts["version"] == number)).sum()),
    }


def sign_off_packet(
    ws: Workspace, *, reviewer: str, version: int, title: str | None = None, remark: str = ""
) -> dict[str, Any]:
    """Record ``reviewer``'s sign-off of a packet version; returns the version's balance check."""
    if not reviewer.strip():
        raise KleroError("Give the reviewer's name with --reviewer.", code="reviewer")
    name, number = resolve_packet(ws, title, version)
    ws.store.save_signoff(name, number, reviewer.strip(), remark=remark)
    return check_packet(ws, title=name, version=number)


def record_receipts(ws: Workspace, path: Path, *, version: int, title: str | None = None) -> dict[str, Any]:
    """Record from ``path`` (participant_id, received_on) which participants received a version."""
    name, number = resolve_packet(ws, title, version)
    known = frozenset(ws.store.participants().get("participant_id", pd.Series(dtype=str)))
    receipts = validate_receipts(read_table(path), known_ids=known, source=path.name)
    ws.store.save_receipts(name, number, receipts, source=path.name, sha256=sha256_file(path))
    return {"title": name, "version": number, "receipts": len(receipts)}


packet_app = typer.Typer(help="Briefing packets: arguments, balance, sign-off, receipts.", no_args_is_help=True)
TitleOption = Annotated[str | None, typer.Option(help="Packet title (default: the only stored packet).")]


def _print_balance(out: dict[str, Any]) -> None:
    balance = out["balance"]
    console.print(f"{out['title']} version {out['version']}: balance per option")
    console.print(balance.round(2).to_string(index=False))
    missing = balance.loc[balance["missing_side"] != "", "option"].tolist()
    if missing:
        console.print(f"[yellow]Options with a side missing:[/yellow] {', '.join(map(str, missing))}")
    one_sided = out["sources"].loc[out["sources"]["one_sided"].astype(bool), "source"].tolist()
    if one_sided:
        console.print(f"[yellow]Sources used on one side only:[/yellow] {', '.join(map(str, one_sided))}")


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
    console.print(f"Stored {out['arguments']} arguments as {out['title']!r} version {out['version']}.")
    _print_balance(out)
    hint(f"klero packet signoff --version {out['version']} --reviewer NAME (once reviewed)", workspace=workspace)


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
    reviewers = ", ".join(out["signoffs"]["reviewer"]) or "nobody yet"
    console.print(f"Signed off by: {reviewers}; received by {out['receipts']} participants.")


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
    console.print(f"{reviewer} signed off {out['title']!r} version {out['version']}.")
    _print_balance(out)
    console.print(f"Signed off by: {', '.join(out['signoffs']['reviewer'])}.")


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
    console.print(f"{out['receipts']} participants received {out['title']!r} version {out['version']}.")
