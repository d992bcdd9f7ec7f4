"""The sortition chain's pages, first half: letters, the pool of sign-ups (import, search, contact
workflow) and the exports. The quotas, panel, lottery and replacements are in ``chain_panel``.

Each step is the registry upload's pattern: a form checked on the server, long work as a background job
(progress, cancel, a result page that survives a reload), every bad input on the page with the file,
row and column the CLI names. Handlers call ``chain_usecases`` only.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kleroterion.app.contacts import CONTACT_STATUSES, MAX_NOTE
from kleroterion.errors import InputError, KleroError
from kleroterion.web import chain_usecases as uc
from kleroterion.web import i18n
from kleroterion.web.app import render
from kleroterion.web.permissions import Permission, Viewer, requires
from kleroterion.web.registry import ACCEPTED, SNIFF_BYTES, UPLOAD_FOLDER, _keep, looks_like, safe_name
from sortition.progress import Cancel, Progress

#: Job kinds of these pages (``kind.<kind>`` in the messages).
LETTERS_JOB = "letters.draw"
POOL_JOB = "pool.import"
#: Columns the letters may be allocated over (``kleroterion.store.residents.CATEGORIES``).
STRATA = ("wijk", "gender", "age_band")
EXPORT_TYPES = {
    "csv": "text/csv; charset=windows-1252",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def t_of(request: Request) -> Any:
    return i18n.translator(i18n.language(request.cookies.get(i18n.COOKIE)))


def whole(text: str, *, low: int, high: int = 10**9) -> int | None:
    """``text`` as a whole number in ``low..high``; ``None`` otherwise."""
    text = text.strip()
    if not text.isdigit() or not low <= int(text) <= high:
        return None
    return int(text)


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def problems_of(exc: KleroError) -> list[dict[str, Any]]:
    """The problems (file, row, column, value, message) of an error, as the job page lists them."""
    if isinstance(exc, InputError):
        return [{"file": exc.source, **p.__dict__} for p in exc.problems]
    return []


# -- letters ------------------------------------------------------------------------------------
EMPTY_LETTERS = {"count": "", "seed": "", "stratify_by": "", "min_age": "16", "oversample": "", "topup": ""}


@requires(Permission.RUN)
async def letters_page(request: Request, viewer: Viewer) -> Response:
    """The waves drawn so far and the form to draw one."""
    return _letters(request, EMPTY_LETTERS, {})


def _letters(request: Request, form: dict[str, str], errors: dict[str, str], *, status: int = 200) -> Response:
    waves = uc.letter_waves(request.app.state.root, request.path_params["process"])
    context = {"form": form, "errors": errors, "waves": waves, "strata": STRATA}
    return render(request, "chain/letters.html", context, status=status)


@requires(Permission.RUN)
async def draw_letters(request: Request, viewer: Viewer) -> Response:
    """Check the form, then draw the wave as a job (``klero letters draw``)."""
    t = t_of(request)
    raw = await request.form()
    form = {key: field(raw, key) for key in EMPTY_LETTERS}
    errors = {}
    count = whole(form["count"], low=1)
    if count is None:
        errors["count"] = t("letters.bad_count")
    seed = whole(form["seed"], low=0, high=2**63 - 1) if form["seed"] else None
    if form["seed"] and seed is None:
        errors["seed"] = t("letters.bad_seed")
    min_age = whole(form["min_age"], low=0, high=120)
    if min_age is None:
        errors["min_age"] = t("letters.bad_min_age")
    if form["stratify_by"] and form["stratify_by"] not in STRATA:
        errors["stratify_by"] = t("letters.bad_stratum")
    topup = bool(form["topup"])
    specs = [line.strip() for line in form["oversample"].replace(",", "\n").splitlines() if line.strip()]
    if topup and (specs or form["stratify_by"]):
        errors["topup"] = t("letters.topup_alone")
    if errors:
        return _letters(request, form, errors, status=400)
    slug, root = request.path_params["process"], request.app.state.root

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.draw_letters(
            root,
            slug,
            count=int(count or 0),
            seed=seed,
            stratify_by=form["stratify_by"] or None,
            min_age=int(min_age or 0),
            oversample=specs,
            topup=topup,
            actor=viewer.actor,
            progress=progress,
            cancel=cancel,
        )

    job = request.app.state.jobs.submit(kind=LETTERS_JOB, process=slug, owner=viewer.user.username, work=work)
    return RedirectResponse(f"/p/{slug}/jobs/{job.id}", status_code=303)


# -- exports ------------------------------------------------------------------------------------
@requires(Permission.RUN)
async def exports_page(request: Request, viewer: Viewer) -> Response:
    """Links to every list as CSV and XLSX."""
    return render(request, "chain/exports.html", {"kinds": uc.EXPORT_KINDS, "formats": uc.EXPORT_FORMATS})


@requires(Permission.RUN)
async def export_download(request: Request, viewer: Viewer) -> Response:
    """One list as a download (the file name names the process and the list, never a person)."""
    kind, fmt = request.path_params["kind"], request.path_params["fmt"]
    if kind not in uc.EXPORT_KINDS or fmt not in uc.EXPORT_FORMATS:
        raise HTTPException(404)
    slug = request.path_params["process"]
    try:
        content, name = uc.export_list(request.app.state.root, slug, kind, fmt, actor=viewer.actor)
    except KleroError as exc:
        context = {"kinds": uc.EXPORT_KINDS, "formats": uc.EXPORT_FORMATS, "failure": exc.message}
        return render(request, "chain/exports.html", context, status=400)
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(content, media_type=EXPORT_TYPES[fmt], headers=headers)


# -- pool ---------------------------------------------------------------------------------------
@requires(Permission.RUN)
async def pool_page(request: Request, viewer: Viewer) -> Response:
    """The sign-ups with their contact status; search by code, name or wijk (``?q=``) and status (``?status=``)."""
    search = request.query_params.get("q", "").strip()[:100]
    status = request.query_params.get("status", "")
    if status not in ("", *CONTACT_STATUSES):
        status = ""
    page = uc.search_pool(request.app.state.root, request.path_params["process"], search, status)
    context = {"page": page, "search": search, "status": status, "statuses": CONTACT_STATUSES}
    return render(request, "chain/pool.html", context)


@requires(Permission.RUN)
async def pool_import_page(request: Request, viewer: Viewer) -> Response:
    return render(request, "chain/pool_import.html", {"limit_mb": _limit_mb(request), "form": {}})


def _limit_mb(request: Request) -> int:
    return int(request.app.state.settings.max_upload // (1024 * 1024))


@requires(Permission.RUN)
async def pool_import(request: Request, viewer: Viewer) -> Response:
    """Check and keep the sign-up sheet, start the import job (``klero pool import``)."""
    slug = request.path_params["process"]
    t = t_of(request)
    raw = await request.form()
    options = {"conflicts": field(raw, "conflicts")}
    if options["conflicts"] not in ("", "keep-stored", "use-sheet"):
        return _refuse_pool(request, "conflicts", t("pool.bad_conflicts"), options)
    file = raw.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _refuse_pool(request, "file", t("upload.need_file"), options)
    name = safe_name(file.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in ACCEPTED:
        return _refuse_pool(request, "file", t("upload.bad_type"), options)
    head = await file.read(SNIFF_BYTES)
    if not looks_like(suffix, head):
        return _refuse_pool(request, "file", t("upload.bad_content"), options)
    folder = request.app.state.root / slug / UPLOAD_FOLDER / secrets.token_hex(8)
    path = folder / name
    if not await _keep(file, head, path, limit=request.app.state.settings.max_upload):
        shutil.rmtree(folder, ignore_errors=True)
        return _refuse_pool(request, "file", t("upload.too_large", limit=_limit_mb(request)), options, status=413)
    root = request.app.state.root

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        try:
            return uc.import_pool(
                root,
                slug,
                path,
                keep_stored=options["conflicts"] == "keep-stored",
                use_sheet=options["conflicts"] == "use-sheet",
                actor=viewer.actor,
                progress=progress,
                cancel=cancel,
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    job = request.app.state.jobs.submit(kind=POOL_JOB, process=slug, owner=viewer.user.username, work=work)
    return RedirectResponse(f"/p/{slug}/jobs/{job.id}", status_code=303)


def _refuse_pool(request: Request, name: str, message: str, form: dict[str, str], *, status: int = 400) -> Response:
    context = {"errors": {name: message}, "limit_mb": _limit_mb(request), "form": form}
    return render(request, "chain/pool_import.html", context, status=status)


@requires(Permission.RUN)
async def person_page(request: Request, viewer: Viewer) -> Response:
    """One sign-up: the contact status, its history (who changed it, when) and the form to change it."""
    return _person(request, {}, {})


def _person(request: Request, form: dict[str, str], errors: dict[str, str], *, status: int = 200) -> Response:
    slug, person = request.path_params["process"], request.path_params["person"]
    try:
        record = uc.contact_record(request.app.state.root, slug, person)
    except KleroError as exc:
        raise HTTPException(404) from exc
    context = {"record": record, "form": form, "errors": errors, "statuses": CONTACT_STATUSES}
    return render(request, "chain/person.html", context, status=status)


@requires(Permission.RUN)
async def set_contact(request: Request, viewer: Viewer) -> Response:
    """Record a call, a confirmation or a withdrawal (with a note), by this user, now."""
    t = t_of(request)
    raw = await request.form()
    form = {"status": field(raw, "status"), "note": field(raw, "note")}
    errors = {}
    if form["status"] not in CONTACT_STATUSES:
        errors["status"] = t("pool.bad_status")
    if len(form["note"]) > MAX_NOTE:
        errors["note"] = t("pool.long_note")
    if errors:
        return _person(request, form, errors, status=400)
    slug, person = request.path_params["process"], request.path_params["person"]
    try:
        uc.set_contact_status(
            request.app.state.root, slug, person, status=form["status"], note=form["note"], actor=viewer.actor
        )
    except KleroError as exc:
        return _person(request, form, {"status": exc.message}, status=400)
    return RedirectResponse(f"/p/{slug}/pool/people/{person}", status_code=303)
