"""Subgroup change: per-subgroup paired t against scipy, and small-cell suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from deliberation.analysis import score_answers
from deliberation.instrument import instrument_from_dict
from deliberation.subgroups import subgroup_change

INSTRUMENT = instrument_from_dict(
    {
        "items": [{"code": "A", "kind": "likert", "text": "a", "min": 1, "max": 7}],
        "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T3", "kind": "post"}],
    },
    source="test",
)


def test_subgroup_t_and_suppression() -> None:
    rng = np.random.default_rng(8)
    n = 30
    ids = [f"p{i}" for i in range(n)]
    pre = rng.integers(1, 8, n)
    post = np.clip(pre + rng.integers(-1, 3, n), 1, 7)
    # education: 18 hoog, 9 middelbaar, 3 laag (3 < 5 -> primary; middelbaar complementary)
    edu = pd.Series(["hoog"] * 18 + ["middelbaar"] * 9 + ["laag"] * 3, index=ids)
    gender = pd.Series(["M"] * 15 + ["V"] * 15, index=ids)
    answers = pd.concat(
        [
            pd.DataFrame({"participant_id": ids, "wave": w, "item_code": "A", "raw": [str(v) for v in vals]})
            for w, vals in (("T1", pre), ("T3", post))
        ]
    )
    scored = score_answers(answers, INSTRUMENT)
    table = subgroup_change(
        scored, INSTRUMENT, pd.DataFrame({"education": edu, "gender": gender}),
        variables=["education", "gender"], pre="T1", post="T3",
    )  # fmt: skip
    rows = table.set_index(["variable", "category"])
    hoog = rows.loc[("education", "hoog")]
    ref = stats.ttest_rel(post[:18], pre[:18])  # scipy.stats.ttest_rel on the subgroup: independent
    assert hoog["n_pairs"] == 18
    assert hoog["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert rows.loc[("education", "laag"), "suppression"] == "primary"
    assert rows.loc[("education", "middelbaar"), "suppression"] == "complementary"
    assert np.isnan(rows.loc[("education", "laag"), "n_pairs"])
    assert not rows.loc[("gender", "V"), "suppressed"]
    v = rows.loc[("gender", "V")]
    assert v["mean_change"] == pytest.approx((post[15:] - pre[15:]).mean())
