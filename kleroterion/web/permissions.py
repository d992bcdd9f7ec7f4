"""Who may do what: the roles per process and the one check every handler goes through (``requires``).

=============  ====  ===  ======  =====
role           VIEW  RUN  MANAGE  ADMIN
=============  ====  ===  ======  =====
auditor        yes   -    -       -
medewerker     yes   yes  -       -
beheerder      yes   yes  yes     -
server admin   yes   yes  yes     yes   (every process; user management, new processes)
=============  ====  ===  ======  =====

VIEW reads (overview, reports, audit log, job pages); RUN runs the chain's steps; MANAGE is the
process's own management (purge, phase 2); ADMIN is the server's: accounts, roles, new processes.
A POST needs more than VIEW, so an auditor's every write is refused (403); the one exception is a
POST marked ``reads_only`` (starting ``audit verify``, which changes nothing in the workspace). Every POST must
carry the session's CSRF token. Checked on the server for every request; the templates only hide links.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kleroterion.store.server import Session, User
from kleroterion.web import csrf


class Permission(enum.Enum):
    VIEW = "view"
    RUN = "run"
    MANAGE = "manage"
    ADMIN = "admin"


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "auditor": frozenset({Permission.VIEW}),
    "medewerker": frozenset({Permission.VIEW, Permission.RUN}),
    "beheerder": frozenset({Permission.VIEW, Permission.RUN, Permission.MANAGE}),
}
#: A process is the name of its workspace folder under the serve root: lower-case letters, digits, dashes.
PROCESS_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of a request, with their role per process."""

    user: User
    session: Session
    roles: dict[str, str] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        """The name the audit log records for this user's actions."""
        return f"web:{self.user.username}"

    def role(self, process: str) -> str | None:
        return "beheerder" if self.user.is_admin else self.roles.get(process)

    def may(self, permission: Permission, process: str | None = None) -> bool:
        if self.user.is_admin:
            return True
        if permission is Permission.ADMIN or process is None:
            return False
        role = self.roles.get(process)
        return role is not None and permission in ROLE_PERMISSIONS[role]

    def processes(self, available: list[str]) -> list[str]:
        """The processes this user may see."""
        return list(available) if self.user.is_admin else [p for p in available if p in self.roles]


Handler = Callable[[Request, Viewer], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def current_viewer(request: Request) -> Viewer | None:
    """The viewer of a request from its session cookie; ``None`` when not (fully) signed in."""
    from kleroterion.web.auth import SESSION_COOKIE

    sessions = request.app.state.sessions
    session = sessions.from_cookie(request.cookies.get(SESSION_COOKIE))
    if session is None or session.totp_pending:
        return None
    user = sessions.store.user_by_id(session.user_id)
    if user is None:
        return None
    return Viewer(user, session, sessions.store.roles_of(user.id))


async def check_csrf(request: Request, expected: str | None) -> None:
    """Refuse (403) a POST whose form field or header does not carry ``expected``; a body larger than
    the upload limit (413) or of unknown length (411) is refused before it is read."""
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(411)
    if int(length) > request.app.state.settings.max_upload:
        raise HTTPException(413)
    given = request.headers.get(csrf.HEADER)
    if given is None:
        form = await request.form()
        value = form.get(csrf.FIELD)
        given = value if isinstance(value, str) else None
    if not csrf.tokens_match(expected, given):
        raise HTTPException(403, "csrf")


def requires(permission: Permission, *, reads_only: bool = False) -> Callable[[Handler], Endpoint]:
    """The one role check: sign-in (else to the login page), the process exists (else 404), the
    viewer's ``permission`` in it (else 403), POSTs need more than VIEW and a valid CSRF token (else 403).

    ``reads_only`` marks a POST that only starts read-only work (``audit verify``: it reads the
    workspace and writes nothing to it), which VIEW suffices for: the auditor may verify."""

    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            viewer = current_viewer(request)
            if viewer is None:
                return RedirectResponse("/login", status_code=303)
            process = request.path_params.get("process")
            if process is not None and not process_exists(request, process):
                raise HTTPException(404)
            if not viewer.may(permission, process):
                raise HTTPException(403)
            if request.method == "POST" and permission is Permission.VIEW and not reads_only:
                raise HTTPException(403)
            return await _run(handler, request, viewer)

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


def signed_in(handler: Handler) -> Endpoint:
    """Any signed-in user (their own account pages, logout); POSTs still need the CSRF token."""

    async def endpoint(request: Request) -> Response:
        viewer = current_viewer(request)
        if viewer is None:
            return RedirectResponse("/login", status_code=303)
        return await _run(handler, request, viewer)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


async def _run(handler: Handler, request: Request, viewer: Viewer) -> Response:
    """Check a POST's CSRF token, run the handler, and close the form's uploaded files whatever happens."""
    request.state.viewer = viewer
    if request.method != "POST":
        return await handler(request, viewer)
    try:
        await check_csrf(request, viewer.session.csrf_token)
        return await handler(request, viewer)
    finally:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) <= request.app.state.settings.max_upload:
            form = await request.form()  # parsed by the CSRF check: the cached form, its files to close
            await form.close()


def process_exists(request: Request, process: str) -> bool:
    root = request.app.state.root
    return bool(PROCESS_NAME.match(process)) and (root / process / "process.toml").is_file()
