"""What the poll yields and how it is accounted for: the analysis, the reports, the recommendations with
the council's responses, the audit record's ``verify`` and the personal-data purge.

Long work (the analysis, rendering reports, verifying the record, the purge) runs as a background job
(``deliberation.submit``); the quick forms (a recommendation, a response) store at once and show any
refusal on the page. The analysis tables are shown as they may be published (small counts suppressed);
the charts are the council report's, served as PNG data in ``<img>`` (the CSP allows no script).
A report is fetched by its file name (``<kind>-report.<lang>.<fmt>``): no personal data in any URL.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from kleroterion.errors import KleroError
from kleroterion.web import delib_usecases as uc
from kleroterion.web.app import render
from kleroterion.web.i18n import COOKIE, language
from kleroterion.web.permissions import Permission, Viewer, requires
from kleroterion.web.steps import root_slug, submit, t_of, text
from sortition.progress import Cancel, Progress

WEIGHTS = ("raking", "none")
REPORT_KINDS = ("council", "selection", "feedback", "public")
REPORT_LANGUAGES = ("nl", "en")
REPORT_FORMATS = ("html", "pdf", "docx")
STATUSES = ("adopted", "partly", "rejected", "pending")
#: A rendered HTML report is shown in its own sandbox: its inline styles and images, never a script.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "sandbox; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
MEDIA = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


# -- analysis -------------------------------------------------------------------------------------
def _analysis(
    request: Request, form: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    root, slug = root_slug(request)
    lang = language(request.cookies.get(COOKIE))
    results = uc.analysis_results(root, slug, lang=lang)
    context = {
        "results": results,
        "waves": [w["code"] for w in uc.waves(root, slug)],
        "weights": WEIGHTS,
        "form": form or {"pre": "T1", "post": "T2", "weights": "raking"},
        "errors": errors or {},
    }
    return render(request, "deliberation/analysis.html", context, status=status)


@requires(Permission.VIEW)
async def analysis_page(request: Request, viewer: Viewer) -> Response:
    """The latest analysis run: its tables (small counts suppressed) and charts; for RUN the form."""
    return _analysis(request)


@requires(Permission.RUN)
async def analysis_run(request: Request, viewer: Viewer) -> Response:
    """Run the analysis plan as a job (``klero analyse``): a cancel leaves the previous run in force."""
    t = t_of(request)
    raw = await request.form()
    form = {key: text(raw, key) for key in ("pre", "post", "weights")}
    errors = {}
    if not form["pre"]:
        errors["pre"] = t("analysis.need_wave")
    if not form["post"]:
        errors["post"] = t("analysis.need_wave")
    elif form["post"] == form["pre"]:
        errors["post"] = t("analysis.same_wave")
    if not form["weights"]:
        errors["weights"] = t("analysis.need_weights")
    if errors:
        return _analysis(request, form, errors, 400)
    root, slug = root_slug(request)

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.analyse(
            root,
            slug,
            pre=form["pre"],
            post=form["post"],
            weights=form["weights"],
            actor=viewer.actor,
            progress=progress,
            cancel=cancel,
        )

    return submit(request, viewer, "analysis.run", work)


# -- reports --------------------------------------------------------------------------------------
def _reports(
    request: Request, form: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    context = {
        "reports": uc.rendered_reports(*root_slug(request)),
        "kinds": REPORT_KINDS,
        "languages": REPORT_LANGUAGES,
        "formats": REPORT_FORMATS,
        "form": form or {"kinds": ["council"], "languages": ["nl"], "formats": ["pdf"]},
        "errors": errors or {},
    }
    return render(request, "deliberation/reports.html", context, status=status)


@requires(Permission.VIEW)
async def reports_page(request: Request, viewer: Viewer) -> Response:
    """The rendered reports (preview and download) and, for RUN, the form to render them (``klero report``)."""
    return _reports(request)


@requires(Permission.RUN)
async def reports_render(request: Request, viewer: Viewer) -> Response:
    """Render every chosen kind × language × format as a job; each file's hash goes to the store."""
    t = t_of(request)
    raw = await request.form()
    form = {
        "kinds": [k for k in raw.getlist("kinds") if k in REPORT_KINDS],
        "languages": [k for k in raw.getlist("languages") if k in REPORT_LANGUAGES],
        "formats": [k for k in raw.getlist("formats") if k in REPORT_FORMATS],
    }
    errors = {
        f"{key}-{choices[0]}": t(f"reports.need_{key}")
        for key, choices in (("kinds", REPORT_KINDS), ("languages", REPORT_LANGUAGES), ("formats", REPORT_FORMATS))
        if not form[key]
    }
    if errors:
        return _reports(request, form, errors, 400)
    root, slug = root_slug(request)

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.render_reports(
            root,
            slug,
            kinds=tuple(form["kinds"]),
            languages=tuple(form["languages"]),
            formats=tuple(form["formats"]),
            actor=viewer.actor,
            progress=progress,
            cancel=cancel,
        )

    return submit(request, viewer, "report.render", work)


@requires(Permission.VIEW)
async def report_file(request: Request, viewer: Viewer) -> Response:
    """One rendered report: HTML shown in a sandbox (no script), PDF and DOCX downloaded."""
    name = request.path_params["name"]
    path = uc.report_path(*root_slug(request), name)
    if path is None:
        raise HTTPException(404)
    fmt = path.suffix[1:]
    inline = fmt == "html" and request.query_params.get("download") is None
    response = FileResponse(
        path, media_type=MEDIA[fmt], filename=name, content_disposition_type="inline" if inline else "attachment"
    )
    if inline:
        response.headers["content-security-policy"] = PREVIEW_CSP
    return response


# -- recommendations and the council's responses ----------------------------------------------------
def _recommendations(
    request: Request, form: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    context = {
        "recommendations": uc.recommendations(*root_slug(request)),
        "statuses": STATUSES,
        "form": form or {},
        "errors": errors or {},
    }
    return render(request, "deliberation/recommendations.html", context, status=status)


@requires(Permission.VIEW)
async def recommendations_page(request: Request, viewer: Viewer) -> Response:
    """The panel's recommendations with the council's latest response (terugkoppeling)."""
    return _recommendations(request)


def support_percent(value: str) -> tuple[float | None, bool]:
    """A support percentage typed in a form (comma or point); (None, True) when left empty."""
    if not value:
        return None, True
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        return None, False
    return number, 0 <= number <= 100


@requires(Permission.RUN)
async def recommendation_add(request: Request, viewer: Viewer) -> Response:
    """Record a recommendation in the panel's words (``klero recommendation add``)."""
    t = t_of(request)
    raw = await request.form()
    form = {key: text(raw, key) for key in ("text", "support", "minority", "text_en", "minority_en")}
    errors = {}
    if not form["text"]:
        errors["text"] = t("rec.need_text")
    support, ok = support_percent(form["support"])
    if not ok:
        errors["support"] = t("rec.bad_support")
    if not errors:
        try:
            uc.add_recommendation(
                *root_slug(request),
                form["text"],
                support=support,
                minority=form["minority"],
                text_en=form["text_en"],
                minority_en=form["minority_en"],
                actor=viewer.actor,
            )
        except KleroError as exc:
            errors["text"] = exc.message
    if errors:
        return _recommendations(request, form, errors, 400)
    return RedirectResponse(f"/p/{request.path_params['process']}/recommendations", status_code=303)


@requires(Permission.RUN)
async def response_record(request: Request, viewer: Viewer) -> Response:
    """Record the council's (next) dated response to a recommendation (``klero response record``)."""
    t = t_of(request)
    raw = await request.form()
    rec = request.path_params["rec"]
    form = {key: text(raw, key) for key in ("status", "reason", "due", "owner")}
    prefix = f"r{rec}-"
    errors = {}
    if form["status"] not in STATUSES:
        errors[f"{prefix}status"] = t("rec.bad_status")
    if not errors:
        try:
            uc.record_response(
                *root_slug(request),
                rec,
                status=form["status"],
                reason=form["reason"],
                due=form["due"] or None,
                owner=form["owner"],
                actor=viewer.actor,
            )
        except KleroError as exc:
            errors[f"{prefix}reason"] = exc.message
    if errors:
        return _recommendations(request, {"response": rec, **form}, errors, 400)
    return RedirectResponse(f"/p/{request.path_params['process']}/recommendations", status_code=303)


# -- the audit record: verify -------------------------------------------------------------------
@requires(Permission.VIEW, reads_only=True)
async def audit_verify(request: Request, viewer: Viewer) -> Response:
    """Verify the whole record as a job (``klero audit verify``); it changes nothing, so VIEW may."""
    from kleroterion.app.audit import read_anchor

    raw = await request.form()
    anchor = text(raw, "anchor")
    if anchor:
        try:
            read_anchor(anchor, source=t_of(request)("audit.anchor"))
        except KleroError as exc:
            from kleroterion.web.usecases import audit_log

            records = audit_log(*root_slug(request))
            errors = {"anchor": exc.message}
            return render(request, "audit.html", {"records": records, "errors": errors, "anchor": anchor}, status=400)
    root, slug = root_slug(request)

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.verify_audit(root, slug, anchor=anchor, progress=progress, cancel=cancel)

    return submit(request, viewer, "audit.verify", work)


# -- the personal-data purge ------------------------------------------------------------------------
def _purge(
    request: Request, form: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    root, slug = root_slug(request)
    context = {"plan": uc.purge_plan(root, slug, reason=None), "form": form or {}, "errors": errors or {}}
    return render(request, "deliberation/purge.html", context, status=status)


@requires(Permission.MANAGE)
async def purge_page(request: Request, viewer: Viewer) -> Response:
    """What the purge would remove today (``klero purge --dry-run``) and the confirmation form."""
    return _purge(request)


@requires(Permission.MANAGE)
async def purge_run(request: Request, viewer: Viewer) -> Response:
    """Purge the personal data as a job, once the process's name has been typed (``klero purge``)."""
    t = t_of(request)
    raw = await request.form()
    form = {key: text(raw, key) for key in ("reason", "confirm")}
    root, slug = root_slug(request)
    errors = {}
    if form["confirm"] != slug:
        errors["confirm"] = t("purge.bad_confirm", slug=slug)
    reason = form["reason"] or None
    if not errors:
        plan = uc.purge_plan(root, slug, reason=reason)
        if plan["refused"]:
            errors["reason"] = plan["refused"]
    if errors:
        return _purge(request, form, errors, 400)

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.purge(root, slug, reason=reason, actor=viewer.actor)

    return submit(request, viewer, "privacy.purge", work)
