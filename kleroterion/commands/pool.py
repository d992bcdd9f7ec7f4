"""``klero pool``: import sign-ups into the pool (``kleroterion.app.pool``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.pool import FORMATS, detect_format, import_people, import_pool
from kleroterion.commands.common import WorkspaceOption, console, hint, open_workspace, progress_bars
from kleroterion.commands.options import refuse_repeated
from kleroterion.errors import KleroError

pool_app = typer.Typer(help="Import sign-ups into the pool.", no_args_is_help=True)


@pool_app.command("import")
def pool_import_cmd(
    file: Path,
    workspace: WorkspaceOption = Path("."),
    keep_stored: Annotated[
        bool, typer.Option(help="Codes already in the pool with other answers: keep the pool's answers.")
    ] = False,
    use_sheet: Annotated[
        bool,
        typer.Option(help="Codes already in the pool with other answers: take the sheet's (only before any draw)."),
    ] = False,
    file_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="signup (code + answers) or sortition-foundation (a people file without letters); "
            "detected when left out.",
        ),
    ] = None,
    id_column: Annotated[
        str | None, typer.Option(help="People file: the column with each person's id (e.g. nationbuilder_id).")
    ] = None,
    address_columns: Annotated[
        list[str] | None,
        typer.Option(help="People file: columns that together are the address (comma or repeat); one per household."),
    ] = None,
    settings: Annotated[
        Path | None,
        typer.Option(help="People file: a sortition-algorithms settings.toml (id column, addresses, columns to keep)."),
    ] = None,
) -> None:
    """Import a sign-up sheet: code plus one column per sign-up category (Dutch or English names).

    Import the same sheet again when it has grown: only the new codes are added. A code already in the
    pool with other answers stops the import until you choose --keep-stored or --use-sheet.
    A people file in the Sortition Foundation's layout (an id column, one column per category, address
    columns) is a pool without letters: --format sortition-foundation --id-column ID --address-columns A,B."""
    refuse_repeated(sys.argv[1:], ("--format", "--id-column", "--settings"))
    if file_format is not None and file_format not in FORMATS:
        raise KleroError(f"--format {file_format!r}: use one of {', '.join(FORMATS)}.", code="bad_option")
    addresses = tuple(dict.fromkeys(c.strip() for v in address_columns or [] for c in v.split(",") if c.strip()))
    chosen = file_format or ("sortition-foundation" if settings else detect_format(file, id_column=id_column))
    if chosen == "signup" and (id_column or addresses or settings):
        raise KleroError(
            "--id-column, --address-columns and --settings are for a people file (--format sortition-foundation); "
            "a sign-up sheet is matched to the letters by its invitation code.",
            code="bad_option",
        )
    if file_format is None:
        layout = "a sign-up sheet" if chosen == "signup" else "a people file (sortition-foundation format)"
        console.print(f"{file.name}: read as {layout} (--format {chosen}).")
    with open_workspace(workspace) as ws, progress_bars() as bars:
        if chosen == "signup":
            out = import_pool(ws, file, keep_stored=keep_stored, use_sheet=use_sheet, progress=bars)
        else:
            out = import_people(
                ws,
                file,
                id_column=id_column,
                address_columns=addresses,
                keep_stored=keep_stored,
                use_sheet=use_sheet,
                settings=settings,
                progress=bars,
            )
    console.print(f"{file.name}: {out.summary}{':' if out.conflicts else '.'}")
    kept = "changed to the sheet's answers" if out.corrected else "kept as in the pool"
    for line in out.conflicts[:20]:
        console.print(f"  {line} ({kept})")
    if len(out.conflicts) > 20:
        console.print(f"  ... and {len(out.conflicts) - 20} more (all listed in the audit log)")
    if out.ignored_columns:
        console.print(f"Columns not used: {', '.join(out.ignored_columns)}.")
    for note in out.notes:
        console.print(note)
    if out.kept_columns:
        console.print(f"Kept with the contact details (for the panel list): {', '.join(out.kept_columns)}.")
    if not out.households:
        console.print("No --address-columns: every person is their own household (no same-address check).")
    console.print(f"Added {out.members:,} sign-ups; the pool now has {out.pool_size:,} people.")
    if chosen == "signup":
        hint("klero quotas derive --size N", workspace=workspace)
    else:  # no registry behind a people file: its quotas come as a file (the Sortition Foundation's features.csv)
        hint("klero quotas import features.csv --size N", workspace=workspace)
