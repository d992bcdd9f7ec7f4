"""The selection transcript's context: inputs, seed, engine, quotas met and selection probabilities by group.

Builders are pure: they take data frames and records from the store and return dataclasses without
ids, names or addresses. Groups smaller than the suppression threshold are suppressed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from deliberation.disclosure import suppressed_by_category, suppressed_cells
from sortition.quotas import count_by_quota


@dataclass(frozen=True)
class InputFile:
    """One input file as recorded in the audit log: the step, the file name and its SHA-256."""

    action: str
    name: str
    sha256: str
    recorded_on: str


@dataclass(frozen=True)
class QuotaRow:
    """A quota band and what the panel and the alternates achieved."""

    category: str
    feature: str
    quota_min: int
    quota_max: int
    panel_count: int
    alternate_count: int


@dataclass(frozen=True)
class ProbabilityRow:
    """Selection probability among the sign-ups of one group (n = -1 and NaN when suppressed)."""

    category: str
    feature: str
    n: int
    p_min: float
    p_mean: float
    p_max: float


@dataclass(frozen=True)
class EndToEndRow:
    """One group's mean end-to-end chance of a seat, ``p·s·π`` over its sign-ups, with the 95 % bootstrap
    interval of the sign-up model (``sortition.propensity.end_to_end_by_group``); n = -1 and NaN when
    suppressed. ``letter``, ``signup`` and ``seat`` are the group's mean p, ŝ and π."""

    category: str
    feature: str
    n: int
    letter: float
    signup: float
    seat: float
    end_to_end: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class EndToEndSummary:
    """Every group's end-to-end chance of a seat, from letter to panel (issue 19).

    ``ratio[category]`` is the highest shown group's chance over the lowest's (None when a group has
    none; suppressed groups are left out);
    ``notes`` are the sign-up model's named choices (pooled levels, calibration assumption);
    ``unavailable`` says why there are no figures (e.g. a one-stage process without letters)."""

    rows: list[EndToEndRow]
    ratio: dict[str, float | None]
    notes: list[str]
    unavailable: str = ""
    #: the model's choices as data (``end_to_end_record``'s ``choices``): ``pooled`` {feature: levels},
    #: ``penalty`` {feature: λ}, ``calibrated`` and ``features`` (lists); the templates word them per
    #: language with the category labels. Empty for draws recorded before it was stored (``notes`` then).
    choices: dict[str, Any] = field(default_factory=dict)


def end_to_end_summary(record: Mapping[str, Any] | None, *, threshold: int) -> EndToEndSummary | None:
    """The draw record's ``end_to_end`` part (``kleroterion.app.fairness.end_to_end_record``) for a
    report, with groups under ``threshold`` suppressed (and complementary suppression per category).
    ``None`` for draws made before end-to-end chances were recorded."""
    if record is None:
        return None
    if "unavailable" in record:
        return EndToEndSummary(rows=[], ratio={}, notes=[], unavailable=str(record["unavailable"]))
    groups = list(record["groups"])
    hidden: set[int] = set()
    for category in dict.fromkeys(g["category"] for g in groups):
        positions = [i for i, g in enumerate(groups) if g["category"] == category]
        hidden |= {positions[j] for j in suppressed_cells([int(groups[i]["n"]) for i in positions], threshold)}
    rows = []
    for i, g in enumerate(groups):
        values = (
            "letter_probability",
            "signup_probability",
            "selection_probability",
            "end_to_end",
            "ci_low",
            "ci_high",
        )
        numbers = [math.nan if i in hidden or g[k] is None else float(g[k]) for k in values]
        rows.append(EndToEndRow(str(g["category"]), str(g["feature"]), -1 if i in hidden else int(g["n"]), *numbers))
    ratio: dict[str, float | None] = {}
    for category in record["ratio"]:  # over the groups shown: a hidden group's chance stays hidden
        shown = [r.end_to_end for r in rows if r.category == str(category) and r.n > 0]
        ratio[str(category)] = max(shown) / min(shown) if shown and min(shown) > 0 else None
    return EndToEndSummary(
        rows=rows,
        ratio=ratio,
        notes=[str(n) for n in record.get("notes", [])],
        choices=dict(record.get("choices") or {}),
    )


@dataclass(frozen=True)
class ReplacementRow:
    """One replacement of a panel member (no ids): when, why and whether an alternate filled the seat."""

    replaced_on: str
    reason: str
    filled: bool


@dataclass(frozen=True)
class DrawRow:
    """One panel draw of the process, in order (no ids of people): ``number`` 1 is the first draw;
    ``reason`` says why a later one re-drew the panel; ``current`` marks the draw the panel is from."""

    number: int
    drawn_on: str
    algorithm: str
    engine: str
    seed: str
    lottery_number: int | None
    panel_size: int
    alternates: int
    replacements: int
    reason: str
    current: bool


def draw_history(draws: Iterable[Mapping[str, Any]], replacements: Iterable[Mapping[str, Any]]) -> list[DrawRow]:
    """Every panel draw (``kind == "panel"`` records of the store, oldest first) with the number of
    replacements recorded against it; the last one is current. Re-draws carry their reason."""
    panels = [d for d in draws if d["kind"] == "panel"]
    replaced: dict[int, int] = {}
    for r in replacements:
        replaced[int(r["draw_id"])] = replaced.get(int(r["draw_id"]), 0) + 1
    rows = []
    for number, d in enumerate(panels, start=1):
        parameters = d["parameters"]
        lottery = parameters.get("number")
        rows.append(
            DrawRow(
                number=number,
                drawn_on=str(d["drawn_at"])[:10],
                algorithm=str(d["algorithm"]),
                engine=str(d["engine"]),
                seed=str(d["seed"]),
                lottery_number=None if lottery is None else int(lottery),
                panel_size=len(d["result"].get("panel", [])),
                alternates=len(d["result"].get("alternates", [])),
                replacements=replaced.get(int(d["id"]), 0),
                reason=str((parameters.get("redraw") or {}).get("reason", "")),
                current=number == len(panels),
            )
        )
    return rows


@dataclass(frozen=True)
class SelectionReportContext:
    """Everything the selection transcript may show; enough to replay the draw, nothing personal."""

    process_name: str
    municipality: str
    lang: str
    report_date: str
    drawn_on: str
    inputs: list[InputFile]
    seed: str
    pool_hash: str
    algorithm: str
    engine: str
    versions: dict[str, str]
    pool_size: int
    panel_size: int
    alternates: int
    fairness: dict[str, float]
    quotas: list[QuotaRow]
    probabilities: list[ProbabilityRow]
    replacements: list[ReplacementRow]
    replay_command: str
    suppression_threshold: int = 5
    draws: list[DrawRow] = field(default_factory=list)
    #: each group's chance of a seat from letter to panel (None for draws made before it was recorded);
    #: also meant for the public account of the draw
    end_to_end: EndToEndSummary | None = None
    #: Category names and value labels in the report's language (``reports.labels.build_labels``).
    category_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Wijk codes shown as codes because the areas file names none (said once in the report).
    unnamed_areas: list[str] = field(default_factory=list)


def input_files(audit: Iterable[Mapping[str, Any]]) -> list[InputFile]:
    """Every input hash in the audit log, in order (the pool's own fingerprint included)."""
    return [
        InputFile(
            action=str(rec["action"]), name=str(name), sha256=str(digest), recorded_on=str(rec["recorded_at"])[:10]
        )
        for rec in audit
        for name, digest in rec["input_hashes"].items()
    ]


def quota_rows(
    quotas: pd.DataFrame,
    panel: pd.DataFrame,
    alternates: pd.DataFrame,
    *,
    pool: pd.DataFrame | None = None,
    threshold: int = 0,
) -> list[QuotaRow]:
    """Achieved counts per quota band for the panel and for the alternates.

    With ``pool``: in the rows whose pool group is suppressed in the probability table (``probability_rows``:
    fewer than ``threshold`` sign-ups, or the complementary cell), the panel and alternate counts are hidden
    too (-1), because panel and alternates are drawn from that group and their counts would bound or give
    away its hidden size. Other rows show every count: the panel's composition one feature at a time is
    public by design (DOMAIN.md §6)."""
    hidden: set[int] = set()
    if pool is not None:
        sizes = [int((pool[q.category].astype(str) == str(q.feature)).sum()) for q in quotas.itertuples()]
        hidden = suppressed_by_category([str(c) for c in quotas["category"]], sizes, threshold)
    return [
        QuotaRow(
            category=str(q.category),
            feature=str(q.feature),
            quota_min=int(q.min),
            quota_max=int(q.max),
            panel_count=-1 if i in hidden else int(panel_count),
            alternate_count=-1 if i in hidden else int(alternate_count),
        )
        for i, (q, panel_count, alternate_count) in enumerate(
            zip(
                quotas.itertuples(index=False),
                count_by_quota(panel, quotas).to_numpy(),
                count_by_quota(alternates, quotas).to_numpy(),
                strict=True,
            )
        )
    ]


def probability_rows(
    quotas: pd.DataFrame, pool: pd.DataFrame, probabilities: pd.Series, *, threshold: int
) -> list[ProbabilityRow]:
    """Min, mean and max selection probability among the sign-ups of each quota group.

    A group with fewer than ``threshold`` members is suppressed (n = -1, NaN statistics): with two members,
    the minimum is one person's probability. Complementary suppression per characteristic
    (``suppressed_cells``) hides a second group when one alone would be hidden, so the pool total cannot
    give the hidden n back. An empty group shows n = 0 without statistics.
    """
    prob = pool["id"].map(probabilities)
    groups = [prob[(pool[q.category].astype(str) == str(q.feature)).to_numpy()] for q in quotas.itertuples()]
    hidden: set[int] = set()
    for category in dict.fromkeys(quotas["category"]):
        positions = [i for i, c in enumerate(quotas["category"]) if c == category]
        hidden |= {positions[j] for j in suppressed_cells([len(groups[i]) for i in positions], threshold)}
    rows = []
    for i, q in enumerate(quotas.itertuples(index=False)):
        values = groups[i]
        if i in hidden or len(values) == 0:
            n = -1 if i in hidden else 0
            rows.append(ProbabilityRow(str(q.category), str(q.feature), n, math.nan, math.nan, math.nan))
            continue
        rows.append(
            ProbabilityRow(
                category=str(q.category),
                feature=str(q.feature),
                n=len(values),
                p_min=float(values.min()),
                p_mean=float(values.mean()),
                p_max=float(values.max()),
            )
        )
    return rows


DEFAULT_ENGINE = "native"  # the default of `klero panel select --engine`


def replay_command(
    *,
    algorithm: str,
    seed: str,
    alternates: int,
    public_value: str | None,
    engine: str = DEFAULT_ENGINE,
    lottery_size: int | None = None,
    number: int | None = None,
) -> str:
    """The ``klero`` command that redraws the same panel from the same pool and quotas (same engine).

    The engine is always named, so the command stays right when the default engine changes. A panel
    taken from a transparent lottery is redrawn by remaking the lottery of ``lottery_size`` tickets and
    taking ticket ``number``.
    """
    parts = ["klero panel select", f"--algorithm {algorithm}", f"--seed {seed}", f"--engine {engine}"]
    if alternates:
        parts.append(f"--alternates {alternates}")
    if lottery_size is not None and number is not None:
        parts += [f"--lottery-size {lottery_size}", f"&& klero panel draw-from-lottery --number {number}"]
    command = " ".join(parts)
    if public_value:
        command += f"  # seed derived from the public value {public_value!r}"
    return command
