"""Verantwoording van de loting: a one-page public account of how the draw worked, for residents who were
not drawn and for the press. Totals and chances only: no names, addresses, birth dates or ids.

Pure builders: records and data frames from the store in, a dataclass out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from reports.selection import ProbabilityRow


@dataclass(frozen=True)
class LetterStratum:
    """Letters in one stratum (wijk) and the chance of an address there to get one (``L_h / A_h``)."""

    stratum: str
    letters: int
    address_chance: float


@dataclass(frozen=True)
class QuotaShare:
    """One quota: the population share it rests on, where that share comes from, and the seats allowed."""

    category: str
    feature: str
    population_share: float
    source: str  # registry, shares-file or settings (sortition.signup.SHARE_SOURCES)
    quota_min: int
    quota_max: int


@dataclass(frozen=True)
class PublicAccountContext:
    """Everything the public account shows; the figures come straight from the stored draws."""

    process_name: str
    municipality: str
    lang: str
    report_date: str
    eligible: int  # residents who could get a letter (16 or older, restricted data excluded)
    letters_sent: int
    letter_min_age: int
    stratify_by: str
    letter_strata: list[LetterStratum]
    letter_seed: str
    signups: int
    panel_size: int
    alternates: int
    quotas: list[QuotaShare]
    algorithm: str
    seed: str
    public_value: str
    seat_chances: list[ProbabilityRow]
    mean_seat_chance: float
    replay_command: str
    sources: list[str] = field(default_factory=list)
    suppression_threshold: int = 5
    category_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    unnamed_areas: list[str] = field(default_factory=list)
    #: ``letters`` (sign-ups to the municipality's letters) or ``file`` (a pool from a people file, e.g. a
    #: panel company's or the Sortition Foundation's: no letter step to account for).
    pool_source: str = "letters"


def letter_strata(letters: pd.DataFrame) -> list[LetterStratum]:
    """Letters per stratum and each address's chance there, from the stored letters (``stratum``,
    ``inclusion_probability``).

    A person's stored probability is ``(L_h/A_h)·(1/E_a)`` (``sortition.letters.draw_letters``): the
    address's chance shared among its ``E_a`` eligible residents. The address's chance ``L_h/A_h`` is
    the largest of these in the stratum, reached at an address with one eligible resident.
    """
    rows = []
    for stratum, part in letters.groupby("stratum", sort=True):
        rows.append(
            LetterStratum(
                stratum=str(stratum),
                letters=len(part),
                address_chance=float(part["inclusion_probability"].max()),
            )
        )
    return rows


def quota_shares(quotas: pd.DataFrame, sources: Mapping[str, str]) -> list[QuotaShare]:
    """The quota table (``category, feature, population_share, min, max``) with the source of each
    category's shares (``sources``: category -> ``SignupCategory.source``; wijk and other register
    characteristics: ``registry``)."""
    return [
        QuotaShare(
            category=str(q.category),
            feature=str(q.feature),
            population_share=math.nan if q.population_share is None else float(q.population_share),
            source=sources.get(str(q.category), "registry"),
            quota_min=int(q.min),
            quota_max=int(q.max),
        )
        for q in quotas.itertuples(index=False)
    ]


def mean_chance(probabilities: Sequence[float]) -> float:
    """The mean chance of a seat over all sign-ups (k/n for any fair draw of k from n)."""
    return float(sum(probabilities) / len(probabilities)) if probabilities else float("nan")
