"""CSRF protection: every POST carries the session's token (form field or ``X-CSRF-Token`` header).

Signed-in pages use the token stored with the session. The sign-in form, before there is a session,
uses a double-submit token: a random value in a short-lived cookie that the form must repeat.
"""

from __future__ import annotations

import hmac
import secrets

FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "klero_login_csrf"


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; an empty or missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def new_login_token() -> str:
    return secrets.token_urlsafe(32)
