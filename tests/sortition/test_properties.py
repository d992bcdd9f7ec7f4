"""Invariants of both stages on small random inputs (Hypothesis).

Stage 2: pools and quotas are feasible by construction (the quotas are bands around the counts of a
witness panel of distinct addresses), and the native engine's panel must have the requested size,
meet every band, hold at most one person per address and be the same for the same seed. Stage 1:
letter draws respect the count, never repeat an address (within a draw or across draws) and give each
letter the probability ``(L_h/A_h)·(1/E_a)``, recounted here from the frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sortition.letters import draw_letters
from sortition.selection import select_panel

CATEGORIES = {"gender": ("M", "V"), "age_band": ("jong", "midden", "oud")}
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def feasible_pools(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(pool, quotas, size): a pool of 8-24 people at shared addresses, and quotas a witness meets."""
    n = draw(st.integers(8, 24))
    homes = draw(st.lists(st.integers(0, n - 3), min_size=n, max_size=n))
    homes[:2] = [n, n + 1]  # at least two addresses
    people = pd.DataFrame(
        {
            "id": [f"p{i:02d}" for i in range(n)],
            "gender": draw(st.lists(st.sampled_from(CATEGORIES["gender"]), min_size=n, max_size=n)),
            "age_band": draw(st.lists(st.sampled_from(CATEGORIES["age_band"]), min_size=n, max_size=n)),
            "address_key": [f"a{x}" for x in homes],
        }
    )
    one_per_address = people.drop_duplicates("address_key")
    size = draw(st.integers(2, min(8, len(one_per_address))))
    chosen = draw(st.permutations(list(one_per_address.index)))[:size]
    witness = people.loc[chosen]
    rows = []
    for category, features in CATEGORIES.items():
        counts = witness[category].value_counts()
        for feature in features:
            have = int(counts.get(feature, 0))
            below, above = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            rows.append((category, feature, max(0, have - below), have + above))
    quotas = pd.DataFrame(rows, columns=["category", "feature", "min", "max"])
    quotas["population_share"] = 1.0 / quotas.groupby("category")["feature"].transform("size")
    quotas["target"] = 0.0
    return people, quotas, size


@PROPERTY_SETTINGS
@given(case=feasible_pools(), seed=st.integers(0, 2**32 - 1))
def test_native_panel_has_size_meets_quotas_one_per_address_and_repeats_with_its_seed(
    case: tuple[pd.DataFrame, pd.DataFrame, int], seed: int
) -> None:
    pool, quotas, size = case
    result = select_panel(pool, quotas, size=size, rng=np.random.default_rng(seed), engine="native")
    panel = pool.set_index("id").loc[list(result.panel)]
    assert len(result.panel) == size == len(set(result.panel))
    for quota in quotas.itertuples():
        n = int((panel[quota.category] == quota.feature).sum())
        assert quota.min <= n <= quota.max, (quota, n)
    assert panel["address_key"].is_unique
    again = select_panel(pool, quotas, size=size, rng=np.random.default_rng(seed), engine="native")
    assert again.panel == result.panel


@st.composite
def registries(draw: st.DrawFn) -> pd.DataFrame:
    """Eligible residents: 1-60 people at 1-30 addresses in up to three wijken (one wijk per address)."""
    n = draw(st.integers(1, 60))
    addresses = draw(st.lists(st.integers(0, 29), min_size=n, max_size=n))
    wijk_of = draw(st.lists(st.sampled_from(["W1", "W2", "W3"]), min_size=30, max_size=30))
    return pd.DataFrame(
        {
            "id": [f"r{i:02d}" for i in range(n)],
            "address_key": [f"adr{a:02d}" for a in addresses],
            "wijk": [wijk_of[a] for a in addresses],
        }
    )


@PROPERTY_SETTINGS
@given(frame=registries(), data=st.data(), seed=st.integers(0, 2**32 - 1), stratified=st.booleans())
def test_letter_draws_respect_the_count_and_never_repeat_an_address(
    frame: pd.DataFrame, data: st.DataObject, seed: int, stratified: bool
) -> None:
    addresses = frame["address_key"].nunique()
    count = data.draw(st.integers(1, addresses))
    stratify_by = "wijk" if stratified else None
    rng = np.random.default_rng(seed)
    first = draw_letters(frame, count=count, rng=rng, stratify_by=stratify_by)
    assert len(first) == count and first["address_key"].is_unique
    assert set(first["resident_id"]) <= set(frame["id"])
    home = frame.set_index("id")["address_key"]
    assert (home[first["resident_id"]].to_numpy() == first["address_key"].to_numpy()).all()
    # p = (L_h / A_h) * (1 / E_a), recounted from the frame
    eligible_at = frame.groupby("address_key").size()
    stratum_of = frame.groupby("address_key")["wijk"].first() if stratified else pd.Series("all", eligible_at.index)
    letters_in = first.groupby("stratum").size()
    addresses_in = stratum_of.value_counts()
    for row in first.itertuples():
        expected = letters_in[row.stratum] / addresses_in[row.stratum] / eligible_at[row.address_key]
        assert row.inclusion_probability == pytest.approx(expected)
    pd.testing.assert_frame_equal(first, draw_letters(frame, count=count, rng=np.random.default_rng(seed),
                                                      stratify_by=stratify_by))  # fmt: skip
    left = addresses - count
    if left:
        second = draw_letters(
            frame,
            count=data.draw(st.integers(1, left)),
            rng=rng,
            stratify_by=stratify_by,
            exclude_addresses=frozenset(first["address_key"]),
        )
        assert second["address_key"].is_unique
        assert not set(second["address_key"]) & set(first["address_key"])
    else:
        with pytest.raises(Exception, match="addresses with eligible residents are left"):
            draw_letters(frame, count=1, rng=rng, exclude_addresses=frozenset(first["address_key"]))
