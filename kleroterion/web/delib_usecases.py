"""The deliberation and report pages' door to the application: thin adapters over ``kleroterion.app``.

Each opens the process's workspace, names the web user as the actor of every audit record, calls the
use case the matching ``klero`` command calls, and returns plain values (JSON for a job's result, dicts
and lists for a page). Heavy modules (pandas, the analysis, the report renderer) load only here, when a
page or job needs them, never when the server starts.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kleroterion.errors import KleroError
from kleroterion.workspace import Workspace
from sortition.progress import Cancel, Progress

if TYPE_CHECKING:
    import pandas as pd

    from deliberation.responses import WaveLayout

#: Rendered reports of a process live here, inside its (private) workspace folder.
REPORT_FOLDER = ".web-reports"
#: The only names a rendered report may have: ``<kind>-report.<lang>.<fmt>`` (no personal data).
REPORT_NAME = re.compile(r"^(council|selection|feedback|public)-report\.(nl|en)\.(html|pdf|docx)$")


def _open(root: Path, slug: str, actor: str | None = None) -> Workspace:
    ws = Workspace.open(root / slug)
    if actor is not None:
        ws.store.actor = actor
    return ws


def _cell(value: Any) -> Any:
    """A table cell as JSON and the page show it (NaN as empty)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return _cell(value.item())
    return value


def frame_rows(frame: pd.DataFrame) -> dict[str, Any]:
    """A table as ``{"columns": [...], "rows": [[...], ...]}`` for the page's table macro."""
    return {
        "columns": [str(c) for c in frame.columns],
        "rows": [[_cell(v) for v in row] for row in frame.itertuples(index=False)],
    }


# -- the poll instrument --------------------------------------------------------------------------
def instrument(root: Path, slug: str) -> dict[str, Any] | None:
    """The stored instrument as ``klero poll define`` stored it: name, items, waves; None before."""
    with _open(root, slug) as ws:
        return ws.store.instrument_definition()


def define_poll(root: Path, slug: str, path: Path, *, actor: str) -> dict[str, Any]:
    from kleroterion.app.poll import define_poll as run

    with _open(root, slug, actor) as ws:
        out = run(ws, path)
    return {
        "items": out.items,
        "knowledge_items": out.knowledge_items,
        "evaluation_items": out.evaluation_items,
        "waves": list(out.waves),
    }


def control_group(root: Path, slug: str) -> int:
    """How many respondents of the control arm are stored (0 before the draw)."""
    with _open(root, slug) as ws:
        participants = ws.store.participants()
    return int((participants["arm"] == "control").sum()) if len(participants) else 0


def draw_control(root: Path, slug: str, *, count: int, seed: int | None, actor: str) -> dict[str, Any]:
    """``klero poll control --count N``: the control group, drawn from residents at addresses that got
    no letter (seed from ``secrets`` unless given; stored in the audit log)."""
    from kleroterion.app.poll import draw_control as run

    with _open(root, slug, actor) as ws:
        out = run(ws, count=count, seed=seed)
    return {"control": out.control, "seed": str(out.seed)}


# -- survey waves ---------------------------------------------------------------------------------
def waves(root: Path, slug: str) -> list[dict[str, Any]]:
    """Every wave of the instrument (and any other stored), with respondents and answers stored."""
    with _open(root, slug) as ws:
        definition = ws.store.instrument_definition()
        answers = ws.store.answers() if ws.store.table_counts().get("answers") else None
    codes = [str(w["code"]) for w in definition["waves"]] if definition else []
    found: dict[str, dict[str, Any]] = {c: {"code": c, "respondents": 0, "answers": 0} for c in codes}
    if answers is not None and len(answers):
        for wave, part in answers.groupby("wave", sort=False):
            row = found.setdefault(str(wave), {"code": str(wave)})
            row["respondents"] = int(part["participant_id"].nunique())
            row["answers"] = len(part)
    return list(found.values())


def import_survey(
    root: Path,
    slug: str,
    path: Path,
    layout: WaveLayout,
    *,
    replace: bool,
    allow_empty: bool,
    actor: str,
) -> dict[str, Any]:
    from kleroterion.app.survey import import_survey as run

    with _open(root, slug, actor) as ws:
        out = run(ws, path, layout, replace=replace, allow_empty=allow_empty)
    return {
        "waves": list(out.waves),
        "respondents": out.respondents,
        "created": out.created,
        "answers": out.answers,
        "absent": dict(out.absent),
        "ignored": list(out.ignored),
        "weights": list(out.weights),
        "replaced": out.replaced,
        "user_missing": dict(out.user_missing),
    }


# -- packets --------------------------------------------------------------------------------------
def packets(root: Path, slug: str) -> dict[str, Any]:
    """The packet versions and, for the latest version of each title, its balance check."""
    from kleroterion.app.packets import check_packet

    with _open(root, slug) as ws:
        versions = ws.store.packet_versions()
        if versions.empty:
            return {"versions": [], "checks": []}
        checks = []
        for title in sorted(set(versions["title"])):
            check = check_packet(ws, title=title)
            checks.append(
                {
                    "title": check.title,
                    "version": check.version,
                    "arguments": check.arguments,
                    "receipts": check.receipts,
                    "balance": frame_rows(check.balance),
                    "signoffs": frame_rows(check.signoffs) if check.signoffs is not None else None,
                }
            )
        return {"versions": frame_rows(versions), "checks": checks}


def import_packet(root: Path, slug: str, path: Path, *, title: str | None, actor: str) -> dict[str, Any]:
    from kleroterion.app.packets import import_packet as run

    with _open(root, slug, actor) as ws:
        out = run(ws, path, title=title)
    return {"title": out.title, "version": out.version, "arguments": out.arguments, "sha256": out.sha256}


def sign_off_packet(root: Path, slug: str, *, reviewer: str, version: int, remark: str, actor: str) -> None:
    from kleroterion.app.packets import sign_off_packet as run

    with _open(root, slug, actor) as ws:
        run(ws, reviewer=reviewer, version=version, remark=remark)


def record_receipts(root: Path, slug: str, path: Path, *, version: int, actor: str) -> dict[str, Any]:
    from kleroterion.app.packets import record_receipts as run

    with _open(root, slug, actor) as ws:
        out = run(ws, path, version=version)
    return {"title": out.title, "version": out.version, "receipts": out.receipts}


# -- small groups ---------------------------------------------------------------------------------
def groups(root: Path, slug: str) -> dict[str, Any]:
    """The stored groups (name, moderator, members) and their balance summary; empty before."""
    from kleroterion.app.groups import balance_summary, current_balance

    with _open(root, slug) as ws:
        stored = ws.store.small_groups()
        if stored.empty:
            return {"groups": None, "balance": None}
        balance = current_balance(ws)
        summary = balance_summary(balance) if len(balance) else None
    return {
        "groups": frame_rows(stored[["group", "moderator", "n_active"]]),
        "balance": frame_rows(summary) if summary is not None else None,
    }


def assign_groups(
    root: Path, slug: str, *, size: int, seed: int | None, moderators: Path | None, actor: str
) -> dict[str, Any]:
    from kleroterion.app.groups import assign_small_groups

    with _open(root, slug, actor) as ws:
        out = assign_small_groups(ws, size=size, seed=seed, moderators=moderators)
    return {"groups": len(out.groups), "members": len(out.assignment)}


def export_groups(root: Path, slug: str, path: Path, *, actor: str) -> int:
    """``klero groups export``: the group members list (personal data; the export is audited) to ``path``."""
    from kleroterion.lists import export_list

    with _open(root, slug, actor) as ws:
        return export_list(ws, "groups", path).rows


# -- analysis -------------------------------------------------------------------------------------
def analyse(
    root: Path, slug: str, *, pre: str, post: str, weights: str, actor: str, progress: Progress, cancel: Cancel
) -> dict[str, Any]:
    from kleroterion.app.analysis import AnalysisRequest
    from kleroterion.app.analysis import analyse as run

    with _open(root, slug, actor) as ws:
        out = run(ws, AnalysisRequest(pre=pre, post=post, weights=weights), progress=progress, cancel=cancel)
        for done, lang in enumerate(("nl", "en")):  # the results page then opens at once
            progress("charts", done, 2, "drawing the charts")
            _charts(ws, lang, out.run_id)
    return {"run_id": out.run_id, "tables": sorted(out.tables)}


def analysis_results(root: Path, slug: str, *, lang: str) -> dict[str, Any] | None:
    """The latest complete run: its parameters and every table as it may be published (counts below
    the process's suppression threshold suppressed, as ``klero analyse --output`` writes them), and the
    council report's charts (PNG, base64) when its context can be built; None before the first run."""
    from deliberation.analysis import integer_counts
    from deliberation.disclosure import suppress_table

    with _open(root, slug) as ws:
        run = ws.store.latest_complete_run()
        if run is None:
            return None
        threshold = ws.settings.suppression_threshold
        tables = {}
        for name in run["tables"]:
            frame = ws.store.analysis(name)
            if frame is not None:
                tables[name] = frame_rows(suppress_table(integer_counts(frame), threshold))
        charts, chart_error = _charts(ws, lang, int(run["id"]))
    return {
        "run": run,
        "threshold": threshold,
        "tables": tables,
        "charts": charts,
        "chart_error": chart_error,
    }


#: Tables whose rows the charts do not depend on (a report rendered, a recommendation recorded).
NOT_CHARTED = frozenset({"audit_log", "reports", "recommendations", "council_responses", "schema_version"})
#: The charts of the last few (workspace, run, language, table sizes): drawing them takes seconds.
_CHARTS: OrderedDict[tuple[Any, ...], tuple[list[dict[str, str]], str]] = OrderedDict()
_CHARTS_LOCK = threading.Lock()
CHARTS_KEPT = 8


def _charts(ws: Workspace, lang: str, run_id: int) -> tuple[list[dict[str, str]], str]:
    """The council report's charts, or why there are none yet (the report's own message). Kept in memory
    for the same workspace, run, language and table sizes: any import or draw since makes new ones."""
    counts = ws.store.table_counts()
    key = (str(ws.root), run_id, lang, tuple(sorted((t, n) for t, n in counts.items() if t not in NOT_CHARTED)))
    with _CHARTS_LOCK:
        if key in _CHARTS:
            _CHARTS.move_to_end(key)
            return _CHARTS[key]
    made = _draw_charts(ws, lang)
    with _CHARTS_LOCK:
        _CHARTS[key] = made
        while len(_CHARTS) > CHARTS_KEPT:
            _CHARTS.popitem(last=False)
    return made


def _draw_charts(ws: Workspace, lang: str) -> tuple[list[dict[str, str]], str]:
    from kleroterion.app.reports import council_context
    from reports.charts import council_charts

    try:
        context = council_context(ws, lang=lang, today=date.today().isoformat())
        charts = council_charts(context, lang)
    except KleroError as exc:
        return [], exc.message
    return [
        {"id": c.id, "caption": c.caption, "alt": c.alt, "src": f"data:image/png;base64,{c.png_base64}"}
        for c in charts.values()
    ], ""


# -- reports --------------------------------------------------------------------------------------
def report_folder(root: Path, slug: str) -> Path:
    return root / slug / REPORT_FOLDER


def render_reports(
    root: Path,
    slug: str,
    *,
    kinds: tuple[str, ...],
    languages: tuple[str, ...],
    formats: tuple[str, ...],
    actor: str,
    progress: Progress,
    cancel: Cancel,
) -> dict[str, Any]:
    from kleroterion.app.reports import ReportRequest
    from kleroterion.app.reports import render_reports as run

    folder = report_folder(root, slug)
    folder.mkdir(mode=0o700, exist_ok=True)
    request = ReportRequest(kinds=kinds, languages=languages, formats=formats, folder=folder)
    with _open(root, slug, actor) as ws:
        out = run(ws, request, progress=progress, cancel=cancel)
    return {"reports": [{"name": r.path.name, "sha256": r.sha256} for r in out.reports]}


def rendered_reports(root: Path, slug: str) -> list[dict[str, Any]]:
    """The reports rendered for this process, newest first."""
    folder = report_folder(root, slug)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_file() and REPORT_NAME.match(p.name)]
    found.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [{"name": p.name, "size": p.stat().st_size, "fmt": p.suffix[1:]} for p in found]


def report_path(root: Path, slug: str, name: str) -> Path | None:
    """The file of a rendered report by its name; None for any other name."""
    if not REPORT_NAME.match(name):
        return None
    path = report_folder(root, slug) / name
    return path if path.is_file() else None


# -- recommendations and the council's responses ----------------------------------------------------
def recommendations(root: Path, slug: str) -> list[dict[str, Any]]:
    from kleroterion.app.reports import list_recommendations

    with _open(root, slug) as ws:
        listed = list_recommendations(ws)
    return [
        {
            "id": rec_id,
            "number": row.number,
            "text": row.text,
            "support": row.support,
            "minority": row.minority,
            "status": row.status,
            "reason": row.reason,
            "due": row.due,
            "owner": row.owner,
        }
        for rec_id, row in listed
    ]


def add_recommendation(
    root: Path,
    slug: str,
    text: str,
    *,
    support: float | None,
    minority: str,
    text_en: str,
    minority_en: str,
    actor: str,
) -> int:
    from kleroterion.app.reports import add_recommendation as run

    with _open(root, slug, actor) as ws:
        return run(ws, text, support_pct=support, minority=minority, text_en=text_en, minority_en=minority_en)


def record_response(
    root: Path, slug: str, recommendation: int, *, status: str, reason: str, due: str | None, owner: str, actor: str
) -> int:
    from kleroterion.app.reports import record_response as run

    with _open(root, slug, actor) as ws:
        known = {int(r["id"]) for r in ws.store.recommendations()}
        if recommendation not in known:
            raise KleroError(f"No recommendation {recommendation}.", code="no_recommendation")
        return run(ws, recommendation, status=status, reason=reason, due=due, owner=owner)


# -- the audit record -----------------------------------------------------------------------------
def verify_audit(root: Path, slug: str, *, anchor: str, progress: Progress, cancel: Cancel) -> dict[str, Any]:
    """``klero audit verify``: the record holds (length, head, draws replayed) or the findings, the first
    broken entry first. Reads the workspace only."""
    from kleroterion.app.audit import AuditError, read_anchor
    from kleroterion.app.audit import verify_audit as run

    anchors = [read_anchor(anchor, source="anchor")] if anchor.strip() else []
    with _open(root, slug) as ws:
        try:
            out = run(ws, anchors=anchors, progress=progress, cancel=cancel)
        except AuditError as exc:
            return {
                "holds": False,
                "entry": int(exc.params.get("entry") or 0),
                "message": exc.message.split("\n", 1)[0],
                "findings": [str(line) for line in exc.params.get("problems", [])],
            }
    return {
        "holds": True,
        "entries": out.entries,
        "head": f"{out.head.entry}:{out.head.hash}",
        "draws_checked": out.draws_checked,
        "draws_replayed": out.draws_replayed,
        "not_replayable": list(out.not_replayable),
        "replacements": out.replacements,
    }


# -- the personal-data purge ----------------------------------------------------------------------
def purge_plan(root: Path, slug: str, *, reason: str | None) -> dict[str, Any]:
    """What the purge would remove today, or why it may not run without a reason."""
    from kleroterion.app.privacy import COUNT_LABELS
    from kleroterion.app.privacy import purge_plan as plan_of

    with _open(root, slug) as ws:
        retention = ws.settings.retention_date
        try:
            plan = plan_of(ws, today=date.today(), reason=reason)
        except KleroError as exc:
            return {"refused": exc.message, "code": exc.code, "retention_date": retention}
    return {
        "refused": "",
        "retention_date": retention,
        "counts": [{"key": k, "label": COUNT_LABELS.get(k, k), "count": n} for k, n in plan.counts.items()],
        "columns_file": plan.columns_file,
        "exports": [{"file": f, "date": d} for f, d in plan.exports],
        "empty": plan.empty,
    }


def purge(root: Path, slug: str, *, reason: str | None, actor: str) -> dict[str, Any]:
    from kleroterion.app.privacy import purge as run

    with _open(root, slug, actor) as ws:
        out = run(ws, today=date.today(), reason=reason)
    return {
        "removed": out.removed,
        "counts": dict(out.counts),
        "draws_rehashed": list(out.draws_rehashed),
        "bytes_before": out.bytes_before,
        "bytes_after": out.bytes_after,
    }
