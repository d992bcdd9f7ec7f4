"""``klero pool``: add a sign-up sheet's new rows to the pool."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.io import read_table, sha256_file
from kleroterion.workspace import Workspace
from sortition.pool import build_pool
from sortition.progress import Cancel, Progress, Tracker

IMPORT_STAGE = "pool import"


@dataclass(frozen=True)
class PoolImport:
    """What one sign-up sheet added: new members, rows already in the pool, conflicts and corrections."""

    members: int
    already: int
    conflicts: tuple[str, ...]  # each conflict described (code, row, old and new answers)
    corrected: int  # pool members whose answers the sheet replaced (``use_sheet``)
    ignored_columns: tuple[str, ...]
    summary: str  # "N new, M already in the pool, K conflicts"
    pool_size: int


def import_pool(
    ws: Workspace,
    path: Path,
    *,
    keep_stored: bool = False,
    use_sheet: bool = False,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> PoolImport:
    """Add the new rows of a sign-up sheet to the pool, in one transaction.

    The sheet may be the same file grown since the last import: rows whose code is already in the pool
    with the same answers are counted and skipped. A row whose code is in the pool with *other* answers
    is a conflict, and conflicts block the import (nothing is stored) unless the organiser says which
    side is right: ``keep_stored`` adds the new rows and keeps the pool's answers for those codes;
    ``use_sheet`` adds them and replaces the pool's answers by the sheet's, which is refused once a panel
    or lottery has been drawn from the pool. Blocking is the default because a conflict means the sheet or
    the pool is wrong about a person's category, and a lottery stratified on a wrong category draws an
    unrepresentative panel that cannot be redone once drawn; the organiser must look before anything is
    added. Conflicts and corrections (old and new answers) are listed in the audit log.
    """
    if keep_stored and use_sheet:
        raise KleroError("Choose --keep-stored or --use-sheet, not both.", code="bad_options")
    tracker = Tracker(progress, cancel)
    tracker.step(IMPORT_STAGE, 0, 2, path.name)
    categories = ws.signup_categories
    with ws.store.transaction():
        if use_sheet and ws.store.pool_drawn_from():
            raise KleroError(
                "The pool has been drawn from, so its answers cannot change any more: import with "
                "--keep-stored, or leave the conflicting rows as they are in the pool.",
                code="pool_frozen",
            )
        frame = read_table(path)
        if frame.empty:  # a sheet with only a header is an export gone wrong, never "0 new sign-ups"
            raise InputError(
                path.name,
                [Problem("the sheet has no sign-ups (only a header, or nothing at all)")],
                hint="export the sign-up sheet again with its rows; nothing was stored",
            )
        existing = ws.store.pool()
        stored = {str(rec["letter_code"]): rec for rec in existing.fillna("").to_dict("records")}
        pooled = {code: {c.name: str(rec.get(c.name, "")) for c in categories} for code, rec in stored.items()}
        sheet = build_pool(frame, ws.store.letters(), source=path.name, categories=categories, pooled=pooled)
        counts = f"{len(sheet.new):,} new, {sheet.already:,} already in the pool, {_conflicts(len(sheet.conflicts))}"
        if sheet.conflicts and not (keep_stored or use_sheet):
            raise InputError(
                path.name,
                [
                    Problem(f"code {c.code} is already in the pool with other answers: {c.changes()}", row=c.row)
                    for c in sheet.conflicts
                ],
                hint=f"{counts}; nothing was stored. Check each person's answers, then import again with "
                "--keep-stored (the pool is right) or --use-sheet (the sheet is right; only before any draw).",
            )
        tracker.step(IMPORT_STAGE, 1, 2, counts)
        features = ["wijk", *(c.name for c in categories)]
        corrections = {
            c.code: {
                **{k: str(stored[c.code].get(k, "")) for k in features},
                **{k: new for k, (_, new) in c.differences.items()},
            }
            for c in sheet.conflicts
            if use_sheet
        }
        ws.store.save_pool(
            sheet.new,
            feature_columns=features,
            source=path.name,
            sha256=sha256_file(path),
            summary={
                "already": sheet.already,
                "conflicts": [{"row": c.row, "code": c.code, "differences": c.differences} for c in sheet.conflicts],
                "conflicts_resolved_by": "sheet" if use_sheet else "pool",
                "ignored_columns": list(sheet.ignored_columns),
            },
            corrections=corrections,
        )
        tracker.step(IMPORT_STAGE, 2, 2, f"{len(sheet.new):,} sign-ups stored")
    return PoolImport(
        members=len(sheet.new),
        already=sheet.already,
        conflicts=tuple(c.describe() for c in sheet.conflicts),
        corrected=len(corrections),
        ignored_columns=tuple(sheet.ignored_columns),
        summary=counts,
        pool_size=len(existing) + len(sheet.new),
    )


def _conflicts(count: int) -> str:
    return f"{count} conflict{'' if count == 1 else 's'}"
