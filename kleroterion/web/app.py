"""The staff web app: ``create_app(root)`` builds the Starlette application ``klero serve`` runs.

``root`` is the serve root: one workspace folder per process, the server store (``klero-server.sqlite``)
and the cookie-signing secret beside them. The routes (see ``ROUTES`` in ``routes``) are all behind
sign-in except the login page and the static files; every permission is checked by ``permissions``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from kleroterion.errors import KleroError
from kleroterion.store.server import ServerStore
from kleroterion.web import i18n
from kleroterion.web.auth import Sessions, server_secret
from kleroterion.web.jobs import JobQueue, ThreadJobQueue
from kleroterion.web.permissions import Permission, Viewer
from kleroterion.web.security import SecurityHeaders

log = logging.getLogger("kleroterion.web")


@dataclass(frozen=True)
class WebSettings:
    """How the server behaves; the defaults suit the embedded server on 127.0.0.1."""

    session_ttl: timedelta = timedelta(hours=8)
    #: Largest upload accepted (bytes); a larger request is refused before it is read.
    max_upload: int = 200 * 1024 * 1024
    #: Mark cookies ``Secure`` (set when served over HTTPS behind a proxy).
    secure_cookies: bool = False
    #: The public sign-up page (issue 17): seconds a form must be open before it may be sent (bots are faster),
    signup_min_fill: float = 3.0
    #: failed attempts per client address, and attempts per code, within ``signup_window`` seconds,
    signup_client_failures: int = 10
    signup_code_attempts: int = 20
    signup_window: float = 15 * 60
    #: and the SMTP host for confirmation e-mails (None: no e-mail) with its port and sender.
    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "aanmelding@localhost"


def create_app(root: Path, *, settings: WebSettings | None = None, queue: JobQueue | None = None) -> Starlette:
    """The web app over the processes in ``root`` (created if missing, private)."""
    from kleroterion.web.routes import ROUTES

    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    store = ServerStore(root)
    settings = settings or WebSettings()
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: http_error, KleroError: klero_error, Exception: internal_error},
    )
    app.state.root = root
    app.state.settings = settings
    app.state.server = store
    app.state.sessions = Sessions(store, server_secret(root), ttl=settings.session_ttl)
    app.state.jobs = queue if queue is not None else ThreadJobQueue(store)
    env = Environment(loader=PackageLoader("kleroterion.web", "templates"), autoescape=select_autoescape(default=True))
    app.state.templates = Jinja2Templates(env=env)
    return app


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200) -> Response:
    """A page in the viewer's language, with the helpers every template uses."""
    lang = i18n.language(request.cookies.get(i18n.COOKIE))
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    process = request.path_params.get("process")
    page: dict[str, Any] = {
        "lang": lang,
        "t": i18n.translator(lang),
        "num": lambda value: i18n.number(value, lang),
        "when": lambda iso: i18n.moment(iso, lang),
        "viewer": viewer,
        "csrf_token": viewer.session.csrf_token if viewer else "",
        "process_info": None,
        "may_run": bool(viewer and viewer.may(Permission.RUN, process)),
        "errors": {},
    }
    if viewer is not None and process is not None:
        from kleroterion.web.usecases import process_info

        page["process_info"] = process_info(request.app.state.root, process)
    page.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, page, status_code=status)


ERROR_KEYS = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "bad_request", 413: "too_large"}


async def http_error(request: Request, exc: Exception) -> Response:
    """The one error page (403, 404, 413, ...)."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    key = ERROR_KEYS.get(status, "bad_request" if status < 500 else "internal")
    t = i18n.translator(i18n.language(request.cookies.get(i18n.COOKIE)))
    return render(request, "error.html", {"title": t(f"error.{key}"), "message": t(f"error.{key}_text")}, status=status)


async def klero_error(request: Request, exc: Exception) -> Response:
    """A Kleroterion error outside a job (a damaged workspace, a busy store): its message on the error page."""
    t = i18n.translator(i18n.language(request.cookies.get(i18n.COOKIE)))
    message = exc.message if isinstance(exc, KleroError) else str(exc)
    return render(request, "error.html", {"title": t("error.bad_request"), "message": message}, status=400)


async def internal_error(request: Request, exc: Exception) -> Response:
    """A bug: logged by type only (no personal data in logs), a plain page for the user."""
    log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    t = i18n.translator(i18n.language(request.cookies.get(i18n.COOKIE)))
    try:
        return render(
            request, "error.html", {"title": t("error.internal"), "message": t("error.internal_text")}, status=500
        )
    except Exception:  # the error page itself failed: plain text
        return HTMLResponse(t("error.internal"), status_code=500)
