"""The one ``klero`` command. Errors become a clean message and exit code 1.

Start-up is fast because a command's module (and pandas, scipy, statsmodels behind it) is imported
only when that command runs or shows its own ``--help``: ``klero --help`` lists the commands from the
static table ``COMMANDS`` (see ``kleroterion.lazy``). ``bench/cli.py`` measures it.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kleroterion.commands.common import QUIET_KEY, WorkspaceOption, console, hint, open_workspace
from kleroterion.console_io import owned_stdout
from kleroterion.errors import InputError, KleroError
from kleroterion.lazy import LazyCommand, LazyGroup

if TYPE_CHECKING:
    from kleroterion.workspace import Workspace


class KleroGroup(LazyGroup):
    """The top-level ``klero`` group: ``COMMANDS`` load lazily; ``ORDER`` is the workflow order of help.

    To add a top-level command, add one line to ``COMMANDS`` (name, ``module:attribute`` of its Typer
    sub-app or command function, and its one-line help, which must equal the sub-app's ``help`` or
    the function's docstring first line; ``tests/kleroterion/test_cli_lazy.py`` checks that) and put
    its name in ``ORDER``. Commands defined in this module (``init``, ``status``, ``demo``) are eager.
    """

    COMMANDS = (
        LazyCommand("registry", "kleroterion.commands.sortition:registry_app", "Import the registry (BRP) extract."),
        LazyCommand(
            "letters", "kleroterion.commands.sortition:letters_app", "Stage 1: draw and export invitation letters."
        ),
        LazyCommand("pool", "kleroterion.commands.sortition:pool_app", "Import sign-ups into the pool."),
        LazyCommand("quotas", "kleroterion.commands.sortition:quotas_app", "Derive and show the quotas."),
        LazyCommand("panel", "kleroterion.commands.panel:panel_app", "Stage 2: select the panel and its alternates."),
        LazyCommand("poll", "kleroterion.commands.deliberation:poll_app", "Define the poll instrument."),
        LazyCommand(
            "packet",
            "kleroterion.commands.packets:packet_app",
            "Briefing packets: arguments, balance, sign-off, receipts.",
        ),
        LazyCommand("survey", "kleroterion.commands.deliberation:survey_app", "Import survey waves."),
        LazyCommand(
            "groups",
            "kleroterion.commands.groups:groups_app",
            "Small groups: random balanced assignment, moderators, drop-outs.",
        ),
        LazyCommand(
            "analyse",
            "kleroterion.commands.deliberation:analyse_cmd",
            "The full analysis (stored in the workspace); prints opinion change and knowledge gain.",
        ),
        LazyCommand("report", "kleroterion.commands.reports:report_app", "Render reports."),
        LazyCommand(
            "recommendation", "kleroterion.commands.reports:recommendation_app", "The panel's recommendations."
        ),
        LazyCommand(
            "response", "kleroterion.commands.reports:response_app", "The council's responses to recommendations."
        ),
        LazyCommand(
            "purge",
            "kleroterion.commands.privacy:purge_cmd",
            "Remove names, addresses, contact details and the registry extract after the retention date.",
        ),
        LazyCommand(
            "person", "kleroterion.commands.privacy:person_app", "One person's data: erasure on request (AVG art. 17)."
        ),
        LazyCommand(
            "select",
            "kleroterion.commands.select:select_cmd",
            "Select a panel of SIZE from RESPONDENTS within the quotas of CATEGORIES (no workspace).",
        ),
        LazyCommand(
            "serve",
            "kleroterion.commands.serve:serve_cmd",
            "Serve the staff web app (Dutch first, English by a switch) over the processes in --root.",
        ),
        LazyCommand(
            "user", "kleroterion.commands.users:user_app", "Staff accounts of the web app: add, grant, list, passwd."
        ),
    )
    ORDER = (
        "init",
        "registry",
        "letters",
        "pool",
        "quotas",
        "panel",
        "poll",
        "packet",
        "survey",
        "groups",
        "analyse",
        "report",
        "recommendation",
        "response",
        "status",
        "purge",
        "person",
        "select",
        "serve",
        "user",
        "demo",
    )


cli = typer.Typer(
    name="klero",
    cls=KleroGroup,
    help="Kleroterion: citizen lotteries and Deliberative Polls, from the registry to the council report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def klero_version() -> str:
    """The installed version of Kleroterion."""
    from importlib.metadata import PackageNotFoundError, version  # 20-70 ms: only for --version

    try:
        return version("kleroterion")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"klero {klero_version()}")
        raise typer.Exit()


@cli.callback()
def main(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars and no next-step hints.")] = False,
    show_version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Kleroterion: citizen lotteries and Deliberative Polls, from the registry to the council report."""
    ctx.meta[QUIET_KEY] = quiet


@cli.command()
def init(
    directory: Path,
    name: Annotated[str, typer.Option(help="Name of the process.")],
    municipality: Annotated[str, typer.Option(help="Municipality.")],
    language: Annotated[str, typer.Option(help="Report language: nl or en.")] = "nl",
    reference_date: Annotated[str | None, typer.Option(help="Reference date of the registry (YYYY-MM-DD).")] = None,
    retention_date: Annotated[str, typer.Option(help="Date to delete personal data (YYYY-MM-DD).")] = "",
    settings_file: Annotated[
        Path | None,
        typer.Option("--settings", help="TOML file with report and session settings to add to process.toml."),
    ] = None,
    example: Annotated[
        str,
        typer.Option(
            help="Replay a shipped synthetic example (peel-en-maas): fixed key and draws, synthetic data only. "
            "Never for a real process."
        ),
    ] = "",
) -> None:
    """Create a process workspace in DIRECTORY."""
    from kleroterion.workspace import ProcessSettings, Workspace, read_settings_file

    for label, value in (("reference date", reference_date), ("retention date", retention_date)):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise KleroError(f"The {label} {value!r} is not a date (use YYYY-MM-DD).", code="bad_date") from None
    settings = ProcessSettings(
        name=name,
        municipality=municipality,
        language=language,
        reference_date=reference_date or date.today().isoformat(),
        retention_date=retention_date,
        example=example,
    )
    if language not in ("nl", "en"):
        raise KleroError("--language must be nl or en.", code="bad_language")
    with Workspace.create(directory, settings, extra_settings=read_settings_file(settings_file)) as ws:
        label = ws.example_label("en")
    console.print(f"Workspace '{name}' ({municipality}) created in {directory}" + (f" ({label})." if label else "."))
    hint(f"klero registry import extract.csv -w {directory}")


@cli.command()
def status(
    workspace: WorkspaceOption = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
) -> None:
    """Counts of what the workspace holds."""
    with open_workspace(workspace) as ws:
        counts = ws.store.table_counts()
        if as_json:
            typer.echo(json.dumps(_status_record(ws, counts), sort_keys=True))
            return
        label = ws.example_label("en")
        console.print(f"{ws.settings.name} — {ws.settings.municipality}" + (f" ({label.upper()})" if label else ""))
        for table in ("residents", "letters", "pool_members", "selection_draws", "answers", "audit_log"):
            console.print(f"  {table:<16} {counts.get(table, 0):>8,}")
        drawn = _panel_status(ws, counts)
    if drawn:
        redraws = f"; re-drawn {drawn['redraws']}x, last reason: {drawn['redraw_reason']}" if drawn["redraws"] else ""
        console.print(
            f"Panel (draw {drawn['draw_id']}{redraws}): {drawn['members']:,} members, "
            f"{drawn['alternates']:,} alternates waiting, {drawn['replaced']:,} replaced.",
            soft_wrap=True,
        )


def _status_record(ws: Workspace, counts: dict[str, int]) -> dict[str, object]:
    """The workspace status as plain data: settings, table counts and the latest panel draw
    (``panel.panel_status``: members, alternates, replaced, draws; ``alternates_left`` and
    ``replacements`` kept for earlier readers)."""
    return {
        "name": ws.settings.name,
        "municipality": ws.settings.municipality,
        "reference_date": ws.settings.reference_date,
        "example": ws.settings.example,
        "counts": counts,
        "panel": _panel_status(ws, counts),
    }


def _panel_status(ws: Workspace, counts: dict[str, int]) -> dict[str, Any] | None:
    """The latest panel draw in numbers; the panel module (pandas, the engine) loads only once there is one."""
    if not counts.get("selection_draws"):
        return None
    from kleroterion.commands.panel import panel_status

    return panel_status(ws)


@cli.command()
def demo(out: Annotated[Path, typer.Option(help="Output folder.")] = Path("demo-output")) -> None:
    """Run the whole chain on the shipped Peel en Maas example."""
    from kleroterion.demo import run_demo

    result = run_demo(out)
    console.print(f"Done. Workspace: {result.workspace}; reports: {', '.join(str(p) for p in result.reports)}")


def app() -> None:
    """Entry point: run the CLI, turning Kleroterion errors into a message and exit code 1.

    Under ``--json`` a failure is JSON too, one documented shape on standard output::

        {"error": {"code": "input_error", "message": "...",
                   "problems": [{"file": ..., "row": ..., "column": ..., "value": ..., "message": ...}]}}
    """
    as_json = "--json" in sys.argv[1:]
    with owned_stdout():
        try:
            cli(standalone_mode=False)
        except KleroError as exc:
            _fail(as_json, exc.code, exc.message, _problems(exc))
        except (typer.Abort, KeyboardInterrupt):
            _fail(as_json, "aborted", "Aborted.", [])
        except typer.TyperException as exc:  # usage errors: typer's own click raises these
            if as_json:
                _fail(as_json, "usage_error", exc.format_message(), [], exit_code=exc.exit_code)
            show = getattr(exc, "show", None)
            if callable(show):
                show()
            else:
                from rich.markup import escape

                console.print(f"[red]Error:[/red] {escape(exc.format_message())}", soft_wrap=True)
            sys.exit(exc.exit_code)


def _problems(exc: KleroError) -> list[dict[str, object]]:
    """The problems of an input error as JSON-ready records (empty for other errors)."""
    if not isinstance(exc, InputError):
        return []
    return [
        {"file": exc.source, "row": p.row, "column": p.column, "value": _plain(p.value), "message": p.message}
        for p in exc.problems
    ]


def _plain(value: object) -> object:
    """A problem's value as something JSON can hold."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _fail(as_json: bool, code: str, message: str, problems: list[dict[str, object]], *, exit_code: int = 1) -> None:
    if as_json:
        typer.echo(json.dumps({"error": {"code": code, "message": message, "problems": problems}}))
    else:
        from rich.markup import escape

        console.print(f"[red]Error:[/red] {escape(message)}", soft_wrap=True)
    sys.exit(exit_code)
