"""Generated sign-up pools for the selection bench and tests, each fixed by its seed.

Two families from issue 16, both self-selected (who answers an invitation letter is skewed, while the
quotas follow the population), so the fair optimum is not uniform and leximin has many levels:

- ``tight_pool``: n = 300-400, k = 30, seven categories of 2-6 features, every quota exact (min = max),
  about 90 % of respondents a type of their own, like a real assembly pool of 360 (issue 16).
- ``climate_pool``: n = 4,000, k = 175, gender, age, province, education and an opinion on climate
  policy (the categories of the Burgerberaad Klimaat 2024-25; DOMAIN.md §1a), quotas ``floor/ceil`` of
  each target.

The shares are rounded national approximations (synthetic), not figures of any one process. A generator
returns ``(pool, quotas, size, address_column)``: ``pool`` has ``id`` plus one column per category,
``quotas`` the columns category, feature, min, max. Nobody shares an address (``address_column`` None).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Shares = dict[str, tuple[tuple[str, float], ...]]
Skew = dict[str, dict[str, float]]

TIGHT_CATEGORIES: Shares = {
    "gender": (("man", 0.49), ("vrouw", 0.51)),
    "age": (("16-24", 0.14), ("25-39", 0.23), ("40-54", 0.24), ("55-69", 0.23), ("70+", 0.16)),
    "education": (("laag", 0.27), ("middelbaar", 0.37), ("hoog", 0.36)),
    "area": (("kern", 0.40), ("dorp-noord", 0.25), ("dorp-zuid", 0.20), ("buitengebied", 0.15)),
    "origin": (("nederland", 0.75), ("europa", 0.10), ("buiten-europa", 0.15)),
    "household": (
        ("alleen", 0.20),
        ("samen", 0.28),
        ("samen-kinderen", 0.30),
        ("eenouder", 0.07),
        ("bij-ouders", 0.10),
        ("anders", 0.05),
    ),
    "attitude": (("zeer-eens", 0.20), ("eens", 0.35), ("oneens", 0.30), ("zeer-oneens", 0.15)),
}
#: relative response propensities (self-selection; 1 where not named)
TIGHT_SKEW: Skew = {
    "age": {"16-24": 0.5, "25-39": 0.8, "55-69": 1.4, "70+": 1.3},
    "education": {"laag": 0.5, "hoog": 1.7},
    "origin": {"europa": 0.7, "buiten-europa": 0.5},
    "household": {"bij-ouders": 0.6, "eenouder": 0.7},
    "attitude": {"zeer-eens": 1.5, "zeer-oneens": 1.2},
}

CLIMATE_CATEGORIES: Shares = {
    "gender": (("man", 0.495), ("vrouw", 0.505)),
    "age": (("16-24", 0.13), ("25-34", 0.15), ("35-44", 0.15), ("45-54", 0.16), ("55-64", 0.17), ("65+", 0.24)),
    "province": tuple(
        (name, share)
        for name, share in (
            ("groningen", 0.033),
            ("friesland", 0.037),
            ("drenthe", 0.028),
            ("overijssel", 0.067),
            ("flevoland", 0.024),
            ("gelderland", 0.119),
            ("utrecht", 0.077),
            ("noord-holland", 0.167),
            ("zuid-holland", 0.212),
            ("zeeland", 0.022),
            ("noord-brabant", 0.146),
            ("limburg", 0.068),
        )
    ),
    "education": (("laag", 0.27), ("middelbaar", 0.37), ("hoog", 0.36)),
    "climate_opinion": (
        ("veel-te-weinig", 0.15),
        ("te-weinig", 0.30),
        ("goed-zo", 0.25),
        ("te-veel", 0.20),
        ("veel-te-veel", 0.10),
    ),
}
CLIMATE_SKEW: Skew = {
    "age": {"16-24": 0.5, "25-34": 0.8, "55-64": 1.3, "65+": 1.3},
    "education": {"laag": 0.45, "hoog": 1.8},
    "climate_opinion": {"veel-te-weinig": 1.8, "te-weinig": 1.2, "te-veel": 0.8, "veel-te-veel": 0.7},
    "province": {"flevoland": 0.8, "zeeland": 0.8, "utrecht": 1.2},
}


def tight_pool(n: int = 360, seed: int = 0, *, size: int = 30) -> tuple[pd.DataFrame, pd.DataFrame, int, None]:
    """Self-selected pool of ``n`` over seven categories, exact quotas (min = max) for a panel of ``size``.

    Each quota is the population share times ``size``, rounded by largest remainder within its category
    (so every category sums to ``size``).
    """
    pool = _respondents(n, seed, TIGHT_CATEGORIES, TIGHT_SKEW)
    rows = []
    for category, values in TIGHT_CATEGORIES.items():
        counts = _largest_remainder(np.array([share for _, share in values]), size)
        rows += [(category, label, int(c), int(c)) for (label, _), c in zip(values, counts, strict=True)]
    return pool, _quota_frame(rows), size, None


def climate_pool(n: int = 4000, seed: int = 0, *, size: int = 175) -> tuple[pd.DataFrame, pd.DataFrame, int, None]:
    """Self-selected national pool of ``n`` (five categories incl. climate opinion), quotas ``floor/ceil``.

    Each feature's quota is ``[floor(target), ceil(target)]`` around ``target = share·size``.
    """
    pool = _respondents(n, seed, CLIMATE_CATEGORIES, CLIMATE_SKEW)
    rows = []
    for category, values in CLIMATE_CATEGORIES.items():
        total = sum(share for _, share in values)
        for label, share in values:
            target = share / total * size
            rows.append((category, label, int(np.floor(target)), int(np.ceil(target))))
    return pool, _quota_frame(rows), size, None


def _respondents(n: int, seed: int, categories: Shares, skew: Skew) -> pd.DataFrame:
    """``n`` respondents, each category drawn independently with odds ``share × skew`` (seeded)."""
    rng = np.random.default_rng(seed)
    pool = pd.DataFrame({"id": [f"r{i:05d}" for i in range(n)]})
    for category, values in categories.items():
        labels = [label for label, _ in values]
        odds = np.array([share * skew.get(category, {}).get(label, 1.0) for label, share in values])
        pool[category] = rng.choice(labels, size=n, p=odds / odds.sum())
    return pool


def _largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    """Integers summing to ``total`` in proportion to ``shares`` (Hamilton's largest-remainder method)."""
    exact = shares / shares.sum() * total
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _quota_frame(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["category", "feature", "min", "max"])
