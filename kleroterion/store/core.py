"""Connection, migrations, the one transactional write path and the append-only audit log."""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from kleroterion.errors import StoreBusyError, StoreError
from kleroterion.store.postgres import is_postgres_url, redact, translate_ddl

SQLITE_PREFIX = "sqlite:///"
SQLITE = "sqlite"
POSTGRESQL = "postgresql"
#: The file name a PostgreSQL workspace's derived files (the residents' Arrow copy) take their name from.
PG_PLACEHOLDER = "store.pg"

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


def migration_scripts(dialect: str = "sqlite") -> list[tuple[int, str, str]]:
    """The bundled migrations as (version, name, sql), in order. ``NNNN_name.sql`` serves both databases
    (kept to the SQL subset in kleroterion/store/postgres.py); a ``NNNN_name.pg.sql`` beside it replaces it
    on PostgreSQL. The recorded name is the plain one on both."""
    folder = resources.files("kleroterion.store") / "migrations"
    plain: dict[int, tuple[str, str]] = {}
    variants: dict[int, str] = {}
    for entry in folder.iterdir():
        name = entry.name
        if not (name.endswith(".sql") and name[:4].isdigit()):
            continue
        if name.endswith(".pg.sql"):
            variants[int(name[:4])] = entry.read_text(encoding="utf-8")
        else:
            plain[int(name[:4])] = (name, entry.read_text(encoding="utf-8"))
    return sorted(
        (version, name, variants.get(version, sql) if dialect == POSTGRESQL else sql)
        for version, (name, sql) in plain.items()
    )


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
        if is_postgres_url(url):
            self._open_postgres(url, base_dir)
        elif url.startswith(SQLITE_PREFIX):
            self._open_sqlite(url, base_dir)
        else:
            raise StoreError(
                f"Unsupported database URL {url!r}: use SQLite ('{SQLITE_PREFIX}store.sqlite', the default) or "
                "PostgreSQL ('postgresql://user@host/database?schema=name').",
                code="unsupported_database",
                url=url,
            )
        self._in_transaction = False
        #: Who acts: recorded in every audit entry (the web app sets ``web:<username>``).
        self.actor = default_actor()
        try:
            self.migrate()
            self._chain_pending()
        except BaseException:
            self._conn.close()  # a store that did not open leaves no connection behind
            raise

    def _open_sqlite(self, url: str, base_dir: Path | None) -> None:
        path = Path(url[len(SQLITE_PREFIX) :])
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        self.path = path
        self.dialect = SQLITE
        #: where the database is, for messages
        self.where = str(path)
        try:
            _create_private(path)
            self._conn: Any = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)
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

    def _open_postgres(self, url: str, base_dir: Path | None) -> None:
        """A workspace in its own schema of a PostgreSQL database (kleroterion/store/postgres.py)."""
        from kleroterion.store.postgres import PgConnection

        self.dialect = POSTGRESQL
        self._url = url
        self.where = redact(url)
        self.path = (base_dir or Path.cwd()) / PG_PLACEHOLDER
        try:
            self._conn = PgConnection(url, busy_timeout=BUSY_TIMEOUT)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusyError(BUSY_MESSAGE.format(path=self.where), path=self.where) from exc
            raise StoreError(
                f"Cannot open the workspace database {self.where}: {exc}",
                code="cannot_open_database",
                path=self.where,
            ) from exc
        except ImportError as exc:
            raise StoreError(
                f"Cannot open the workspace database {self.where}: psycopg is not installed ({exc}).",
                code="cannot_open_database",
                path=self.where,
            ) from exc

    @property
    def schema(self) -> str:
        """The PostgreSQL schema of the workspace ('' on SQLite)."""
        return str(self._conn.schema) if self.dialect == POSTGRESQL else ""

    def close(self) -> None:
        self._conn.close()

    def copy_to_new_schema(self) -> str:
        """PostgreSQL: copy the whole workspace into a fresh schema of the same database (the copy's
        migrations run first, so it has every table and trigger); returns the copy's URL."""
        from kleroterion.store.postgres import PgConnection, with_schema

        if self.dialect != POSTGRESQL:
            raise StoreError("Only a PostgreSQL workspace is copied by schema.", code="not_postgresql")
        url = with_schema(self._url, f"ws_{secrets.token_hex(8)}")
        copy = StoreCore(url)
        try:
            target = copy._conn
            if not isinstance(target, PgConnection):  # pragma: no cover - with_schema keeps the postgresql:// URL
                raise StoreError(f"{redact(url)} is not a PostgreSQL database.", code="not_postgresql")
            self._conn.copy_into(target)
        finally:
            copy.close()
        return url

    def dump_to(self, path: Path) -> None:
        """PostgreSQL: write a plain ``pg_dump`` of the workspace's schema to the new file ``path`` (0600).
        Call it inside ``transaction()``: the workspace's write lock then keeps every writer out meanwhile."""
        from kleroterion.store.postgres import dump_schema

        try:
            data = dump_schema(self._url)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"Cannot back up {self.where}: {exc}", code="backup_failed", path=self.where) from exc
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)

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
        # INTEGER PRIMARY KEY on SQLite, BIGINT on PostgreSQL: versions are given, not numbered
        number = "BIGINT" if self.dialect == POSTGRESQL else "INTEGER"
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS schema_version (version {number} PRIMARY KEY, name TEXT NOT NULL,"
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
        for version, name, sql in migration_scripts(self.dialect):
            if version in done:
                continue
            rebuilds = self.dialect == SQLITE and sql.startswith(FOREIGN_KEYS_OFF)
            if rebuilds:  # SQLite's table rebuild: foreign keys off outside the transaction, checked inside
                self._conn.execute("PRAGMA foreign_keys = OFF")
            self._begin()
            try:
                if version in self._applied_versions():  # another process applied it while this one waited
                    self._rollback()
                    continue
                for statement in _split_sql(sql):
                    for each in translate_ddl(statement) if self.dialect == POSTGRESQL else [statement]:
                        self._conn.execute(each)
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
                raise StoreBusyError(BUSY_MESSAGE.format(path=self.where), path=self.where) from exc
            if isinstance(exc, sqlite3.IntegrityError) and str(exc).startswith("append-only:"):  # migration 0022
                raise StoreError(
                    f"Refused: {str(exc).removeprefix('append-only: ')}; draws and the audit log are append-only "
                    "(`klero audit verify` checks them).",
                    code="append_only",
                ) from exc
            if isinstance(exc, sqlite3.IntegrityError):
                raise StoreError(
                    CONFLICT_MESSAGE.format(path=self.where), code="store_conflict", path=self.where
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
                raise StoreBusyError(BUSY_MESSAGE.format(path=self.where), path=self.where) from exc
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
        names = (
            self._conn.table_names()
            if self.dialect == POSTGRESQL
            else [
                r[0]
                for r in self._query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            ]
        )
        return {name: int(self._scalar(f"SELECT COUNT(*) FROM {name}")) for name in sorted(names)}  # noqa: S608


def load_postgres_dump(dump: Path, source_schema: str, url: str) -> None:
    """Load the plain ``pg_dump`` file ``dump`` of schema ``source_schema`` into the new schema ``url``
    names (``kleroterion.app.backup``); ``StoreError`` and nothing loaded if it fails."""
    from kleroterion.store.postgres import load_dump

    try:
        load_dump(dump.read_bytes(), source_schema, url)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"Cannot restore into {redact(url)}: {exc}", code="restore_failed", path=redact(url)) from exc


def drop_postgres_schema(url: str) -> None:
    """Remove the schema ``url`` names with everything in it (a restore that did not verify)."""
    from kleroterion.store.postgres import PgConnection

    conn = PgConnection(url, busy_timeout=BUSY_TIMEOUT)
    try:
        conn.drop_schema()
    finally:
        conn.close()


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
