"""The process workspace: a folder with ``process.toml``, a secret key and the store."""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kleroterion.errors import KleroError, StoreError, WorkspaceNotFoundError
from kleroterion.example import LABELS, example, example_seed
from kleroterion.seeds import fresh_seed
from kleroterion.store import Store
from reports.languages import LANGUAGES, check_language
from reports.settings import REPORT_TEMPLATE, ReportSettings, report_settings

if TYPE_CHECKING:  # sortition.signup imports pandas (via sortition.registry): `klero status` stays light
    from sortition.signup import SignupCategory

PROCESS_FILE = "process.toml"
KEY_FILE = ".klero-key"
DEFAULT_DB = "sqlite:///store.sqlite"
#: A server install's PostgreSQL database: new workspaces go there (each in a fresh schema) instead of SQLite.
DATABASE_ENV = "KLERO_DATABASE_URL"
#: The workspace folder holds personal data: only its owner may list or enter it.
PRIVATE_FOLDER = 0o700


@dataclass(frozen=True)
class ProcessSettings:
    """The settings of one process, as in ``process.toml``."""

    name: str
    municipality: str
    language: str = "nl"
    retention_date: str = ""
    reference_date: str = ""
    database_url: str = DEFAULT_DB
    exclude_restricted: bool = True
    suppression_threshold: int = 5
    legal_basis: str = "Wet BRP art. 3.8 (eigen taak gemeente); te bevestigen door de FG"
    #: the shipped synthetic example this workspace replays (``klero init --example``); empty for a real process
    example: str = ""

    def to_toml(self) -> str:
        lines = ["[process]"]
        for key, value in self.__dict__.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int):
                lines.append(f"{key} = {value}")
            else:
                escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
                lines.append(f'{key} = "{escaped}"')
        return "\n".join(lines) + "\n"

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, source: str) -> ProcessSettings:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise KleroError(f"{source}: unknown setting(s) {', '.join(sorted(unknown))}", code="bad_settings")
        check_language(str(data.get("language", LANGUAGES[0])), where=f"{source} [process] language")
        data = {  # a TOML date (retention_date = 2027-12-31, unquoted) reads as a date: keep it as text
            k: v.isoformat() if k in ("reference_date", "retention_date") and isinstance(v, date) else v
            for k, v in data.items()
        }
        _check_types(data, source=source)
        if data.get("example"):
            example(str(data["example"]))  # a clear error for an unknown example
        return cls(**data)


def _check_types(data: dict[str, Any], *, source: str) -> None:
    """Each ``[process]`` setting of the type its default has; dates as YYYY-MM-DD; the suppression
    threshold a whole number ≥ 1 (0 or less would switch suppression off). One message lists them all."""
    problems = []
    for name, field_ in ProcessSettings.__dataclass_fields__.items():
        if name not in data:
            continue
        value, default = data[name], field_.default
        if isinstance(default, bool) and not isinstance(value, bool):
            problems.append(f"{name} = {value!r} must be true or false")
        elif (
            isinstance(default, int)
            and not isinstance(default, bool)
            and (isinstance(value, bool) or not isinstance(value, int))
        ):
            problems.append(f"{name} = {value!r} must be a whole number")
        elif isinstance(default, str) and not isinstance(value, str):
            problems.append(f"{name} = {value!r} must be text in quotes")
    threshold = data.get("suppression_threshold", 1)
    if isinstance(threshold, int) and not isinstance(threshold, bool) and threshold < 1:
        problems.append(f"suppression_threshold = {threshold} must be 1 or more (it hides counts below it)")
    for name in ("reference_date", "retention_date"):
        value = data.get(name, "")
        if isinstance(value, str) and value:
            try:
                date.fromisoformat(value)
            except ValueError:
                problems.append(f"{name} = {value!r} is not a date (use YYYY-MM-DD)")
    if problems:
        raise KleroError(f"{source} [process]: " + "; ".join(problems) + ".", code="bad_settings")


class Workspace:
    """An opened workspace; use as a context manager to close its store."""

    def __init__(self, root: Path, settings: ProcessSettings, key: bytes) -> None:
        self.root = root
        self.settings = settings
        self.key = key
        self.store = Store(settings.database_url, base_dir=root)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()

    @property
    def reference_date(self) -> date:
        return date.fromisoformat(self.settings.reference_date) if self.settings.reference_date else date.today()

    @property
    def is_example(self) -> bool:
        """True for a workspace of a shipped synthetic example (fixed key and seeds, not a real process)."""
        return bool(self.settings.example)

    def example_label(self, lang: str) -> str:
        """ "example, synthetic data" (in ``lang``) for an example workspace; empty for a real process."""
        return LABELS[lang] if self.is_example else ""

    def draw_seed(self, purpose: str) -> int:
        """The seed of a draw nobody gave a seed for: fresh from ``secrets`` in a real process; in an
        example workspace the example's fixed seed for ``purpose`` (``letters``, ``codes``, ``panel``,
        ``control``, ``groups``), so it repeats the files ``klero demo`` wrote."""
        return example_seed(self.settings.example, purpose) if self.is_example else fresh_seed()

    @property
    def template_dir(self) -> Path:
        return self.root / "templates"

    @property
    def report_settings(self) -> ReportSettings:
        """The ``[report]`` and ``[[session]]`` settings of ``process.toml`` (read when a report needs them,
        so a mistake there never blocks the other commands; a file without them gives empty settings)."""
        data = self._process_toml()
        return report_settings(data.get("report", {}), data.get("session", []), source=str(self.root / PROCESS_FILE))

    @property
    def signup_categories(self) -> tuple[SignupCategory, ...]:
        """The ``[[signup.category]]`` tables of ``process.toml``: what the sign-up sheet asks and what quotas,
        selection and reports stratify on; the built-in gender, age band and education when none are declared."""
        from sortition.signup import categories_from_settings

        signup = self._process_toml().get("signup", {})
        source = str(self.root / PROCESS_FILE)
        if not isinstance(signup, dict) or not isinstance(signup.get("category", []), list):
            raise KleroError(
                f"{source}: write the sign-up categories as [[signup.category]] tables.", code="bad_settings"
            )
        return categories_from_settings(signup.get("category", []), source=source)

    def _process_toml(self) -> dict[str, Any]:
        process = self.root / PROCESS_FILE
        try:
            return tomllib.loads(process.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(
                f"{process}: not valid TOML ({exc}); fix or restore the file.",
                code="bad_process_file",
                path=str(process),
            ) from exc

    @classmethod
    def create(
        cls, root: Path, settings: ProcessSettings, *, key: bytes | None = None, extra_settings: str = ""
    ) -> Workspace:
        """Create a new workspace in ``root`` (which may exist but must not hold a workspace).

        The folder is made private (0700, an existing one too), the key file is created 0600 and so are
        the database and its copies (``StoreCore``, ``write_columns``): they will hold personal data.

        The pseudonymisation key comes from ``secrets``, except in a workspace of a shipped synthetic
        example (``settings.example``), which takes the example's fixed key (so ``make demo`` prints the
        same figures each run); ``key`` fixes it for tests. ``extra_settings`` (TOML, e.g. ``[report]``
        and ``[[session]]``) is appended to ``process.toml``; it must parse and may not hold ``[process]``."""
        if (root / PROCESS_FILE).exists():
            raise StoreError(
                f"{root} already holds a workspace ({PROCESS_FILE} exists).", code="workspace_exists", path=str(root)
            )
        if key is None and settings.example:
            key = example(settings.example).key
        settings = replace(settings, database_url=new_database_url(settings.database_url))
        _check_extra_settings(extra_settings)
        try:
            root.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
            root.chmod(PRIVATE_FOLDER)  # also an existing folder: it is about to hold personal data
        except OSError as exc:
            raise StoreError(
                f"Cannot create the workspace folder {root}: {exc}", code="cannot_create_workspace", path=str(root)
            ) from exc
        _write_key(root / KEY_FILE, key.hex() if key is not None else secrets.token_hex(32))
        # the reader's own settings, or a commented template of them to fill in
        extra = "\n" + extra_settings if extra_settings.strip() else REPORT_TEMPLATE
        (root / PROCESS_FILE).write_text(settings.to_toml() + extra, encoding="utf-8")
        workspace = cls.open(root)
        workspace.store.audit(
            "workspace.init",
            parameters={"name": settings.name, "municipality": settings.municipality, "example": settings.example},
        )
        return workspace

    @classmethod
    def open(cls, root: Path) -> Workspace:
        """Open the workspace in ``root``; says clearly when there is none."""
        process = root / PROCESS_FILE
        if not process.is_file():
            raise WorkspaceNotFoundError(
                f"No Kleroterion workspace in {root.resolve()} (no {PROCESS_FILE}). "
                "Create one with `klero init DIR --name ... --municipality ...`, or pass --workspace DIR.",
                path=str(root),
            )
        try:
            data = tomllib.loads(process.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(
                f"{process}: not valid TOML ({exc}); fix or restore the file.",
                code="bad_process_file",
                path=str(process),
            ) from exc
        settings = ProcessSettings.from_mapping(dict(data.get("process", {})), source=str(process))
        try:
            key = bytes.fromhex((root / KEY_FILE).read_text(encoding="utf-8").strip())
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"The workspace key {root / KEY_FILE} is missing or damaged.", code="bad_key", path=str(root)
            ) from exc
        return cls(root, settings, key)


def new_database_url(url: str) -> str:
    """The ``database_url`` a new workspace gets: ``url`` as given, except the default SQLite file when
    ``KLERO_DATABASE_URL`` names a PostgreSQL database; then that database, in a schema of its own
    (``?schema=ws_<random>``) unless the variable names one."""
    server = os.environ.get(DATABASE_ENV, "").strip()
    if url != DEFAULT_DB or not server:
        return url
    if "schema=" in server:
        return server
    return f"{server}{'&' if '?' in server else '?'}schema=ws_{secrets.token_hex(8)}"


def _write_key(path: Path, key_hex: str) -> None:
    """Create the key file readable by its owner only, from the first byte on (no write-then-chmod race).

    An existing key file is never overwritten: pseudonyms made with it could no longer be linked."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StoreError(
            f"{path} exists but {path.parent} holds no {PROCESS_FILE}: a leftover of an interrupted `klero init`? "
            "Remove the key file only if no data was pseudonymised with it.",
            code="key_exists",
            path=str(path),
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key_hex + "\n")


def _check_extra_settings(text: str) -> None:
    """Settings to append to ``process.toml`` must be TOML without a ``[process]`` table of their own."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KleroError(f"The settings file is not valid TOML ({exc}).", code="bad_settings") from None
    if "process" in data:
        raise KleroError(
            "The settings file may not set the process itself (its name, municipality, dates): give those as options "
            "of `klero init`; the file holds report and session settings.",
            code="bad_settings",
        )


def read_settings_file(path: Path | None) -> str:
    """The text of a settings file for ``Workspace.create(extra_settings=...)``; empty without a file."""
    if path is None:
        return ""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KleroError(f"Cannot read the settings file {path}: {exc}.", code="bad_settings") from None
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KleroError(f"The settings file {path} is not valid TOML ({exc}).", code="bad_settings") from None
    return text
