"""The one ``klero`` command. Errors become a clean message and exit code 1."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from kleroterion.commands import deliberation, packets, panel, reports, select, sortition
from kleroterion.commands import groups as small_groups
from kleroterion.commands.common import WorkspaceOption, console, open_workspace
from kleroterion.console_io import owned_stdout
from kleroterion.errors import InputError, KleroError
from kleroterion.workspace import ProcessSettings, Workspace

cli = typer.Typer(
    name="klero",
    help="Kleroterion: citizen lotteries and Deliberative Polls, from the registry to the council report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.add_typer(sortition.registry_app, name="registry")
cli.add_typer(sortition.letters_app, name="letters")
cli.add_typer(sortition.pool_app, name="pool")
cli.add_typer(sortition.quotas_app, name="quotas")
cli.add_typer(panel.panel_app, name="panel")
cli.add_typer(deliberation.poll_app, name="poll")
cli.add_typer(deliberation.survey_app, name="survey")
cli.command("analyse")(deliberation.analyse_cmd)
cli.add_typer(packets.packet_app, name="packet")
cli.add_typer(small_groups.groups_app, name="groups")
cli.add_typer(reports.report_app, name="report")
cli.add_typer(reports.recommendation_app, name="recommendation")
cli.add_typer(reports.response_app, name="response")
cli.command("select")(select.select_cmd)


@cli.command()
def init(
    directory: Path,
    name: Annotated[str, typer.Option(help="Name of the process.")],
    municipality: Annotated[str, typer.Option(help="Municipality.")],
    language: Annotated[str, typer.Option(help="Report language: nl or en.")] = "nl",
    reference_date: Annotated[str | None, typer.Option(help="Reference date of the registry (YYYY-MM-DD).")] = None,
    retention_date: Annotated[str, typer.Option(help="Date to delete personal data (YYYY-MM-DD).")] = "",
) -> None:
    """Create a process workspace in DIRECTORY."""
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
    )
    if language not in ("nl", "en"):
        raise KleroError("--language must be nl or en.", code="bad_language")
    with Workspace.create(directory, settings):
        pass
    console.print(f"Workspace '{name}' ({municipality}) created in {directory}.")


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
        console.print(f"{ws.settings.name} — {ws.settings.municipality}")
        for table in ("residents", "letters", "pool_members", "selection_draws", "answers", "audit_log"):
            console.print(f"  {table:<16} {counts.get(table, 0):>8,}")
        drawn = panel.panel_status(ws)
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
        "counts": counts,
        "panel": panel.panel_status(ws),
    }


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
                console.print(f"[red]Error:[/red] {exc.format_message()}", soft_wrap=True)
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
        console.print(f"[red]Error:[/red] {message}", soft_wrap=True)
    sys.exit(exit_code)
