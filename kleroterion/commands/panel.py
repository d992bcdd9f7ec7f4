"""``klero panel``: select the panel and alternates, the transparent lottery, replace, export, verify.

Parse, call a use case (``kleroterion.app.panel``, ``kleroterion.app.lottery``), print.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from kleroterion.app.lottery import (
    LotteryMade,
    LotteryRequest,
    draw_from_lottery,
    export_tickets,
    make_lottery_draw,
    write_tickets,
)
from kleroterion.app.panel import (
    PanelSelected,
    ReplaceRequest,
    SelectRequest,
    export_panel,
    replace_member,
    select_panel,
    verify_panel,
)
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
from kleroterion.pool_files import read_excluded_ids

# -- CLI -----------------------------------------------------------------------------------------
panel_app = typer.Typer(help="Stage 2: select the panel and its alternates.", no_args_is_help=True)


@panel_app.command("select")
def panel_select_cmd(
    workspace: WorkspaceOption = Path("."),
    algorithm: Annotated[
        str,
        typer.Option(
            help="maximin, leximin, nash, goldilocks, legacy, end-to-end (evens out each resident's chance "
            "from letter to seat, using a sign-up model of the letters and sign-ups; native engine) or "
            "max-entropy (leximin's chances, spread over as many panels as possible; native engine)."
        ),
    ] = "maximin",
    seed: Annotated[int | None, typer.Option(help="Seed (default: a fresh secure one, stored).")] = None,
    public_seed_value: Annotated[str | None, typer.Option("--public-seed", help="Publicly announced value.")] = None,
    alternates: Annotated[int, typer.Option(help="Number of ordered alternates.")] = 0,
    engine: Annotated[
        str, typer.Option(help="native (HiGHS; replays anywhere) or sortition-algorithms (leximin needs Gurobi).")
    ] = "native",
    lottery_size: Annotated[
        int | None,
        typer.Option(
            help="Make a transparent lottery of this many numbered panels (e.g. 1000) instead of drawing; "
            "then `klero panel draw-from-lottery --number N`. Native engine only."
        ),
    ] = None,
    lottery_out: Annotated[
        Path | None, typer.Option(help="With --lottery-size: write the numbered panels (number, members) here.")
    ] = None,
    redraw: Annotated[
        bool,
        typer.Option("--redraw", help="Draw again although a panel was drawn (needs --reason; both stay on record)."),
    ] = False,
    reason: Annotated[
        str | None, typer.Option(help="With --redraw: why the panel is drawn again (shown in the reports).")
    ] = None,
    exclude_previous: Annotated[
        bool,
        typer.Option(
            help="Rotating council: leave out everyone who sat on an earlier panel of this workspace, "
            "and anyone at their address."
        ),
    ] = False,
    exclude: Annotated[
        Path | None,
        typer.Option(help="A file of ids to leave out (an 'id' column or one column), with their households."),
    ] = None,
) -> None:
    """Select the panel (and alternates) from the pool within the quotas, or make a transparent lottery."""
    if redraw and not (reason or "").strip():
        raise KleroError('--redraw needs --reason "..." (why the panel is drawn again; shown in the reports).')
    if reason is not None and not redraw:
        raise KleroError("--reason goes with --redraw: give both to draw the panel again.", code="bad_option")
    if lottery_out is not None and lottery_size is None:
        raise KleroError("--lottery-out needs --lottery-size M.", code="bad_option")
    if lottery_out is not None and not lottery_out.parent.is_dir():
        raise KleroError(
            f"Cannot write {lottery_out}: the folder {lottery_out.parent} does not exist.", code="bad_path"
        )
    exclude_ids = tuple(read_excluded_ids(exclude)) if exclude is not None else ()
    request = SelectRequest(
        algorithm,
        seed,
        public_seed_value,
        alternates,
        engine,
        reason if redraw else None,
        exclude_previous,
        exclude_ids,
    )
    with open_workspace(workspace) as ws, progress_bars() as bars:
        if lottery_size is not None:
            made = make_lottery_draw(ws, LotteryRequest(lottery_size, request), progress=bars)
        else:
            selected = select_panel(ws, request, progress=bars)
    if lottery_size is not None:
        print_lottery(made, lottery_out)
        return
    print_selected(selected, workspace)


def print_lottery(made: LotteryMade, lottery_out: Path | None) -> None:
    """What a new lottery says: tickets, panels, seed, the fairness lost by rounding; the list written."""
    lost, record = made.record.fairness_lost or {}, made.record
    console.print(
        f"Lottery {made.draw_id}: {record.lottery_size} numbered tickets over {record.panels_in_lottery} "
        f"panels from a pool of {made.pool_size}; seed {record.seed}. Fairness lost by rounding: minimum "
        f"probability {lost['old_min']:.4f} -> {lost['new_min']:.4f}, maximum {lost['old_max']:.4f} -> "
        f"{lost['new_max']:.4f} (largest change {lost['max_abs_change']:.4f})."
    )
    if lottery_out is not None:
        write_tickets(lottery_out, made.tickets)
        console.print(f"Numbered panels written to {lottery_out}; publish them before the number is drawn.")
    console.print(
        f"Draw the panel with `klero panel draw-from-lottery --number N` (N from 1 to {record.lottery_size})."
    )


def print_selected(selected: PanelSelected, workspace: Path) -> None:
    """What a panel draw says: sizes, fairness, end-to-end chances, notes, re-draw and stale groups."""
    record, f = selected.record, selected.record.fairness
    console.print(
        f"Selected {len(record.panel)} of {selected.pool_size} (draw {selected.draw_id}); "
        f"{len(record.alternates or ())} alternates. Selection probability min {f['min_probability']:.3f}, "
        f"max {f['max_probability']:.3f}, Gini {f['gini']:.3f}."
    )
    print_end_to_end(record.end_to_end or {})
    for note in record.notes or ():
        console.print(f"Note: {note}.")
    hint("klero poll define instrument.toml", workspace=workspace)
    if record.redraw:
        console.print(
            f"Re-draw (panel draw number {record.redraw.number}; replaces draw {record.redraw.replaces_draw}, "
            f"which stays on record): {record.redraw.reason}",
            soft_wrap=True,
        )
    if selected.groups_stale:
        console.print(
            "The small groups were assigned to the earlier panel: assign them again with `klero groups assign`."
        )


def print_end_to_end(summary: Mapping[str, Any]) -> None:
    """One line per quota category: highest over lowest group's end-to-end chance of a seat."""
    if "unavailable" in summary:
        console.print(f"End-to-end chances not estimated: {summary['unavailable']}")
        return
    ratios = ", ".join(
        f"{category} {ratio:.1f}" if ratio is not None else f"{category} (a group has no chance)"
        for category, ratio in summary["ratio"].items()
    )
    console.print(f"End-to-end chance of a seat, highest group / lowest group: {ratios}.")
    for note in summary["notes"]:
        console.print(f"  sign-up model: {note}")


@panel_app.command("draw-from-lottery")
def panel_draw_from_lottery_cmd(
    number: Annotated[str, typer.Option(help="The publicly drawn ticket number, 1..M.")],
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Take the panel on ticket NUMBER of the latest lottery (and draw its alternates); recorded and audited."""
    with open_workspace(workspace) as ws:
        out = draw_from_lottery(ws, number)
    console.print(
        f"Ticket {out.number} of {out.tickets} (lottery {out.lottery_draw_id}): panel of "
        f"{len(out.record.panel)} recorded as draw {out.draw_id}; {len(out.record.alternates or ())} alternates."
    )
    hint("klero poll define instrument.toml", workspace=workspace)


lottery_app = typer.Typer(help="The transparent lottery's numbered panels.", no_args_is_help=True)
panel_app.add_typer(lottery_app, name="lottery")


@lottery_app.command("export")
def lottery_export_cmd(path: Path, workspace: WorkspaceOption = Path(".")) -> None:
    """Write the latest lottery's numbered panels to PATH (CSV: number, members) for publication."""
    with open_workspace(workspace) as ws:
        lottery_id, tickets = export_tickets(ws, path)
    console.print(f"{tickets} numbered panels of lottery {lottery_id} written to {path}.")


@panel_app.command("replace")
def panel_replace_cmd(
    person: str,
    workspace: WorkspaceOption = Path("."),
    reason: Annotated[str, typer.Option(help="Why the member leaves (recorded).")] = "dropped out",
    accept_quota_break: Annotated[
        bool, typer.Option(help="Take the first alternate even if a quota breaks (recorded).")
    ] = False,
    from_pool: Annotated[
        bool, typer.Option(help="If no alternate fits, draw among pool members who keep the quotas.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the --from-pool draw (default: fresh, stored).")] = None,
) -> None:
    """Replace PERSON by the first alternate, in order, who keeps the panel inside the quotas."""
    request = ReplaceRequest(person, reason, accept_quota_break, from_pool, seed)
    with open_workspace(workspace) as ws:
        out = replace_member(ws, request)
    console.print(f"{person} replaced by {out.person_in} (replacement {out.replacement_id}).")
    if out.group:
        console.print(f"  {out.person_in} takes {person}'s seat in small group '{out.group}'.")
    elif out.groups_assigned:
        console.print(
            f"  {person} sat in no small group, so {out.person_in} has no seat yet: place them with "
            f"`klero groups reassign PERSON --replacement {out.person_in}` (ids: `klero groups list --members`).",
            soft_wrap=True,
        )
    if out.from_pool:
        console.print(
            f"  drawn from {len(out.candidates)} pool members who keep the quotas (no alternate did); seed {out.seed}"
        )
    for alt, why in out.skipped:
        console.print(f"  passed over {alt}: {why}")
    if out.quotas_broken:
        console.print(f"[red]Quotas now broken:[/red] {'; '.join(out.quotas_broken)}")


@panel_app.command("export")
def panel_export_cmd(
    file: Path, workspace: WorkspaceOption = Path("."), encoding: EncodingOption = DEFAULT_ENCODING
) -> None:
    """Write the panel, its alternates in order, the replaced and the replacements to FILE (.csv or .xlsx):
    invitation code, name, address, contact details and sign-up answers, and a status per person."""
    with open_workspace(workspace) as ws:
        result = export_panel(ws, file, encoding=encoding)
    for line in describe(result, what="people"):
        console.print(line, soft_wrap=True)


@panel_app.command("verify")
def panel_verify_cmd(workspace: WorkspaceOption = Path(".")) -> None:
    """Replay the latest panel draw from its stored seed; exit code 1 if the panel differs."""
    with open_workspace(workspace) as ws:
        out = verify_panel(ws)
    console.print(
        f"Draw {out.draw_id} replays identically: {len(out.panel)} members and "
        f"{len(out.alternates)} alternates, pool hash {out.pool_hash[:16]}…"
    )
