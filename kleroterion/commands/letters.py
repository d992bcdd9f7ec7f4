"""``klero letters``: stage 1, draw and export the invitation letters (``kleroterion.app.letters``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.letters import TopupPlan, draw_letter_topup, draw_letters, export_letters, parse_oversample
from kleroterion.commands.common import (
    EncodingOption,
    WorkspaceOption,
    console,
    hint,
    open_workspace,
    progress_bars,
)
from kleroterion.errors import KleroError
from kleroterion.exports import DEFAULT_ENCODING, describe

letters_app = typer.Typer(help="Stage 1: draw and export invitation letters.", no_args_is_help=True)


@letters_app.command("draw")
def letters_draw_cmd(
    count: Annotated[int, typer.Option(help="Number of letters.")],
    workspace: WorkspaceOption = Path("."),
    stratify_by: Annotated[str | None, typer.Option(help="Allocate letters proportionally over this column.")] = None,
    min_age: Annotated[int, typer.Option(help="Minimum age on the reference date.")] = 16,
    seed: Annotated[int | None, typer.Option(help="Seed (default: a fresh secure one, stored).")] = None,
    oversample: Annotated[
        list[str] | None,
        typer.Option(help="COLUMN=VALUE:FACTOR, e.g. wijk=WK01:2 (repeatable); multiplies that stratum's share."),
    ] = None,
    topup: Annotated[
        bool,
        typer.Option(
            help="A second wave: spread the letters over the first wave's strata so that the expected pool "
            "comes closest to the population (from a sign-up model of the first wave)."
        ),
    ] = False,
    plan_only: Annotated[bool, typer.Option(help="With --topup: show the plan, draw nothing.")] = False,
) -> None:
    """Draw letters, one per address, with exact inclusion probabilities; never an address drawn before."""
    if topup:
        if oversample or stratify_by:
            raise KleroError(
                "--topup plans the letters per stratum itself (over the first wave's strata); "
                "leave out --oversample and --stratify-by.",
                code="bad_option",
            )
        with open_workspace(workspace) as ws, progress_bars() as bars:
            wave = draw_letter_topup(ws, count=count, seed=seed, min_age=min_age, plan_only=plan_only, progress=bars)
        _print_plan(wave.plan)
        if wave.draw is None:
            console.print("Nothing drawn (--plan-only).")
        else:
            console.print(
                f"Drew {wave.draw.letters:,} top-up letters, one per address, none to an earlier address. "
                f"Seed {wave.draw.seed}."
            )
        return
    if plan_only:
        raise KleroError("--plan-only goes with --topup.", code="bad_option")
    factors = parse_oversample(oversample or [])
    with open_workspace(workspace) as ws, progress_bars() as bars:
        out = draw_letters(
            ws, count=count, seed=seed, stratify_by=stratify_by, min_age=min_age, oversample=factors, progress=bars
        )
    console.print(
        f"Drew {out.letters:,} letters from {out.eligible:,} eligible residents "
        f"({out.restricted_excluded} restricted excluded), one per address. Seed {out.seed}."
    )
    hint("klero letters export letters.xlsx", workspace=workspace)


def _print_plan(plan: TopupPlan) -> None:
    console.print(f"Top-up of {plan.count:,} letters over {plan.stratify_by} (expected pool vs population):")
    for r in plan.table.itertuples(index=False):
        console.print(
            f"  {r.stratum}: +{r.extra_letters:,} letters (sign-up rate {r.rate:.1%}); pool share "
            f"{r.share_now:.1%} now, {r.expected_share:.1%} expected; population {r.population_share:.1%}"
        )


@letters_app.command("export")
def letters_export_cmd(
    file: Path,
    workspace: WorkspaceOption = Path("."),
    encoding: EncodingOption = DEFAULT_ENCODING,
    signup_url: Annotated[
        str | None,
        typer.Option(
            help="The public sign-up page's address (https://.../aanmelden/PROCESS): adds a link with the "
            "letter's code and a QR code (SVG, in FILE-qr/) per letter."
        ),
    ] = None,
) -> None:
    """Write the mail-merge list (code, name, address) to FILE (.csv or .xlsx)."""
    with open_workspace(workspace) as ws:
        result = export_letters(ws, file, encoding=encoding, signup_url=signup_url)
    for line in describe(result, what="letters"):
        console.print(line, soft_wrap=True)
    hint("klero pool import signups.csv (when the sign-ups are in)", workspace=workspace)
