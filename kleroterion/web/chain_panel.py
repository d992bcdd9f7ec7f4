"""The sortition chain's pages, second half: the quota editor with its live feasibility diagnosis, the
panel selection job, the panel (with verify), the transparent lottery and replacements.

The diagnosis is the check ``klero panel select`` makes before it draws (the quota bounds against the
panel size, and the pool against every minimum), run on the table as typed; htmx posts the form on each
change and swaps in the answer. Handlers call ``chain_usecases`` only.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kleroterion.errors import KleroError
from kleroterion.web import chain_usecases as uc
from kleroterion.web.app import render
from kleroterion.web.chain import field, problems_of, t_of, whole
from kleroterion.web.permissions import Permission, Viewer, requires
from sortition.progress import Cancel, Progress

SELECT_JOB = "panel.select"
ALGORITHMS = ("maximin", "leximin", "nash", "goldilocks", "legacy", "end-to-end")
ENGINES = ("native", "sortition-algorithms")
MAX_SIZE = 10_000


# -- quotas -------------------------------------------------------------------------------------
@requires(Permission.RUN)
async def quotas_page(request: Request, viewer: Viewer) -> Response:
    """The editor: the stored quotas, or those proportional to the population for ``?size=N``."""
    t = t_of(request)
    asked = request.query_params.get("size", "")
    size = whole(asked, low=1, high=MAX_SIZE) if asked else None
    errors = {"size": t("quotas.bad_size")} if asked and size is None else {}
    slug = request.path_params["process"]
    try:
        size, rows, origin = uc.quota_table(request.app.state.root, slug, size)
    except KleroError as exc:
        return render(request, "chain/quotas.html", {"failure": exc.message, "rows": [], "size": asked}, status=400)
    diagnosis = _diagnose(request, rows, size)
    context = {"rows": rows, "size": size, "origin": origin, "errors": errors, **diagnosis}
    return render(request, "chain/quotas.html", context, status=400 if errors else 200)


def _table(form: FormData) -> list[dict[str, str]]:
    columns = {name: [str(v) for v in form.getlist(name)] for name in uc.QUOTA_COLUMNS}
    count = max((len(values) for values in columns.values()), default=0)
    return [{name: (values[i] if i < len(values) else "") for name, values in columns.items()} for i in range(count)]


def _diagnose(request: Request, rows: list[dict[str, Any]], size: int | None) -> dict[str, Any]:
    """The diagnosis of a table: ``problems`` (bad cells) or the ``diagnosis`` of the pre-draw checks."""
    if size is None:
        return {"problems": [], "diagnosis": None, "cell_errors": {}}
    text_rows = [{k: str(v) for k, v in row.items()} for row in rows]
    try:
        diagnosis = uc.diagnose_quotas(request.app.state.root, request.path_params["process"], text_rows, size)
    except KleroError as exc:
        problems = problems_of(exc)
        return {"problems": problems or [{"message": exc.message}], "diagnosis": None, "cell_errors": _cells(problems)}
    return {"problems": [], "diagnosis": diagnosis, "cell_errors": {}}


def _cells(problems: list[dict[str, Any]]) -> dict[str, str]:
    """Field id (``min-3``) -> message, for the cells the problems name."""
    return {
        f"{p['column']}-{p['row']}": str(p["message"])
        for p in problems
        if p.get("row") is not None and p.get("column") in uc.QUOTA_COLUMNS
    }


@requires(Permission.RUN)
async def quotas_check(request: Request, viewer: Viewer) -> Response:
    """The live diagnosis (htmx partial): posted on every change of the editor's table."""
    form = await request.form()
    size = whole(field(form, "size"), low=1, high=MAX_SIZE)
    if size is None:
        context = {"problems": [{"message": t_of(request)("quotas.bad_size")}], "diagnosis": None}
        return render(request, "chain/_diagnosis.html", context)
    return render(request, "chain/_diagnosis.html", _diagnose(request, _table(form), size))


@requires(Permission.RUN)
async def save_quotas(request: Request, viewer: Viewer) -> Response:
    """Store the table as the quota set (as ``klero quotas import`` would), or show every problem."""
    t = t_of(request)
    form = await request.form()
    rows = _table(form)
    size = whole(field(form, "size"), low=1, high=MAX_SIZE)
    slug = request.path_params["process"]
    if size is None:
        bad: dict[str, Any] = {"rows": rows, "size": field(form, "size"), "errors": {"size": t("quotas.bad_size")}}
        return render(request, "chain/quotas.html", {**bad, **_diagnose(request, rows, None)}, status=400)
    try:
        set_id = uc.save_quotas(request.app.state.root, slug, rows, size, actor=viewer.actor)
    except KleroError as exc:
        found = _diagnose(request, rows, size)
        problems = problems_of(exc) or found["problems"]
        errors = dict(_cells(problems)) or {"size": exc.message}
        context: dict[str, Any] = {"rows": rows, "size": size, "errors": errors, "failure": exc.message, **found}
        context["cell_errors"] = _cells(problems)
        return render(request, "chain/quotas.html", context, status=400)
    return render(request, "chain/quotas_saved.html", {"set_id": set_id, "size": size, "rows": len(rows)})


# -- panel selection ----------------------------------------------------------------------------
EMPTY_SELECT = {
    "algorithm": "maximin",
    "engine": "native",
    "seed": "",
    "public_seed": "",
    "alternates": "0",
    "lottery_size": "",
    "reason": "",
    "exclude_previous": "",
}


@requires(Permission.RUN)
async def select_page(request: Request, viewer: Viewer) -> Response:
    return _select(request, EMPTY_SELECT, {})


def _select(request: Request, form: dict[str, str], errors: dict[str, str], *, status: int = 200) -> Response:
    overview = uc.panel_overview(request.app.state.root, request.path_params["process"])
    drawn = bool(overview and overview["status"])
    context = {"form": form, "errors": errors, "algorithms": ALGORITHMS, "engines": ENGINES, "drawn": drawn}
    return render(request, "chain/select.html", context, status=status)


@requires(Permission.RUN)
async def select(request: Request, viewer: Viewer) -> Response:
    """Check the form, then draw the panel (or make the lottery) as a job (``klero panel select``)."""
    t = t_of(request)
    raw = await request.form()
    form = {key: field(raw, key) for key in EMPTY_SELECT}
    errors = {}
    if form["algorithm"] not in ALGORITHMS:
        errors["algorithm"] = t("select.bad_algorithm")
    if form["engine"] not in ENGINES:
        errors["engine"] = t("select.bad_engine")
    seed = whole(form["seed"], low=0, high=2**63 - 1) if form["seed"] else None
    if form["seed"] and seed is None:
        errors["seed"] = t("letters.bad_seed")
    if form["seed"] and form["public_seed"]:
        errors["public_seed"] = t("select.seed_or_public")
    alternates = whole(form["alternates"] or "0", low=0, high=MAX_SIZE)
    if alternates is None:
        errors["alternates"] = t("select.bad_alternates")
    lottery = whole(form["lottery_size"], low=1, high=100_000) if form["lottery_size"] else None
    if form["lottery_size"] and lottery is None:
        errors["lottery_size"] = t("select.bad_lottery_size")
    if errors:
        return _select(request, form, errors, status=400)
    slug, root = request.path_params["process"], request.app.state.root

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.select_panel(
            root,
            slug,
            algorithm=form["algorithm"],
            engine=form["engine"],
            seed=seed,
            public_value=form["public_seed"][:200] or None,
            alternates=int(alternates or 0),
            lottery_size=lottery,
            redraw_reason=form["reason"] or None,
            exclude_previous=bool(form["exclude_previous"]),
            actor=viewer.actor,
            progress=progress,
            cancel=cancel,
        )

    job = request.app.state.jobs.submit(kind=SELECT_JOB, process=slug, owner=viewer.user.username, work=work)
    return RedirectResponse(f"/p/{slug}/jobs/{job.id}", status_code=303)


@requires(Permission.VIEW)
async def panel_page(request: Request, viewer: Viewer) -> Response:
    """The latest panel draw: members and alternates (pseudonymous ids), replacements, probabilities."""
    overview = uc.panel_overview(request.app.state.root, request.path_params["process"])
    return render(request, "chain/panel.html", {"overview": overview})


@requires(Permission.VIEW)
async def verify_page(request: Request, viewer: Viewer) -> Response:
    """Replay the latest draw (``klero panel verify``) and say whether it came out identical."""
    slug = request.path_params["process"]
    try:
        result = uc.verify_panel(request.app.state.root, slug, actor=viewer.actor)
    except KleroError as exc:
        problems = exc.params.get("problems") or []
        context = {"result": None, "failure": exc.message.splitlines()[0], "problems": problems}
        return render(request, "chain/verify.html", context, status=200 if exc.code == "verify_failed" else 400)
    return render(request, "chain/verify.html", {"result": result})


# -- the transparent lottery --------------------------------------------------------------------
@requires(Permission.RUN)
async def lottery_page(request: Request, viewer: Viewer) -> Response:
    """The published lottery (its numbered panels to download) and the form to draw by the public number."""
    return _lottery(request, {}, {})


def _lottery(request: Request, form: dict[str, str], errors: dict[str, str], *, status: int = 200) -> Response:
    overview = uc.panel_overview(request.app.state.root, request.path_params["process"])
    lottery = overview["lottery"] if overview else None
    return render(request, "chain/lottery.html", {"lottery": lottery, "form": form, "errors": errors}, status=status)


@requires(Permission.VIEW)
async def lottery_tickets(request: Request, viewer: Viewer) -> Response:
    """The numbered panels as CSV (pseudonymous ids; what is published before the number is drawn)."""
    slug = request.path_params["process"]
    try:
        content, name = uc.lottery_tickets_csv(request.app.state.root, slug, actor=viewer.actor)
    except KleroError as exc:
        return render(
            request, "error.html", {"title": t_of(request)("lottery.title"), "message": exc.message}, status=400
        )
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(content, media_type="text/csv; charset=utf-8", headers=headers)


@requires(Permission.RUN)
async def draw_lottery(request: Request, viewer: Viewer) -> Response:
    """Take the panel on the publicly drawn ticket (``klero panel draw-from-lottery --number N``)."""
    raw = await request.form()
    form = {"number": field(raw, "number")}
    slug = request.path_params["process"]
    try:
        drawn = uc.draw_from_lottery(request.app.state.root, slug, form["number"], actor=viewer.actor)
    except KleroError as exc:
        return _lottery(request, form, {"number": exc.message}, status=400)
    return render(request, "chain/lottery_drawn.html", {"drawn": drawn})


# -- replacements -------------------------------------------------------------------------------
EMPTY_REPLACE = {"person": "", "reason": "", "accept_quota_break": "", "from_pool": ""}


@requires(Permission.RUN)
async def replace_page(request: Request, viewer: Viewer) -> Response:
    return _replace(request, EMPTY_REPLACE, {})


def _replace(request: Request, form: dict[str, str], errors: dict[str, str], *, status: int = 200) -> Response:
    overview = uc.panel_overview(request.app.state.root, request.path_params["process"])
    sitting = [p for p in (overview or {}).get("people", []) if p["sitting"]]
    context = {"form": form, "errors": errors, "sitting": sitting, "overview": overview}
    return render(request, "chain/replace.html", context, status=status)


@requires(Permission.RUN)
async def replace(request: Request, viewer: Viewer) -> Response:
    """A member withdraws: the next alternate who keeps the quotas takes the seat (``klero panel replace``)."""
    t = t_of(request)
    raw = await request.form()
    form = {key: field(raw, key) for key in EMPTY_REPLACE}
    if not form["person"]:
        return _replace(request, form, {"person": t("replace.need_person")}, status=400)
    slug = request.path_params["process"]
    try:
        out = uc.replace_member(
            request.app.state.root,
            slug,
            form["person"],
            reason=form["reason"][:500],
            accept_quota_break=bool(form["accept_quota_break"]),
            from_pool=bool(form["from_pool"]),
            actor=viewer.actor,
        )
    except KleroError as exc:
        return _replace(request, form, {"person": exc.message}, status=400)
    return render(request, "chain/replaced.html", {"out": out})
