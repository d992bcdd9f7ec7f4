"""The staff side of the public sign-up page (issue 17): its state (test, open, closed), opening and
closing times and what the process is about; and the response so far against the letters sent, per wijk,
age band and gender (the counts refresh themselves every 10 seconds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kleroterion.app import signup
from kleroterion.errors import KleroError
from kleroterion.web import i18n
from kleroterion.web.app import render
from kleroterion.web.permissions import Permission, Viewer, requires
from kleroterion.workspace import Workspace

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def _local(moment: datetime | None) -> str:
    """A stored UTC time as the value of a ``datetime-local`` field (Dutch time)."""
    return moment.astimezone(i18n.ZONE).strftime(LOCAL_FORMAT) if moment else ""


def _parse_local(text: str) -> datetime | None:
    """A ``datetime-local`` value (Dutch time) as an aware time; ValueError when it is not one."""
    if not text.strip():
        return None
    naive = datetime.strptime(text.strip(), LOCAL_FORMAT)
    return i18n.ZONE.localize(naive) if hasattr(i18n.ZONE, "localize") else naive.replace(tzinfo=i18n.ZONE)


def _load(request: Request) -> tuple[signup.PageSettings, signup.Response]:
    with Workspace.open(request.app.state.root / request.path_params["process"]) as ws:
        return signup.page_settings(ws), signup.response(ws)


def _context(request: Request, settings: signup.PageSettings, counts: signup.Response) -> dict[str, Any]:
    return {
        "page": settings,
        "effective": settings.effective(),
        "counts": counts,
        "form": {
            "state": settings.state,
            "opens_at": _local(settings.opens_at),
            "closes_at": _local(settings.closes_at),
            "about_nl": settings.about_nl,
            "about_en": settings.about_en,
        },
        "public_path": f"/aanmelden/{request.path_params['process']}",
    }


@requires(Permission.VIEW)
async def signup_page(request: Request, viewer: Viewer) -> Response:
    """The sign-up page's state and the response so far."""
    settings, counts = await run_in_threadpool(_load, request)
    return render(request, "signup/staff.html", _context(request, settings, counts))


@requires(Permission.VIEW)
async def signup_counts(request: Request, viewer: Viewer) -> Response:
    """The counts partial the staff page polls (htmx)."""
    settings, counts = await run_in_threadpool(_load, request)
    return render(request, "signup/_counts.html", _context(request, settings, counts))


@requires(Permission.RUN)
async def save_settings(request: Request, viewer: Viewer) -> Response:
    """Set the state, the times and the text; every problem at once, nothing stored then."""
    raw = await request.form()
    form = {k: str(raw.get(k, "")) for k in ("state", "opens_at", "closes_at", "about_nl", "about_en")}
    t = i18n.translator(i18n.language(request.cookies.get(i18n.COOKIE)))
    errors: dict[str, str] = {}
    if form["state"] not in signup.STATES:
        errors["state-test"] = t("signup_admin.need_state")
    moments: dict[str, datetime | None] = {}
    for key in ("opens_at", "closes_at"):
        try:
            moments[key] = _parse_local(form[key])
        except ValueError:
            errors[key] = t("signup_admin.bad_time")
    if not errors and moments["opens_at"] and moments["closes_at"] and moments["closes_at"] <= moments["opens_at"]:
        errors["closes_at"] = t("signup_admin.closes_before_opens")
    if not errors:
        settings = signup.PageSettings(
            state=form["state"],
            opens_at=moments["opens_at"],
            closes_at=moments["closes_at"],
            about_nl=form["about_nl"],
            about_en=form["about_en"],
        )

        def save() -> None:
            with Workspace.open(request.app.state.root / request.path_params["process"]) as ws:
                ws.store.actor = viewer.actor
                signup.save_page_settings(ws, settings)

        try:
            await run_in_threadpool(save)
        except KleroError as exc:
            errors["state-test"] = t("signup_admin.no_letters") if exc.code == "no_letters" else exc.message
    if errors:
        current, counts = await run_in_threadpool(_load, request)
        context = {**_context(request, current, counts), "form": form, "errors": errors}
        return render(request, "signup/staff.html", context, status=400)
    return RedirectResponse(f"/p/{request.path_params['process']}/signup", status_code=303)
