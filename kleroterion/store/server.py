"""The server store of ``klero serve``: accounts, roles per process, sessions, login attempts and jobs.

One SQLite file in the serve root (``klero-server.sqlite``, created 0600), beside the process workspaces,
with its own migrations (``kleroterion/store/server_migrations/``). The web app's threads (request
handlers and the job worker) share one connection behind a lock; every write is one transaction.
Only SQL lives here: the web package takes and returns the plain records below.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from kleroterion.errors import StoreError
from kleroterion.store.core import _create_private, _split_sql

SERVER_DB = "klero-server.sqlite"
ROLES = ("beheerder", "medewerker", "auditor")
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True)
class User:
    """A staff account (never carries the password hash out of the store unless asked)."""

    id: int
    username: str
    is_admin: bool
    totp_secret: str | None
    created_at: str


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the cookie carries ``id`` (signed); ``csrf_token`` guards its forms."""

    id: str
    user_id: int
    csrf_token: str
    totp_pending: bool
    expires_at: str


@dataclass(frozen=True)
class Job:
    """One background job and its last known progress; ``result``/``error`` once it has finished."""

    id: str
    kind: str
    process: str
    owner: str
    state: str
    stage: str
    done: int
    total: int | None
    message: str
    cancel_requested: bool
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    created_at: str
    started_at: str | None
    finished_at: str | None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


def server_migrations() -> list[tuple[int, str, str]]:
    """The bundled server migrations as (version, name, sql), in order."""
    folder = resources.files("kleroterion.store") / "server_migrations"
    found = [
        (int(entry.name[:4]), entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql") and entry.name[:4].isdigit()
    ]
    return sorted(found)


class ServerStore:
    """The server database in ``root`` (created, private, if missing); safe to share between threads."""

    def __init__(self, root: Path) -> None:
        self.path = root / SERVER_DB
        self._lock = threading.RLock()
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            _create_private(self.path)
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"Cannot open the server database {self.path}: {exc}", path=str(self.path)) from exc
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _migrate(self) -> None:
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at TEXT NOT NULL)"
            )
            current = int(self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)
            for version, name, sql in server_migrations():
                if version <= current:
                    continue
                with self._write() as conn:
                    for statement in _split_sql(sql):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                        (version, name, _iso(_now())),
                    )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    # -- users and roles ------------------------------------------------------------------------
    def add_user(self, username: str, password_hash: str, *, is_admin: bool = False) -> User:
        """A new account; a clear error when the name is taken."""
        now = _iso(_now())
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO users (username, password_hash, is_admin, created_at, password_changed_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (username, password_hash, int(is_admin), now, now),
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"There is already a user called {username!r}.", code="user_exists") from None
        user = self.user_by_name(username)
        if user is None:  # pragma: no cover - just inserted
            raise StoreError(f"The user {username!r} was not stored.")
        return user

    def user_by_name(self, username: str) -> User | None:
        rows = self._rows("SELECT * FROM users WHERE username = ?", (username,))
        return _user(rows[0]) if rows else None

    def user_by_id(self, user_id: int) -> User | None:
        rows = self._rows("SELECT * FROM users WHERE id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    def password_hash(self, user_id: int) -> str:
        rows = self._rows("SELECT password_hash FROM users WHERE id = ?", (user_id,))
        return str(rows[0]["password_hash"]) if rows else ""

    def users(self) -> list[User]:
        return [_user(r) for r in self._rows("SELECT * FROM users ORDER BY username")]

    def set_password(self, user_id: int, password_hash: str) -> None:
        """A new password hash; every session of the user ends with it."""
        with self._write() as conn:
            conn.execute(
                "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                (password_hash, _iso(_now()), user_id),
            )
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    def set_totp_secret(self, user_id: int, secret: str | None) -> None:
        with self._write() as conn:
            conn.execute("UPDATE users SET totp_secret = ? WHERE id = ?", (secret, user_id))

    def set_admin(self, user_id: int, is_admin: bool) -> None:
        with self._write() as conn:
            conn.execute("UPDATE users SET is_admin = ? WHERE id = ?", (int(is_admin), user_id))

    def set_role(self, user_id: int, process: str, role: str | None) -> None:
        """Give the user ``role`` in ``process``; ``None`` takes the role away."""
        if role is not None and role not in ROLES:
            raise StoreError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.", code="bad_role")
        with self._write() as conn:
            conn.execute("DELETE FROM roles WHERE user_id = ? AND process = ?", (user_id, process))
            if role is not None:
                conn.execute("INSERT INTO roles (user_id, process, role) VALUES (?, ?, ?)", (user_id, process, role))

    def roles_of(self, user_id: int) -> dict[str, str]:
        """The user's role per process."""
        rows = self._rows("SELECT process, role FROM roles WHERE user_id = ? ORDER BY process", (user_id,))
        return {str(r["process"]): str(r["role"]) for r in rows}

    def all_roles(self) -> dict[int, dict[str, str]]:
        found: dict[int, dict[str, str]] = {}
        for r in self._rows("SELECT user_id, process, role FROM roles ORDER BY process"):
            found.setdefault(int(r["user_id"]), {})[str(r["process"])] = str(r["role"])
        return found

    # -- sessions -------------------------------------------------------------------------------
    def create_session(
        self, session_id: str, user_id: int, csrf_token: str, *, ttl: timedelta, totp_pending: bool
    ) -> Session:
        now = _now()
        with self._write() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (_iso(now),))
            conn.execute(
                "INSERT INTO sessions (id, user_id, csrf_token, totp_pending, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, user_id, csrf_token, int(totp_pending), _iso(now), _iso(now + ttl)),
            )
        return Session(session_id, user_id, csrf_token, totp_pending, _iso(now + ttl))

    def session(self, session_id: str) -> Session | None:
        """The live session with this id; ``None`` when unknown or expired."""
        rows = self._rows("SELECT * FROM sessions WHERE id = ? AND expires_at > ?", (session_id, _iso(_now())))
        if not rows:
            return None
        r = rows[0]
        return Session(str(r["id"]), int(r["user_id"]), str(r["csrf_token"]), bool(r["totp_pending"]), r["expires_at"])

    def confirm_totp(self, session_id: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE sessions SET totp_pending = 0 WHERE id = ?", (session_id,))

    def delete_session(self, session_id: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def delete_sessions_of(self, user_id: int) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    # -- login attempts (throttling) ------------------------------------------------------------
    def record_attempt(self, username: str, client: str, *, ok: bool) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO login_attempts (username, client, ok, at) VALUES (?, ?, ?, ?)",
                (username, client, int(ok), _iso(_now())),
            )

    def recent_failures(self, *, window: timedelta, username: str, client: str) -> tuple[int, int]:
        """Failed attempts within ``window`` for this username and from this client."""
        since = _iso(_now() - window)
        by_name = self._rows(
            "SELECT COUNT(*) FROM login_attempts WHERE username = ? AND ok = 0 AND at >= ?", (username, since)
        )
        by_client = self._rows(
            "SELECT COUNT(*) FROM login_attempts WHERE client = ? AND ok = 0 AND at >= ?", (client, since)
        )
        return int(by_name[0][0]), int(by_client[0][0])

    # -- jobs -----------------------------------------------------------------------------------
    def create_job(self, job_id: str, *, kind: str, process: str, owner: str) -> Job:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO jobs (id, kind, process, owner, state, created_at) VALUES (?, ?, ?, ?, 'queued', ?)",
                (job_id, kind, process, owner, _iso(_now())),
            )
        job = self.job(job_id)
        if job is None:  # pragma: no cover - just inserted
            raise StoreError(f"The job {job_id} was not stored.")
        return job

    def job(self, job_id: str) -> Job | None:
        rows = self._rows("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(rows[0]) if rows else None

    def jobs_of(self, process: str, *, limit: int = 20) -> list[Job]:
        rows = self._rows("SELECT * FROM jobs WHERE process = ? ORDER BY created_at DESC LIMIT ?", (process, limit))
        return [_job(r) for r in rows]

    def start_job(self, job_id: str) -> bool:
        """Mark a queued job running; False when it was cancelled before it started."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = 'running', started_at = ? WHERE id = ? AND state = 'queued'"
                " AND cancel_requested = 0",
                (_iso(_now()), job_id),
            )
            return cur.rowcount == 1

    def job_progress(self, job_id: str, stage: str, done: int, total: int | None, message: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET stage = ?, done = ?, total = ?, message = ? WHERE id = ?",
                (stage, done, total, message, job_id),
            )

    def finish_job(
        self,
        job_id: str,
        state: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        if state not in FINISHED:
            raise StoreError(f"A job cannot finish as {state!r}.")
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET state = ?, result = ?, error = ?, finished_at = ? WHERE id = ?",
                (state, _dump(result), _dump(error), _iso(_now()), job_id),
            )

    def request_cancel(self, job_id: str) -> None:
        """Ask a job to stop; a queued job is cancelled at once, a running one at its next step."""
        with self._write() as conn:
            conn.execute(
                "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state IN ('queued', 'running')", (job_id,)
            )
            conn.execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = ? WHERE id = ? AND state = 'queued'",
                (_iso(_now()), job_id),
            )

    def cancel_requested(self, job_id: str) -> bool:
        rows = self._rows("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,))
        return bool(rows and rows[0][0])

    def fail_unfinished_jobs(self, message: str) -> int:
        """Jobs left queued or running by a server that stopped: failed, with ``message``."""
        error = _dump({"code": "interrupted", "message": message, "problems": []})
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = 'failed', error = ?, finished_at = ? WHERE state IN ('queued', 'running')",
                (error, _iso(_now())),
            )
            return cur.rowcount


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _load(text: str | None) -> dict[str, Any] | None:
    return None if text is None else dict(json.loads(text))


def _user(r: sqlite3.Row) -> User:
    return User(int(r["id"]), str(r["username"]), bool(r["is_admin"]), r["totp_secret"], str(r["created_at"]))


def _job(r: sqlite3.Row) -> Job:
    return Job(
        id=str(r["id"]),
        kind=str(r["kind"]),
        process=str(r["process"]),
        owner=str(r["owner"]),
        state=str(r["state"]),
        stage=str(r["stage"]),
        done=int(r["done"]),
        total=None if r["total"] is None else int(r["total"]),
        message=str(r["message"]),
        cancel_requested=bool(r["cancel_requested"]),
        result=_load(r["result"]),
        error=_load(r["error"]),
        created_at=str(r["created_at"]),
        started_at=r["started_at"],
        finished_at=r["finished_at"],
    )
