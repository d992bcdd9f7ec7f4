"""``klero poll``: define the instrument; draw the control group and export its mailing list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.poll import define_poll, draw_control
from kleroterion.commands.common import EncodingOption, WorkspaceOption, console, export_and_tell, hint, open_workspace
from kleroterion.errors import KleroError
from kleroterion.exports import DEFAULT_ENCODING

poll_app = typer.Typer(help="Define the poll instrument.", no_args_is_help=True)
control_app = typer.Typer(
    help="The control group: draw it (--count N), then export its mailing list.", no_args_is_help=False
)
poll_app.add_typer(control_app, name="control")


@poll_app.command("define")
def poll_define_cmd(file: Path, workspace: WorkspaceOption = Path(".")) -> None:
    """Define the instrument from a TOML file or an XLSX workbook (sheets items and waves)."""
    with open_workspace(workspace) as ws:
        out = define_poll(ws, file)
    console.print(f"Instrument with {out.items} items ({out.knowledge_items} knowledge), waves {', '.join(out.waves)}.")
    hint(f"klero survey import answers.csv --wave {(out.waves or ('T1',))[0]}", workspace=workspace)


@control_app.callback(invoke_without_command=True)
def poll_control_cmd(
    ctx: typer.Context,
    count: Annotated[int | None, typer.Option(help="Size of the control group to draw.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default from secrets; stored).")] = None,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Draw a control group (never invited; surveyed at the same waves) from addresses without a letter."""
    if ctx.invoked_subcommand is not None:
        given = [f"--{name}" for name in ("count", "seed", "workspace") if _given(ctx, name)]
        if given:
            raise KleroError(
                f"{', '.join(given)} before `{ctx.invoked_subcommand}`: --count and --seed draw the group "
                f"(`klero poll control --count N`); put -w after the subcommand "
                f"(`klero poll control {ctx.invoked_subcommand} FILE -w FOLDER`).",
                code="bad_option",
            )
        return
    if count is None:
        raise KleroError(
            "Give the size of the control group: `klero poll control --count N`; "
            "or write its mailing list with `klero poll control export FILE`.",
            code="bad_option",
        )
    with open_workspace(workspace) as ws:
        out = draw_control(ws, count=count, seed=seed)
    console.print(
        f"Control group: {out.control:,} residents drawn (seed {out.seed}). "
        "Write their mailing list (survey id, name, address) with `klero poll control export FILE.csv`.",
        soft_wrap=True,
    )


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed option ``name`` (rather than taking its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


@control_app.command("export")
def poll_control_export_cmd(
    file: Path, workspace: WorkspaceOption = Path("."), encoding: EncodingOption = DEFAULT_ENCODING
) -> None:
    """Write the control group's mailing list to FILE (.csv or .xlsx): survey id, name and address."""
    export_and_tell(workspace, "control", file, encoding=encoding, what="control-group addresses")
