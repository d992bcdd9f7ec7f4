"""Domination (Luskin, Sood, Fishkin & Hahn 2022, Eq. 3) on a hand-worked set of small groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deliberation.domination import group_domination, signed_move, summarise_domination


@pytest.mark.parametrize(
    ("pre", "post", "reference", "expected"),
    [
        (0.5, 0.6, 0.7, 0.1),  # moved up toward a higher reference
        (0.5, 0.6, 0.3, -0.1),  # moved up, away from a lower reference
        (0.5, 0.5, 0.7, 0.0),  # did not move: defined, zero
        (0.5, 0.9, 0.5, np.nan),  # reference equals the start: no direction
    ],
)
def test_signed_move_follows_distortions_signed_move(
    pre: float, post: float, reference: float, expected: float
) -> None:
    assert signed_move(pre, post, reference) == pytest.approx(expected, nan_ok=True)


def test_domination_hand_worked() -> None:
    people = {
        # group A: advantaged a1, a2 stay put (T1 mean .7); disadvantaged d1, d2 move up .2 (T1 mean .3);
        # u1 has no known characteristic and is left out of every mean.
        "a1": ("A", True, 0.8, 0.8),
        "a2": ("A", True, 0.6, 0.6),
        "d1": ("A", False, 0.2, 0.4),
        "d2": ("A", False, 0.4, 0.6),
        "u1": ("A", None, 0.0, 1.0),
        # group B has no disadvantaged member: dropped.
        "b1": ("B", True, 0.1, 0.9),
        # group C: both subgroups start at .5, so no direction is defined.
        "c1": ("C", True, 0.5, 0.7),
        "c2": ("C", False, 0.5, 0.5),
    }
    values = pd.DataFrame(
        [(pid, w, "I1", v) for pid, (_, _, pre, post) in people.items() for w, v in (("T1", pre), ("T3", post))],
        columns=["participant_id", "wave", "index", "value"],
    )
    groups = pd.Series({pid: p[0] for pid, p in people.items()})
    advantaged = pd.Series({pid: p[1] for pid, p in people.items()}, dtype=object)
    table = group_domination(values, groups, advantaged, pre="T1", post="T3", characteristic="gender")
    assert table["group"].tolist() == ["A", "C"]
    a = table.iloc[0]
    assert (a["n_adv"], a["n_dis"]) == (2, 2)
    assert a[["adv_pre", "dis_pre", "dis_post", "grp_pre", "grp_post"]].tolist() == pytest.approx(
        [0.7, 0.3, 0.5, 0.5, 0.6]
    )
    # group .5 → .6 toward adv .7: +.1; dis .3 → .5 toward .7: +.2; group toward dis .3: −.1; adv did not move: 0
    assert a[["toward_adv_group", "toward_adv_dis", "toward_dis_group", "toward_dis_adv"]].tolist() == pytest.approx(
        [0.1, 0.2, -0.1, 0.0]
    )
    assert table.iloc[1][["toward_adv_group", "toward_adv_dis"]].isna().all()
    summary = summarise_domination(table).set_index("measure")
    assert summary.loc["toward_adv_group", ["n_pairs", "frequency", "extent"]].tolist() == pytest.approx([1, 1.0, 0.1])
    assert summary.loc["toward_dis_adv", ["n_pairs", "frequency", "extent"]].tolist() == pytest.approx([1, 0.0, 0.0])
