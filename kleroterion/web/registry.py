"""The registry upload, the pattern of every chain step: a form, a background job, a result page.

The upload is checked before any work starts (size; CSV or XLSX by extension and by its first bytes),
kept in a private folder of the workspace while the job runs and removed when it ends. The job calls
the registry import use case, which stores nothing when any cell is bad: the job page then lists every
problem with its file, row, column and value.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kleroterion.store.server import Job
from kleroterion.web import i18n, usecases
from kleroterion.web.app import render
from kleroterion.web.permissions import Permission, Viewer, requires
from sortition.progress import Cancel, Progress

UPLOAD_FOLDER = ".uploads"
ACCEPTED = (".csv", ".xlsx")
SNIFF_BYTES = 64 * 1024
CHUNK = 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
KIND = "registry.import"


def _t(request: Request) -> Any:
    return i18n.translator(i18n.language(request.cookies.get(i18n.COOKIE)))


def _limit_mb(request: Request) -> int:
    return int(request.app.state.settings.max_upload // (1024 * 1024))


@requires(Permission.RUN)
async def upload_page(request: Request, viewer: Viewer) -> Response:
    return render(request, "registry_upload.html", {"limit_mb": _limit_mb(request)})


@requires(Permission.RUN)
async def upload(request: Request, viewer: Viewer) -> Response:
    """Check and keep the file, start the import job and go to its page."""
    slug = request.path_params["process"]
    t = _t(request)
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _refuse(request, t("upload.need_file"))
    name = safe_name(file.filename)
    if Path(name).suffix.lower() not in ACCEPTED:
        return _refuse(request, t("upload.bad_type"))
    head = await file.read(SNIFF_BYTES)
    if not looks_like(Path(name).suffix.lower(), head):
        return _refuse(request, t("upload.bad_content"))
    folder = request.app.state.root / slug / UPLOAD_FOLDER / secrets.token_hex(8)
    path = folder / name
    if not await _keep(file, head, path, limit=request.app.state.settings.max_upload):
        shutil.rmtree(folder, ignore_errors=True)
        return _refuse(request, t("upload.too_large", limit=_limit_mb(request)), status=413)
    root = request.app.state.root

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        try:
            return usecases.import_registry(root, slug, path, actor=viewer.actor, progress=progress, cancel=cancel)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    job = request.app.state.jobs.submit(kind=KIND, process=slug, owner=viewer.user.username, work=work)
    return RedirectResponse(f"/p/{slug}/jobs/{job.id}", status_code=303)


def _refuse(request: Request, message: str, *, status: int = 400) -> Response:
    return render(
        request, "registry_upload.html", {"errors": {"file": message}, "limit_mb": _limit_mb(request)}, status=status
    )


def safe_name(filename: str) -> str:
    """The upload's own file name (it names the file in every problem), without any folder or odd character."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")
    return cleaned[:120] or "upload"


def looks_like(suffix: str, head: bytes) -> bool:
    """Whether the first bytes fit the extension: an XLSX is a ZIP; a CSV is text (UTF-8 or
    Windows-1252, no NUL byte) with a ``;`` or ``,`` on its first line."""
    if suffix == ".xlsx":
        return head.startswith(ZIP_MAGIC)
    if not head or b"\x00" in head or head.startswith(ZIP_MAGIC):
        return False
    first = head.split(b"\n", 1)[0]
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = first.decode(encoding)
        except UnicodeDecodeError:
            continue
        return ";" in text or "," in text
    return False


async def _keep(file: UploadFile, head: bytes, path: Path, *, limit: int) -> bool:
    """Write the upload to ``path`` (0600 in a 0700 folder); False when it is larger than ``limit``."""
    path.parent.mkdir(mode=0o700, parents=True)
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        chunk = head
        while chunk:
            written += len(chunk)
            if written > limit:
                return False
            out.write(chunk)
            chunk = await file.read(CHUNK)
    return True


def _job(request: Request) -> Job:
    job = request.app.state.server.job(request.path_params["job_id"])
    if job is None or job.process != request.path_params["process"]:
        raise HTTPException(404)
    return job


@requires(Permission.VIEW)
async def job_page(request: Request, viewer: Viewer) -> Response:
    """A job's progress, then its result or every problem; reloadable at any time."""
    return render(request, "job.html", {"job": _job(request)})


@requires(Permission.VIEW)
async def job_status(request: Request, viewer: Viewer) -> Response:
    """The status block the job page polls every second (htmx)."""
    return render(request, "_job_status.html", {"job": _job(request)})


@requires(Permission.RUN)
async def cancel_job(request: Request, viewer: Viewer) -> Response:
    job = _job(request)
    request.app.state.jobs.cancel(job.id)
    return RedirectResponse(f"/p/{job.process}/jobs/{job.id}", status_code=303)
