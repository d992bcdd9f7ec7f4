"""What every chain step's page shares: the upload checked on the form and kept while its job runs, the
job started, and the small form readers (the registry upload, ``registry``, is the pattern).

An upload is refused on the form (``UploadRefused``: the field and the message) when it is missing, of
another type by its extension, or when its first bytes do not fit that type; it is kept, size-limited, in
a private folder of the workspace (``<process>/.uploads/``) and removed when its job ends.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kleroterion.web import i18n
from kleroterion.web.app import render
from kleroterion.web.permissions import Viewer
from kleroterion.web.registry import SNIFF_BYTES, UPLOAD_FOLDER, _keep, looks_like, safe_name
from sortition.progress import Cancel, Progress

#: The first bytes of the binary formats the survey import reads.
MAGIC = {".xlsx": (b"PK\x03\x04",), ".sav": (b"$FL2", b"$FL3"), ".parquet": (b"PAR1",)}


def t_of(request: Request) -> Any:
    return i18n.translator(i18n.language(request.cookies.get(i18n.COOKIE)))


def sniff(suffix: str, head: bytes) -> bool:
    """Whether the first bytes fit the extension: the binary formats by their magic bytes; a TOML file is
    UTF-8 text, a CSV UTF-8 text or a Windows-1252 table (one column is fine: a list of moderators)."""
    if suffix in MAGIC:
        return head.startswith(MAGIC[suffix])
    if not head or b"\x00" in head or head.startswith(MAGIC[".xlsx"]):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) == SNIFF_BYTES and exc.start > len(head) - 4:  # a character cut off by the sniff
            return True
        return suffix == ".csv" and looks_like(".csv", head)  # a Windows-1252 table
    return True


class UploadRefused(Exception):
    """An upload refused before any work: the field and the message for the page."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


async def take_upload(
    request: Request, form: FormData, field: str, accepted: tuple[str, ...], *, required: bool = True
) -> Path | None:
    """Check the uploaded file of ``field`` and keep it in a private folder of the workspace (removed by
    ``drop_upload`` when the job ends); None when no file was given and none is required."""
    t = t_of(request)
    file = form.get(field)
    if not isinstance(file, UploadFile) or not file.filename:
        if required:
            raise UploadRefused(field, t("upload.need_file"))
        return None
    name = safe_name(file.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in accepted:
        raise UploadRefused(field, t("delib.bad_type", types=", ".join(accepted)))
    head = await file.read(SNIFF_BYTES)
    if not sniff(suffix, head):
        raise UploadRefused(field, t("delib.bad_content", types=", ".join(accepted)))
    folder = request.app.state.root / request.path_params["process"] / UPLOAD_FOLDER / secrets.token_hex(8)
    path = folder / name
    limit = request.app.state.settings.max_upload
    if not await _keep(file, head, path, limit=limit):
        shutil.rmtree(folder, ignore_errors=True)
        raise UploadRefused(field, t("upload.too_large", limit=limit // (1024 * 1024)), 413)
    return path


async def take_file(request: Request, form: FormData, field: str, accepted: tuple[str, ...]) -> Path:
    """``take_upload`` of a required file."""
    path = await take_upload(request, form, field, accepted)
    if path is None:  # pragma: no cover - take_upload refuses a missing required file
        raise UploadRefused(field, t_of(request)("upload.need_file"))
    return path


def drop_upload(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            shutil.rmtree(path.parent, ignore_errors=True)


def submit(
    request: Request,
    viewer: Viewer,
    kind: str,
    work: Callable[[Progress, Cancel], dict[str, Any]],
    *,
    uploads: tuple[Path | None, ...] = (),
) -> Response:
    """Start ``work`` as a job of ``kind`` (its uploads removed when it ends) and go to the job page."""
    slug = request.path_params["process"]

    def run(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        try:
            return work(progress, cancel)
        finally:
            drop_upload(*uploads)

    job = request.app.state.jobs.submit(kind=kind, process=slug, owner=viewer.user.username, work=run)
    return RedirectResponse(f"/p/{slug}/jobs/{job.id}", status_code=303)


def text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def whole_number(value: str, *, low: int = 1) -> int | None:
    """A whole number of at least ``low`` typed in a form; None when it is not one."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number >= low else None


def root_slug(request: Request) -> tuple[Path, str]:
    return request.app.state.root, request.path_params["process"]


def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return render(
        request,
        template,
        {"limit_mb": request.app.state.settings.max_upload // (1024 * 1024), **context},
        status=status,
    )
