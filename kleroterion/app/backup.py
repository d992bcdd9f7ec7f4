"""Use cases ``klero backup`` and ``klero restore``: one archive holding a whole workspace.

The archive is a gzip-compressed tar (mode 0600) of the workspace's ``process.toml``, its key file
(``.klero-key``), a consistent copy of its database (SQLite's online backup API, ``StoreCore.backup_to``,
safe while another command writes) and the compact residents copy when there is one, plus
``manifest.json``: the SHA-256 of every member, the schema version and the audit chain head of the
copied database (as ``klero audit anchor`` prints it).

A PostgreSQL workspace's database goes in as ``store.pgdump``, a plain ``pg_dump`` of its schema taken
while holding the workspace's write lock (so no writer comes between the dump and the chain head read
with it); the restore loads it into a new schema (``KLERO_DATABASE_URL``'s database when set, else the
original's), points the restored ``process.toml`` at it, and drops it again if the check below fails.

``restore_workspace`` unpacks into a new folder only. It checks the archive (gzip's CRC covers every
byte, the manifest every member's SHA-256), then runs ``verify_audit`` on the restored copy with the
manifest's chain head as an anchor, all in a private staging folder beside the target; the target
appears only when every check holds, so a damaged or tampered archive leaves nothing behind.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import secrets
import shutil
import tarfile
import tempfile
import tomllib
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kleroterion.app.audit import Anchor, AuditReport, verify_audit
from kleroterion.errors import KleroError, StoreError
from kleroterion.store.core import (
    POSTGRESQL,
    SQLITE_PREFIX,
    drop_postgres_schema,
    load_postgres_dump,
    now_iso,
)
from kleroterion.store.postgres import is_postgres_url, with_schema
from kleroterion.workspace import DATABASE_ENV, KEY_FILE, PRIVATE_FOLDER, PROCESS_FILE, Workspace
from sortition.progress import Cancel, Progress, Tracker

MANIFEST = "manifest.json"
#: A PostgreSQL workspace's database in the archive: a plain pg_dump of its schema.
PG_DUMP = "store.pgdump"
FORMAT = "kleroterion-backup-1"
#: Mode of the archive and of every file in it and restored from it: they hold personal data and the key.
PRIVATE_FILE = 0o600
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    """One file of the archive: its name (a plain file name), size in bytes and SHA-256."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class BackupResult:
    """The archive written, its members, the schema version and chain head of the copied database."""

    archive: Path
    members: tuple[Member, ...]
    schema_version: int
    head: Anchor


@dataclass(frozen=True)
class RestoreResult:
    """The restored workspace folder, its members as the manifest lists them, and the audit check of it."""

    target: Path
    members: tuple[Member, ...]
    schema_version: int
    head: Anchor
    audit: AuditReport


class BackupError(KleroError):
    """The archive cannot be used: not a klero backup, damaged or tampered with; nothing was restored."""

    code = "bad_backup"


def backup_workspace(
    ws: Workspace, archive: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> BackupResult:
    """Write ``archive`` (a new file, .tar.gz, mode 0600) holding the workspace ``ws`` (module docstring)."""
    if archive.exists():
        raise KleroError(f"{archive} already exists: give a new file name for the backup.", code="backup_exists")
    if ws.store.path.resolve().parent != ws.root.resolve():
        raise KleroError(
            f"The database {ws.store.path} is outside the workspace folder {ws.root}: `klero backup` copies a "
            "workspace whose database_url names a file in its folder (the default, sqlite:///store.sqlite).",
            code="backup_unsupported_database",
        )
    tracker = Tracker(progress, cancel)
    postgres = ws.store.dialect == POSTGRESQL
    database = PG_DUMP if postgres else ws.store.path.name
    with _staging(archive.parent, what="backup") as stage:
        tracker.step("backup", 0, 3, "copying the database")
        described: tuple[int, Anchor] | None = None
        if postgres:  # pg_dump under the workspace's write lock: no writer between the dump and its chain head
            with ws.store.transaction():
                ws.store.dump_to(stage / database)
                described = ws.store.schema_version(), _head(ws)
        else:
            ws.store.backup_to(stage / database)
        for name in (PROCESS_FILE, KEY_FILE):
            _copy_private(ws.root / name, stage / name)
        columns = ws.store.columns_path
        extra = (columns.name,) if columns.is_file() else ()
        for name in extra:
            _copy_private(columns, stage / name)
        tracker.step("backup", 1, 3, "reading the chain head of the copy")
        schema_version, head = described or _describe_copy(stage)
        names = (PROCESS_FILE, KEY_FILE, database, *extra)
        members = tuple(_member(stage / name) for name in names)
        manifest = {
            "format": FORMAT,
            "workspace": ws.settings.name,
            "created_at": now_iso(),
            "database": database,
            **({"schema": ws.store.schema} if postgres else {}),
            "schema_version": schema_version,
            "chain_head": {"entry": head.entry, "hash": head.hash},
            "members": {m.name: {"size": m.size, "sha256": m.sha256} for m in members},
        }
        tracker.step("backup", 2, 3, "packing the archive")
        _write_archive(archive, stage, names, json.dumps(manifest, indent=2, sort_keys=True).encode())
        tracker.step("backup", 3, 3)
    return BackupResult(archive, members, schema_version, head)


def restore_workspace(
    archive: Path,
    target: Path,
    *,
    replay: bool = True,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> RestoreResult:
    """Unpack ``archive`` into the new or empty folder ``target``, check it and verify its audit record.

    ``BackupError`` for an archive that is damaged, tampered with or not a klero backup; ``AuditError``
    (from ``verify_audit``) when the restored record does not hold; in both cases nothing is left."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise KleroError(
            f"{target} exists and is not an empty folder: restore into a new folder, so nothing is overwritten.",
            code="restore_target_exists",
            path=str(target),
        )
    if not archive.is_file():
        raise KleroError(f"{archive}: no such backup file.", code="no_backup", path=str(archive))
    tracker = Tracker(progress, cancel)
    with _staging(target.parent, what="restore") as stage:
        tracker.step("restore", 0, 2, "unpacking and checking the archive")
        manifest, members = _unpack(archive, stage)
        head = Anchor(int(manifest["chain_head"]["entry"]), str(manifest["chain_head"]["hash"]))
        loaded = _load_postgres(stage, manifest) if manifest["database"] == PG_DUMP else None
        tracker.step("restore", 1, 2, "verifying the audit record of the copy")
        try:
            with Workspace.open(stage) as ws:
                anchors = (head,) if head.entry else ()
                report = verify_audit(ws, anchors=anchors, replay=replay, progress=progress, cancel=cancel)
        except BaseException:
            if loaded:
                drop_postgres_schema(loaded)
            raise
        if target.exists():
            target.rmdir()  # empty, checked above
        stage.rename(target)
        target.chmod(PRIVATE_FOLDER)
        tracker.step("restore", 2, 2)
    return RestoreResult(target, members, int(manifest["schema_version"]), head, report)


def _load_postgres(stage: Path, manifest: dict[str, Any]) -> str:
    """A PostgreSQL workspace's dump loaded into a new schema (of ``KLERO_DATABASE_URL``'s database when
    set, else the backed-up one), the staged process.toml pointed at it and the dump file removed; the URL."""
    process = stage / PROCESS_FILE
    text = process.read_text(encoding="utf-8")
    url = str(tomllib.loads(text)["process"]["database_url"])
    server = os.environ.get(DATABASE_ENV, "").strip() or url
    new_url = with_schema(server, f"ws_{secrets.token_hex(8)}")
    load_postgres_dump(stage / PG_DUMP, str(manifest.get("schema", "")), new_url)
    (stage / PG_DUMP).unlink()
    process.write_text(text.replace(f'"{url}"', f'"{new_url}"', 1), encoding="utf-8")
    return new_url


@contextmanager
def _staging(parent: Path, *, what: str) -> Iterator[Path]:
    """A private temporary folder in ``parent`` (same file system, so a rename finishes it), removed on
    the way out whatever happened (after a successful restore it has been renamed away)."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".klero-{what}-", dir=parent))
    except OSError as exc:
        raise StoreError(f"Cannot write in {parent}: {exc}", code=f"{what}_failed", path=str(parent)) from exc
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _copy_private(source: Path, dest: Path) -> None:
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out, _CHUNK)


def _member(path: Path) -> Member:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return Member(path.name, path.stat().st_size, digest.hexdigest())


def _describe_copy(stage: Path) -> tuple[int, Anchor]:
    """Schema version and chain head of the database copied into ``stage`` (read from the copy, so they
    describe exactly the snapshot in the archive)."""
    with Workspace.open(stage) as copy:
        return copy.store.schema_version(), _head(copy)


def _head(ws: Workspace) -> Anchor:
    chain = ws.store.audit_chain()
    last = chain[-1] if chain else None
    return Anchor(last.entry.seq, last.entry_hash, last.entry.recorded_at) if last else Anchor(0, "")


def _write_archive(archive: Path, stage: Path, names: tuple[str, ...], manifest: bytes) -> None:
    """The archive, written to a temporary file 0600 and renamed into place (never half an archive)."""
    partial = archive.with_name(archive.name + ".partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(manifest), PRIVATE_FILE
            tar.addfile(info, io.BytesIO(manifest))
            for name in names:
                member = tar.gettarinfo(stage / name, arcname=name)
                member.mode, member.uid, member.gid, member.uname, member.gname = PRIVATE_FILE, 0, 0, "", ""
                with (stage / name).open("rb") as handle:
                    tar.addfile(member, handle)
        os.replace(partial, archive)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StoreError(f"Cannot write the backup {archive}: {exc}", code="backup_failed", path=str(archive)) from exc


def _unpack(archive: Path, stage: Path) -> tuple[dict[str, Any], tuple[Member, ...]]:
    """Extract the manifest and the members it lists into ``stage``, each checked against its SHA-256."""
    try:
        _check_gzip(archive)
        with tarfile.open(archive, mode="r:gz") as tar:
            entries = tar.getmembers()
            names = [e.name for e in entries]
            if MANIFEST not in names:
                raise _refuse(archive, "it holds no manifest.json (not a klero backup)")
            manifest = json.loads(_read(tar, entries[names.index(MANIFEST)]))
            listed = manifest["members"] if manifest.get("format") == FORMAT else None
            if not isinstance(listed, dict) or sorted(listed) != sorted(n for n in names if n != MANIFEST):
                raise _refuse(archive, "its manifest does not list exactly the files it holds")
            members = []
            for entry in entries:
                if entry.name == MANIFEST:
                    continue
                if not entry.isfile() or "/" in entry.name or entry.name in ("", ".", ".."):
                    raise _refuse(archive, f"it holds {entry.name!r}, which is not a plain file")
                digest = _extract(tar, entry, stage / entry.name)
                if digest != listed[entry.name]["sha256"]:
                    raise _refuse(archive, f"{entry.name} does not match its SHA-256 in the manifest")
                members.append(Member(entry.name, entry.size, digest))
            int(manifest["chain_head"]["entry"]), str(manifest["chain_head"]["hash"]), int(manifest["schema_version"])
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError, KeyError, TypeError) as exc:
        raise _refuse(archive, f"it cannot be read ({exc})") from exc
    _check_complete(archive, stage, str(manifest.get("database", "")))
    return manifest, tuple(members)


def _check_complete(archive: Path, stage: Path, database: str) -> None:
    """The unpacked archive holds the settings, the key and the database, and the settings name it."""
    for needed in (PROCESS_FILE, KEY_FILE, database):
        if not (stage / needed).is_file():
            raise _refuse(archive, f"it does not hold {needed or 'the database'}")
    try:  # the restored process.toml must name the restored database, never a file elsewhere
        url = tomllib.loads((stage / PROCESS_FILE).read_text(encoding="utf-8"))["process"].get("database_url")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, KeyError, AttributeError) as exc:
        raise _refuse(archive, f"its {PROCESS_FILE} cannot be read ({exc})") from exc
    if database == PG_DUMP and isinstance(url, str) and is_postgres_url(url):
        return
    if url not in (None, f"{SQLITE_PREFIX}{database}"):
        raise _refuse(archive, f"its {PROCESS_FILE} names the database {url!r}, not the {database} it holds")


def _check_gzip(archive: Path) -> None:
    """Decompress the whole archive once, to its end: gzip's CRC-32 and length then cover every byte of
    the tar, its padding and end blocks included (``tarfile`` stops reading at the end blocks)."""
    with gzip.open(archive, "rb") as handle:
        while handle.read(_CHUNK):
            pass


def _extract(tar: tarfile.TarFile, entry: tarfile.TarInfo, dest: Path) -> str:
    """Copy one member to the new file ``dest`` (0600) in chunks; its SHA-256."""
    handle = tar.extractfile(entry)
    if handle is None:
        raise tarfile.TarError(f"{entry.name} is not a file")
    digest = hashlib.sha256()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as out:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _read(tar: tarfile.TarFile, entry: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(entry)
    if handle is None:
        raise tarfile.TarError(f"{entry.name} is not a file")
    return handle.read()


def _refuse(archive: Path, why: str) -> BackupError:
    return BackupError(
        f"{archive}: refused, {why}; the archive is damaged or was changed. Nothing was restored. "
        "Use another copy of the backup.",
        path=str(archive),
    )
