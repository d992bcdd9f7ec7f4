"""Connection, migrations, the one transactional write path and the append-only audit log."""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from kleroterion.errors import StoreBusyError, StoreError

SQLITE_PREFIX = "sqlite:///"

#: Seconds a writer waits for another command's write lock before it stops with "busy, try again".
BUSY_TIMEOUT = 10.0

BUSY_MESSAGE = (
    "Another klero command is writing to this workspace ({path}); nothing was stored. Try again when it has finished."
)
CONFLICT_MESSAGE = (
    "This command conflicts with something stored in the workspace ({path}) meanwhile, probably by "
    "another klero command running at the same time; nothing was stored. Check `klero status` and run "
    "the command again if it is still needed."
)


def now_iso() -> str:
    """The current time as an ISO-8601 UTC string (the store's clock)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


#: First line of a migration that rebuilds a table other tables reference (SQLite's documented twelve-step
#: procedure): the runner turns foreign keys off around its transaction and runs ``PRAGMA foreign_key_check``
#: before it commits.
FOREIGN_KEYS_OFF = "-- klero: foreign-keys-off"


def migration_scripts() -> list[tuple[int, str, str]]:
    """The bundled migrations as (version, name, sql), in order."""
    folder = resources.files("kleroterion.store") / "migrations"
    scripts = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            scripts.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(scripts)


def _create_private(path: Path) -> None:
    """Create an empty database file readable by its owner only (SQLite gives its ``-wal`` and ``-shm``
    files the same mode); an existing file is left as it is."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def default_actor() -> str:
    """Who acts when nobody says: ``cli:<login name>`` of the process."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "cli:unknown"


def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class StoreCore:
    """The database of one workspace. Only the store package touches SQL."""

    def __init__(self, url: str, *, base_dir: Path | None = None) -> None:
        if not url.startswith(SQLITE_PREFIX):
            raise StoreError(
                f"Unsupported database URL {url!r}: this version stores workspaces in SQLite "
                f"('{SQLITE_PREFIX}store.sqlite').",
                code="unsupported_database",
                url=url,
            )
        path = Path(url[len(SQLITE_PREFIX) :])
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        self.path = path
        try:
            _create_private(path)
            self._conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA journal_mode = WAL")
            # WAL with synchronous=FULL: a commit survives a power cut, a kill -9 never leaves half a write
            self._conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusyError(BUSY_MESSAGE.format(path=path), path=str(path)) from exc
            raise StoreError(
                f"Cannot open the workspace database {path}: {exc}", code="cannot_open_database", path=str(path)
            ) from exc
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"Cannot open the workspace database {path}: {exc}", code="cannot_open_database", path=str(path)
            ) from exc
        self._in_transaction = False
        #: Who acts: recorded in every audit entry (the web app sets ``web:<username>``).
        self.actor = default_actor()
        self.migrate()
        self._chain_pending()

    def close(self) -> None:
        self._conn.close()

    def backup_to(self, path: Path) -> None:
        """Write a consistent copy of the database to the new file ``path`` (mode 0600) with SQLite's
        online backup API: one step, from one read snapshot, so a writer busy meanwhile is not copied
        half-way (WAL lets the snapshot be read while it writes); ``StoreBusyError`` if it cannot be read."""
        _create_private(path)
        target = sqlite3.connect(path)
        try:
            self._conn.backup(target)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusyError(BUSY_MESSAGE.format(path=self.path), path=str(self.path)) from exc
            raise StoreError(f"Cannot back up {self.path}: {exc}", code="backup_failed", path=str(self.path)) from exc
        finally:
            target.close()

    # -- migrations -------------------------------------------------------------------------
    def schema_version(self) -> int:
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL)"
        )
        row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _applied_versions(self) -> set[int]:
        return {int(r[0]) for r in self._conn.execute("SELECT version FROM schema_version").fetchall()}

    def migrate(self) -> list[str]:
        """Apply every bundled migration the database has not recorded, each in its own transaction.

        By set, not by the highest number: a migration numbered below one already applied (branches
        merged in another order) is applied all the same."""
        self.schema_version()  # creates the table on a new database
        done = self._applied_versions()
        applied = []
        for version, name, sql in migration_scripts():
            if version in done:
                continue
            rebuilds = sql.startswith(FOREIGN_KEYS_OFF)
            if rebuilds:  # SQLite's table rebuild: foreign keys off outside the transaction, checked inside
                self._conn.execute("PRAGMA foreign_keys = OFF")
            self._begin()
            try:
                if version in self._applied_versions():  # another process applied it while this one waited
                    self._rollback()
                    continue
                for statement in _split_sql(sql):
                    self._conn.execute(statement)
                if rebuilds and self._conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                    raise sqlite3.IntegrityError("the rebuilt tables break a foreign key")
                self._conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, now_iso()),
                )
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreError(f"Migration {name} failed: {exc}", code="migration_failed", migration=name) from exc
            finally:
                if rebuilds:
                    self._conn.execute("PRAGMA foreign_keys = ON")
            applied.append(name)
        return applied

    def _chain_pending(self) -> None:
        """Chain the audit entries of a workspace made before migration 0021 (SQL cannot hash)."""
        if self._conn.execute("SELECT 1 FROM audit_log WHERE entry_hash IS NULL LIMIT 1").fetchone() is None:
            return
        from kleroterion.store.audit import chain_pending  # the audit module's mixin subclasses this class

        with self.transaction() as conn:
            chain_pending(conn)

    # -- the one write path -----------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes go through here: everything inside commits together or not at all.

        It takes the write lock first (``BEGIN IMMEDIATE``): a second writer waits up to
        ``BUSY_TIMEOUT`` seconds, then stops with ``StoreBusyError`` ("busy, try again"). A constraint
        a concurrent writer broke (``sqlite3.IntegrityError``) or a lock lost mid-way becomes a clean
        ``StoreError`` after the rollback, never a traceback and never a half state.
        """
        if self._in_transaction:
            yield self._conn
            return
        self._begin()
        self._in_transaction = True
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                raise StoreBusyError(BUSY_MESSAGE.format(path=self.path), path=str(self.path)) from exc
            if isinstance(exc, sqlite3.IntegrityError) and str(exc).startswith("append-only:"):  # migration 0022
                raise StoreError(
                    f"Refused: {str(exc).removeprefix('append-only: ')}; draws and the audit log are append-only "
                    "(`klero audit verify` checks them).",
                    code="append_only",
                ) from exc
            if isinstance(exc, sqlite3.IntegrityError):
                raise StoreError(
                    CONFLICT_MESSAGE.format(path=self.path), code="store_conflict", path=str(self.path)
                ) from exc
            raise
        finally:
            self._in_transaction = False

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``: the write lock now, or ``StoreBusyError`` after the busy timeout."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusyError(BUSY_MESSAGE.format(path=self.path), path=str(self.path)) from exc
            raise

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    # -- reading (private: only the store's modules write SQL) ------------------------------
    def _query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return list(self._conn.execute(sql, params).fetchall())

    def _scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- audit log (append-only) -------------------------------------------------------------
    def audit(
        self,
        action: str,
        *,
        parameters: dict[str, Any] | None = None,
        input_hashes: dict[str, str] | None = None,
        result: dict[str, Any] | None = None,
    ) -> int:
        """Append one chained record to the audit log (inside the current transaction if any); returns its
        number. A draw's entry also hashes the rows the draw stored (``kleroterion.store.audit``)."""
        from kleroterion.store.audit import append_entry, subject_of

        with self.transaction() as conn:
            return append_entry(
                conn,
                recorded_at=now_iso(),
                actor=self.actor,
                action=action,
                parameters=_to_json(parameters or {}),
                input_hashes=_to_json(input_hashes or {}),
                result=_to_json(result or {}),
                subject=subject_of(action, parameters or {}, result or {}),
            )

    def audit_records(self, action: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT id, recorded_at, actor, action, parameters, input_hashes, result FROM audit_log"
        params: tuple[Any, ...] = ()
        if action:
            sql += " WHERE action = ?"
            params = (action,)
        rows = self._query(sql + " ORDER BY id", params)
        return [
            {
                "id": r["id"],
                "recorded_at": r["recorded_at"],
                "actor": r["actor"],
                "action": r["action"],
                "parameters": json.loads(r["parameters"]),
                "input_hashes": json.loads(r["input_hashes"]),
                "result": json.loads(r["result"]),
            }
            for r in rows
        ]

    def table_counts(self) -> dict[str, int]:
        names = [
            r[0]
            for r in self._query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        ]
        return {name: int(self._scalar(f"SELECT COUNT(*) FROM {name}")) for name in sorted(names)}  # noqa: S608


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _split_sql(sql: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our SQL literals; a trigger's
    ``BEGIN ...; END`` body stays one statement: ``sqlite3.complete_statement`` says where it ends)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    text = "\n".join(line.split("--")[0] if "--" in line else line for line in lines)
    statements: list[str] = []
    pending = ""
    for piece in text.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip().removesuffix(";").strip())
            pending = ""
    if pending.strip(" \n;"):
        statements.append(pending.strip().removesuffix(";").strip())
    return [stmt for stmt in statements if stmt]
