"""The draw record: what a panel draw or a transparent lottery stores so that anyone can replay it.

A ``DrawRecord`` holds the seed, the input hash (pool and quotas), the algorithm and engine, the library
and solver versions, the panel, its ordered alternates and the fairness numbers of the probabilities. The
store keeps it as JSON in four columns (``algorithm``, ``engine``, ``seed``, ``pool_hash``) and three
objects (``parameters``, ``versions``, ``result``); ``to_dict`` writes that layout and ``from_dict`` reads
every record stored since the first release (older records lack the keys added later: rotation, notes,
end-to-end chances; unknown keys are kept, so a record read and written again is unchanged).

``draw_panel`` is the one path a draw and its replay take; ``replay_draw`` recomputes a stored draw and
names every difference (DOMAIN.md §1a, Randomness: "the draw record stores seed, input hashes, algorithm,
solver and library versions, so anyone can replay it").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sortition.alternates import select_alternates
from sortition.lottery import Tickets, lottery_alternates, make_lottery, panel_for_number, seeded_generator
from sortition.progress import Cancel, Progress
from sortition.selection import SelectionResult, select_panel

#: the keys of ``sortition.selection.fairness_summary`` as stored in a record's ``result``
FAIRNESS_KEYS = (
    "n",
    "min_probability",
    "max_probability",
    "mean_probability",
    "gini",
    "geometric_mean",
    "share_below_k_over_n",
    "count_zero",
)
_PARAMETER_KEYS = (
    "size",
    "public_value",
    "alternates",
    "lottery_size",
    "exact",
    "probability_se",
    "redraw",
    "excluded",
    "pool_probabilities",
    "lottery_draw_id",
    "number",
)
_RESULT_KEYS = (
    "panel",
    "alternates",
    "panels_in_distribution",
    "panels_in_lottery",
    "left_out",
    "notes",
    "fairness_lost",
    "end_to_end",
)


@dataclass(frozen=True)
class Redraw:
    """A panel drawn again: why, which draw it replaces and that this is the ``number``-th panel draw."""

    reason: str
    replaces_draw: int
    number: int

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "replaces_draw": self.replaces_draw, "number": self.number}


@dataclass(frozen=True)
class DrawRecord:
    """One stored draw (``kind`` ``panel`` or ``lottery``), typed.

    ``alternates_wanted`` is the number of alternates asked for (``parameters.alternates``); ``alternates``
    the ids drawn, in order. ``fairness`` holds ``FAIRNESS_KEYS``. A panel drawn from a lottery names the
    lottery (``lottery_draw_id``) and its public ticket ``number``. ``probabilities`` (per person) live in
    their own store table and are not part of ``to_dict``. ``draw_id``, ``quota_set_id`` and ``drawn_at``
    are the store's row; ``None`` before the record is stored. ``None`` fields were not recorded (older
    records) and are left out of ``to_dict``.
    """

    algorithm: str
    engine: str
    seed: int
    pool_hash: str
    size: int
    kind: str = "panel"
    panel: tuple[str, ...] = ()
    alternates: tuple[str, ...] | None = None
    alternates_wanted: int = 0
    public_value: str | None = None
    exact: bool | None = None
    probability_se: float | None = None
    redraw: Redraw | None = None
    excluded: tuple[str, ...] = ()
    pool_probabilities: Any = None
    lottery_size: int | None = None
    lottery_draw_id: int | None = None
    number: int | None = None
    fairness: Mapping[str, float] = field(default_factory=dict)
    panels_in_distribution: int | None = None
    panels_in_lottery: int | None = None
    left_out: int | None = None
    notes: tuple[str, ...] | None = None
    fairness_lost: Mapping[str, float] | None = None
    end_to_end: Mapping[str, Any] | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    probabilities: Mapping[str, float] = field(default_factory=dict, compare=False)
    extra_parameters: Mapping[str, Any] = field(default_factory=dict)
    extra_result: Mapping[str, Any] = field(default_factory=dict)
    draw_id: int | None = None
    quota_set_id: int | None = None
    drawn_at: str | None = None

    @property
    def from_lottery(self) -> bool:
        """True for a panel picked by a public number from a transparent lottery."""
        return self.lottery_draw_id is not None

    def to_dict(self) -> dict[str, Any]:
        """The store's JSON layout: ``algorithm, engine, seed, pool_hash, parameters, versions, result``."""
        optional_parameters = {
            "lottery_size": self.lottery_size,
            "exact": self.exact,
            "probability_se": self.probability_se,
            "redraw": self.redraw.to_dict() if self.redraw else None,
            "excluded": list(self.excluded) or None,
            "pool_probabilities": self.pool_probabilities,
            "lottery_draw_id": self.lottery_draw_id,
            "number": self.number,
        }
        parameters = {
            "size": self.size,
            "public_value": self.public_value,
            "alternates": self.alternates_wanted,
            **{key: value for key, value in optional_parameters.items() if value is not None},
            **self.extra_parameters,
        }
        optional_result = {
            "panel": list(self.panel) if self.kind == "panel" else None,
            "alternates": list(self.alternates) if self.alternates is not None else None,
            "panels_in_distribution": self.panels_in_distribution,
            "panels_in_lottery": self.panels_in_lottery,
            "left_out": self.left_out,
            "notes": list(self.notes) if self.notes is not None else None,
            "fairness_lost": dict(self.fairness_lost) if self.fairness_lost is not None else None,
            "end_to_end": dict(self.end_to_end) if self.end_to_end is not None else None,
        }
        result = {
            **dict(self.fairness),
            **{key: value for key, value in optional_result.items() if value is not None},
            **self.extra_result,
        }
        return {
            "algorithm": self.algorithm,
            "engine": self.engine,
            "seed": str(self.seed),
            "pool_hash": self.pool_hash,
            "parameters": parameters,
            "versions": dict(self.versions),
            "result": result,
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any], **row: Any) -> DrawRecord:
        """Read a stored record (any version); ``row``: the store's ``draw_id``, ``quota_set_id``, ``drawn_at``,
        ``kind`` and ``probabilities``."""
        parameters = dict(stored.get("parameters") or {})
        result = dict(stored.get("result") or {})
        redraw = parameters.get("redraw")
        inferred = "lottery" if "lottery_size" in parameters and "panel" not in result else "panel"
        kind = str(row.pop("kind", None) or inferred)
        return cls(
            algorithm=str(stored["algorithm"]),
            engine=str(stored["engine"]),
            seed=int(stored["seed"]),
            pool_hash=str(stored["pool_hash"]),
            size=int(parameters["size"]),
            kind=kind,
            panel=tuple(str(p) for p in result.get("panel", [])),
            alternates=tuple(str(p) for p in result["alternates"]) if "alternates" in result else None,
            alternates_wanted=int(parameters.get("alternates") or 0),
            public_value=parameters.get("public_value"),
            exact=bool(parameters["exact"]) if "exact" in parameters else None,
            probability_se=_float_or_none(parameters.get("probability_se")),
            redraw=Redraw(str(redraw["reason"]), int(redraw["replaces_draw"]), int(redraw["number"]))
            if redraw
            else None,
            excluded=tuple(str(p) for p in parameters.get("excluded") or ()),
            pool_probabilities=parameters.get("pool_probabilities"),
            lottery_size=_int_or_none(parameters.get("lottery_size")),
            lottery_draw_id=_int_or_none(parameters.get("lottery_draw_id")),
            number=_int_or_none(parameters.get("number")),
            fairness=MappingProxyType({key: float(result[key]) for key in FAIRNESS_KEYS if key in result}),
            panels_in_distribution=_int_or_none(result.get("panels_in_distribution")),
            panels_in_lottery=_int_or_none(result.get("panels_in_lottery")),
            left_out=_int_or_none(result.get("left_out")),
            notes=tuple(str(n) for n in result["notes"]) if "notes" in result else None,
            fairness_lost=result.get("fairness_lost"),
            end_to_end=result.get("end_to_end"),
            versions=MappingProxyType(dict(stored.get("versions") or {})),
            extra_parameters=MappingProxyType({k: v for k, v in parameters.items() if k not in _PARAMETER_KEYS}),
            extra_result=MappingProxyType(
                {k: v for k, v in result.items() if k not in _RESULT_KEYS and k not in FAIRNESS_KEYS}
            ),
            **row,
        )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


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
    cancel: Cancel | None = None,
    exclude: Sequence[str] = (),
) -> tuple[SelectionResult, list[str]]:
    """The panel and its ordered alternates from one seed: the one path both drawing and replay take.

    One generator (``seeded_generator(seed)``) draws the panel, then the alternates. ``exclude``: ids
    left out with their households (a rotating council's earlier members).
    """
    rng = seeded_generator(seed)
    result = select_panel(
        pool,
        quotas,
        size=size,
        rng=rng,
        algorithm=algorithm,
        engine=engine,
        progress=progress,
        cancel=cancel,
        exclude=exclude,
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
            cancel=cancel,
        )
    return result, order


def replay_draw(
    record: DrawRecord,
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    distribution: Sequence[tuple[frozenset[str], float]] = (),
    lottery: DrawRecord | None = None,
    tickets: Tickets = (),
    cancel: Cancel | None = None,
) -> list[str]:
    """Draw ``record`` again from ``pool`` and ``quotas``; every difference from the stored draw, in words.

    A plain draw is replayed with ``draw_panel`` and, when given, its stored ``distribution`` compared.
    A panel drawn from a transparent lottery needs that ``lottery`` and its published ``tickets``: the
    ticket list is recomputed from the lottery's seed and compared, then ticket ``record.number``'s panel
    and its alternates. The pool (``pool``) is the one the caller checked against ``record.pool_hash``.
    """
    problems: list[str] = []
    if record.from_lottery:
        if lottery is None:
            raise ValueError("replay_draw: a panel drawn from a lottery needs the lottery's record")
        panel, order = replay_lottery(record, lottery, pool, quotas, tickets=tickets, problems=problems)
    else:
        replayed, order = draw_panel(
            pool,
            quotas,
            size=record.size,
            seed=record.seed,
            algorithm=record.algorithm,
            engine=record.engine,
            alternates=record.alternates_wanted,
            cancel=cancel,
            exclude=record.excluded,
        )
        panel = list(replayed.panel)
        _compare_distribution(distribution, replayed, problems)
    if panel != list(record.panel):
        only_stored = sorted(set(record.panel) - set(panel))
        only_replayed = sorted(set(panel) - set(record.panel))
        problems.append(f"the replayed panel differs: stored only {only_stored}, replay only {only_replayed}")
    if order != list(record.alternates or ()):
        problems.append("the replayed alternates (or their order) differ from the stored ones")
    return problems


def replay_lottery(
    record: DrawRecord,
    lottery: DrawRecord,
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    *,
    tickets: Tickets,
    problems: list[str],
) -> tuple[list[str], list[str]]:
    """Recompute the lottery behind ``record`` and its ticket; appends differences to ``problems``."""
    number = int(record.number or 0)
    _result, replayed, _lost, _probabilities = make_lottery(
        pool,
        quotas,
        size=record.size,
        seed=lottery.seed,
        algorithm=lottery.algorithm,
        tickets=int(lottery.lottery_size or 0),
        exclude=lottery.excluded,
    )
    differing = [n for (n, panel), (_, again) in zip(tickets, replayed, strict=False) if panel != again]
    if len(tickets) != len(replayed) or differing:
        problems.append(
            f"the replayed ticket list of lottery {lottery.draw_id} differs from the published one "
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
        seed=lottery.seed,
        number=number,
        count=lottery.alternates_wanted,
        algorithm=lottery.algorithm,
        exclude=lottery.excluded,
    )
    return sorted(panel), order


def _compare_distribution(
    stored: Sequence[tuple[frozenset[str], float]], replayed: SelectionResult, problems: list[str]
) -> None:
    """Append a problem when a stored distribution (draws since migration 0005) differs from the replay."""
    if not stored:
        return
    again = dict(zip(replayed.panels, np.asarray(replayed.weights, dtype=float), strict=True))
    same = len(stored) == len(again) and all(abs(again.get(panel, -1.0) - weight) <= 1e-9 for panel, weight in stored)
    if not same:
        problems.append(
            f"the replayed distribution ({len(again)} panels) differs from the stored one ({len(stored)} panels)"
        )
