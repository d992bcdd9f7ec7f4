"""Sign-in, the process list, a new process, a process's overview and its audit log."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kleroterion.errors import KleroError
from kleroterion.web import csrf, i18n, usecases
from kleroterion.web.app import render
from kleroterion.web.auth import SESSION_COOKIE
from kleroterion.web.permissions import PROCESS_NAME, Permission, Viewer, requires, signed_in
from kleroterion.workspace import ProcessSettings

SAFE_NEXT = re.compile(r"^/[A-Za-z0-9/_-]*$")


def _t(request: Request) -> Any:
    return i18n.translator(i18n.language(request.cookies.get(i18n.COOKIE)))


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _set_session_cookie(request: Request, response: Response, value: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(settings.session_ttl.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
    )


# -- sign-in ------------------------------------------------------------------------------------
async def login_page(request: Request) -> Response:
    """The sign-in form, with a fresh double-submit CSRF token (the code step when only that is left)."""
    if _pending_session(request) is not None:
        return RedirectResponse("/login/totp", status_code=303)
    return _login_form(request, {}, "")


def _login_form(request: Request, errors: dict[str, str], username: str, *, status: int = 200) -> Response:
    token = csrf.new_login_token()
    response = render(
        request, "login.html", {"errors": errors, "username": username, "login_token": token}, status=status
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        token,
        max_age=1800,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
    )
    return response


async def login(request: Request) -> Response:
    """Check the password (throttled); on to the TOTP step or the process list."""
    form = await request.form()
    t = _t(request)
    given = form.get(csrf.FIELD)
    if not csrf.tokens_match(request.cookies.get(csrf.LOGIN_COOKIE), given if isinstance(given, str) else None):
        return _login_form(request, {"username": t("login.expired")}, "", status=403)
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    errors = {}
    if not username:
        errors["username"] = t("login.need_username")
    if not password:
        errors["password"] = t("login.need_password")
    if errors:
        return _login_form(request, errors, username, status=400)
    outcome = request.app.state.sessions.sign_in(username, password, client=_client(request))
    if outcome.session is None:
        if outcome.refused == "throttled":
            return _login_form(request, {"username": t("login.throttled")}, username, status=429)
        return _login_form(request, {"username": t("login.bad")}, username, status=400)
    target = "/login/totp" if outcome.session.totp_pending else "/"
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(request, response, request.app.state.sessions.cookie_value(outcome.session))
    response.delete_cookie(csrf.LOGIN_COOKIE)
    return response


def _pending_session(request: Request) -> Any:
    session = request.app.state.sessions.from_cookie(request.cookies.get(SESSION_COOKIE))
    return session if session is not None and session.totp_pending else None


async def totp_page(request: Request) -> Response:
    """The second step of sign-in for a user with two-factor sign-in."""
    session = _pending_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "totp.html", {"csrf_token": session.csrf_token})


async def totp(request: Request) -> Response:
    session = _pending_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    form = await request.form()
    given = form.get(csrf.FIELD)
    if not csrf.tokens_match(session.csrf_token, given if isinstance(given, str) else None):
        return render(request, "error.html", {"title": _t(request)("error.forbidden"), "message": ""}, status=403)
    code = str(form.get("code", ""))
    confirmed = request.app.state.sessions.confirm_totp(session, code, client=_client(request))
    if confirmed is None:
        errors = {"code": _t(request)("totp.bad")}
        return render(request, "totp.html", {"csrf_token": session.csrf_token, "errors": errors}, status=400)
    response = RedirectResponse("/", status_code=303)
    _set_session_cookie(request, response, request.app.state.sessions.cookie_value(confirmed))
    return response


@signed_in
async def logout(request: Request, viewer: Viewer) -> Response:
    """End the session on the server and forget the cookie."""
    request.app.state.sessions.end(viewer.session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


async def switch_language(request: Request) -> Response:
    """Remember the language and go back to the page (a local path only)."""
    lang = i18n.language(request.path_params["lang"])
    target = request.query_params.get("next", "/")
    if not SAFE_NEXT.match(target) or target.startswith("//"):
        target = "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(i18n.COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


# -- processes ----------------------------------------------------------------------------------
@signed_in
async def process_list(request: Request, viewer: Viewer) -> Response:
    """The processes the user has a role in (a server beheerder sees all)."""
    every = usecases.list_processes(request.app.state.root)
    visible = set(viewer.processes([p.slug for p in every]))
    return render(request, "processes.html", {"processes": [p for p in every if p.slug in visible]})


EMPTY_PROCESS = {
    "name": "",
    "municipality": "",
    "slug": "",
    "reference_date": "",
    "retention_date": "",
    "language": "nl",
}


@requires(Permission.ADMIN)
async def new_process_page(request: Request, viewer: Viewer) -> Response:
    return render(request, "process_new.html", {"form": EMPTY_PROCESS})


@requires(Permission.ADMIN)
async def new_process(request: Request, viewer: Viewer) -> Response:
    """Create a workspace as ``klero init`` does (optionally the Peel en Maas example)."""
    raw = await request.form()
    form = {key: str(raw.get(key, "")).strip() for key in (*EMPTY_PROCESS, "example")}
    errors = _process_errors(request, form)
    if errors:
        return render(request, "process_new.html", {"form": form, "errors": errors}, status=400)
    settings = ProcessSettings(
        name=form["name"],
        municipality=form["municipality"],
        language=form["language"],
        reference_date=form["reference_date"] or date.today().isoformat(),
        retention_date=form["retention_date"],
        example="peel-en-maas" if form["example"] else "",
    )
    try:
        usecases.create_process(request.app.state.root, form["slug"], settings, actor=viewer.actor)
    except KleroError as exc:
        return render(request, "process_new.html", {"form": form, "errors": {"slug": exc.message}}, status=400)
    return RedirectResponse(f"/p/{form['slug']}", status_code=303)


def _process_errors(request: Request, form: dict[str, str]) -> dict[str, str]:
    t = _t(request)
    errors = {}
    for key in ("name", "municipality"):
        if not form[key]:
            errors[key] = t(f"new.need_{key}")
    if not PROCESS_NAME.match(form["slug"]):
        errors["slug"] = t("new.bad_slug")
    elif (request.app.state.root / form["slug"]).exists():
        errors["slug"] = t("new.slug_taken")
    for key in ("reference_date", "retention_date"):
        if form[key]:
            try:
                date.fromisoformat(form[key])
            except ValueError:
                errors[key] = t("new.bad_date")
    if form["language"] not in ("nl", "en"):
        errors["language"] = t("new.bad_language")
    return errors


@requires(Permission.VIEW)
async def process_overview(request: Request, viewer: Viewer) -> Response:
    """What ``klero status`` shows, and the process's recent jobs."""
    slug = request.path_params["process"]
    status = usecases.process_status(request.app.state.root, slug)
    jobs = request.app.state.server.jobs_of(slug, limit=10)
    return render(request, "process.html", {"status": status, "jobs": jobs})


@requires(Permission.VIEW)
async def audit_page(request: Request, viewer: Viewer) -> Response:
    """The newest audit records (read-only, every role)."""
    records = usecases.audit_log(request.app.state.root, request.path_params["process"])
    return render(request, "audit.html", {"records": records})
