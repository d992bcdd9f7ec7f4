"""``klero pool``: add a sign-up sheet's new rows to the pool."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.io import read_table, sha256_file
from kleroterion.pool_files import read_select_settings
from kleroterion.workspace import Workspace
from sortition.pool import CODE_ALIASES, build_people_pool, build_pool
from sortition.progress import Cancel, Progress, Tracker

IMPORT_STAGE = "pool import"

#: The layouts ``klero pool import`` reads: a sign-up sheet (invitation code + answers, a pool from our
#: letters) or a people file in the Sortition Foundation's layout (a pool without letters).
FORMATS = ("signup", "sortition-foundation")


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
    households: bool = True  # False: a people file without --address-columns (no household check)
    kept_columns: tuple[str, ...] = ()  # columns_to_keep of a settings.toml, kept with the contact details
    notes: tuple[str, ...] = ()  # what the user must know (settings read differently from their face value)


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
        if "file" in ws.store.pool_sources():
            raise KleroError(
                "The pool came from a people file, not from invitation letters: a sign-up sheet cannot be added to "
                "it. Import the people file again with --format sortition-foundation, or start a new workspace.",
                code="pool_source_mixed",
            )
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


def detect_format(path: Path, *, id_column: str | None) -> str:
    """``signup`` when the file has an invitation-code column, else ``sortition-foundation`` when an id
    column is named or present; anything else is an error naming both layouts (nothing is guessed)."""
    from sortition.pool import PEOPLE_ID_HINTS
    from sortition.signup import normalise

    headers = [str(c) for c in read_table(path).columns]
    codes = {normalise(a) for a in CODE_ALIASES}
    if any(normalise(h) in codes for h in headers):
        return "signup"
    if id_column is not None or any(h.lower() in PEOPLE_ID_HINTS or h.lower().endswith("_id") for h in headers):
        return "sortition-foundation"
    raise InputError(
        path.name,
        [Problem("neither an invitation-code column (a sign-up sheet) nor an id column (a people file)")],
        hint="give --format signup or --format sortition-foundation with --id-column NAME; nothing was stored",
    )


def import_people(
    ws: Workspace,
    path: Path,
    *,
    id_column: str | None,
    address_columns: tuple[str, ...] = (),
    keep_stored: bool = False,
    use_sheet: bool = False,
    settings: Path | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> PoolImport:
    """Add the people of a people file (the Sortition Foundation's layout) to a pool without letters, in
    one transaction.

    Decisions (issue 14): a pool is either from our letters or from a file, never both, because the
    letters' selection probabilities and the one-sign-up-per-address rule only hold for the first; a
    workspace that has drawn letters is refused. Each person gets a pseudonymous pool id (a keyed hash of
    the file's id, which is kept in the store for the panel export) and a household key from
    ``address_columns`` (a keyed hash; the address is not stored), so the panel draw, lottery, verify,
    replay kit and audit chain work on it as on a letter pool. Importing the file again adds only new ids;
    an id with other answers is a conflict handled as on a sign-up sheet (``keep_stored``/``use_sheet``).
    A sortition-algorithms ``settings.toml`` (``settings``) gives the id column, the household columns and
    the columns to keep (with the contact details, for the panel list); an option given as well must agree.
    """
    if keep_stored and use_sheet:
        raise KleroError("Choose --keep-stored or --use-sheet, not both.", code="bad_options")
    keep: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    if settings is not None:
        chosen = read_select_settings(settings)
        id_column = _agree("--id-column", id_column, "id_column", chosen.id_column)
        address_columns = (
            _agree(
                "--address-columns",
                address_columns or None,
                "check_same_address_columns",
                chosen.address_columns or None,
            )
            or ()
        )
        keep = chosen.keep_columns
        draw = [k for k, v in (("selection_algorithm", chosen.algorithm), ("random_number_seed", chosen.seed)) if v]
        notes = chosen.notes
        if draw:
            notes = (
                *notes,
                f"{' and '.join(draw)} in {settings.name} belong to the draw: give them to `klero panel select` "
                "(--algorithm, --seed).",
            )
    tracker = Tracker(progress, cancel)
    tracker.step(IMPORT_STAGE, 0, 2, path.name)
    categories = ws.signup_categories
    with ws.store.transaction():
        if "letters" in ws.store.pool_sources() or not ws.store.letters().empty:
            raise KleroError(
                "This workspace invites by letter: its pool is made of sign-ups to the letters. A people file is "
                "a pool without letters; import it in a new workspace (klero init).",
                code="pool_source_mixed",
            )
        if use_sheet and ws.store.pool_drawn_from():
            raise KleroError(
                "The pool has been drawn from, so its answers cannot change any more: import with "
                "--keep-stored, or leave the conflicting rows as they are in the pool.",
                code="pool_frozen",
            )
        frame = read_table(path)
        existing = ws.store.pool()
        external = ws.store.pool_external_ids()
        pooled = {
            external[str(rec["id"])]: {c.name: str(rec.get(c.name, "")) for c in categories}
            for rec in existing.fillna("").to_dict("records")
            if str(rec["id"]) in external
        }
        people = build_people_pool(
            frame,
            source=path.name,
            key=ws.key,
            id_column=id_column,
            address_columns=address_columns,
            categories=categories,
            pooled=pooled,
            keep_columns=keep,
        )
        counts = f"{len(people.new):,} new, {people.already:,} already in the pool, {_conflicts(len(people.conflicts))}"
        if people.conflicts and not (keep_stored or use_sheet):
            raise InputError(
                path.name,
                [
                    Problem(f"id {c.code} is already in the pool with other answers: {c.changes()}", row=c.row)
                    for c in people.conflicts
                ],
                hint=f"{counts}; nothing was stored. Check each person's answers, then import again with "
                "--keep-stored (the pool is right) or --use-sheet (the file is right; only before any draw).",
            )
        tracker.step(IMPORT_STAGE, 1, 2, counts)
        features = [c.name for c in categories]
        by_external = {v: k for k, v in external.items()}
        stored = {str(rec["id"]): rec for rec in existing.fillna("").to_dict("records")}
        corrections = {
            by_external[c.code]: {
                **{k: str(stored[by_external[c.code]].get(k, "")) for k in features},
                **{k: new for k, (_, new) in c.differences.items()},
            }
            for c in people.conflicts
            if use_sheet
        }
        ws.store.save_pool(
            people.new,
            feature_columns=features,
            source=path.name,
            sha256=sha256_file(path),
            summary={
                "format": "sortition-foundation",
                "id_column": id_column or "id",
                "address_columns": list(address_columns),
                "kept_columns": list(keep),
                "already": people.already,
                "conflicts": [{"row": c.row, "id": c.code, "differences": c.differences} for c in people.conflicts],
                "conflicts_resolved_by": "sheet" if use_sheet else "pool",
                "ignored_columns": list(people.ignored_columns),
            },
            corrections=corrections,
            correct_by="id",
        )
        tracker.step(IMPORT_STAGE, 2, 2, f"{len(people.new):,} people stored")
    return PoolImport(
        members=len(people.new),
        already=people.already,
        conflicts=tuple(c.describe().replace("code ", "id ", 1) for c in people.conflicts),
        corrected=len(corrections),
        ignored_columns=people.ignored_columns,
        summary=counts,
        pool_size=len(existing) + len(people.new),
        households=people.households,
        kept_columns=keep,
        notes=notes,
    )


def _agree(option: str, given: Any, setting: str, from_settings: Any) -> Any:
    """The option's value or the settings file's; both and different is an error naming both."""
    if given is not None and from_settings is not None and given != from_settings:
        shown = given if isinstance(given, str) else ",".join(given)
        raise KleroError(
            f"{option} {shown} and {setting} = {from_settings!r} in --settings disagree; give one of them.",
            code="conflicting_options",
        )
    return given if given is not None else from_settings
