"""Council report sections beyond the draw: inclusiveness, information, deliberation, evaluation.

Pure builders: data frames from the store in, dataclasses without names, ids or free text out. Counts
below the suppression threshold are hidden together with complementary cells (``suppressed_rows``),
so a hidden count cannot be recovered from a row or column total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from deliberation.packets import packet_balance


def suppressed_rows(columns: Sequence[Sequence[int]], threshold: int) -> set[int]:
    """Rows to hide in a table whose count ``columns`` each sum to a published total.

    Primary: a row with a count in ``1..threshold−1`` in any column. Complementary: while some column
    has exactly one hidden non-zero cell, one more row is hidden (the column total would otherwise give
    the lone cell away): the visible row that is non-zero in the most such columns, then the smallest.
    Zero counts disclose nobody.
    """
    hidden = {i for column in columns for i, n in enumerate(column) if 0 < n < threshold}
    while True:
        lone = [c for c in columns if len([i for i in hidden if c[i] > 0]) == 1]
        candidates = [
            (-sum(c[i] > 0 for c in lone), min(c[i] for c in lone if c[i] > 0), i)
            for i in range(len(columns[0]) if columns else 0)
            if i not in hidden and any(c[i] > 0 for c in lone)
        ]
        if not candidates:
            return hidden
        hidden.add(min(candidates)[2])  # the row that protects the most columns, smallest count first


@dataclass(frozen=True)
class ResponseRow:
    """Letters and sign-ups in one group (register data of the invitee); -1 and NaN when suppressed."""

    characteristic: str
    group: str
    letters: int
    signups: int
    rate: float


def response_rows(
    invitees: pd.DataFrame, *, by: Sequence[str], threshold: int, unknown: str = "?"
) -> list[ResponseRow]:
    """Response rate per group: ``invitees`` has one row per letter, the ``by`` columns and a boolean
    ``signed_up``. A missing group value is its own row (``unknown``), never dropped."""
    rows: list[ResponseRow] = []
    for characteristic in by:
        groups = invitees[characteristic].astype("string").fillna(unknown)
        table = (
            invitees.assign(_group=groups.to_numpy())
            .groupby("_group", sort=True)["signed_up"]
            .agg(letters="size", signups="sum")
        )
        letters = [int(n) for n in table["letters"]]
        signups = [int(n) for n in table["signups"]]
        hidden = suppressed_rows([letters, signups], threshold)
        for i, group in enumerate(table.index):
            rows.append(
                ResponseRow(
                    characteristic=characteristic,
                    group=str(group),
                    letters=-1 if i in hidden else letters[i],
                    signups=-1 if i in hidden else signups[i],
                    rate=math.nan if i in hidden else signups[i] / letters[i],
                )
            )
    return rows


@dataclass(frozen=True)
class PacketRow:
    """The balance of one option in the latest version of a briefing packet (counts and words only)."""

    title: str
    version: int
    option: str
    n_pro: int
    n_con: int
    words_pro: int
    words_con: int
    word_ratio: float
    missing_side: str


@dataclass(frozen=True)
class PacketReview:
    """The review of one packet version: how many reviewers signed off, when last, how many received it."""

    title: str
    version: int
    n_arguments: int
    n_signoffs: int
    n_receipts: int


def packet_rows(arguments: pd.DataFrame) -> list[PacketRow]:
    """Balance per option (``deliberation.packets.packet_balance``) of each packet's latest version;
    ``arguments`` as ``Store.packet_arguments`` (``title, version, option, side, text, source``)."""
    rows = []
    for (title, version), part in arguments.groupby(["title", "version"], sort=True):
        for r in packet_balance(part.reset_index(drop=True)).itertuples(index=False):
            rows.append(
                PacketRow(
                    title=str(title),
                    version=int(version),
                    option=str(r.option),
                    n_pro=int(r.n_pro),
                    n_con=int(r.n_con),
                    words_pro=int(r.words_pro),
                    words_con=int(r.words_con),
                    word_ratio=float(r.word_ratio),
                    missing_side=str(r.missing_side),
                )
            )
    return rows


def packet_reviews(versions: pd.DataFrame) -> list[PacketReview]:
    """The latest version of each packet from ``Store.packet_versions`` (reviewer names are not copied)."""
    if versions.empty:
        return []
    latest = versions.sort_values(["title", "version"]).groupby("title", sort=True).tail(1)
    return [
        PacketReview(
            title=str(r.title),
            version=int(r.version),
            n_arguments=int(r.n_arguments),
            n_signoffs=int(r.n_signoffs),
            n_receipts=int(r.n_receipts),
        )
        for r in latest.itertuples(index=False)
    ]


@dataclass(frozen=True)
class GroupSummary:
    """Small groups: how many, and their smallest and largest number of active members."""

    n_groups: int
    smallest: int
    largest: int
    members: int


def group_summary(groups: pd.DataFrame) -> GroupSummary | None:
    """From ``Store.groups`` (``participant_id, group``); None when no groups are stored."""
    if groups.empty:
        return None
    sizes = groups.groupby("group").size()
    return GroupSummary(
        n_groups=len(sizes), smallest=int(sizes.min()), largest=int(sizes.max()), members=int(sizes.sum())
    )


REPLACEMENT_REASONS = ("dropped_out", "illness", "moved", "no_show", "ineligible", "other")
_REASON_WORDS = {
    "illness": ("ziek", "ill", "sick", "health", "gezondheid"),
    "moved": ("verhuis", "moved", "moving", "relocat"),
    "no_show": ("no-show", "no show", "niet verschenen", "absent", "afwezig", "niet gekomen"),
    "ineligible": ("ineligible", "not eligible", "niet verkiesbaar", "uitgesloten", "excluded"),
    "dropped_out": ("drop", "withdr", "afgemeld", "afmelding", "gestopt", "terugg", "opgezegd", "quit"),
}


def reason_category(reason: str) -> str:
    """A free-text replacement reason as one of ``REPLACEMENT_REASONS`` (the text itself is never shown:
    it may name people). Matching is on word stems in Dutch and English; anything else is ``other``."""
    text = reason.lower()
    for category, words in _REASON_WORDS.items():
        if any(word in text for word in words):
            return category
    return "other"


@dataclass(frozen=True)
class EvaluationRow:
    """The panel's evaluation of one aspect of the event (mean and top-two share; -1/NaN when suppressed)."""

    item: str
    text: str
    n: int
    mean: float
    share_top_two: float
    scale: str


def evaluation_rows(summary: pd.DataFrame | None, *, threshold: int) -> list[EvaluationRow]:
    """Rows of the stored ``evaluation`` analysis (``deliberation.evaluation.summarise_evaluation``:
    ``item, text, n, n_substantive, mean, share_top_two, scale``); an item with fewer than ``threshold``
    substantive answers keeps its row but shows no figures. None or empty: no rows."""
    if summary is None or summary.empty:
        return []
    rows = []
    for r in summary.itertuples(index=False):
        small = int(r.n_substantive) < threshold
        rows.append(
            EvaluationRow(
                item=str(r.item),
                text=str(r.text),
                n=-1 if small else int(r.n_substantive),
                mean=math.nan if small else float(r.mean),
                share_top_two=math.nan if small else float(r.share_top_two),
                scale=str(r.scale),
            )
        )
    return rows


@dataclass(frozen=True)
class FitRow:
    """How well the participants match a reference on one characteristic (one χ² test per characteristic)."""

    variable: str
    reference: str  # "population" or "non_participants"
    chi2: float
    df: int
    p_value: float
    cramers_v: float
    merged: bool  # small expected categories were merged before testing


def _number(value: object) -> float:
    """A stored statistic as a float; NaN when it was not computable (stored as null)."""
    return float("nan") if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def fit_rows(population: pd.DataFrame | None, nominal: pd.DataFrame | None) -> list[FitRow]:
    """One row per characteristic and reference from the stored ``representativeness_population``
    (goodness of fit to the population shares) and ``representativeness_nominal`` (participants vs
    invited non-participants, Pearson χ²) analyses; the per-category counts are not copied."""
    rows = []
    for reference, table in (("population", population), ("non_participants", nominal)):
        if table is None or table.empty or "variable" not in table:
            continue
        for variable, part in table.groupby("variable", sort=False):
            first = part.iloc[0]
            rows.append(
                FitRow(
                    variable=str(variable),
                    reference=reference,
                    chi2=_number(first["chi2"]),
                    df=int(first["df"]),
                    p_value=_number(first["p_value"]),
                    cramers_v=_number(first["cramers_v"]),
                    merged="merged" in str(first.get("test", "")),
                )
            )
    return rows


@dataclass(frozen=True)
class ControlRow:
    """Participants vs the control group on one outcome: ANCOVA effect with its 95% interval."""

    outcome: str
    n_treated: int
    n_control: int
    effect: float
    ci_low: float
    ci_high: float
    p_value: float


def control_rows(ancova: pd.DataFrame | None) -> list[ControlRow]:
    """Rows of the stored ``control_ancova`` analysis (``deliberation.control.ancova``); none without a
    control group."""
    if ancova is None or ancova.empty or "tau" not in ancova:
        return []
    return [
        ControlRow(
            outcome=str(r.outcome),
            n_treated=int(r.n_treated),
            n_control=int(r.n_control),
            effect=float(r.tau),
            ci_low=float(r.ci_low),
            ci_high=float(r.ci_high),
            p_value=float(r.p_value),
        )
        for r in ancova.itertuples(index=False)
    ]


@dataclass(frozen=True)
class PeakRow:
    """One ranking item: the share of the panel's rankings that are single-peaked on the best axis,
    before and after (List, Luskin, Fishkin & McLean 2013); n = -1 and NaN shares when suppressed."""

    item: str
    n: int
    share_pre: float
    share_post: float
    change: float


def peak_rows(table: pd.DataFrame | None, *, threshold: int) -> list[PeakRow]:
    """Rows of the stored ``single_peakedness`` analysis (``item_code, n_pairs, share_pre, share_post,
    change``); an item with fewer than ``threshold`` complete pairs keeps its row but shows no figures."""
    if table is None or table.empty or "item_code" not in table:
        return []
    rows = []
    for r in table.itertuples(index=False):
        small = int(r.n_pairs) < threshold
        rows.append(
            PeakRow(
                item=str(r.item_code),
                n=-1 if small else int(r.n_pairs),
                share_pre=math.nan if small else _number(r.share_pre),
                share_post=math.nan if small else _number(r.share_post),
                change=math.nan if small else _number(r.change),
            )
        )
    return rows
