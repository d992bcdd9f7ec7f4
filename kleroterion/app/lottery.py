"""Use cases of the transparent lottery: M numbered panels published, one picked by a public number.

Flanigan, Kehne, Procaccia, "Fair sortition made transparent", NeurIPS 2021. ``make_lottery`` rounds the
native engine's distribution to M equally likely tickets (stored as a draw of kind ``lottery`` with its
distribution and ticket list); ``draw_from_lottery`` records ticket N's panel, with alternates, as the
panel draw; ``kleroterion.app.panel.verify_panel`` replays both steps. Each is one store transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from kleroterion.app.fairness import (
    bootstrap_generator,
    end_to_end_record,
    pool_for_algorithm,
)
from kleroterion.app.panel import SelectRequest, check_unchanged, draw_inputs, exclusions, redraw_guard
from kleroterion.app.versions import versions
from kleroterion.errors import KleroError
from kleroterion.exports import neutralise_frame
from kleroterion.workspace import Workspace
from sortition.draw_record import DrawRecord
from sortition.lottery import Tickets, lottery_alternates, make_lottery, panel_for_number
from sortition.pool import pool_hash
from sortition.progress import Cancel, Progress, Tracker
from sortition.quotas import quotas_met
from sortition.selection import fairness_summary

LOTTERY_STAGE = "lottery"


@dataclass(frozen=True)
class LotteryRequest:
    """``klero panel select --lottery-size M``: M numbered tickets, and the panel draw's options."""

    lottery_size: int
    draw: SelectRequest = field(default_factory=SelectRequest)


@dataclass(frozen=True)
class LotteryMade:
    """A stored lottery: its ``record`` (seed, hash, fairness lost by rounding), its numbered tickets and
    the pool's size."""

    record: DrawRecord
    tickets: tuple[tuple[int, frozenset[str]], ...]
    pool_size: int

    @property
    def draw_id(self) -> int:
        return int(self.record.draw_id or 0)


def make_lottery_draw(
    ws: Workspace, request: LotteryRequest, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> LotteryMade:
    """Round the fair distribution to ``lottery_size`` equally likely numbered panels and store them.

    Nothing is drawn: the numbered list is published, and ``draw_from_lottery`` picks the panel by a
    public number. A ``Redraw`` (``redraw_guard``) when a panel was drawn before is carried on to the
    panel drawn from it. A cancelled lottery stores nothing.
    """
    options = request.draw
    if options.engine != "native":
        raise KleroError(
            f"--lottery-size needs the native engine (the {options.engine} engine's distributions are not "
            "replayable across processes); leave out --engine or use --engine native.",
            code="lottery_needs_native",
        )
    if request.lottery_size < 1:
        raise KleroError(f"--lottery-size must be at least 1 (got {request.lottery_size}).", code="bad_lottery_size")
    tracker = Tracker(progress, cancel)
    redraw = redraw_guard(ws, options.redraw_reason)
    excluded = exclusions(ws, exclude_previous=options.exclude_previous, exclude_ids=options.exclude_ids)
    tracker.step(LOTTERY_STAGE, 0, 2, "reading the pool and quotas")
    set_id, size, quotas, pool, digest, seed = draw_inputs(ws, seed=options.seed, public_value=options.public_value)
    pool, pool_probabilities = pool_for_algorithm(ws, pool, quotas, options.algorithm)
    result, tickets, lost, probabilities = make_lottery(
        pool,
        quotas,
        size=size,
        seed=seed,
        algorithm=options.algorithm,
        tickets=request.lottery_size,
        progress=progress,
        cancel=cancel,
        exclude=excluded,
    )
    position = {panel: j for j, panel in enumerate(result.panels, start=1)}
    record = DrawRecord(
        kind="lottery",
        algorithm=options.algorithm,
        engine="native",
        seed=seed,
        pool_hash=digest,
        size=size,
        alternates_wanted=options.alternates,
        public_value=options.public_value,
        lottery_size=request.lottery_size,
        exact=True,
        probability_se=0.0,
        redraw=redraw,
        excluded=excluded,
        pool_probabilities=pool_probabilities,
        fairness=fairness_summary(probabilities, size=size),
        fairness_lost=lost,
        panels_in_distribution=len(result.panels),
        panels_in_lottery=len({panel for _, panel in tickets}),
        versions=versions(),
        quota_set_id=set_id,
    )
    tracker.step(LOTTERY_STAGE, 1, 2, "storing the lottery")
    with ws.store.transaction():
        draw_id = ws.store.save_draw(
            record,
            quota_set_id=set_id,
            probabilities=probabilities,
            members=[],
            distribution=list(zip(result.panels, result.weights, strict=True)),
            tickets=[position[panel] for _, panel in tickets],
        )
    tracker.step(LOTTERY_STAGE, 2, 2, f"lottery {draw_id} stored")
    return LotteryMade(record=replace(record, draw_id=draw_id), tickets=tuple(tickets), pool_size=len(pool))


def parse_ticket_number(text: str, tickets: int) -> int:
    """The ticket number ``text`` as an integer in 1..``tickets``; a ``KleroError`` naming the range otherwise."""
    stripped = text.strip()
    if not stripped.isdigit() or not 1 <= int(stripped) <= tickets:
        raise KleroError(
            f"--number {text!r} is not a ticket of this lottery: give a whole number from 1 to {tickets}.",
            code="bad_ticket",
        )
    return int(stripped)


@dataclass(frozen=True)
class DrawnFromLottery:
    """The panel on the public ticket ``number`` of lottery ``lottery_draw_id`` (of ``tickets``), stored."""

    record: DrawRecord
    lottery_draw_id: int
    number: int
    tickets: int

    @property
    def draw_id(self) -> int:
        return int(self.record.draw_id or 0)


def _check_lottery_drawable(ws: Workspace, lottery: DrawRecord) -> None:
    """A lottery is drawn once, and only when it would not replace a panel without a reason on record."""
    lottery_id = int(lottery.draw_id or 0)
    panels = ws.store.draw_records("panel")
    earlier = [d for d in panels if d.lottery_draw_id == lottery_id]
    if earlier:
        raise KleroError(
            f"Lottery {lottery_id} was already drawn (ticket {earlier[0].number}, draw {earlier[0].draw_id}); a "
            "lottery is drawn once. Run `klero panel select --lottery-size M` for a new one.",
            code="lottery_already_drawn",
        )
    later = [d for d in panels if int(d.draw_id or 0) > lottery_id]
    if later or (panels and lottery.redraw is None):
        which = f"panel draw {(later or panels)[-1].draw_id}"
        raise KleroError(
            f"Drawing from lottery {lottery_id} now would replace {which} without a reason on record. Make a new "
            'lottery with `klero panel select --lottery-size M --redraw --reason "..."` and draw its ticket instead.',
            code="panel_exists",
        )


def draw_from_lottery(ws: Workspace, number_text: str) -> DrawnFromLottery:
    """Pick the panel on ticket ``number_text`` of the latest lottery, draw its alternates, store and audit it
    in one transaction. A lottery is drawn once; the pool must be the one the lottery was made from."""
    lottery = ws.store.latest_lottery_record()
    lottery_id = int(lottery.draw_id or 0)
    _check_lottery_drawable(ws, lottery)
    tickets = ws.store.lottery_tickets(lottery_id)
    number = parse_ticket_number(number_text, len(tickets))
    panel = panel_for_number(tickets, number)
    size, quotas = ws.store.quota_set(int(lottery.quota_set_id or 0))
    pool = ws.store.pool()
    digest = pool_hash(pool, quotas)
    if digest not in ws.store.accepted_pool_hashes(lottery_id):
        raise KleroError(
            f"The pool changed since lottery {lottery_id} was made (hash {digest[:16]}…, lottery "
            f"{lottery.pool_hash[:16]}…); make a new lottery with `klero panel select --lottery-size M`.",
            code="pool_changed",
        )
    pool, _ = pool_for_algorithm(
        ws, pool, quotas, lottery.algorithm, parameters={"pool_probabilities": lottery.pool_probabilities}
    )
    order = lottery_alternates(
        pool,
        quotas,
        panel,
        seed=lottery.seed,
        number=number,
        count=lottery.alternates_wanted,
        algorithm=lottery.algorithm,
        exclude=lottery.excluded,
    )
    members_frame = pool[pool["id"].isin(panel)]
    if len(members_frame) != size or not quotas_met(members_frame, quotas):
        raise KleroError(f"Ticket {number}'s panel does not meet the quotas (store damaged?).", code="quota_violation")
    probabilities = ws.store.selection_probabilities(lottery_id)
    record = _panel_from_ticket(lottery, digest, sorted(panel), order, number=number, probabilities=probabilities)
    record = _with_end_to_end(ws, record, pool, quotas, probabilities)
    members = [(pid, "panel", rank) for rank, pid in enumerate(sorted(panel), start=1)]
    members += [(pid, "alternate", rank) for rank, pid in enumerate(order, start=1)]
    with ws.store.transaction():
        check_unchanged(ws, lottery.redraw)
        draw_id = ws.store.save_draw(
            record, quota_set_id=int(lottery.quota_set_id or 0), probabilities=probabilities, members=members
        )
    done = replace(record, draw_id=draw_id, quota_set_id=lottery.quota_set_id)
    return DrawnFromLottery(done, lottery_id, number, len(tickets))


def _panel_from_ticket(
    lottery: DrawRecord,
    digest: str,
    panel: list[str],
    order: list[str],
    *,
    number: int,
    probabilities: pd.Series,
) -> DrawRecord:
    """The panel draw's record: the lottery's parameters, the ticket, its panel and alternates."""
    return DrawRecord(
        kind="panel",
        algorithm=lottery.algorithm,
        engine="native",
        seed=lottery.seed,
        pool_hash=digest,
        size=lottery.size,
        panel=tuple(panel),
        alternates=tuple(order),
        alternates_wanted=lottery.alternates_wanted,
        public_value=lottery.public_value,
        lottery_size=lottery.lottery_size,
        exact=lottery.exact,
        probability_se=lottery.probability_se,
        redraw=lottery.redraw,
        excluded=lottery.excluded,
        pool_probabilities=lottery.pool_probabilities,
        lottery_draw_id=lottery.draw_id,
        number=number,
        fairness=fairness_summary(probabilities, size=lottery.size),
        fairness_lost=lottery.fairness_lost,
        panels_in_distribution=lottery.panels_in_distribution,
        versions=versions(),
        extra_parameters=lottery.extra_parameters,
    )


def _with_end_to_end(
    ws: Workspace, record: DrawRecord, pool: pd.DataFrame, quotas: pd.DataFrame, probabilities: pd.Series
) -> DrawRecord:
    """``record`` with each quota group's end-to-end chance (bootstrap stream of the lottery's seed)."""
    chances = end_to_end_record(ws, pool, quotas, probabilities, rng=bootstrap_generator(record.seed))
    return replace(record, end_to_end=chances)


def lottery_tickets(ws: Workspace) -> tuple[int, Tickets]:
    """The latest lottery's id and its numbered tickets, for publication."""
    lottery = ws.store.latest_lottery_record()
    return int(lottery.draw_id or 0), ws.store.lottery_tickets(int(lottery.draw_id or 0))


def write_tickets(path: Path, tickets: Tickets) -> None:
    """The published numbered list: one row per ticket, ``number`` and ``members`` (ids, space-separated)."""
    frame = pd.DataFrame({"number": [n for n, _ in tickets], "members": [" ".join(sorted(p)) for _, p in tickets]})
    try:
        neutralise_frame(frame).to_csv(path, index=False)
    except OSError as exc:
        raise KleroError(f"Cannot write the lottery list to {path}: {exc.strerror}.", code="write_failed") from exc


def export_tickets(ws: Workspace, path: Path) -> tuple[int, int]:
    """Write the latest lottery's numbered panels to ``path``; (lottery id, number of tickets)."""
    lottery_id, tickets = lottery_tickets(ws)
    write_tickets(path, tickets)
    return lottery_id, len(tickets)
