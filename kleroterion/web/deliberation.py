"""The Deliberative Poll's pages: the poll instrument and control group, survey waves, briefing packets
and small groups.

Each step is the registry upload's pattern (``registry``, helpers in ``steps``): a form, the upload
checked before any work starts (size; type by extension and first bytes), a background job calling the
use case the matching ``klero`` command calls (through ``delib_usecases``), and the job page with the
result or every problem (file, row, column, value). Nothing is stored when a file has any bad cell.
Reading pages need VIEW, every form RUN. The analysis, report, recommendation, audit and purge pages
are in ``outcomes``.
"""

from __future__ import annotations

import secrets
import shutil
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kleroterion.errors import KleroError
from kleroterion.web import delib_usecases as uc
from kleroterion.web.permissions import Permission, Viewer, requires
from kleroterion.web.registry import UPLOAD_FOLDER
from kleroterion.web.steps import (
    UploadRefused,
    page,
    root_slug,
    submit,
    t_of,
    take_file,
    take_upload,
    text,
    whole_number,
)
from sortition.progress import Cancel, Progress

INSTRUMENT_TYPES = (".toml", ".xlsx")
SURVEY_TYPES = (".csv", ".xlsx", ".sav", ".parquet")
PACKET_TYPES = (".toml", ".csv", ".xlsx")
TABLE_TYPES = (".csv", ".xlsx")
ARMS = ("participant", "invited", "control")


# -- the poll instrument --------------------------------------------------------------------------
def _poll(
    request: Request, errors: dict[str, str] | None = None, status: int = 200, form: dict[str, str] | None = None
) -> Response:
    root, slug = root_slug(request)
    context = {
        "instrument": uc.instrument(root, slug),
        "control": uc.control_group(root, slug),
        "errors": errors or {},
        "form": form or {},
    }
    return page(request, "deliberation/poll.html", context, status)


@requires(Permission.VIEW)
async def poll_page(request: Request, viewer: Viewer) -> Response:
    """The stored instrument (items and waves) and, for RUN, the form to define it (``klero poll define``)."""
    return _poll(request)


@requires(Permission.RUN)
async def poll_define(request: Request, viewer: Viewer) -> Response:
    form = await request.form()
    try:
        path = await take_file(request, form, "file", INSTRUMENT_TYPES)
    except UploadRefused as refused:
        return _poll(request, {refused.field: refused.message}, refused.status)
    root, slug = root_slug(request)

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.define_poll(root, slug, path, actor=viewer.actor)

    return submit(request, viewer, "poll.define", work, uploads=(path,))


@requires(Permission.RUN)
async def poll_control(request: Request, viewer: Viewer) -> Response:
    """Draw the control group as a job (``klero poll control --count N [--seed S]``)."""
    t = t_of(request)
    raw = await request.form()
    form = {key: text(raw, key) for key in ("count", "control_seed")}
    count = whole_number(form["count"])
    seed = whole_number(form["control_seed"], low=0) if form["control_seed"] else None
    errors = {}
    if count is None:
        errors["count"] = t("control.bad_count")
    if form["control_seed"] and seed is None:
        errors["control_seed"] = t("groups.bad_seed")
    if errors or count is None:
        return _poll(request, errors, 400, form)
    root, slug = root_slug(request)

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.draw_control(root, slug, count=count, seed=seed, actor=viewer.actor)

    return submit(request, viewer, "poll.control", work)


# -- survey waves ---------------------------------------------------------------------------------
SURVEY_FIELDS = ("wave", "id_column", "wave_column", "wave_values", "arm", "arm_column", "variables", "weights")
SURVEY_CHECKS = ("row_ids", "ignore_extra", "replace", "allow_empty")


def _survey(
    request: Request, form: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    root, slug = root_slug(request)
    context = {"waves": uc.waves(root, slug), "form": form or {}, "errors": errors or {}, "arms": ARMS}
    return page(request, "deliberation/survey.html", context, status)


@requires(Permission.VIEW)
async def survey_page(request: Request, viewer: Viewer) -> Response:
    """Every wave with its respondents and answers, and for RUN the upload form (``klero survey import``)."""
    return _survey(request)


def pairs(value: str) -> dict[str, str] | None:
    """``A=B, C=D`` as a dict (the CLI's repeated ``--wave-value A=B``); None when a pair is malformed
    or a value is given twice."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in value.split(",") if p.strip()):
        key, sep, target = part.partition("=")
        if not sep or not key.strip() or not target.strip() or key.strip() in out:
            return None
        out[key.strip()] = target.strip()
    return out


def names(value: str) -> tuple[str, ...] | None:
    """Column names separated by commas, each once; None when one is repeated."""
    listed = [n.strip() for n in value.split(",") if n.strip()]
    return None if len(set(listed)) != len(listed) else tuple(listed)


@requires(Permission.RUN)
async def survey_import(request: Request, viewer: Viewer) -> Response:
    """Check the form and the file, then import the wave(s) as a job (``klero survey import``)."""
    from deliberation.responses import WaveLayout

    t = t_of(request)
    raw = await request.form()
    form: dict[str, Any] = {key: text(raw, key) for key in SURVEY_FIELDS}
    form.update({key: bool(raw.get(key)) for key in SURVEY_CHECKS})
    errors: dict[str, str] = {}
    if not form["wave"] and not form["wave_column"]:
        errors["wave"] = t("survey.need_wave")
    elif form["wave"] and form["wave_column"]:
        errors["wave_column"] = t("survey.wave_or_column")
    if form["row_ids"] and form["id_column"]:
        errors["id_column"] = t("survey.ids_or_rows")
    if form["arm"] and form["arm"] not in ARMS:
        errors["arm"] = t("survey.bad_arm")
    if form["arm"] and form["arm_column"]:
        errors["arm_column"] = t("survey.arm_or_column")
    wave_values = pairs(form["wave_values"])
    if wave_values is None:
        errors["wave_values"] = t("survey.bad_pairs")
    variables, weights = names(form["variables"]), names(form["weights"])
    if variables is None:
        errors["variables"] = t("survey.twice")
    if weights is None:
        errors["weights"] = t("survey.twice")
    try:
        path = None if errors else await take_file(request, raw, "file", SURVEY_TYPES)
    except UploadRefused as refused:
        errors[refused.field] = refused.message
    if errors or path is None:
        return _survey(request, form, errors, 400)
    layout = WaveLayout(
        id_column=None if form["row_ids"] else (form["id_column"] or "participant_id"),
        row_ids=form["row_ids"],
        wave=form["wave"] or None,
        wave_column=form["wave_column"] or None,
        wave_values=wave_values or {},
        arm=form["arm"] or None,
        arm_column=form["arm_column"] or None,
        variables=variables or (),
        weights=weights or (),
        ignore_extra=form["ignore_extra"],
    )
    root, slug = root_slug(request)
    kept = path

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.import_survey(
            root, slug, kept, layout, replace=form["replace"], allow_empty=form["allow_empty"], actor=viewer.actor
        )

    return submit(request, viewer, "survey.import", work, uploads=(path,))


# -- briefing packets -----------------------------------------------------------------------------
def _packets(
    request: Request, errors: dict[str, str] | None = None, status: int = 200, form: dict[str, Any] | None = None
) -> Response:
    try:
        packets = uc.packets(*root_slug(request))
    except KleroError as exc:
        packets, errors = {"versions": [], "checks": []}, {**(errors or {}), "file": exc.message}
    context = {"packets": packets, "errors": errors or {}, "form": form or {}}
    return page(request, "deliberation/packets.html", context, status)


@requires(Permission.VIEW)
async def packets_page(request: Request, viewer: Viewer) -> Response:
    """The packet versions with their balance, sign-offs and receipts (``klero packet balance``)."""
    return _packets(request)


@requires(Permission.RUN)
async def packet_import(request: Request, viewer: Viewer) -> Response:
    """Import the arguments as the next version of a packet, as a job (``klero packet import``)."""
    raw = await request.form()
    title = text(raw, "title") or None
    try:
        path = await take_file(request, raw, "file", PACKET_TYPES)
    except UploadRefused as refused:
        return _packets(request, {refused.field: refused.message}, refused.status)
    root, slug = root_slug(request)

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.import_packet(root, slug, path, title=title, actor=viewer.actor)

    return submit(request, viewer, "packet.import", work, uploads=(path,))


@requires(Permission.RUN)
async def packet_signoff(request: Request, viewer: Viewer) -> Response:
    """Record a reviewer's sign-off of a version (``klero packet signoff``); quick, so no job."""
    t = t_of(request)
    raw = await request.form()
    form = {key: text(raw, key) for key in ("version", "reviewer", "remark")}
    version = whole_number(form["version"])
    errors = {}
    if version is None:
        errors["version"] = t("packets.bad_version")
    if not form["reviewer"]:
        errors["reviewer"] = t("packets.need_reviewer")
    if not errors and version is not None:
        try:
            uc.sign_off_packet(
                *root_slug(request),
                reviewer=form["reviewer"],
                version=version,
                remark=form["remark"],
                actor=viewer.actor,
            )
        except KleroError as exc:
            errors["version"] = exc.message
    if errors:
        return _packets(request, errors, 400, form)
    return RedirectResponse(f"/p/{request.path_params['process']}/packets", status_code=303)


@requires(Permission.RUN)
async def packet_receipts(request: Request, viewer: Viewer) -> Response:
    """Record who received a version, from a table (``klero packet receipts``), as a job."""
    t = t_of(request)
    raw = await request.form()
    form = {"receipts_version": text(raw, "receipts_version")}
    version = whole_number(form["receipts_version"])
    if version is None:
        return _packets(request, {"receipts_version": t("packets.bad_version")}, 400, form)
    try:
        path = await take_file(request, raw, "receipts_file", TABLE_TYPES)
    except UploadRefused as refused:
        return _packets(request, {refused.field: refused.message}, refused.status, form)
    root, slug = root_slug(request)

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.record_receipts(root, slug, path, version=version, actor=viewer.actor)

    return submit(request, viewer, "packet.receipts", work, uploads=(path,))


# -- small groups ---------------------------------------------------------------------------------
def _groups(
    request: Request, errors: dict[str, str] | None = None, status: int = 200, form: dict[str, Any] | None = None
) -> Response:
    try:
        groups = uc.groups(*root_slug(request))
    except KleroError as exc:
        groups, errors = {"groups": None, "balance": None}, {**(errors or {}), "size": exc.message}
    context = {"groups": groups, "errors": errors or {}, "form": form or {"size": "8"}}
    return page(request, "deliberation/groups.html", context, status)


@requires(Permission.VIEW)
async def groups_page(request: Request, viewer: Viewer) -> Response:
    """The small groups with their moderators and balance (``klero groups list``)."""
    return _groups(request)


@requires(Permission.RUN)
async def groups_assign(request: Request, viewer: Viewer) -> Response:
    """Assign the panel to balanced small groups, as a job (``klero groups assign``)."""
    t = t_of(request)
    raw = await request.form()
    form = {key: text(raw, key) for key in ("size", "seed")}
    errors = {}
    size = whole_number(form["size"], low=2)
    if size is None:
        errors["size"] = t("groups.bad_size")
    seed = whole_number(form["seed"], low=0) if form["seed"] else None
    if form["seed"] and seed is None:
        errors["seed"] = t("groups.bad_seed")
    moderators = None
    if not errors:
        try:
            moderators = await take_upload(request, raw, "moderators", TABLE_TYPES, required=False)
        except UploadRefused as refused:
            errors[refused.field] = refused.message
    if errors or size is None:
        return _groups(request, errors, 400, form)
    root, slug = root_slug(request)

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        return uc.assign_groups(root, slug, size=size, seed=seed, moderators=moderators, actor=viewer.actor)

    return submit(request, viewer, "groups.assign", work, uploads=(moderators,))


EXPORT_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@requires(Permission.RUN)
async def groups_export(request: Request, viewer: Viewer) -> Response:
    """Download the group members list (``klero groups export``): a POST, as it is audited and holds
    personal data; the file is made in the private upload folder and removed once read."""
    raw = await request.form()
    fmt = text(raw, "format")
    if fmt not in EXPORT_MEDIA:
        fmt = "csv"
    root, slug = root_slug(request)
    folder = root / slug / UPLOAD_FOLDER / secrets.token_hex(8)
    folder.mkdir(mode=0o700, parents=True)
    path = folder / f"tafels.{fmt}"
    try:
        uc.export_groups(root, slug, path, actor=viewer.actor)
        data = path.read_bytes()
    except KleroError as exc:
        return _groups(request, {"export": exc.message}, 400)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    disposition = f'attachment; filename="tafels.{fmt}"'
    return Response(data, media_type=EXPORT_MEDIA[fmt], headers={"content-disposition": disposition})
