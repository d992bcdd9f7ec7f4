"""Staff accounts of the web app: add, grant a role per process, list, change a password.

``klero user`` and the web app's user pages both call these. Passwords are hashed with argon2id
(argon2-cffi's defaults, OWASP's first choice); a new password ends every session of its user.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kleroterion.errors import KleroError
from kleroterion.store.server import ROLES, ServerStore, User

MIN_PASSWORD = 12
USERNAME = re.compile(r"^[A-Za-z0-9._-]{2,64}$")
_hasher = PasswordHasher()
#: Verified against when a username is unknown, so that case takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Account:
    """A user and their role per process."""

    username: str
    is_admin: bool
    totp: bool
    roles: dict[str, str]


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``; refuses one shorter than ``MIN_PASSWORD`` characters."""
    if len(password) < MIN_PASSWORD:
        raise KleroError(f"A password needs at least {MIN_PASSWORD} characters.", code="weak_password")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; an empty hash (unknown user) costs the same and never matches."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def add_user(root: Path, username: str, password: str, *, is_admin: bool = False) -> User:
    """A new account in the server store of ``root``."""
    if not USERNAME.match(username):
        raise KleroError(
            f"The username {username!r} is not allowed: use 2 to 64 letters, digits, dots, dashes or underscores.",
            code="bad_username",
        )
    hashed = hash_password(password)
    store = ServerStore(root)
    try:
        return store.add_user(username, hashed, is_admin=is_admin)
    finally:
        store.close()


def grant(root: Path, username: str, process: str, role: str | None) -> None:
    """Give ``username`` the ``role`` in ``process`` (a workspace folder under ``root``); ``None`` revokes."""
    if role is not None and role not in ROLES:
        raise KleroError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}.", code="bad_role")
    if not (root / process / "process.toml").is_file():
        raise KleroError(f"There is no process {process!r} in {root} (no {process}/process.toml).", code="no_process")
    store = ServerStore(root)
    try:
        store.set_role(_user(store, username).id, process, role)
    finally:
        store.close()


def set_password(root: Path, username: str, password: str) -> None:
    """A new password; every session of the user ends."""
    hashed = hash_password(password)
    store = ServerStore(root)
    try:
        store.set_password(_user(store, username).id, hashed)
    finally:
        store.close()


def list_accounts(root: Path) -> list[Account]:
    store = ServerStore(root)
    try:
        roles = store.all_roles()
        return [Account(u.username, u.is_admin, u.totp_secret is not None, roles.get(u.id, {})) for u in store.users()]
    finally:
        store.close()


def _user(store: ServerStore, username: str) -> User:
    user = store.user_by_name(username)
    if user is None:
        raise KleroError(f"There is no user {username!r}; add one with `klero user add`.", code="no_user")
    return user
