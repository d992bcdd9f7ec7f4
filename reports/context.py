"""Template contexts: plain dataclasses built from domain results, guarded by contract tests."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from deliberation.disclosure import suppressed_by_category
from reports.outcomes import RecommendationRow
from reports.settings import Missing

if TYPE_CHECKING:
    from reports.charts import Chart
    from reports.council import (
        ControlRow,
        EvaluationRow,
        FitRow,
        GroupSummary,
        PacketReview,
        PacketRow,
        PeakRow,
        ResponseRow,
    )
    from reports.selection import DrawRow, EndToEndSummary


@dataclass(frozen=True)
class CompositionRow:
    """One category value in the population vs pool vs panel table (counts and shares)."""

    category: str
    feature: str
    population_share: float
    pool_count: int
    pool_share: float
    panel_count: int
    panel_share: float
    quota_min: int
    quota_max: int


@dataclass(frozen=True)
class ChangeRow:
    """Opinion change on one item (paired t-test on complete pairs)."""

    item: str
    text: str
    n_pairs: int
    mean_pre: float
    mean_post: float
    mean_change: float
    ci_low: float
    ci_high: float
    p_value: float
    d_z: float


@dataclass(frozen=True)
class CouncilReportContext:
    """Everything the council report template may show. No names, addresses, birth dates or ids."""

    process_name: str
    municipality: str
    lang: str
    remit: str
    letters_sent: int
    signups: int
    panel_size: int
    alternates: int
    algorithm: str
    engine: str
    seed: str
    pool_hash: str
    fairness: dict[str, float]
    composition: list[CompositionRow]
    change: list[ChangeRow]
    knowledge: dict[str, float]
    t1_respondents: int
    data_sources: list[str] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)
    suppression_threshold: int = 5
    report_date: str = ""
    recommendations: list[RecommendationRow] = field(default_factory=list)
    commitment: str = ""
    response_due: str = ""
    participation_rung: str = ""
    participation_model: str = ""
    participation_reason: str = ""
    response_by_group: list[ResponseRow] = field(default_factory=list)
    replacements: dict[str, int] = field(default_factory=dict)
    packets: list[PacketRow] = field(default_factory=list)
    packet_reviews: list[PacketReview] = field(default_factory=list)
    sessions: list[SessionRow] = field(default_factory=list)
    groups: GroupSummary | None = None
    evaluation: list[EvaluationRow] = field(default_factory=list)
    peakedness: list[PeakRow] = field(default_factory=list)
    charts: dict[str, Chart] = field(default_factory=dict)
    fit: list[FitRow] = field(default_factory=list)
    #: Participants vs control (``control_ancova``) and every invitee vs control, the intention-to-treat
    #: contrast (``control_ancova_itt``); the control group is a random sample of never-invited addresses.
    control: list[ControlRow] = field(default_factory=list)
    control_itt: list[ControlRow] = field(default_factory=list)
    #: What the council version still lacks (``reports.settings.missing_settings`` plus recommendations);
    #: when any, the report is a draft: a CONCEPT/DRAFT mark and a checklist page instead of gaps in the body.
    missing: list[Missing] = field(default_factory=list)
    draft: bool = False
    item_texts: dict[str, str] = field(default_factory=dict)
    #: Names in the report's language of every sign-up category (``process.toml``, or the built-in gender,
    #: age band and education) and of ``wijk`` (``reports.labels.build_labels``).
    category_labels: dict[str, str] = field(default_factory=dict)
    #: Labels of those categories' values, ``{category: {value: label}}``; ``wijk`` maps codes to the names
    #: of the process's areas file. A value without a label shows itself.
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    draws: list[DrawRow] = field(default_factory=list)
    #: Each group's chance of a seat from letter to panel (``reports.selection.end_to_end_summary``).
    end_to_end: EndToEndSummary | None = None
    #: Wijk codes shown as codes because the areas file names none (the report says so once).
    unnamed_areas: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SessionRow:
    """One session of the panel as the report shows it (title in the report's language)."""

    held_on: str
    hours: float
    title: str
    format: str


def composition_rows(
    quotas: pd.DataFrame, pool: pd.DataFrame, panel: pd.DataFrame, *, threshold: int = 0
) -> list[CompositionRow]:
    """Population share (from the quota table), pool and panel counts per category value.

    Pool counts below ``threshold`` (and complementary cells, see ``suppressed_cells``) are suppressed: count -1,
    share NaN. Panel counts are shown, small ones too, because the panel's composition by one feature at a
    time is published by design (DOMAIN.md §6), except in a row whose pool count is suppressed: there the
    panel count is hidden as well. The panel is drawn from the pool, so a panel count next to a hidden pool
    count bounds it (panel ≤ pool; "< 5" beside a panel of 3 leaves 3 or 4), and when the two are equal it
    says that every sign-up of that group sits on the panel. The hidden rows are the same in both columns,
    two or more per category, so the panel size and the pool total give back only their sum.
    """
    pool_counts = [int((pool[q.category].astype(str) == str(q.feature)).sum()) for q in quotas.itertuples()]
    hidden = suppressed_by_category([str(c) for c in quotas["category"]], pool_counts, threshold)
    rows = []
    for i, q in enumerate(quotas.itertuples(index=False)):
        pool_count = pool_counts[i]
        panel_count = int((panel[q.category].astype(str) == str(q.feature)).sum())
        rows.append(
            CompositionRow(
                category=str(q.category),
                feature=str(q.feature),
                population_share=math.nan if q.population_share is None else float(q.population_share),
                pool_count=-1 if i in hidden else pool_count,
                pool_share=math.nan if i in hidden else (pool_count / len(pool) if len(pool) else 0.0),
                panel_count=-1 if i in hidden else panel_count,
                panel_share=math.nan if i in hidden else (panel_count / len(panel) if len(panel) else 0.0),
                quota_min=int(q.min),
                quota_max=int(q.max),
            )
        )
    return rows


def change_rows(change: pd.DataFrame, texts: dict[str, str]) -> list[ChangeRow]:
    """Report rows from a ``summarise_change`` table."""
    return [
        ChangeRow(
            item=str(r.item),
            text=texts.get(str(r.item), str(r.item)),
            n_pairs=int(r.n_pairs),
            mean_pre=float(r.mean_pre),
            mean_post=float(r.mean_post),
            mean_change=float(r.mean_change),
            ci_low=float(r.ci_low),
            ci_high=float(r.ci_high),
            p_value=float(r.p_value),
            d_z=float(r.d_z),
        )
        for r in change.itertuples(index=False)
    ]
