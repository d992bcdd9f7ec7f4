"""``klero packet``: briefing packets — versions of pro/con arguments, balance, sign-off, receipts."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from deliberation.packets import packet_balance, source_sides, validate_arguments, validate_receipts
from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.io import read_table, sha256_file
from kleroterion.workspace import Workspace

DEFAULT_TITLE = "Informatiebrochure"


@dataclass(frozen=True)
class PacketCheck:
    """One packet version: its balance per option and sources (``deliberation.packets``), sign-offs
    (``reviewer, signed_at, remark``), receipts, and for an import its argument count and file hash."""

    title: str
    version: int
    balance: pd.DataFrame
    sources: pd.DataFrame
    signoffs: pd.DataFrame | None = None
    receipts: int = 0
    arguments: int = 0
    sha256: str = ""


@dataclass(frozen=True)
class ReceiptsRecorded:
    """How many participants were recorded as having received a packet version."""

    title: str
    version: int
    receipts: int


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


def import_packet(ws: Workspace, path: Path, *, title: str | None = None) -> PacketCheck:
    """Store the arguments of ``path`` as the next version of packet ``title`` and check its balance."""
    file_title, raw = read_arguments(path)
    arguments = validate_arguments(raw, source=path.name)
    name = title or file_title or DEFAULT_TITLE
    digest = sha256_file(path)
    ws.store.save_packet(name, arguments, source=path.name, sha256=digest)
    versions = ws.store.packet_versions()
    return PacketCheck(
        title=name,
        version=int(versions.loc[versions["title"] == name, "version"].max()),
        balance=packet_balance(arguments),
        sources=source_sides(arguments),
        arguments=len(arguments),
        sha256=digest,
    )


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


def check_packet(ws: Workspace, *, title: str | None = None, version: int | None = None) -> PacketCheck:
    """Balance and one-sided sources of one packet version, with its sign-offs and receipts."""
    name, number = resolve_packet(ws, title, version)
    arguments = ws.store.packet_version_arguments(name, number)
    signoffs = ws.store.packet_signoffs()
    receipts = ws.store.packet_receipts()
    mine = (signoffs["title"] == name) & (signoffs["version"] == number)
    return PacketCheck(
        title=name,
        version=number,
        balance=packet_balance(arguments),
        sources=source_sides(arguments),
        signoffs=signoffs[mine].reset_index(drop=True),
        receipts=int(((receipts["title"] == name) & (receipts["version"] == number)).sum()),
        arguments=len(arguments),
    )


def sign_off_packet(
    ws: Workspace, *, reviewer: str, version: int, title: str | None = None, remark: str = ""
) -> PacketCheck:
    """Record ``reviewer``'s sign-off of a packet version; returns the version's balance check."""
    if not reviewer.strip():
        raise KleroError("Give the reviewer's name with --reviewer.", code="reviewer")
    name, number = resolve_packet(ws, title, version)
    ws.store.save_signoff(name, number, reviewer.strip(), remark=remark)
    return check_packet(ws, title=name, version=number)


def record_receipts(ws: Workspace, path: Path, *, version: int, title: str | None = None) -> ReceiptsRecorded:
    """Record from ``path`` (participant_id, received_on) which participants received a version."""
    name, number = resolve_packet(ws, title, version)
    known = frozenset(ws.store.participants().get("participant_id", pd.Series(dtype=str)))
    receipts = validate_receipts(read_table(path), known_ids=known, source=path.name)
    ws.store.save_receipts(name, number, receipts, source=path.name, sha256=sha256_file(path))
    return ReceiptsRecorded(title=name, version=number, receipts=len(receipts))
