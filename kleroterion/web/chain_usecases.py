"""The sortition chain's use cases as the web pages call them: letters, pool, quotas, panel, lottery,
replacements and exports. Each opens the process's workspace, names the web user as the actor of every
audit record and calls the same ``kleroterion.app`` use case the CLI calls; results come back as plain
data (a job's result is stored as JSON). Heavy modules load only when a use case that needs them runs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kleroterion.workspace import Workspace
from sortition.progress import Cancel, Progress

if TYPE_CHECKING:
    import pandas as pd

    from kleroterion.app.contacts import ContactRecord, PoolPage
    from kleroterion.app.quotas import Diagnosis

#: The lists the exports page offers (``kleroterion.lists``), and the file formats.
EXPORT_KINDS = ("letters", "panel", "control")
EXPORT_FORMATS = ("csv", "xlsx")
#: The quota editor's columns, as an editable quota file has them (``kleroterion.app.quotas.QUOTA_FILE_COLUMNS``).
QUOTA_COLUMNS = ("category", "feature", "min", "max", "population_share", "target")


@contextmanager
def _workspace(root: Path, slug: str, actor: str | None = None) -> Iterator[Workspace]:
    with Workspace.open(root / slug) as ws:
        if actor is not None:
            ws.store.actor = actor
        yield ws


# -- letters ------------------------------------------------------------------------------------
def letter_waves(root: Path, slug: str) -> list[dict[str, Any]]:
    """Every letter draw, newest first: ``id, drawn_at, letters, seed, stratify_by, min_age, topup``."""
    with _workspace(root, slug) as ws:
        draws = ws.store.letter_draw_records()
    return [
        {
            "id": d.id,
            "drawn_at": d.drawn_at,
            "letters": d.letter_count,
            "seed": d.seed,
            "stratify_by": d.parameters.get("stratify_by") or "",
            "min_age": d.min_age,
            "oversample": d.parameters.get("oversample") or {},
            "topup": "allocation" in d.parameters,
        }
        for d in reversed(draws)
    ]


def draw_letters(
    root: Path,
    slug: str,
    *,
    count: int,
    seed: int | None,
    stratify_by: str | None,
    min_age: int,
    oversample: list[str],
    topup: bool,
    actor: str,
    progress: Progress,
    cancel: Cancel,
) -> dict[str, Any]:
    """``klero letters draw``: a wave of letters (or a top-up wave); the numbers the CLI prints."""
    from kleroterion.app.letters import draw_letter_topup, parse_oversample
    from kleroterion.app.letters import draw_letters as run

    with _workspace(root, slug, actor) as ws:
        if topup:
            wave = draw_letter_topup(ws, count=count, seed=seed, min_age=min_age, progress=progress, cancel=cancel)
            assert wave.draw is not None  # noqa: S101 - plan_only is never set here
            plan = [
                {"stratum": str(r.stratum), "extra": int(r.extra_letters), "rate": float(r.rate)}
                for r in wave.plan.table.itertuples(index=False)
            ]
            draw, extra = wave.draw, {"topup": True, "stratify_by": wave.plan.stratify_by, "plan": plan}
        else:
            factors = parse_oversample(oversample)
            draw = run(
                ws,
                count=count,
                seed=seed,
                stratify_by=stratify_by,
                min_age=min_age,
                oversample=factors,
                progress=progress,
                cancel=cancel,
            )
            extra = {"topup": False}
    return {
        "draw_id": draw.draw_id,
        "letters": draw.letters,
        "eligible": draw.eligible,
        "restricted_excluded": draw.restricted_excluded,
        "addresses": draw.addresses,
        "seed": str(draw.seed),
        **extra,
    }


# -- exports ------------------------------------------------------------------------------------
def export_list(root: Path, slug: str, kind: str, fmt: str, *, actor: str) -> tuple[bytes, str]:
    """One list as ``klero letters export`` / ``klero panel export`` / ``klero poll control`` writes it
    (formula cells neutralised), audited; (the file's bytes, its file name)."""
    from kleroterion.lists import export_list as run

    name = f"{slug}-{kind}.{fmt}"
    folder = Path(tempfile.mkdtemp(prefix="klero-export-"))
    try:
        with _workspace(root, slug, actor) as ws:
            run(ws, kind, folder / name)
        return (folder / name).read_bytes(), name
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def lottery_tickets_csv(root: Path, slug: str, *, actor: str) -> tuple[bytes, str]:
    """The latest lottery's numbered panels (``klero panel lottery export``): (CSV bytes, file name)."""
    from kleroterion.app.lottery import export_tickets

    folder = Path(tempfile.mkdtemp(prefix="klero-lottery-"))
    try:
        with _workspace(root, slug, actor) as ws:
            lottery_id, _ = export_tickets(ws, folder / "tickets.csv")
        return (folder / "tickets.csv").read_bytes(), f"{slug}-lottery-{lottery_id}.csv"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- pool ---------------------------------------------------------------------------------------
def import_pool(
    root: Path,
    slug: str,
    path: Path,
    *,
    keep_stored: bool,
    use_sheet: bool,
    actor: str,
    progress: Progress,
    cancel: Cancel,
) -> dict[str, Any]:
    """``klero pool import``: nothing stored on any bad cell, on unresolved conflicts or on cancel."""
    from kleroterion.app.pool import import_pool as run

    with _workspace(root, slug, actor) as ws:
        out = run(ws, path, keep_stored=keep_stored, use_sheet=use_sheet, progress=progress, cancel=cancel)
    return {
        "members": out.members,
        "already": out.already,
        "conflicts": list(out.conflicts),
        "corrected": out.corrected,
        "ignored_columns": list(out.ignored_columns),
        "summary": out.summary,
        "pool_size": out.pool_size,
    }


def search_pool(root: Path, slug: str, search: str, status: str = "") -> PoolPage:
    from kleroterion.app.contacts import search_pool as run

    with _workspace(root, slug) as ws:
        return run(ws, search, status=status)


def contact_record(root: Path, slug: str, person_id: str) -> ContactRecord:
    from kleroterion.app.contacts import contact_record as run

    with _workspace(root, slug) as ws:
        return run(ws, person_id)


def set_contact_status(root: Path, slug: str, person_id: str, *, status: str, note: str, actor: str) -> None:
    from kleroterion.app.contacts import set_contact_status as run

    with _workspace(root, slug, actor) as ws:
        run(ws, person_id, status=status, note=note)


# -- quotas -------------------------------------------------------------------------------------
def quota_table(root: Path, slug: str, size: int | None) -> tuple[int, list[dict[str, Any]], str]:
    """The editor's table: the stored quota set when there is one and no other size is asked, else the
    proportional quotas ``klero quotas derive`` would store; (size, rows, "stored" or "derived")."""
    from kleroterion.app.quotas import propose_quotas
    from kleroterion.errors import StoreError

    with _workspace(root, slug) as ws:
        try:
            _, stored_size, stored = ws.store.quotas()
        except StoreError:
            stored_size, stored = 0, None
        if stored is not None and size in (None, stored_size):
            return stored_size, _rows(stored), "stored"
        size = size or 24
        return size, _rows(propose_quotas(ws, size=size)), "derived"


def _rows(quotas: pd.DataFrame) -> list[dict[str, Any]]:
    frame = quotas.reindex(columns=list(QUOTA_COLUMNS))
    return [
        {k: ("" if v is None or v != v else v) for k, v in rec.items()}  # NaN -> ""
        for rec in frame.to_dict("records")
    ]


def quota_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    """The editor's rows (strings, as typed) as a table indexed by row number from 1."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=list(QUOTA_COLUMNS)).fillna("")
    frame.index = range(1, len(frame) + 1)
    for col in ("population_share", "target"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce")
    return frame


def diagnose_quotas(root: Path, slug: str, rows: list[dict[str, str]], size: int) -> Diagnosis:
    """Parse the editor's table (every bad cell an ``InputError``) and run the pre-draw checks on it."""
    from kleroterion.app.quotas import diagnose_quotas as run
    from kleroterion.pool_files import quotas_from_frame

    quotas = quotas_from_frame(quota_frame(rows), source="quota table")
    with _workspace(root, slug) as ws:
        return run(ws, quotas, size=size)


def save_quotas(root: Path, slug: str, rows: list[dict[str, str]], size: int, *, actor: str) -> int:
    from kleroterion.app.quotas import save_quota_table

    with _workspace(root, slug, actor) as ws:
        return save_quota_table(ws, quota_frame(rows), size=size, source="quota table").quota_set_id


# -- panel --------------------------------------------------------------------------------------
def select_panel(
    root: Path,
    slug: str,
    *,
    algorithm: str,
    engine: str,
    seed: int | None,
    public_value: str | None,
    alternates: int,
    lottery_size: int | None,
    redraw_reason: str | None,
    exclude_previous: bool,
    actor: str,
    progress: Progress,
    cancel: Cancel,
) -> dict[str, Any]:
    """``klero panel select`` (or ``--lottery-size M``): the draw's numbers for the job's result page."""
    from kleroterion.app.lottery import LotteryRequest, make_lottery_draw
    from kleroterion.app.panel import SelectRequest
    from kleroterion.app.panel import select_panel as run

    request = SelectRequest(
        algorithm=algorithm,
        engine=engine,
        seed=seed,
        public_value=public_value,
        alternates=alternates,
        redraw_reason=redraw_reason,
        exclude_previous=exclude_previous,
    )
    with _workspace(root, slug, actor) as ws:
        if lottery_size is not None:
            made = make_lottery_draw(ws, LotteryRequest(lottery_size, request), progress=progress, cancel=cancel)
            lost = made.record.fairness_lost or {}
            return {
                "lottery": True,
                "draw_id": made.draw_id,
                "tickets": made.record.lottery_size,
                "panels": made.record.panels_in_lottery,
                "pool_size": made.pool_size,
                "seed": str(made.record.seed),
                "fairness_lost": {k: float(v) for k, v in lost.items()},
            }
        selected = run(ws, request, progress=progress, cancel=cancel)
    record = selected.record
    return {
        "lottery": False,
        "draw_id": selected.draw_id,
        "members": len(record.panel),
        "alternates": len(record.alternates or ()),
        "pool_size": selected.pool_size,
        "seed": str(record.seed),
        "algorithm": record.algorithm,
        "fairness": {k: float(v) for k, v in (record.fairness or {}).items() if isinstance(v, int | float)},
        "notes": [str(n) for n in record.notes or ()],
        "groups_stale": selected.groups_stale,
    }


def panel_overview(root: Path, slug: str) -> dict[str, Any] | None:
    """The latest panel draw: status numbers, the people (pseudonymous id, code, status, order), the
    selection-probability summary, and the latest lottery when one waits for its number; ``None`` when
    nothing was drawn yet."""
    from kleroterion.app.panel import panel_status
    from kleroterion.lists import PANEL_STATUS, STATUS_ORDER

    with _workspace(root, slug) as ws:
        lotteries = ws.store.draw_records("lottery")
        panels = ws.store.draw_records("panel")
        lottery = lotteries[-1] if lotteries else None
        waiting = lottery is not None and not any(p.lottery_draw_id == lottery.draw_id for p in panels)
        lottery_info = (
            {"draw_id": lottery.draw_id, "tickets": lottery.lottery_size, "seed": str(lottery.seed), "waiting": waiting}
            if lottery is not None
            else None
        )
        if not panels:
            return {"status": None, "people": [], "fairness": {}, "lottery": lottery_info, "replacements": []}
        status = panel_status(ws)
        record = ws.store.latest_panel_record()
        draw_id = int(record.draw_id or 0)
        people = []
        for m in ws.store.panel_member_details(draw_id):
            label = PANEL_STATUS.get((m["role"], m["status"]), f"{m['role']} ({m['status']})")
            people.append(
                {
                    "id": m["person_id"],
                    "code": m["letter_code"],
                    "status": label,
                    "rank": int(m["rank"]) if m["role"] == "alternate" else None,
                    "sitting": (m["role"], m["status"])
                    in (("panel", "active"), ("alternate", "promoted"), ("replacement", "active")),
                    "_order": (STATUS_ORDER.get(label, 9), m["role"] != "panel", int(m["rank"])),
                }
            )
        people.sort(key=lambda p: p["_order"])
        return {
            "status": None if status is None else status.to_dict(),
            "people": people,
            "fairness": {k: float(v) for k, v in (record.fairness or {}).items() if isinstance(v, int | float)},
            "seed": str(record.seed),
            "from_lottery": bool(record.from_lottery),
            "lottery": lottery_info,
            "replacements": ws.store.replacements(draw_id),
        }


def draw_from_lottery(root: Path, slug: str, number: str, *, actor: str) -> dict[str, Any]:
    """``klero panel draw-from-lottery --number N``."""
    from kleroterion.app.lottery import draw_from_lottery as run

    with _workspace(root, slug, actor) as ws:
        out = run(ws, number)
    return {
        "number": out.number,
        "tickets": out.tickets,
        "lottery_draw_id": out.lottery_draw_id,
        "draw_id": out.draw_id,
        "members": len(out.record.panel),
        "alternates": len(out.record.alternates or ()),
    }


def replace_member(
    root: Path, slug: str, person: str, *, reason: str, accept_quota_break: bool, from_pool: bool, actor: str
) -> dict[str, Any]:
    """``klero panel replace PERSON``: the first alternate who keeps the quotas (or, asked, from the pool)."""
    from kleroterion.app.panel import ReplaceRequest
    from kleroterion.app.panel import replace_member as run

    with _workspace(root, slug, actor) as ws:
        out = run(ws, ReplaceRequest(person, reason or "dropped out", accept_quota_break, from_pool))
    return {
        "person_out": person,
        "person_in": out.person_in,
        "replacement_id": out.replacement_id,
        "skipped": [list(s) for s in out.skipped],
        "quotas_broken": list(out.quotas_broken),
        "group": out.group,
        "from_pool": out.from_pool,
        "candidates": len(out.candidates),
    }


def verify_panel(root: Path, slug: str, *, actor: str) -> dict[str, Any]:
    """``klero panel verify``: replays the latest draw; a ``KleroError`` names every difference."""
    from kleroterion.app.panel import verify_panel as run

    with _workspace(root, slug, actor) as ws:
        out = run(ws)
    return {
        "draw_id": out.draw_id,
        "members": len(out.panel),
        "alternates": len(out.alternates),
        "pool_hash": out.pool_hash,
    }
