"""``klero panel``: stage 2 around ``sortition`` — select the panel and alternates, replace, verify."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from kleroterion.commands.common import (
    EncodingOption,
    WorkspaceOption,
    console,
    export_and_tell,
    hint,
    open_workspace,
    progress_bars,
    versions,
)
from kleroterion.commands.fairness import bootstrap_generator, end_to_end_record, pool_for_algorithm
from kleroterion.commands.panel_lottery import (
    draw_from_lottery_action,
    draw_inputs,
    make_lottery_action,
    replay_lottery_draw,
    write_tickets,
)
from kleroterion.errors import InfeasibleQuotaError, KleroError
from kleroterion.exports import DEFAULT_ENCODING
from kleroterion.pool_files import read_excluded_ids
from kleroterion.seeds import fresh_seed, generator
from kleroterion.workspace import Workspace
from sortition.alternates import choose_replacement, draw_pool_replacement, select_alternates
from sortition.pool import pool_hash
from sortition.progress import Progress
from sortition.quotas import quotas_met
from sortition.selection import SelectionResult, fairness_summary, rotation_exclusions, select_panel


# -- actions -------------------------------------------------------------------------------------
def draw_panel(
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    size: int,
    seed: int,
    algorithm: str,
    engine: str,
    alternates: int,
    progress: Progress | None = None,
    exclude: Sequence[str] = (),
) -> tuple[SelectionResult, list[str]]:
    """The panel and its ordered alternates from one seed: the one path both drawing and replay take.

    ``exclude``: ids left out with their households (a rotating council's earlier members).
    """
    rng = generator(seed)
    result = select_panel(
        pool, quotas, size=size, rng=rng, algorithm=algorithm, engine=engine, progress=progress, exclude=exclude
    )
    order: list[str] = []
    if alternates > 0:
        order, _reserve = select_alternates(
            pool,
            result.panel,
            quotas,
            count=alternates,
            rng=rng,
            algorithm=algorithm,
            engine=engine,
            exclude=exclude,
        )
    return result, order


def exclusions(ws: Workspace, *, exclude_previous: bool, exclude_ids: Sequence[str]) -> list[str]:
    """The ids a draw leaves out: those given plus, with ``exclude_previous``, every earlier panel member."""
    earlier = ws.store.earlier_panel_members() if exclude_previous else []
    return sorted({*exclude_ids, *earlier})


def select_panel_action(
    ws: Workspace,
    *,
    algorithm: str = "maximin",
    seed: int | None = None,
    public_value: str | None = None,
    alternates: int = 0,
    engine: str = "native",
    lottery_size: int | None = None,
    progress: Progress | None = None,
    redraw_reason: str | None = None,
    exclude_previous: bool = False,
    exclude_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """Draw the panel (and alternates) and store it with the distribution it came from.

    With ``lottery_size`` M nothing is drawn yet: the distribution is rounded to a transparent lottery
    of M numbered tickets (``make_lottery_action``); ``draw_from_lottery_action`` then picks one.
    When a panel was drawn before, a new draw needs ``redraw_reason`` (see ``redraw_record``); every
    draw stays stored. Rotation: ``exclude_previous`` leaves out everyone who sat on an earlier panel of
    this workspace, ``exclude_ids`` further ids, each with their household; the list is stored so the draw
    replays.
    """
    redraw = redraw_record(ws, redraw_reason)
    excluded = exclusions(ws, exclude_previous=exclude_previous, exclude_ids=exclude_ids)
    if lottery_size is not None:
        return make_lottery_action(
            ws,
            algorithm=algorithm,
            seed=seed,
            public_value=public_value,
            alternates=alternates,
            engine=engine,
            lottery_size=lottery_size,
            progress=progress,
            redraw=redraw,
            exclude=excluded,
        )
    set_id, size, quotas, pool, digest, seed = draw_inputs(ws, seed=seed, public_value=public_value)
    pool, pool_probabilities = pool_for_algorithm(ws, pool, quotas, algorithm)
    result, order = draw_panel(
        pool,
        quotas,
        size=size,
        seed=seed,
        algorithm=algorithm,
        engine=engine,
        alternates=alternates,
        progress=progress,
        exclude=excluded,
    )
    panel = pool[pool["id"].isin(result.panel)]
    if not quotas_met(panel, quotas):
        raise KleroError("The drawn panel does not meet the quotas (engine error).", code="quota_violation")
    summary = fairness_summary(result.probabilities, size=size)
    record: dict[str, Any] = {
        "algorithm": algorithm,
        "engine": result.engine,
        "seed": str(seed),
        "pool_hash": digest,
        "parameters": {
            "size": size,
            "public_value": public_value,
            "alternates": alternates,
            "exact": result.exact,
            "probability_se": result.probability_se,
            **({"redraw": redraw} if redraw else {}),
            **({"excluded": excluded} if excluded else {}),
        },
        "versions": versions(),
        "result": {
            **summary,
            "panel": list(result.panel),
            "panels_in_distribution": len(result.panels),
            "left_out": len(result.excluded),
            "notes": list(result.notes),
        },
    }
    if pool_probabilities is not None:
        record["parameters"]["pool_probabilities"] = pool_probabilities
    record["result"]["end_to_end"] = end_to_end_record(
        ws, pool, quotas, result.probabilities, rng=bootstrap_generator(seed)
    )
    members = [(pid, "panel", rank) for rank, pid in enumerate(result.panel, start=1)]
    if alternates > 0:
        members += [(pid, "alternate", rank) for rank, pid in enumerate(order, start=1)]
        record["result"]["alternates"] = order
    with ws.store.transaction():
        draw_id = ws.store.save_selection(
            quota_set_id=set_id,
            kind="panel",
            record=record,
            probabilities=result.probabilities,
            members=members,
            distribution=list(zip(result.panels, result.weights, strict=True)),
        )
        if redraw:
            resync_participants(ws)
    return {
        "draw_id": draw_id,
        "redraw": redraw,
        "groups_stale": bool(redraw) and not ws.store.groups().empty,
        "panel": list(result.panel),
        "alternates": order,
        "seed": seed,
        "pool_hash": digest,
        "fairness": summary,
        "pool_size": len(pool),
        "size": size,
        "end_to_end": record["result"]["end_to_end"],
        "left_out": len(result.excluded),
        "notes": list(result.notes),
    }


def redraw_record(ws: Workspace, reason: str | None) -> dict[str, Any] | None:
    """What a new panel draw records about the draws before it: ``None`` for the first draw; for a
    re-draw ``{"reason", "replaces_draw", "number"}`` (``number``: this is the n-th panel draw).

    A panel that was drawn is never silently drawn again: without a reason this raises a
    ``KleroError`` naming the existing draw and the command that re-draws on the record.
    """
    draws = [d for d in ws.store.selection_draws() if d["kind"] == "panel"]
    reason = (reason or "").strip() or None
    if not draws:
        if reason is not None:
            raise KleroError(
                "--redraw: no panel has been drawn yet, so there is nothing to re-draw; "
                "leave out --redraw and --reason.",
                code="nothing_to_redraw",
            )
        return None
    last = draws[-1]
    if reason is None:
        sitting, alternates = ws.store.current_panel(int(last["id"]))
        raise KleroError(
            f"A panel was already drawn (draw {last['id']} on {str(last['drawn_at'])[:10]}: {len(sitting)} members, "
            f"{len(alternates)} alternates left). To replace one member use `klero panel replace PERSON`. To draw "
            'the whole panel again, say why: `klero panel select --redraw --reason "..."`; both draws stay on '
            "record and are listed in the selection report and the council report.",
            code="panel_exists",
            draw_id=int(last["id"]),
        )
    return {"reason": reason, "replaces_draw": int(last["id"]), "number": len(draws) + 1}


def resync_participants(ws: Workspace) -> None:
    """After the panel changed: the respondents' arms follow the current panel (when respondents exist)."""
    from kleroterion.app.participants import sync_participants

    if not ws.store.participants().empty:
        sync_participants(ws)


def move_into_group(ws: Workspace, person_out: str, person_in: str) -> str | None:
    """The replacement takes the drop-out's seat in their small group; the group's name, or ``None``
    when no groups were assigned or the drop-out sat in none."""
    from kleroterion.app.groups import reassign_after_dropout

    groups = ws.store.groups()
    resync_participants(ws)
    if groups.empty or person_out not in set(groups["participant_id"]):
        return None
    return reassign_after_dropout(ws, person_out, replacement=person_in).group


def replace_member_action(
    ws: Workspace,
    person: str,
    *,
    reason: str,
    accept_quota_break: bool = False,
    from_pool: bool = False,
    seed: int | None = None,
) -> dict[str, Any]:
    """Replace a panel member by the first alternate who keeps the quotas; recorded and audited.
    When small groups were assigned, the replacement takes the drop-out's seat (``group`` in the result).

    With ``from_pool``, when no alternate keeps the quotas, a seeded uniform draw among the pool members
    who do (DOMAIN.md §1a step 8); the seed and the candidates are stored in the audit record.
    """
    draw = ws.store.latest_panel_draw()
    _size, quotas = ws.store.quota_set(int(draw["quota_set_id"]))
    panel, alternates = ws.store.current_panel(int(draw["id"]))
    pool = ws.store.pool()
    try:
        choice = choose_replacement(pool, panel, person, alternates, quotas, accept_break=accept_quota_break)
    except InfeasibleQuotaError:
        if not from_pool:
            raise
        seed = fresh_seed() if seed is None else seed
        members = ws.store.panel_members()
        involved = members.loc[members["draw_id"] == int(draw["id"]), "person_id"].tolist()  # incl. declined, left
        rotated, _ = rotation_exclusions(pool, draw["parameters"].get("excluded", []), address_column="address_key")
        involved += sorted(rotated)  # a rotating council's earlier members stay out of replacements too
        person_in, candidates = draw_pool_replacement(
            pool, panel, person, quotas, rng=generator(seed), exclude=involved
        )
        details: dict[str, Any] = {"from_pool": True, "seed": str(seed), "candidates": candidates}
        with ws.store.transaction():
            replacement_id = ws.store.save_replacement(
                draw_id=int(draw["id"]),
                person_out=person,
                person_in=person_in,
                reason=reason,
                details=details,
                from_pool=True,
            )
            group = move_into_group(ws, person, person_in)
        return {
            "replacement_id": replacement_id,
            "person_in": person_in,
            "skipped": [],
            "quotas_broken": [],
            "group": group,
            "groups_assigned": not ws.store.groups().empty,
            **details,
        }
    details = {"skipped": [list(s) for s in choice.skipped], "quotas_broken": list(choice.broken)}
    with ws.store.transaction():
        replacement_id = ws.store.save_replacement(
            draw_id=int(draw["id"]), person_out=person, person_in=choice.person_in, reason=reason, details=details
        )
        group = move_into_group(ws, person, choice.person_in)
    return {
        "replacement_id": replacement_id,
        "person_in": choice.person_in,
        "group": group,
        "groups_assigned": not ws.store.groups().empty,
        **details,
    }


def panel_status(ws: Workspace) -> dict[str, Any] | None:
    """The latest panel draw in numbers, ``None`` before the first draw.

    ``members`` sit on the panel now (after replacements); ``alternates`` / ``alternates_left`` wait in
    order; ``replaced`` left the panel; ``replacements`` is the number of recorded replacements;
    ``draws`` counts every panel draw (``redraws`` = draws - 1; earlier draws stay stored).
    """
    draws = [d for d in ws.store.selection_draws() if d["kind"] == "panel"]
    if not draws:
        return None
    draw = draws[-1]
    draw_id = int(draw["id"])
    sitting, alternates = ws.store.current_panel(draw_id)
    members = ws.store.panel_members()
    replaced = int(((members["draw_id"] == draw_id) & (members["status"] == "replaced")).sum())
    redraw = draw["parameters"].get("redraw") or {}
    return {
        "draw_id": draw_id,
        "algorithm": draw["algorithm"],
        "engine": draw["engine"],
        "members": len(sitting),
        "alternates": len(alternates),
        "alternates_left": len(alternates),
        "replaced": replaced,
        "replacements": len(ws.store.replacements(draw_id)),
        "draws": len(draws),
        "redraws": len(draws) - 1,
        "redraw_reason": redraw.get("reason"),
    }


def verify_panel_action(ws: Workspace) -> dict[str, Any]:
    """Replay the latest panel draw from its stored seed, pool hash, quotas, algorithm and engine.

    A draw picked from a transparent lottery is replayed through the lottery: the numbered ticket list
    is recomputed from the lottery's seed and compared with the stored one, then the ticket's panel and
    its alternates. Raises ``KleroError`` (exit code 1) naming every difference: pool changed since the
    draw, or a replayed distribution, ticket list, panel or alternate order that differs from the stored one.
    """
    draw = ws.store.latest_panel_draw()
    size, quotas = ws.store.quota_set(int(draw["quota_set_id"]))
    pool = ws.store.pool()
    digest = pool_hash(pool, quotas)
    pool, _ = pool_for_algorithm(ws, pool, quotas, str(draw["algorithm"]), parameters=draw["parameters"])
    problems = []
    if digest not in ws.store.accepted_pool_hashes(int(draw["id"])):  # or as pseudonymised by a purge
        problems.append(f"the pool hash is {digest[:16]}…, the draw recorded {draw['pool_hash'][:16]}… (pool changed)")
    stored_panel = list(draw["result"]["panel"])
    stored_alternates = list(draw["result"].get("alternates", []))
    if "lottery_draw_id" in draw["parameters"]:
        replayed_panel, order = replay_lottery_draw(ws, draw, pool, quotas, size=size, problems=problems)
    else:
        replayed, order = draw_panel(
            pool,
            quotas,
            size=size,
            seed=int(draw["seed"]),
            algorithm=str(draw["algorithm"]),
            engine=str(draw["engine"]),
            alternates=int(draw["parameters"].get("alternates", 0)),
            exclude=list(draw["parameters"].get("excluded", [])),
        )
        replayed_panel = list(replayed.panel)
        _compare_distribution(ws.store.draw_distribution(int(draw["id"])), replayed, problems)
    if replayed_panel != stored_panel:
        only_stored = sorted(set(stored_panel) - set(replayed_panel))
        only_replayed = sorted(set(replayed_panel) - set(stored_panel))
        problems.append(f"the replayed panel differs: stored only {only_stored}, replay only {only_replayed}")
    if order != stored_alternates:
        problems.append("the replayed alternates (or their order) differ from the stored ones")
    library_search = draw["engine"] == "sortition-algorithms" and draw["algorithm"] != "legacy"
    if problems and library_search and digest == draw["pool_hash"]:
        problems.append(
            "note: sortition-algorithms' panel search follows Python's string hashing (PYTHONHASHSEED), so its "
            "draws do not replay in another process; use --engine native for a draw anyone can replay"
        )
    ws.store.audit(
        "panel.verify",
        parameters={"draw_id": int(draw["id"])},
        input_hashes={"pool": digest},
        result={"identical": not problems, "problems": problems},
    )
    if problems:
        raise KleroError(
            f"Draw {draw['id']} does not replay:\n  " + "\n  ".join(problems), code="verify_failed", problems=problems
        )
    return {
        "draw_id": int(draw["id"]),
        "panel": stored_panel,
        "alternates": stored_alternates,
        "pool_hash": digest,
        "lottery_number": draw["parameters"].get("number"),
    }


def _compare_distribution(
    stored: list[tuple[frozenset[str], float]], replayed: SelectionResult, problems: list[str]
) -> None:
    """Append a problem when a stored distribution (draws since migration 0005) differs from the replay."""
    if not stored:
        return
    again = dict(zip(replayed.panels, replayed.weights, strict=True))
    same = len(stored) == len(again) and all(abs(again.get(panel, -1.0) - weight) <= 1e-9 for panel, weight in stored)
    if not same:
        problems.append(
            f"the replayed distribution ({len(again)} panels) differs from the stored one ({len(stored)} panels)"
        )


# -- CLI -----------------------------------------------------------------------------------------
panel_app = typer.Typer(help="Stage 2: select the panel and its alternates.", no_args_is_help=True)


@panel_app.command("select")
def panel_select_cmd(
    workspace: WorkspaceOption = Path("."),
    algorithm: Annotated[
        str,
        typer.Option(
            help="maximin, leximin, nash, goldilocks, legacy or end-to-end (evens out each resident's chance "
            "from letter to seat, using a sign-up model of the letters and sign-ups; native engine)."
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
    exclude_ids = read_excluded_ids(exclude) if exclude is not None else []
    with open_workspace(workspace) as ws, progress_bars() as bars:
        out = select_panel_action(
            ws,
            algorithm=algorithm,
            seed=seed,
            public_value=public_seed_value,
            alternates=alternates,
            engine=engine,
            lottery_size=lottery_size,
            redraw_reason=reason if redraw else None,
            progress=bars,
            exclude_previous=exclude_previous,
            exclude_ids=exclude_ids,
        )
    f = out["fairness"]
    if lottery_size is not None:
        lost = out["fairness_lost"]
        console.print(
            f"Lottery {out['draw_id']}: {out['lottery_size']} numbered tickets over {out['panels_in_lottery']} "
            f"panels from a pool of {out['pool_size']}; seed {out['seed']}. Fairness lost by rounding: minimum "
            f"probability {lost['old_min']:.4f} -> {lost['new_min']:.4f}, maximum {lost['old_max']:.4f} -> "
            f"{lost['new_max']:.4f} (largest change {lost['max_abs_change']:.4f})."
        )
        if lottery_out is not None:
            write_tickets(lottery_out, out["tickets"])
            console.print(f"Numbered panels written to {lottery_out}; publish them before the number is drawn.")
        console.print(f"Draw the panel with `klero panel draw-from-lottery --number N` (N from 1 to {lottery_size}).")
        return
    console.print(
        f"Selected {len(out['panel'])} of {out['pool_size']} (draw {out['draw_id']}); "
        f"{len(out['alternates'])} alternates. Selection probability min {f['min_probability']:.3f}, "
        f"max {f['max_probability']:.3f}, Gini {f['gini']:.3f}."
    )
    print_end_to_end(out["end_to_end"])
    for note in out["notes"]:
        console.print(f"Note: {note}.")
    hint("klero poll define instrument.toml", workspace=workspace)
    if out["redraw"]:
        console.print(
            f"Re-draw (panel draw number {out['redraw']['number']}; replaces draw {out['redraw']['replaces_draw']}, "
            f"which stays on record): {out['redraw']['reason']}",
            soft_wrap=True,
        )
    if out["groups_stale"]:
        console.print(
            "The small groups were assigned to the earlier panel: assign them again with `klero groups assign`."
        )


def print_end_to_end(summary: dict[str, Any]) -> None:
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
        out = draw_from_lottery_action(ws, number)
    console.print(
        f"Ticket {out['number']} of {out['tickets']} (lottery {out['lottery_draw_id']}): panel of "
        f"{len(out['panel'])} recorded as draw {out['draw_id']}; {len(out['alternates'])} alternates."
    )
    hint("klero poll define instrument.toml", workspace=workspace)


lottery_app = typer.Typer(help="The transparent lottery's numbered panels.", no_args_is_help=True)
panel_app.add_typer(lottery_app, name="lottery")


@lottery_app.command("export")
def lottery_export_cmd(path: Path, workspace: WorkspaceOption = Path(".")) -> None:
    """Write the latest lottery's numbered panels to PATH (CSV: number, members) for publication."""
    with open_workspace(workspace) as ws:
        lottery = ws.store.latest_lottery_draw()
        tickets = ws.store.lottery_tickets(int(lottery["id"]))
    write_tickets(path, tickets)
    console.print(f"{len(tickets)} numbered panels of lottery {lottery['id']} written to {path}.")


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
    with open_workspace(workspace) as ws:
        out = replace_member_action(
            ws, person, reason=reason, accept_quota_break=accept_quota_break, from_pool=from_pool, seed=seed
        )
    console.print(f"{person} replaced by {out['person_in']} (replacement {out['replacement_id']}).")
    if out["group"]:
        console.print(f"  {out['person_in']} takes {person}'s seat in small group '{out['group']}'.")
    elif out["groups_assigned"]:
        console.print(
            f"  {person} sat in no small group, so {out['person_in']} has no seat yet: place them with "
            f"`klero groups reassign PERSON --replacement {out['person_in']}` (ids: `klero groups list --members`).",
            soft_wrap=True,
        )
    if out.get("from_pool"):
        console.print(
            f"  drawn from {len(out['candidates'])} pool members who keep the quotas (no alternate did); "
            f"seed {out['seed']}"
        )
    for alt, why in out["skipped"]:
        console.print(f"  passed over {alt}: {why}")
    if out["quotas_broken"]:
        console.print(f"[red]Quotas now broken:[/red] {'; '.join(out['quotas_broken'])}")


@panel_app.command("export")
def panel_export_cmd(
    file: Path, workspace: WorkspaceOption = Path("."), encoding: EncodingOption = DEFAULT_ENCODING
) -> None:
    """Write the panel, its alternates in order, the replaced and the replacements to FILE (.csv or .xlsx):
    invitation code, name, address, contact details and sign-up answers, and a status per person."""
    export_and_tell(workspace, "panel", file, encoding=encoding, what="people")


@panel_app.command("verify")
def panel_verify_cmd(workspace: WorkspaceOption = Path(".")) -> None:
    """Replay the latest panel draw from its stored seed; exit code 1 if the panel differs."""
    with open_workspace(workspace) as ws:
        out = verify_panel_action(ws)
    console.print(
        f"Draw {out['draw_id']} replays identically: {len(out['panel'])} members and "
        f"{len(out['alternates'])} alternates, pool hash {out['pool_hash'][:16]}…"
    )
