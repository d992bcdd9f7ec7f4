"""Create a process workspace (``klero init``), a real process or a shipped synthetic example."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kleroterion.errors import KleroError
from kleroterion.workspace import ProcessSettings, Workspace, read_settings_file
from reports.languages import LANGUAGES, check_language


@dataclass(frozen=True)
class InitRequest:
    """A new workspace in ``directory``.

    ``reference_date`` (the registry extract's date, YYYY-MM-DD) defaults to the day of the init;
    ``retention_date`` is the day personal data is to be deleted (empty: not set yet); ``settings_file``
    is a TOML file of ``[report]`` and ``[[session]]`` settings to add to ``process.toml``; ``example``
    names a shipped synthetic example to replay (fixed key and seeds; never for a real process)."""

    directory: Path
    name: str
    municipality: str
    language: str = LANGUAGES[0]
    reference_date: str | None = None
    retention_date: str = ""
    settings_file: Path | None = None
    example: str = ""


@dataclass(frozen=True)
class InitResult:
    """The workspace made: its folder, and "example, synthetic data" when it replays an example."""

    root: Path
    name: str
    municipality: str
    example_label: str


def init_workspace(request: InitRequest, *, today: date | None = None) -> InitResult:
    """Check the request (dates, language, settings file) and create the workspace; nothing is written
    when a check fails. ``today`` is the default reference date (the day of the init when not given).

    Errors: ``bad_date``, ``unsupported_language``, ``bad_settings``, and the store's ``workspace_exists``,
    ``cannot_create_workspace``, ``key_exists``."""
    for label, value in (("reference date", request.reference_date), ("retention date", request.retention_date)):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise KleroError(
                    f"The {label} {value!r} is not a date (use YYYY-MM-DD).", code="bad_date", value=value
                ) from None
    check_language(request.language, where="--language")
    settings = ProcessSettings(
        name=request.name,
        municipality=request.municipality,
        language=request.language,
        reference_date=request.reference_date or (today or date.today()).isoformat(),
        retention_date=request.retention_date,
        example=request.example,
    )
    extra = read_settings_file(request.settings_file)
    with Workspace.create(request.directory, settings, extra_settings=extra) as ws:
        label = ws.example_label("en")
    return InitResult(root=request.directory, name=request.name, municipality=request.municipality, example_label=label)
