"""The invitee's sign-up pages (issue 17): no login, one page per process at ``/aanmelden/{process}``.

Enter the code from the letter (or open the letter's link: the code travels in the URL's fragment, which
the browser never sends, and ``signup.js`` copies it into the field), read what the process is about,
answer the process's questions, leave contact details, give consent, and get a confirmation (and an
e-mail where the server has an SMTP host). Changing or withdrawing asks the code plus the postcode and
house number of the letter's address. The code never appears in a URL, a log line or a redirect: it
travels in POST bodies only.

Protection without a CAPTCHA: a double-submit CSRF token (a random cookie and an HMAC of it with the
time the form was shown), which also gives the minimum fill time; a honeypot field; rate limits per client
(failed attempts) and per code (all attempts), kept in this server process; one generic answer for an
unknown and a used code; the use case compares codes in constant time.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
import smtplib
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from kleroterion.app import signup
from kleroterion.web import i18n
from kleroterion.web.app import render
from kleroterion.web.auth import server_secret
from kleroterion.web.permissions import process_exists
from kleroterion.workspace import Workspace

log = logging.getLogger("kleroterion.web.public")

COOKIE = "klero_signup"
FIELD = "csrf_token"
HONEYPOT = "website"
#: A form older than this is refused as expired (seconds).
TOKEN_TTL = 2 * 3600
#: Who the audit log names for what invitees do on the public page.
ACTOR = "web:aanmelding"
#: The largest public POST body accepted (bytes).
MAX_BODY = 16 * 1024


# -- rate limits -------------------------------------------------------------------------------
class Throttle:
    """At most ``limit`` hits per key in a sliding ``window`` (seconds), kept in memory (one server process
    per serve root, as ``klero serve`` runs)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def blocked(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return len(self._recent(key, now)) >= self.limit

    def hit(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(key, now).append(now)
            if len(self._hits) > 50_000:  # forget keys without recent hits
                for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                    del self._hits[stale]


@dataclass
class PublicState:
    """What the public pages keep per server: the throttles, the token key, the mail sender."""

    secret: bytes
    clients: Throttle  # failed attempts per client address
    codes: Throttle  # every attempt per code
    mailer: ThreadPoolExecutor


_STATE_LOCK = threading.Lock()


def _state(request: Request) -> PublicState:
    app = request.app
    state: PublicState | None = getattr(app.state, "public", None)
    if state is None:
        with _STATE_LOCK:
            state = getattr(app.state, "public", None)
            if state is None:
                s = app.state.settings
                state = PublicState(
                    secret=hashlib.sha256(b"signup-csrf" + server_secret(app.state.root)).digest(),
                    clients=Throttle(s.signup_client_failures, s.signup_window),
                    codes=Throttle(s.signup_code_attempts, s.signup_window),
                    mailer=ThreadPoolExecutor(max_workers=1, thread_name_prefix="klero-mail"),
                )
                app.state.public = state
    return state


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _code_key(typed: str) -> str:
    return hashlib.sha256(signup.normalise_code(typed).encode()).hexdigest()[:24]


# -- tokens: CSRF and the minimum fill time ----------------------------------------------------
def _token(state: PublicState, cookie: str, issued: int | None = None) -> str:
    issued = int(time.time()) if issued is None else issued
    mac = hmac.new(state.secret, f"{cookie}|{issued}".encode(), hashlib.sha256).hexdigest()
    return f"{issued}.{mac}"


def _token_age(state: PublicState, cookie: str | None, token: str) -> float | None:
    """Seconds since the form with ``token`` was shown; None when the token is not this browser's or expired."""
    issued, _, _ = token.partition(".")
    if not cookie or not issued.isdigit():
        return None
    if not hmac.compare_digest(_token(state, cookie, int(issued)).encode(), token.encode()):
        return None
    age = time.time() - int(issued)
    return age if 0 <= age <= TOKEN_TTL else None


# -- the workspace of a request ----------------------------------------------------------------
_LOCAL = threading.local()


class _OpenWorkspaces(dict[Path, tuple[Workspace, object]]):
    """A worker thread's open workspaces; closed when the thread ends (its thread-local data goes), so no
    connection is left open (PostgreSQL: a server connection per idle worker thread)."""

    def __del__(self) -> None:
        for ws, _identity in self.values():
            with contextlib.suppress(Exception):
                ws.store.close()


def _workspace(root: Path, slug: str) -> Workspace:
    """The process's workspace, one open connection per worker thread (a sign-up burst opens no files)."""
    cache: _OpenWorkspaces | None = getattr(_LOCAL, "workspaces", None)
    if cache is None:
        cache = _LOCAL.workspaces = _OpenWorkspaces()
    path = root / slug
    found = cache.get(path)
    if found is not None and not signup.same_database(*found):  # the folder was replaced: open the new one
        found[0].store.close()
        found = None
    if found is None:
        found = cache[path] = signup.open_long_lived(path, ACTOR)
    return found[0]


def _in_workspace(request: Request, work: Callable[[Workspace], Any]) -> Any:
    """Run ``work`` on the process's workspace in a worker thread (the event loop never waits for SQLite)."""
    root, slug = request.app.state.root, request.path_params["process"]
    return run_in_threadpool(lambda: work(_workspace(root, slug)))


# -- rendering ---------------------------------------------------------------------------------
def _t(request: Request) -> Callable[..., str]:
    return i18n.translator(i18n.language(request.cookies.get(i18n.COOKIE)))


def _lang(request: Request) -> str:
    return i18n.language(request.cookies.get(i18n.COOKIE))


def _page(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200, fresh_token: bool = True
) -> Response:
    """A public page with the process's name, a fresh form token and the CSRF cookie (set when missing)."""
    state = _state(request)
    cookie = request.cookies.get(COOKIE) or secrets.token_urlsafe(32)
    from kleroterion.web.usecases import process_info

    info = process_info(request.app.state.root, request.path_params["process"])
    base = {
        "slug": request.path_params["process"],
        "process": info,
        "form_token": _token(state, cookie) if fresh_token else context.get("form_token", ""),
        "honeypot": HONEYPOT,
    }
    response = render(request, template, {**base, **context}, status=status)
    if request.cookies.get(COOKIE) != cookie:
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=TOKEN_TTL,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
            path="/aanmelden",
        )
    return response


async def _form(request: Request) -> FormData:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(411)
    if int(length) > MAX_BODY:
        raise HTTPException(413)
    return await request.form()


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _check_process(request: Request) -> None:
    if not process_exists(request, request.path_params["process"]):
        raise HTTPException(404)


async def _settings(request: Request) -> signup.PageSettings:
    result: signup.PageSettings = await _in_workspace(request, signup.page_settings)
    return result


def _closed(request: Request, settings: signup.PageSettings, *, status: int = 200) -> Response:
    return _page(request, "signup/closed.html", {"page": settings, "effective": settings.effective()}, status=status)


def _pre_refusal(request: Request, form: FormData) -> tuple[str, int] | None:
    """The checks of a public POST that need no store: the form token, the client's failures, the honeypot.
    Returns (message key, status) when refused."""
    state = _state(request)
    if _token_age(state, request.cookies.get(COOKIE), _text(form, FIELD)) is None:
        return "signup.expired", 403
    if state.clients.blocked(_client(request)):
        return "signup.throttled", 429
    if _text(form, HONEYPOT):
        state.clients.hit(_client(request))
        log.info("sign-up refused: honeypot filled")
        return "signup.bad_code", 400
    return None


def _refused(request: Request, settings: signup.PageSettings, pre: tuple[str, int] | None) -> Response | None:
    """The page for a refused POST: the page is not open, or ``pre`` refused it."""
    if settings.effective() not in ("open", "test"):
        return _closed(request, settings, status=403)
    if pre is not None:
        return _code_page(request, settings, {"code": _t(request)(pre[0])}, status=pre[1])
    return None


async def _guard(request: Request, form: FormData) -> tuple[str, signup.PageSettings, Response | None]:
    """The checks every public POST passes first: the process, the page's state, the form token, the
    honeypot and the client's failures. Returns (effective state, settings, a response when refused)."""
    _check_process(request)
    pre = _pre_refusal(request, form)
    settings = await _settings(request)
    return settings.effective(), settings, _refused(request, settings, pre)


def _code_page(
    request: Request, settings: signup.PageSettings, errors: dict[str, str], *, status: int = 200, typed: str = ""
) -> Response:
    context = {
        "page": settings,
        "effective": settings.effective(),
        "errors": errors,
        "about": settings.about(_lang(request)),
        "typed": typed[:40],  # shown again to correct a typing error
    }
    return _page(request, "signup/code.html", context, status=status)


# -- the sign-up -------------------------------------------------------------------------------
async def start_page(request: Request) -> Response:
    """The page a letter points to: what this is, and the field for the code."""
    _check_process(request)
    settings = await _settings(request)
    if settings.effective() not in ("open", "test"):
        return _closed(request, settings)
    return _code_page(request, settings, {})


async def enter_code(request: Request) -> Response:
    """Check the code (rate-limited per client and per code); on to the form, or one generic error."""
    form = await _form(request)
    effective, settings, refused = await _guard(request, form)
    if refused is not None:
        return refused
    t = _t(request)
    typed = _text(form, "code")
    if not typed.strip():
        return _code_page(request, settings, {"code": t("signup.need_code")}, status=400)
    state = _state(request)
    if state.codes.blocked(_code_key(typed)):
        return _code_page(request, settings, {"code": t("signup.throttled")}, status=429)
    state.codes.hit(_code_key(typed))
    test = effective == "test"
    letter = await _in_workspace(request, lambda ws: signup.open_letter(ws, typed, test=test))
    if letter is None:
        state.clients.hit(_client(request))
        return _code_page(request, settings, {"code": t("signup.bad_code")}, status=400, typed=typed)
    return await _form_page(request, settings, mode="new", code=letter.code, values={})


async def _form_page(
    request: Request,
    settings: signup.PageSettings,
    *,
    mode: str,
    code: str,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    proof: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    lang = _lang(request)
    questions = await _in_workspace(request, lambda ws: signup.questions(ws, lang))
    return _page(
        request,
        "signup/form.html",
        {
            "page": settings,
            "effective": settings.effective(),
            "about": settings.about(lang),
            "questions": questions,
            "mode": mode,
            "code": code,
            "values": values,
            "errors": errors or {},
            "proof": proof or {},
        },
        status=status,
    )


def _form_values(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.multi_items() if isinstance(value, str) and key not in (FIELD, HONEYPOT)}


async def submit(request: Request) -> Response:
    """Store the sign-up (or the correction of one's own): every problem at once, or the confirmation.
    The store is visited once (settings, check, store in one worker-thread call): this is the page a
    burst of sign-ups hits."""
    form = await _form(request)
    _check_process(request)
    t = _t(request)
    state = _state(request)
    pre = _pre_refusal(request, form)
    typed = _text(form, "code")
    if pre is None and state.codes.blocked(_code_key(typed)):
        pre = ("signup.throttled", 429)
    mode = "change" if _text(form, "mode") == "change" else "new"
    values = _form_values(form)
    proof = {k: values.get(k, "") for k in ("postcode", "huisnummer")} if mode == "change" else {}
    fast = (_token_age(state, request.cookies.get(COOKIE), _text(form, FIELD)) or 0.0) < (
        request.app.state.settings.signup_min_fill
    )

    def work(ws: Workspace) -> tuple[signup.PageSettings, signup.CheckedForm | None, bool]:
        settings = signup.page_settings(ws)
        effective = settings.effective()
        if effective not in ("open", "test") or pre is not None:
            return settings, None, False
        checked = signup.check_form(ws, values)
        if checked.errors or fast:
            return settings, checked, False
        test = effective == "test"
        if mode == "change":
            return settings, checked, _change(ws, typed, proof, checked, test=test)
        return settings, checked, signup.sign_up(ws, typed, checked, test=test)

    settings, checked, done = await _in_workspace(request, work)
    refused = _refused(request, settings, pre)
    if refused is not None or checked is None:
        return refused or _closed(request, settings, status=403)
    state.codes.hit(_code_key(typed))
    labels = (
        {f"q_{c.name}": c.label(_lang(request)) for c in await _in_workspace(request, _categories)}
        if checked.errors
        else {}
    )
    errors = {key: t(f"signup.{reason}", question=labels.get(key, "")) for key, reason in checked.errors.items()}
    if not errors and fast:
        errors = {"consent": t("signup.too_fast")}
    if errors:
        return await _form_page(
            request, settings, mode=mode, code=typed, values=values, errors=errors, proof=proof, status=400
        )
    if not done:
        state.clients.hit(_client(request))
        return _code_page(request, settings, {"code": t("signup.bad_code")}, status=400)
    effective = settings.effective()
    if checked.contact.get("email"):
        _send_confirmation(request, checked.contact["email"], settings, mode=mode, test=effective == "test")
    return _page(
        request,
        "signup/done.html",
        {"page": settings, "effective": effective, "mode": mode, "email": checked.contact.get("email", "")},
    )


def _categories(ws: Workspace) -> tuple[Any, ...]:
    return ws.signup_categories


def _change(ws: Workspace, typed: str, proof: dict[str, str], checked: signup.CheckedForm, *, test: bool) -> bool:
    found = signup.own_signup(ws, typed, proof.get("postcode", ""), proof.get("huisnummer", ""), test=test)
    return found is not None and signup.change(ws, found[0], checked, test=test)


# -- change or withdraw ------------------------------------------------------------------------
async def change_page(request: Request) -> Response:
    """Code, postcode and house number: the way back to one's own sign-up."""
    _check_process(request)
    settings = await _settings(request)
    if settings.effective() not in ("open", "test"):
        return _closed(request, settings)
    return _page(request, "signup/change.html", {"page": settings, "effective": settings.effective(), "values": {}})


async def find_own(request: Request) -> Response:
    """Show one's own sign-up to correct or withdraw (one generic error for anything that does not match)."""
    form = await _form(request)
    effective, settings, refused = await _guard(request, form)
    if refused is not None:
        return refused
    t = _t(request)
    state = _state(request)
    values = _form_values(form)
    typed = values.get("code", "")
    errors = {k: t(f"signup.need_{k}") for k in ("code", "postcode", "huisnummer") if not values.get(k, "").strip()}
    if not errors and state.codes.blocked(_code_key(typed)):
        errors = {"code": t("signup.throttled")}
    if errors:
        context = {"page": settings, "effective": effective, "values": values, "errors": errors}
        return _page(request, "signup/change.html", context, status=400)
    state.codes.hit(_code_key(typed))
    test = effective == "test"
    found = await _in_workspace(
        request, lambda ws: signup.own_signup(ws, typed, values["postcode"], values["huisnummer"], test=test)
    )
    if found is None:
        state.clients.hit(_client(request))
        context = {"page": settings, "effective": effective, "values": values, "errors": {"code": t("signup.bad_own")}}
        return _page(request, "signup/change.html", context, status=400)
    letter, stored = found
    current = {
        **{f"q_{k}": v for k, v in stored.features.items()},
        **stored.contact,
        "consent": "ja",
    }
    proof = {"postcode": values["postcode"], "huisnummer": values["huisnummer"]}
    return await _form_page(request, settings, mode="change", code=letter.code, values=current, proof=proof)


async def withdraw(request: Request) -> Response:
    """Take one's own sign-up out of the pool (after confirming with code, postcode and house number)."""
    form = await _form(request)
    effective, settings, refused = await _guard(request, form)
    if refused is not None:
        return refused
    t = _t(request)
    state = _state(request)
    typed, postcode, house = _text(form, "code"), _text(form, "postcode"), _text(form, "huisnummer")
    if state.codes.blocked(_code_key(typed)):
        return _code_page(request, settings, {"code": t("signup.throttled")}, status=429)
    state.codes.hit(_code_key(typed))
    test = effective == "test"

    def work(ws: Workspace) -> bool:
        found = signup.own_signup(ws, typed, postcode, house, test=test)
        return found is not None and signup.withdraw(ws, found[0], test=test)

    if not await _in_workspace(request, work):
        state.clients.hit(_client(request))
        context = {"page": settings, "effective": effective, "values": {}, "errors": {"code": t("signup.bad_own")}}
        return _page(request, "signup/change.html", context, status=400)
    return _page(request, "signup/withdrawn.html", {"page": settings, "effective": effective})


# -- the confirmation e-mail -------------------------------------------------------------------
def _send_confirmation(request: Request, to: str, settings: signup.PageSettings, *, mode: str, test: bool) -> None:
    """Queue the confirmation e-mail (when the server has an SMTP host); a failure is logged by type only."""
    web = request.app.state.settings
    if not web.smtp_host:
        return
    t = _t(request)
    lang = _lang(request)
    from kleroterion.web.usecases import process_info

    info = process_info(request.app.state.root, request.path_params["process"])
    name = info.name if info else request.path_params["process"]
    link = f"{str(request.base_url).rstrip('/')}/aanmelden/{request.path_params['process']}/wijzigen"
    closes = i18n.moment(settings.closes_at.isoformat(), lang) if settings.closes_at else ""
    message = EmailMessage()
    message["Subject"] = ("[TEST] " if test else "") + t(f"signup.mail_subject_{mode}", name=name)
    message["From"] = web.mail_from
    message["To"] = to
    body = [t(f"signup.mail_body_{mode}", name=name), "", t("signup.mail_change", link=link)]
    if closes:
        body.append(t("signup.mail_until", closes=closes))
    body += ["", t("signup.mail_footer")]
    message.set_content("\n".join(body))
    host, port = web.smtp_host, web.smtp_port

    def send() -> None:
        try:
            with smtplib.SMTP(host, port, timeout=10) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("sign-up confirmation not sent: %s", type(exc).__name__)

    _state(request).mailer.submit(send)
