"""``klero panel`` with a transparent lottery: M numbered panels published, one picked by a public number.

Flanigan, Kehne, Procaccia, "Fair sortition made transparent", NeurIPS 2021. ``klero panel select
--lottery-size M`` rounds the native engine's distribution to M equally likely tickets (stored as a draw of
kind ``lottery`` with its distribution and ticket list); ``klero panel draw-from-lottery --number N`` records
ticket N's panel, with alternates, as the panel draw; ``klero panel verify`` replays both steps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from kleroterion.commands.common import versions
from kleroterion.commands.fairness import bootstrap_generator, end_to_end_record, pool_for_algorithm
from kleroterion.errors import KleroError
from kleroterion.exports import neutralise_frame
from kleroterion.seeds import generator, public_seed
from kleroterion.workspace import Workspace
from sortition.alternates import select_alternates
from sortition.lottery import fairness_lost, number_panels, panel_for_number, round_to_lottery
from sortition.pool import pool_hash
from sortition.progress import Progress
from sortition.quotas import check_pool_against_quotas, quotas_met
from sortition.selection import SelectionResult, fairness_summary, probabilities_from_distribution, select_panel

Tickets = list[tuple[int, frozenset[str]]]


class DrawInputs(NamedTuple):
    quota_set_id: int
    size: int
    quotas: pd.DataFrame
    pool: pd.DataFrame
    pool_hash: str
    seed: int


def draw_inputs(ws: Workspace, *, seed: int | None, public_value: str | None) -> DrawInputs:
    """The current quota set and pool, checked against each other, the pool's hash and the draw's seed.

    The seed is the given one, else derived from the pool hash and a public value, else fresh. Shared by a
    panel draw and a lottery, which must freeze and check the same inputs.
    """
    set_id, size, quotas = ws.store.quotas()
    pool = ws.store.pool()
    if pool.empty:
        raise KleroError("The pool is empty: import sign-ups with `klero pool import FILE` first.", code="no_pool")
    check_pool_against_quotas(pool, quotas, size)
    digest = pool_hash(pool, quotas)
    if seed is None:
        seed = public_seed(digest, public_value) if public_value else ws.draw_seed("panel")
    return DrawInputs(set_id, size, quotas, pool, digest, seed)


def make_lottery(
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    size: int,
    seed: int,
    algorithm: str,
    tickets: int,
    progress: Progress | None = None,
    exclude: Sequence[str] = (),
) -> tuple[SelectionResult, Tickets, dict[str, float], pd.Series]:
    """The distribution, its numbered tickets 1..M, the fairness lost and the lottery probabilities.

    One generator from ``seed`` computes the native distribution and then the rounding, so the same
    seed, pool and quotas give the same published ticket list: the one path both drawing and replay take.
    ``exclude``: ids left out with their households (rotation), as in ``select_panel``.
    """
    rng = generator(seed)
    result = select_panel(
        pool, quotas, size=size, rng=rng, algorithm=algorithm, engine="native", progress=progress, exclude=exclude
    )
    weights = np.asarray(result.weights, dtype=float)
    rounded = round_to_lottery(result.panels, weights, m=tickets, rng=rng)
    lost = fairness_lost(result.panels, weights, rounded)
    counts = np.array([count for _, count in rounded], dtype=float)
    probabilities = probabilities_from_distribution(
        result.probabilities.index.to_series(), [panel for panel, _ in rounded], counts / counts.sum()
    )
    return result, number_panels(rounded), lost, probabilities


def lottery_alternates(
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    panel: frozenset[str],
    *,
    seed: int,
    number: int,
    count: int,
    algorithm: str,
    exclude: Sequence[str] = (),
) -> list[str]:
    """Ordered alternates for the panel on ticket ``number``, drawn as for any panel.

    Their generator's seed is ``SHA-256("{lottery seed}:{number}")``: fixed by the published seed and the
    public number, so anyone can replay them, and unknown before the number is drawn.
    """
    if count <= 0:
        return []
    derived = int(hashlib.sha256(f"{seed}:{number}".encode()).hexdigest(), 16)
    order, _reserve = select_alternates(
        pool,
        tuple(sorted(panel)),
        quotas,
        count=count,
        rng=generator(derived),
        algorithm=algorithm,
        engine="native",
        exclude=exclude,
    )
    return order


def make_lottery_action(
    ws: Workspace,
    *,
    algorithm: str,
    seed: int | None,
    public_value: str | None,
    alternates: int,
    engine: str,
    lottery_size: int,
    progress: Progress | None = None,
    redraw: dict[str, Any] | None = None,
    exclude: Sequence[str] = (),
) -> dict[str, Any]:
    """Round the fair distribution to ``lottery_size`` equally likely numbered panels and store them.

    Nothing is drawn: the numbered list is published, and ``draw_from_lottery_action`` picks the panel
    by a public number. Stored as a draw of kind ``lottery`` with its distribution and tickets; ``redraw``
    (from ``redraw_record``) when a panel was drawn before, carried on to the panel drawn from it.
    """
    if engine != "native":
        raise KleroError(
            f"--lottery-size needs the native engine (the {engine} engine's distributions are not replayable "
            "across processes); leave out --engine or use --engine native.",
            code="lottery_needs_native",
        )
    if lottery_size < 1:
        raise KleroError(f"--lottery-size must be at least 1 (got {lottery_size}).", code="bad_lottery_size")
    set_id, size, quotas, pool, digest, seed = draw_inputs(ws, seed=seed, public_value=public_value)
    pool, pool_probabilities = pool_for_algorithm(ws, pool, quotas, algorithm)
    result, tickets, lost, probabilities = make_lottery(
        pool,
        quotas,
        size=size,
        seed=seed,
        algorithm=algorithm,
        tickets=lottery_size,
        progress=progress,
        exclude=exclude,
    )
    position = {panel: j for j, panel in enumerate(result.panels, start=1)}
    summary = fairness_summary(probabilities, size=size)
    record: dict[str, Any] = {
        "algorithm": algorithm,
        "engine": "native",
        "seed": str(seed),
        "pool_hash": digest,
        "parameters": {
            "size": size,
            "public_value": public_value,
            "alternates": alternates,
            "lottery_size": lottery_size,
            "exact": True,
            "probability_se": 0.0,
            **({"redraw": redraw} if redraw else {}),
            **({"excluded": list(exclude)} if exclude else {}),
        },
        "versions": versions(),
        "result": {
            **summary,
            "fairness_lost": lost,
            "panels_in_distribution": len(result.panels),
            "panels_in_lottery": len({panel for _, panel in tickets}),
        },
    }
    if pool_probabilities is not None:
        record["parameters"]["pool_probabilities"] = pool_probabilities
    draw_id = ws.store.save_selection(
        quota_set_id=set_id,
        kind="lottery",
        record=record,
        probabilities=probabilities,
        members=[],
        distribution=list(zip(result.panels, result.weights, strict=True)),
        tickets=[position[panel] for _, panel in tickets],
    )
    return {
        "draw_id": draw_id,
        "lottery_size": lottery_size,
        "tickets": tickets,
        "fairness_lost": lost,
        "seed": seed,
        "pool_hash": digest,
        "fairness": summary,
        "pool_size": len(pool),
        "size": size,
        "panels_in_lottery": record["result"]["panels_in_lottery"],
        "redraw": redraw,
        "groups_stale": False,
        "left_out": len(result.excluded),
        "notes": list(result.notes),
    }


def parse_ticket_number(text: str, tickets: int) -> int:
    """The ticket number ``text`` as an integer in 1..``tickets``; a ``KleroError`` naming the range otherwise."""
    stripped = text.strip()
    if not stripped.isdigit() or not 1 <= int(stripped) <= tickets:
        raise KleroError(
            f"--number {text!r} is not a ticket of this lottery: give a whole number from 1 to {tickets}.",
            code="bad_ticket",
        )
    return int(stripped)


def draw_from_lottery_action(ws: Workspace, number_text: str) -> dict[str, Any]:
    """Pick the panel on ticket ``number_text`` of the latest lottery, draw its alternates, store and audit it.

    A lottery is drawn once; the pool must be the one the lottery was made from.
    """
    lottery = ws.store.latest_lottery_draw()
    lottery_id = int(lottery["id"])
    earlier = ws.store.draws_from_lottery(lottery_id)
    if earlier:
        raise KleroError(
            f"Lottery {lottery_id} was already drawn (ticket {earlier[0]['parameters']['number']}, draw "
            f"{earlier[0]['id']}); a lottery is drawn once. Run `klero panel select --lottery-size M` for a new one.",
            code="lottery_already_drawn",
        )
    panels = [d for d in ws.store.selection_draws() if d["kind"] == "panel"]
    later = [d for d in panels if int(d["id"]) > lottery_id]
    if later or (panels and "redraw" not in lottery["parameters"]):
        which = f"panel draw {(later or panels)[-1]['id']}"
        raise KleroError(
            f"Drawing from lottery {lottery_id} now would replace {which} without a reason on record. Make a new "
            'lottery with `klero panel select --lottery-size M --redraw --reason "..."` and draw its ticket instead.',
            code="panel_exists",
        )
    tickets = ws.store.lottery_tickets(lottery_id)
    number = parse_ticket_number(number_text, len(tickets))
    panel = panel_for_number(tickets, number)
    size, quotas = ws.store.quota_set(int(lottery["quota_set_id"]))
    pool = ws.store.pool()
    digest = pool_hash(pool, quotas)
    if digest not in ws.store.accepted_pool_hashes(lottery_id):
        raise KleroError(
            f"The pool changed since lottery {lottery_id} was made (hash {digest[:16]}…, lottery "
            f"{lottery['pool_hash'][:16]}…); make a new lottery with `klero panel select --lottery-size M`.",
            code="pool_changed",
        )
    pool, _ = pool_for_algorithm(ws, pool, quotas, str(lottery["algorithm"]), parameters=lottery["parameters"])
    seed = int(lottery["seed"])
    count = int(lottery["parameters"].get("alternates", 0))
    order = lottery_alternates(
        pool,
        quotas,
        panel,
        seed=seed,
        number=number,
        count=count,
        algorithm=str(lottery["algorithm"]),
        exclude=list(lottery["parameters"].get("excluded", [])),
    )
    members_frame = pool[pool["id"].isin(panel)]
    if len(members_frame) != size or not quotas_met(members_frame, quotas):
        raise KleroError(f"Ticket {number}'s panel does not meet the quotas (store damaged?).", code="quota_violation")
    probabilities = ws.store.selection_probabilities(lottery_id)
    summary = fairness_summary(probabilities, size=size)
    record: dict[str, Any] = {
        "algorithm": str(lottery["algorithm"]),
        "engine": "native",
        "seed": str(seed),
        "pool_hash": digest,
        "parameters": {
            **lottery["parameters"],
            "lottery_draw_id": lottery_id,
            "number": number,
        },
        "versions": versions(),
        "result": {
            **summary,
            "panel": sorted(panel),
            "alternates": order,
            "fairness_lost": lottery["result"]["fairness_lost"],
            "panels_in_distribution": lottery["result"]["panels_in_distribution"],
            "end_to_end": end_to_end_record(ws, pool, quotas, probabilities, rng=bootstrap_generator(seed)),
        },
    }
    members = [(pid, "panel", rank) for rank, pid in enumerate(sorted(panel), start=1)]
    members += [(pid, "alternate", rank) for rank, pid in enumerate(order, start=1)]
    draw_id = ws.store.save_selection(
        quota_set_id=int(lottery["quota_set_id"]),
        kind="panel",
        record=record,
        probabilities=probabilities,
        members=members,
    )
    return {
        "draw_id": draw_id,
        "lottery_draw_id": lottery_id,
        "number": number,
        "tickets": len(tickets),
        "panel": sorted(panel),
        "alternates": order,
    }


def write_tickets(path: Path, tickets: Tickets) -> None:
    """The published numbered list: one row per ticket, ``number`` and ``members`` (ids, space-separated)."""
    frame = pd.DataFrame({"number": [n for n, _ in tickets], "members": [" ".join(sorted(p)) for _, p in tickets]})
    try:
        neutralise_frame(frame).to_csv(path, index=False)
    except OSError as exc:
        raise KleroError(f"Cannot write the lottery list to {path}: {exc.strerror}.", code="write_failed") from exc


def replay_lottery_draw(
    ws: Workspace, draw: dict[str, Any], pool: pd.DataFrame, quotas: pd.DataFrame, *, size: int, problems: list[str]
) -> tuple[list[str], list[str]]:
    """Recompute the lottery behind ``draw`` and its ticket; appends differences to ``problems``."""
    lottery_id = int(draw["parameters"]["lottery_draw_id"])
    lottery = next(d for d in ws.store.selection_draws() if int(d["id"]) == lottery_id)
    number = int(draw["parameters"]["number"])
    _result, replayed, _lost, _probabilities = make_lottery(
        pool,
        quotas,
        size=size,
        seed=int(lottery["seed"]),
        algorithm=str(lottery["algorithm"]),
        tickets=int(lottery["parameters"]["lottery_size"]),
        exclude=list(lottery["parameters"].get("excluded", [])),
    )
    stored = ws.store.lottery_tickets(lottery_id)
    differing = [n for (n, panel), (_, again) in zip(stored, replayed, strict=False) if panel != again]
    if len(stored) != len(replayed) or differing:
        problems.append(
            f"the replayed ticket list of lottery {lottery_id} differs from the published one "
            f"({len(differing)} tickets differ{', first ' + str(differing[0]) if differing else ''})"
        )
    if not 1 <= number <= len(replayed):
        problems.append(f"ticket {number} does not exist in the replayed lottery of {len(replayed)} tickets")
        return [], []
    panel = panel_for_number(replayed, number)
    order = lottery_alternates(
        pool,
        quotas,
        panel,
        seed=int(lottery["seed"]),
        number=number,
        count=int(lottery["parameters"].get("alternates", 0)),
        algorithm=str(lottery["algorithm"]),
        exclude=list(lottery["parameters"].get("excluded", [])),
    )
    return sorted(panel), order
