"""``klero report``, ``klero recommendation`` and ``klero response``: parse, call ``kleroterion.app.reports``, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.reports import (
    ReportRequest,
    add_recommendation,
    list_recommendations,
    record_response,
    render_reports,
)
from kleroterion.commands.common import WorkspaceOption, console, hint, open_workspace, progress_bars
from reports.languages import LANGUAGES
from reports.render import FORMATS

report_app = typer.Typer(help="Render reports.", no_args_is_help=True)
recommendation_app = typer.Typer(help="The panel's recommendations.", no_args_is_help=True)
response_app = typer.Typer(help="The council's responses to recommendations.", no_args_is_help=True)

LangOption = Annotated[str, typer.Option(help=" or ".join(LANGUAGES) + ".")]
FormatOption = Annotated[str, typer.Option("--format", help=", ".join(FORMATS) + ".")]
OutOption = Annotated[Path | None, typer.Option(help="Output file (default: <kind>-report.<lang>.<ext>).")]


def _report_cmd(kind: str, workspace: Path, lang: str, fmt: str, out: Path | None) -> None:
    request = ReportRequest(kinds=(kind,), languages=(lang,), formats=(fmt,), out=out)
    with open_workspace(workspace) as ws, progress_bars() as bars:
        result = render_reports(ws, request, progress=bars)
    for path in result.paths:
        console.print(f"Wrote {path}.")
    if kind == "council":
        hint("klero response record N --status adopted (when the council has decided)", workspace=workspace)


@report_app.command("council")
def report_council_cmd(
    workspace: WorkspaceOption = Path("."), lang: LangOption = "nl", fmt: FormatOption = "html", out: OutOption = None
) -> None:
    """The council report: method, population vs pool vs panel, results, responses."""
    _report_cmd("council", workspace, lang, fmt, out)


@report_app.command("selection")
def report_selection_cmd(
    workspace: WorkspaceOption = Path("."), lang: LangOption = "nl", fmt: FormatOption = "html", out: OutOption = None
) -> None:
    """The selection transcript: input hashes, seed, engine, versions, quotas, probabilities, replay command."""
    _report_cmd("selection", workspace, lang, fmt, out)


@report_app.command("feedback")
def report_feedback_cmd(
    workspace: WorkspaceOption = Path("."), lang: LangOption = "nl", fmt: FormatOption = "html", out: OutOption = None
) -> None:
    """The participants' feedback report: what the council decided per recommendation, and why."""
    _report_cmd("feedback", workspace, lang, fmt, out)


@report_app.command("public")
def report_public_cmd(
    workspace: WorkspaceOption = Path("."), lang: LangOption = "nl", fmt: FormatOption = "html", out: OutOption = None
) -> None:
    """Verantwoording van de loting: a one-page public account of how the draw worked (no personal data)."""
    _report_cmd("public", workspace, lang, fmt, out)


@recommendation_app.command("add")
def recommendation_add_cmd(
    text: str,
    workspace: WorkspaceOption = Path("."),
    support: Annotated[float | None, typer.Option(help="Support in the panel, in percent.")] = None,
    minority: Annotated[str, typer.Option(help="Minority position, in the panel's words.")] = "",
    text_en: Annotated[str, typer.Option(help="The recommendation in English, for English reports.")] = "",
    minority_en: Annotated[str, typer.Option(help="The minority position in English.")] = "",
) -> None:
    """Add a recommendation as worded by the panel."""
    with open_workspace(workspace) as ws:
        rec_id = add_recommendation(
            ws, text, support_pct=support, minority=minority, text_en=text_en, minority_en=minority_en
        )
    console.print(f"Recommendation {rec_id} added.")
    hint("klero report council --format pdf", workspace=workspace)


@recommendation_app.command("list")
def recommendation_list_cmd(workspace: WorkspaceOption = Path(".")) -> None:
    """The recommendations with the council's latest response."""
    with open_workspace(workspace) as ws:
        listed = list_recommendations(ws)
    for rec_id, row in listed:
        console.print(f"{rec_id}. {row.text} — {row.status}" + (f" (due {row.due})" if row.due else ""))


@response_app.command("record")
def response_record_cmd(
    recommendation: int,
    status: Annotated[str, typer.Option(help="adopted, partly, rejected or pending.")],
    workspace: WorkspaceOption = Path("."),
    reason: Annotated[str, typer.Option(help="Why (required unless adopted).")] = "",
    due: Annotated[str | None, typer.Option(help="Deadline (YYYY-MM-DD).")] = None,
    owner: Annotated[str, typer.Option(help="Who in the municipality owns the follow-up.")] = "",
) -> None:
    """Record the council's response to a recommendation (earlier responses stay as dated updates)."""
    with open_workspace(workspace) as ws:
        record_response(ws, recommendation, status=status, reason=reason, due=due, owner=owner)
    console.print(f"Response to recommendation {recommendation} recorded: {status}.")
    hint("klero report feedback --format pdf", workspace=workspace)
