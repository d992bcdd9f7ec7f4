"""``klero survey``: import survey answers and respondents (parse the options, call, print)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from deliberation.responses import PRESETS, WaveLayout, preset_options
from kleroterion.app.survey import import_respondents, import_survey
from kleroterion.commands.common import WorkspaceOption, console, hint, open_workspace
from kleroterion.commands.options import refuse_repeated
from kleroterion.errors import KleroError

survey_app = typer.Typer(help="Import survey waves.", no_args_is_help=True)


def _pairs(option: str, values: list[str]) -> dict[str, str]:
    """``--option A=B`` values as a dict; a value without ``=`` or a key given twice is an error."""
    out: dict[str, str] = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key.strip() or not target.strip():
            raise KleroError(f"{option} {value!r}: write {option} VALUE=TARGET, e.g. {option} T1=1.", code="bad_option")
        if key.strip() in out:
            raise KleroError(f"{option} {key.strip()!r} is given twice: give each value once.", code="bad_option")
        out[key.strip()] = target.strip()
    return out


def _names(values: list[str]) -> tuple[str, ...]:
    """Column names from repeated and/or comma-separated options, each once, in order."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise KleroError(
            f"Column {', '.join(repeated)} is declared twice: declare each column once.", code="bad_option"
        )
    return tuple(names)


@survey_app.command("import")
def survey_import_cmd(
    file: Path,
    wave: Annotated[str | None, typer.Option(help="Wave code of a file with one wave, e.g. T1.")] = None,
    id_column: Annotated[str | None, typer.Option(help="Column with the respondent ids (as given).")] = None,
    row_ids: Annotated[bool, typer.Option("--row-ids", help="Ids are the file row numbers.")] = False,
    wave_column: Annotated[str | None, typer.Option(help="Long file: the column with each row's wave.")] = None,
    wave_value: Annotated[list[str] | None, typer.Option(help="VALUE=CODE: a wave column value (repeat).")] = None,
    wave_suffix: Annotated[
        list[str] | None, typer.Option(help="CODE=SUFFIX: wide file with all waves; item column = code+suffix.")
    ] = None,
    arm_column: Annotated[
        str | None, typer.Option(help="Column with each respondent's arm: the file creates its respondents.")
    ] = None,
    arm: Annotated[str | None, typer.Option(help="One arm for every respondent of the file (creates them).")] = None,
    arm_value: Annotated[list[str] | None, typer.Option(help="VALUE=ARM: an arm column value (repeat).")] = None,
    variables: Annotated[list[str] | None, typer.Option(help="Demographic columns to keep (comma or repeat).")] = None,
    weights: Annotated[list[str] | None, typer.Option(help="Design-weight columns (comma or repeat).")] = None,
    ignore_extra: Annotated[bool, typer.Option("--ignore-extra", help="Leave other columns out (listed).")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Confirm replacing a wave already imported.")] = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Accept a file without any answer for a wave (normally refused).")
    ] = False,
    preset: Annotated[
        str | None,
        typer.Option(
            help=f"A documented layout ({', '.join(PRESETS)}): ddl = the Deliberative Democracy Lab's long .sav "
            "(--id-column ID --wave-column Time --arm-column Group)."
        ),
    ] = None,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Import survey answers: wide (one wave, or all waves by column suffix) or long (--wave-column);
    CSV, XLSX, Parquet or SPSS .sav. Every column is an item or declared; see --ignore-extra."""
    refuse_repeated(sys.argv[1:], ("--wave", "--id-column", "--wave-column", "--arm-column", "--arm", "--preset"))
    if preset is not None:
        if row_ids:
            raise KleroError(f"--preset {preset} names the id column: leave out --row-ids.", code="bad_option")
        chosen = preset_options(preset, {"id_column": id_column, "wave_column": wave_column, "arm_column": arm_column})
        id_column, wave_column, arm_column = chosen["id_column"], chosen["wave_column"], chosen["arm_column"]
    layout = WaveLayout(
        id_column=None if row_ids else (id_column or "participant_id"),
        row_ids=row_ids,
        wave=wave,
        wave_column=wave_column,
        wave_values=_pairs("--wave-value", wave_value or []),
        wave_suffixes=_pairs("--wave-suffix", wave_suffix or []),
        arm_column=arm_column,
        arm=arm,
        arm_values=_pairs("--arm-value", arm_value or []),
        variables=_names(variables or []),
        weights=_names(weights or []),
        ignore_extra=ignore_extra,
    )
    if row_ids and id_column:
        raise KleroError("Give --id-column or --row-ids, not both.", code="bad_option")
    with open_workspace(workspace) as ws:
        out = import_survey(ws, file, layout, replace=replace, allow_empty=allow_empty)
    replaced = f" (replacing {out.replaced:,} earlier answers)" if out.replaced else ""
    console.print(f"Waves {out.wave}: {out.respondents:,} respondents, {out.answers:,} answers{replaced}.")
    if out.created:
        console.print(f"Respondents created or updated from the file: {out.created:,}.")
    for code, n in out.absent.items():
        if n:
            console.print(f"Wave {code}: {n:,} respondents with every answer blank: absent at that wave.")
    if out.weights:
        console.print(f"Design weights stored: {', '.join(out.weights)}.")
    if out.ignored:
        console.print(f"Columns left out (--ignore-extra): {', '.join(out.ignored)}.")
    if out.user_missing:
        listed = ", ".join(f"{c} ({n:,} cells)" for c, n in out.user_missing.items())
        console.print(f"SPSS user-missing codes read as no answer: {listed}.")
    hint("klero analyse (once the later wave is in too)", workspace=workspace)


@survey_app.command("respondents")
def survey_respondents_cmd(
    file: Path,
    id_column: Annotated[str | None, typer.Option(help="Column with the respondent ids (as given).")] = None,
    row_ids: Annotated[bool, typer.Option("--row-ids", help="Ids are the file row numbers.")] = False,
    arm_column: Annotated[str | None, typer.Option(help="Column with each respondent's arm.")] = None,
    arm: Annotated[str | None, typer.Option(help="One arm for every respondent of the file.")] = None,
    arm_value: Annotated[list[str] | None, typer.Option(help="VALUE=ARM: an arm column value (repeat).")] = None,
    variables: Annotated[list[str] | None, typer.Option(help="Demographic columns to keep (comma or repeat).")] = None,
    ignore_extra: Annotated[bool, typer.Option("--ignore-extra", help="Leave other columns out (listed).")] = False,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Create respondents from a file (no registry or letters needed): ids as given, arm
    (participant/treatment, invited/non-participant, control), demographics as declared variables."""
    refuse_repeated(sys.argv[1:], ("--id-column", "--arm-column", "--arm"))
    if row_ids and id_column:
        raise KleroError("Give --id-column or --row-ids, not both.", code="bad_option")
    layout = WaveLayout(
        id_column=None if row_ids else (id_column or "participant_id"),
        row_ids=row_ids,
        wave="",
        arm_column=arm_column,
        arm=arm,
        arm_values=_pairs("--arm-value", arm_value or []),
        variables=_names(variables or []),
        ignore_extra=ignore_extra,
    )
    with open_workspace(workspace) as ws:
        out = import_respondents(ws, file, layout)
    arms = ", ".join(f"{n:,} {a}" for a, n in sorted(out.arms.items()))
    console.print(f"Respondents created or updated: {out.respondents:,} ({arms}).")
    if out.ignored:
        console.print(f"Columns left out (--ignore-extra): {', '.join(out.ignored)}.")
