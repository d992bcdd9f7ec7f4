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

from deliberation.disclosure import suppressed_cells
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
class ReplacementRow:
    """One replacement of a panel member (no ids): when, why and whether an alternate filled the seat."""

    replaced_on: str
    reason: str
    filled: bool


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


def quota_rows(quotas: pd.DataFrame, panel: pd.DataFrame, alternates: pd.DataFrame) -> list[QuotaRow]:
    """Achieved counts per quota band for the panel and for the alternates."""
    return [
        QuotaRow(
            category=str(q.category),
            feature=str(q.feature),
            quota_min=int(q.min),
            quota_max=int(q.max),
            panel_count=int(panel_count),
            alternate_count=int(alternate_count),
        )
        for q, panel_count, alternate_count in zip(
            quotas.itertuples(index=False),
            count_by_quota(panel, quotas).to_numpy(),
            count_by_quota(alternates, quotas).to_numpy(),
            strict=True,
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
