"""Group assignment invariants and distortion measures on hand-worked groups."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deliberation.groups import assign_groups, group_index_changes, summarise_distortions
from kleroterion.errors import KleroError


def people(genders: list[str], edus: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"participant_id": [f"p{i}" for i in range(len(genders))], "gender": genders, "education": edus}
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("MV"), st.sampled_from(["laag", "hoog"])), min_size=1, max_size=80),
    st.integers(2, 15),
    st.integers(0, 2**32 - 1),
)
def test_assignment_is_balanced_and_reproducible(rows: list[tuple[str, str]], size: int, seed: int) -> None:
    frame = people([g for g, _ in rows], [e for _, e in rows])
    out = assign_groups(frame, size=size, balance=["gender", "education"], rng=np.random.default_rng(seed))
    again = assign_groups(frame, size=size, balance=["gender", "education"], rng=np.random.default_rng(seed))
    assert out["group"].tolist() == again["group"].tolist()
    count = max(1, round(len(frame) / size))
    sizes = out["group"].value_counts().reindex(range(1, count + 1), fill_value=0)
    assert sizes.sum() == len(frame)
    assert sizes.max() - sizes.min() <= 1
    cells = out.groupby(["gender", "education", "group"]).size().unstack(fill_value=0)
    cells = cells.reindex(columns=range(1, count + 1), fill_value=0)
    assert (cells.max(axis=1) - cells.min(axis=1)).max() <= 2


def test_assignment_varies_with_seed() -> None:
    frame = people(["M", "V"] * 20, ["laag"] * 40)
    a = assign_groups(frame, size=10, balance=["gender"], rng=np.random.default_rng(1))["group"]
    b = assign_groups(frame, size=10, balance=["gender"], rng=np.random.default_rng(2))["group"]
    assert a.tolist() != b.tolist()


def test_unknown_balance_column_is_an_error() -> None:
    with pytest.raises(KleroError):
        assign_groups(people(["M"], ["laag"]), size=8, balance=["income"], rng=np.random.default_rng(0))


def test_distortions_hand_worked() -> None:
    # Group 1, index X: pre [.6, .8, 1.0] (m .8, sd .2), post [.8, .9, 1.0] (m .9, sd .1):
    #   homogenised, homo_extent .1, polar_extent (.9-.8)*(+1) = .1, normalised .1/(1-.8) = .5.
    # Group 2, index X: pre [.2, .4] (m .3, sd √.02), post [.2, .6] (m .4, sd √.08):
    #   not homogenised, homo_extent √.02-√.08, polar_extent (.4-.3)*(-1) = -.1, normalised -.1/.3.
    # Group 3, index X: pre [.4, .6] (m .5), post [.7, .7]: polarised NaN (dropped), polar_extent 0.
    pre = {"a": 0.6, "b": 0.8, "c": 1.0, "d": 0.2, "e": 0.4, "f": 0.4, "g": 0.6}
    post = {"a": 0.8, "b": 0.9, "c": 1.0, "d": 0.2, "e": 0.6, "f": 0.7, "g": 0.7}
    groups = pd.Series({"a": 1, "b": 1, "c": 1, "d": 2, "e": 2, "f": 3, "g": 3})
    values = pd.concat(
        [
            pd.DataFrame({"participant_id": list(w), "wave": wave, "index": "X", "value": list(w.values())})
            for wave, w in (("T1", pre), ("T3", post))
        ]
    )
    table = group_index_changes(values, groups, pre="T1", post="T3").set_index("group")
    assert table.loc[1, "sd_pre"] == pytest.approx(0.2)
    assert table.loc[1, "polar_extent_normalised"] == pytest.approx(0.5)
    assert table.loc[2, "polar_extent"] == pytest.approx(-0.1)
    assert math.isnan(table.loc[3, "polarised"])
    summary = summarise_distortions(table.reset_index()).iloc[0]
    h2 = math.sqrt(0.02) - math.sqrt(0.08)
    h3 = math.sqrt(0.02) - 0.0
    assert summary["homofreq"] == pytest.approx(2 / 3)  # groups 1 and 3 homogenised, group 2 not
    assert summary["homoex"] == pytest.approx((0.1 + h2 + h3) / 3)
    assert summary["polarfreq"] == pytest.approx(0.5)  # group 1 away, group 2 towards; group 3 dropped
    assert summary["polarex"] == pytest.approx((0.1 - 0.1 + 0.0) / 3)
    assert summary["polarex_normalised"] == pytest.approx((0.5 - 0.1 / 0.3) / 2)


def test_assignment_check_matches_hand_cluster_sandwich() -> None:
    from deliberation.groups import assignment_check

    rng = np.random.default_rng(6)
    n = 96
    ids = [f"p{i}" for i in range(n)]
    frame = people(["M", "V"] * (n // 2), ["laag", "hoog"] * (n // 2))
    groups = assign_groups(frame, size=8, balance=["gender"], rng=rng).set_index("participant_id")["group"]
    y = rng.uniform(0, 1, n)
    values = pd.DataFrame({"participant_id": ids, "wave": "T1", "index": "X", "value": y})
    row = assignment_check(values, groups, wave="T1").iloc[0]
    # Independent: leave-one-out means, OLS normal equations and the CR1 cluster sandwich in numpy.
    g = groups.reindex(ids).to_numpy()
    sums = pd.Series(y).groupby(g).transform("sum").to_numpy()
    sizes = pd.Series(y).groupby(g).transform("size").to_numpy()
    loo = (sums - y) / (sizes - 1)
    x = np.column_stack([np.ones(n), loo])
    inv = np.linalg.inv(x.T @ x)
    beta = inv @ x.T @ y
    e = y - x @ beta
    meat = sum(np.outer(x[g == c].T @ e[g == c], x[g == c].T @ e[g == c]) for c in np.unique(g))
    n_g = len(np.unique(g))
    v = n_g / (n_g - 1) * (n - 1) / (n - 2) * inv @ meat @ inv
    assert row["coefficient"] == pytest.approx(beta[1], rel=1e-10)
    assert row["se"] == pytest.approx(np.sqrt(v[1, 1]), rel=1e-10)
    assert (row["n"], row["n_groups"]) == (n, 12)
