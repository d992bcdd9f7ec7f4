"""Use cases of stage 2 around ``sortition``: select the panel and alternates, replace, verify, status, export.

Each use case is one unit of work: it reads the workspace, computes (progress and cancel through
``sortition.progress``), then writes everything in one store transaction, or nothing. Results are typed
and frozen; the draw itself is a ``sortition.draw_record.DrawRecord``. The transparent lottery's use
cases are in ``kleroterion.app.lottery``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kleroterion.app.fairness import (
    bootstrap_generator,
    end_to_end_record,
    pool_for_algorithm,
)
from kleroterion.app.versions import versions
from kleroterion.errors import InfeasibleQuotaError, KleroError
from kleroterion.seeds import fresh_seed, generator, public_seed
from kleroterion.workspace import Workspace
from sortition.alternates import choose_replacement, draw_pool_replacement
from sortition.draw_record import DrawRecord, Redraw, draw_panel, replay_draw
from sortition.pool import pool_hash
from sortition.progress import Cancel, Progress, Tracker
from sortition.quotas import check_pool_against_quotas, quotas_met
from sortition.selection import fairness_summary, rotation_exclusions

if TYPE_CHECKING:
    import pandas as pd

    from kleroterion.exports import ExportResult


# -- inputs shared by a panel draw and a lottery ------------------------------------------------
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


def exclusions(ws: Workspace, *, exclude_previous: bool, exclude_ids: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The ids a draw leaves out: those given plus, with ``exclude_previous``, every earlier panel member."""
    earlier = ws.store.earlier_panel_members() if exclude_previous else []
    return tuple(sorted({*exclude_ids, *earlier}))


def redraw_guard(ws: Workspace, reason: str | None) -> Redraw | None:
    """What a new panel draw records about the draws before it: ``None`` for the first draw, else a
    ``Redraw`` (reason, the draw it replaces, this draw's number among the panel draws).

    A panel that was drawn is never silently drawn again: without a reason this raises a ``KleroError``
    naming the existing draw and the command that re-draws on the record.
    """
    draws = ws.store.draw_records("panel")
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
    last_id = int(last.draw_id or 0)
    if reason is None:
        sitting, alternates = ws.store.current_panel(last_id)
        raise KleroError(
            f"A panel was already drawn (draw {last_id} on {str(last.drawn_at)[:10]}: {len(sitting)} members, "
            f"{len(alternates)} alternates left). To replace one member use `klero panel replace PERSON`. To draw "
            'the whole panel again, say why: `klero panel select --redraw --reason "..."`; both draws stay on '
            "record and are listed in the selection report and the council report.",
            code="panel_exists",
            draw_id=last_id,
        )
    return Redraw(reason=reason, replaces_draw=last_id, number=len(draws) + 1)


def check_unchanged(ws: Workspace, redraw: Redraw | None) -> None:
    """Inside the writing transaction: no panel draw was stored since ``redraw_guard`` looked."""
    draws = ws.store.draw_records("panel")
    expected = redraw.replaces_draw if redraw else None
    if (int(draws[-1].draw_id or 0) if draws else None) != expected:
        raise KleroError(
            "Another panel draw was stored while this one was computed; nothing was stored. Run `klero panel "
            "status` and, to draw again, give a reason with --redraw.",
            code="panel_exists",
        )


def resync_participants(ws: Workspace) -> None:
    """After the panel changed: the respondents' arms follow the current panel (when respondents exist)."""
    from kleroterion.app.participants import sync_participants

    if not ws.store.participants().empty:
        sync_participants(ws)


# -- select ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SelectRequest:
    """``klero panel select``: algorithm and engine, seed (or a public value), alternates, re-draw, rotation."""

    algorithm: str = "maximin"
    seed: int | None = None
    public_value: str | None = None
    alternates: int = 0
    engine: str = "native"
    redraw_reason: str | None = None
    exclude_previous: bool = False
    exclude_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PanelSelected:
    """A stored panel draw: its ``record`` (panel, alternates, seed, hash, fairness), the pool's size and
    whether small groups assigned to an earlier panel are now stale."""

    record: DrawRecord
    pool_size: int
    groups_stale: bool

    @property
    def draw_id(self) -> int:
        return int(self.record.draw_id or 0)


SELECT_STAGE = "panel draw"


def select_panel(
    ws: Workspace, request: SelectRequest, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> PanelSelected:
    """Draw the panel (and alternates) and store it with the distribution it came from, in one transaction.

    When a panel was drawn before, a new draw needs ``redraw_reason`` (``redraw_guard``); every draw stays
    stored. Rotation: ``exclude_previous`` leaves out everyone who sat on an earlier panel of this workspace,
    ``exclude_ids`` further ids, each with their household; the list is stored so the draw replays.
    ``cancel`` is asked between the steps and by the engine; a cancelled draw stores nothing.
    """
    tracker = Tracker(progress, cancel)
    redraw = redraw_guard(ws, request.redraw_reason)
    excluded = exclusions(ws, exclude_previous=request.exclude_previous, exclude_ids=request.exclude_ids)
    tracker.step(SELECT_STAGE, 0, 3, "reading the pool and quotas")
    set_id, size, quotas, pool, digest, seed = draw_inputs(ws, seed=request.seed, public_value=request.public_value)
    pool, pool_probabilities = pool_for_algorithm(ws, pool, quotas, request.algorithm)
    result, order = draw_panel(
        pool,
        quotas,
        size=size,
        seed=seed,
        algorithm=request.algorithm,
        engine=request.engine,
        alternates=request.alternates,
        progress=progress,
        cancel=cancel,
        exclude=excluded,
    )
    if not quotas_met(pool[pool["id"].isin(result.panel)], quotas):
        raise KleroError("The drawn panel does not meet the quotas (engine error).", code="quota_violation")
    tracker.step(SELECT_STAGE, 1, 3, "end-to-end chances")
    end_to_end = end_to_end_record(ws, pool, quotas, result.probabilities, rng=bootstrap_generator(seed))
    record = DrawRecord(
        algorithm=request.algorithm,
        engine=result.engine,
        seed=seed,
        pool_hash=digest,
        size=size,
        panel=tuple(result.panel),
        alternates=tuple(order) if request.alternates > 0 else None,
        alternates_wanted=request.alternates,
        public_value=request.public_value,
        exact=result.exact,
        probability_se=result.probability_se,
        redraw=redraw,
        excluded=excluded,
        pool_probabilities=pool_probabilities,
        fairness=fairness_summary(result.probabilities, size=size),
        panels_in_distribution=len(result.panels),
        left_out=len(result.excluded),
        notes=tuple(result.notes),
        end_to_end=end_to_end,
        versions=versions(),
        probabilities=result.probabilities.to_dict(),
        quota_set_id=set_id,
    )
    members = [(pid, "panel", rank) for rank, pid in enumerate(result.panel, start=1)]
    members += [(pid, "alternate", rank) for rank, pid in enumerate(order, start=1)]
    tracker.step(SELECT_STAGE, 2, 3, "storing the draw")
    with ws.store.transaction():
        check_unchanged(ws, redraw)
        draw_id = ws.store.save_draw(
            record,
            quota_set_id=set_id,
            probabilities=result.probabilities,
            members=members,
            distribution=list(zip(result.panels, result.weights, strict=True)),
        )
        if redraw:
            resync_participants(ws)
        groups_stale = bool(redraw) and not ws.store.groups().empty
    tracker.step(SELECT_STAGE, 3, 3, f"draw {draw_id} stored")
    stored = replace(record, draw_id=draw_id)  # in memory: the store's JSON sorts the keys
    return PanelSelected(record=stored, pool_size=len(pool), groups_stale=groups_stale)


# -- replace --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplaceRequest:
    """``klero panel replace PERSON``: why; accept a broken quota; else draw from the pool (seeded)."""

    person: str
    reason: str = "dropped out"
    accept_quota_break: bool = False
    from_pool: bool = False
    seed: int | None = None


@dataclass(frozen=True)
class Replaced:
    """One recorded replacement. ``skipped``: alternates passed over, each with why; ``quotas_broken``;
    ``group``: the small group the replacement joined (``None``: no groups, or the drop-out sat in none).
    With ``from_pool``: the ``seed`` and the ``candidates`` who kept the quotas."""

    replacement_id: int
    person_in: str
    skipped: tuple[tuple[str, str], ...]
    quotas_broken: tuple[str, ...]
    group: str | None
    groups_assigned: bool
    from_pool: bool = False
    seed: int | None = None
    candidates: tuple[str, ...] = ()


def move_into_group(ws: Workspace, person_out: str, person_in: str) -> str | None:
    """The replacement takes the drop-out's seat in their small group; the group's name, or ``None``
    when no groups were assigned or the drop-out sat in none."""
    from kleroterion.app.groups import reassign_after_dropout

    groups = ws.store.groups()
    resync_participants(ws)
    if groups.empty or person_out not in set(groups["participant_id"]):
        return None
    return str(reassign_after_dropout(ws, person_out, replacement=person_in).group)


def replace_member(ws: Workspace, request: ReplaceRequest) -> Replaced:
    """Replace a panel member by the first alternate who keeps the quotas; recorded and audited, with the
    small-group seat and the respondents' arms, in one transaction.

    With ``from_pool``, when no alternate keeps the quotas, a seeded uniform draw among the pool members
    who do (DOMAIN.md §1a step 8); the seed and the candidates are stored in the audit record.
    """
    draw = ws.store.latest_panel_record()
    draw_id = int(draw.draw_id or 0)
    _size, quotas = ws.store.quota_set(int(draw.quota_set_id or 0))
    panel, alternates = ws.store.current_panel(draw_id)
    pool = ws.store.pool()
    person = request.person
    try:
        choice = choose_replacement(pool, panel, person, alternates, quotas, accept_break=request.accept_quota_break)
    except InfeasibleQuotaError:
        if not request.from_pool:
            raise
        seed = fresh_seed() if request.seed is None else request.seed
        members = ws.store.panel_members()
        involved = members.loc[members["draw_id"] == draw_id, "person_id"].tolist()  # incl. declined, left
        rotated, _ = rotation_exclusions(pool, draw.excluded, address_column="address_key")
        involved += sorted(rotated)  # a rotating council's earlier members stay out of replacements too
        person_in, candidates = draw_pool_replacement(
            pool, panel, person, quotas, rng=generator(seed), exclude=involved
        )
        details: dict[str, Any] = {"from_pool": True, "seed": str(seed), "candidates": candidates}
        with ws.store.transaction():
            replacement_id = ws.store.save_replacement(
                draw_id=draw_id,
                person_out=person,
                person_in=person_in,
                reason=request.reason,
                details=details,
                from_pool=True,
            )
            group = move_into_group(ws, person, person_in)
            assigned = not ws.store.groups().empty
        return Replaced(replacement_id, person_in, (), (), group, assigned, True, seed, tuple(candidates))
    details = {"skipped": [list(s) for s in choice.skipped], "quotas_broken": list(choice.broken)}
    with ws.store.transaction():
        replacement_id = ws.store.save_replacement(
            draw_id=draw_id, person_out=person, person_in=choice.person_in, reason=request.reason, details=details
        )
        group = move_into_group(ws, person, choice.person_in)
        assigned = not ws.store.groups().empty
    return Replaced(
        replacement_id,
        choice.person_in,
        tuple((str(a), str(why)) for a, why in choice.skipped),
        tuple(choice.broken),
        group,
        assigned,
    )


# -- status ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PanelStatus:
    """The latest panel draw in numbers. ``members`` sit on the panel now (after replacements);
    ``alternates`` (= ``alternates_left``) wait in order; ``replaced`` left the panel; ``replacements``
    recorded; ``draws`` counts every panel draw (``redraws`` = draws - 1; earlier draws stay stored)."""

    draw_id: int
    algorithm: str
    engine: str
    members: int
    alternates: int
    alternates_left: int
    replaced: int
    replacements: int
    draws: int
    redraws: int
    redraw_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``klero status --json`` (the keys earlier readers know)."""
        return asdict(self)


def panel_status(ws: Workspace) -> PanelStatus | None:
    """The latest panel draw in numbers, ``None`` before the first draw."""
    draws = ws.store.draw_records("panel")
    if not draws:
        return None
    draw = draws[-1]
    draw_id = int(draw.draw_id or 0)
    sitting, alternates = ws.store.current_panel(draw_id)
    members = ws.store.panel_members()
    replaced = int(((members["draw_id"] == draw_id) & (members["status"] == "replaced")).sum())
    return PanelStatus(
        draw_id=draw_id,
        algorithm=draw.algorithm,
        engine=draw.engine,
        members=len(sitting),
        alternates=len(alternates),
        alternates_left=len(alternates),
        replaced=replaced,
        replacements=len(ws.store.replacements(draw_id)),
        draws=len(draws),
        redraws=len(draws) - 1,
        redraw_reason=draw.redraw.reason if draw.redraw else None,
    )


# -- verify ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verified:
    """A draw that replayed identically: its panel and alternates, the pool hash now, the lottery ticket."""

    draw_id: int
    panel: tuple[str, ...]
    alternates: tuple[str, ...]
    pool_hash: str
    lottery_number: int | None = None
    versions: Mapping[str, str] = field(default_factory=dict)


def verify_panel(ws: Workspace, *, cancel: Cancel | None = None) -> Verified:
    """Replay the latest panel draw from its stored seed, pool hash, quotas, algorithm and engine
    (``sortition.draw_record.replay_draw``); the outcome goes to the audit log.

    Raises ``KleroError`` (exit code 1) naming every difference: pool changed since the draw, or a
    replayed distribution, ticket list, panel or alternate order that differs from the stored one.
    """
    draw = ws.store.latest_panel_record()
    draw_id = int(draw.draw_id or 0)
    _size, quotas = ws.store.quota_set(int(draw.quota_set_id or 0))
    pool = ws.store.pool()
    digest = pool_hash(pool, quotas)
    parameters = {"pool_probabilities": draw.pool_probabilities}
    pool, _ = pool_for_algorithm(ws, pool, quotas, draw.algorithm, parameters=parameters)
    problems = []
    if digest not in ws.store.accepted_pool_hashes(draw_id):  # or as pseudonymised by a purge
        problems.append(f"the pool hash is {digest[:16]}…, the draw recorded {draw.pool_hash[:16]}… (pool changed)")
    if draw.from_lottery:
        lottery = ws.store.draw_record(int(draw.lottery_draw_id or 0))
        tickets = ws.store.lottery_tickets(int(lottery.draw_id or 0))
        problems += replay_draw(draw, pool, quotas, lottery=lottery, tickets=tickets, cancel=cancel)
    else:
        distribution = ws.store.draw_distribution(draw_id)
        problems += replay_draw(draw, pool, quotas, distribution=distribution, cancel=cancel)
    library_search = draw.engine == "sortition-algorithms" and draw.algorithm != "legacy"
    if problems and library_search and digest == draw.pool_hash:
        problems.append(
            "note: sortition-algorithms' panel search follows Python's string hashing (PYTHONHASHSEED), so its "
            "draws do not replay in another process; use --engine native for a draw anyone can replay"
        )
    ws.store.audit(
        "panel.verify",
        parameters={"draw_id": draw_id},
        input_hashes={"pool": digest},
        result={"identical": not problems, "problems": problems},
    )
    if problems:
        raise KleroError(
            f"Draw {draw_id} does not replay:\n  " + "\n  ".join(problems), code="verify_failed", problems=problems
        )
    return Verified(draw_id, draw.panel, tuple(draw.alternates or ()), digest, draw.number, dict(draw.versions))


# -- export ---------------------------------------------------------------------------------------
def export_panel(ws: Workspace, file: Path, *, encoding: str) -> ExportResult:
    """Write the panel, its alternates in order, the replaced and the replacements to ``file`` (.csv/.xlsx)."""
    from kleroterion.lists import export_list

    return export_list(ws, "panel", file, encoding=encoding)
