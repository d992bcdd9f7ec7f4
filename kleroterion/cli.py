"""The one ``klero`` command. Errors become a clean message and exit code 1.

Start-up is fast because a command's module (and pandas, scipy, statsmodels behind it) is imported
only when that command runs or shows its own ``--help``: ``klero --help`` lists the commands from the
static table ``COMMANDS`` (see ``kleroterion.lazy``). ``bench/cli.py`` measures it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kleroterion.commands.common import QUIET_KEY, WorkspaceOption, console, hint, open_workspace
from kleroterion.console_io import owned_stdout
from kleroterion.errors import InputError, KleroError
from kleroterion.lazy import LazyCommand, LazyGroup
from reports.languages import LANGUAGES

#: The process umask while a command runs: files 0600, folders 0700, whatever writes them (reports,
#: analysis tables, exports, lottery lists, quota files, the demo's folder).
PRIVATE_UMASK = 0o077

if TYPE_CHECKING:
    pass


class KleroGroup(LazyGroup):
    """The top-level ``klero`` group: ``COMMANDS`` load lazily; ``ORDER`` is the workflow order of help.

    To add a top-level command, add one line to ``COMMANDS`` (name, ``module:attribute`` of its Typer
    sub-app or command function, and its one-line help, which must equal the sub-app's ``help`` or
    the function's docstring first line; ``tests/kleroterion/test_cli_lazy.py`` checks that) and put
    its name in ``ORDER``. Commands defined in this module (``init``, ``status``, ``demo``) are eager.
    """

    COMMANDS = (
        LazyCommand("registry", "kleroterion.commands.registry:registry_app", "Import the registry (BRP) extract."),
        LazyCommand(
            "letters", "kleroterion.commands.letters:letters_app", "Stage 1: draw and export invitation letters."
        ),
        LazyCommand("pool", "kleroterion.commands.pool:pool_app", "Import sign-ups into the pool."),
        LazyCommand("quotas", "kleroterion.commands.quotas:quotas_app", "Derive and show the quotas."),
        LazyCommand("panel", "kleroterion.commands.panel:panel_app", "Stage 2: select the panel and its alternates."),
        LazyCommand("poll", "kleroterion.commands.poll:poll_app", "Define the poll instrument."),
        LazyCommand(
            "packet",
            "kleroterion.commands.packets:packet_app",
            "Briefing packets: arguments, balance, sign-off, receipts.",
        ),
        LazyCommand("survey", "kleroterion.commands.survey:survey_app", "Import survey waves."),
        LazyCommand(
            "groups",
            "kleroterion.commands.groups:groups_app",
            "Small groups: random balanced assignment, moderators, drop-outs.",
        ),
        LazyCommand(
            "analyse",
            "kleroterion.commands.analyse:analyse_cmd",
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
            "audit",
            "kleroterion.commands.audit:audit_app",
            "The tamper-evident record: verify the chain and every draw, publish its head.",
        ),
        LazyCommand(
            "backup",
            "kleroterion.commands.backup:backup_cmd",
            "Write a consistent backup of the workspace (database, process.toml, key) to one archive, mode 0600.",
        ),
        LazyCommand(
            "restore",
            "kleroterion.commands.backup:restore_cmd",
            "Restore a backup into a new folder, check every file's SHA-256 and verify its audit record.",
        ),
        LazyCommand(
            "publish-kit",
            "kleroterion.commands.publish:publish_kit_cmd",
            "Write a panel draw's publish kit (pseudonymised pool, quotas, seed, chain anchor) for `klero replay`.",
        ),
        LazyCommand(
            "replay",
            "kleroterion.commands.replay:replay_cmd",
            "Replay a draw from its publish kit (no workspace needed); exit code 1 if it does not match.",
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
        "audit",
        "backup",
        "restore",
        "publish-kit",
        "replay",
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
    language: Annotated[str, typer.Option(help="Report language: " + " or ".join(LANGUAGES) + ".")] = LANGUAGES[0],
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
    from kleroterion.app.workspace import InitRequest, init_workspace

    made = init_workspace(
        InitRequest(
            directory=directory,
            name=name,
            municipality=municipality,
            language=language,
            reference_date=reference_date,
            retention_date=retention_date,
            settings_file=settings_file,
            example=example,
        )
    )
    label = made.example_label
    console.print(f"Workspace '{name}' ({municipality}) created in {directory}" + (f" ({label})." if label else "."))
    hint(f"klero registry import extract.csv -w {directory}")


@cli.command()
def status(
    workspace: WorkspaceOption = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
) -> None:
    """Counts of what the workspace holds."""
    from kleroterion.app.status import workspace_status

    with open_workspace(workspace) as ws:
        shown = workspace_status(ws)
    if as_json:
        typer.echo(json.dumps(shown.to_record(), sort_keys=True))
        return
    label = shown.example_label
    console.print(f"{shown.name} — {shown.municipality}" + (f" ({label.upper()})" if label else ""))
    for table, count in shown.shown_counts():
        console.print(f"  {table:<16} {count:>8,}")
    drawn = shown.panel
    if drawn:
        redraws = f"; re-drawn {drawn['redraws']}x, last reason: {drawn['redraw_reason']}" if drawn["redraws"] else ""
        console.print(
            f"Panel (draw {drawn['draw_id']}{redraws}): {drawn['members']:,} members, "
            f"{drawn['alternates']:,} alternates waiting, {drawn['replaced']:,} replaced.",
            soft_wrap=True,
        )


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
    previous = os.umask(PRIVATE_UMASK)  # private by default: every file a command writes is owner-only
    try:
        _run(as_json)
    finally:
        os.umask(previous)


def _run(as_json: bool) -> None:
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
