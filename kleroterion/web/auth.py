"""Accounts and sessions: argon2 password hashes, signed session cookies, login throttling, TOTP.

The session cookie carries only a random session id, signed (itsdangerous) so a forged or altered
cookie is refused before the store is asked; the session itself (user, CSRF token, expiry) lives in
the server store, so logging out or changing a password ends it on the server.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pyotp
from itsdangerous import BadSignature, URLSafeTimedSerializer

from kleroterion.app.accounts import verify_password
from kleroterion.store.server import ServerStore, Session, User

SESSION_COOKIE = "klero_session"
SECRET_FILE = ".klero-server-secret"  # noqa: S105 - the name of the file holding the signing key
#: Failed sign-ins allowed per username and per client within ``THROTTLE_WINDOW``.
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20
THROTTLE_WINDOW = timedelta(minutes=15)


def server_secret(root: Path) -> bytes:
    """The key that signs session cookies: created once per serve root, readable by its owner only."""
    import os

    path = root / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text(encoding="utf-8").strip())
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key + "\n")
    return bytes.fromhex(key)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: ``session`` when the password was right, else ``refused`` says why."""

    session: Session | None
    refused: str = ""  # "bad_credentials" | "throttled"


class Sessions:
    """Signing, checking and ending sessions against the server store."""

    def __init__(self, store: ServerStore, secret: bytes, *, ttl: timedelta) -> None:
        self.store = store
        self.ttl = ttl
        self._signer = URLSafeTimedSerializer(secret, salt="klero-session")

    def cookie_value(self, session: Session) -> str:
        return self._signer.dumps(session.id)

    def from_cookie(self, value: str | None) -> Session | None:
        """The live session the cookie names; ``None`` for a missing, forged, old or ended one."""
        if not value:
            return None
        try:
            session_id = self._signer.loads(value, max_age=int(self.ttl.total_seconds()))
        except BadSignature:
            return None
        return self.store.session(str(session_id))

    def sign_in(self, username: str, password: str, *, client: str) -> SignIn:
        """Check the password, throttled per username and per client; a new session when it is right
        (pending its TOTP code when the user has two-factor sign-in)."""
        by_name, by_client = self.store.recent_failures(window=THROTTLE_WINDOW, username=username, client=client)
        if by_name >= MAX_FAILURES_PER_USER or by_client >= MAX_FAILURES_PER_CLIENT:
            return SignIn(None, "throttled")
        user = self.store.user_by_name(username)
        stored = self.store.password_hash(user.id) if user else ""
        ok = verify_password(stored, password) and user is not None
        self.store.record_attempt(username, client, ok=ok)
        if not ok or user is None:
            return SignIn(None, "bad_credentials")
        return SignIn(self.start(user, totp_pending=user.totp_secret is not None))

    def start(self, user: User, *, totp_pending: bool = False) -> Session:
        return self.store.create_session(
            secrets.token_urlsafe(32), user.id, secrets.token_urlsafe(32), ttl=self.ttl, totp_pending=totp_pending
        )

    def confirm_totp(self, session: Session, code: str, *, client: str) -> Session | None:
        """Check the second factor; on success a fresh session (new id) replaces the pending one."""
        user = self.store.user_by_id(session.user_id)
        if user is None or user.totp_secret is None:
            return None
        by_name, by_client = self.store.recent_failures(window=THROTTLE_WINDOW, username=user.username, client=client)
        if by_name >= MAX_FAILURES_PER_USER or by_client >= MAX_FAILURES_PER_CLIENT:
            return None
        ok = pyotp.TOTP(user.totp_secret).verify(code.strip(), valid_window=1)
        self.store.record_attempt(user.username, client, ok=ok)
        if not ok:
            return None
        self.store.delete_session(session.id)
        return self.start(user)

    def end(self, session: Session) -> None:
        self.store.delete_session(session.id)


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="Kleroterion")
