"""Opinion change: distributions, labels, Wilcoxon, McNemar and p adjustment against independent values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from deliberation.analysis import score_answers
from deliberation.change import (
    assess_change,
    benjamini_hochberg,
    consensus_label,
    distributions,
    holm,
    mcnemar,
    modal_answers,
    stuart_maxwell,
    wilcoxon_signed_rank,
)
from deliberation.instrument import instrument_from_dict

WAVES = [{"code": "T1", "kind": "recruit"}, {"code": "T2", "kind": "post"}]


def instrument():
    return instrument_from_dict(
        {
            "items": [
                {"code": "A", "kind": "likert", "text": "a", "min": 1, "max": 5, "dont_know": ["8"], "missing": ["9"]},
                {"code": "Y", "kind": "yesno", "text": "y", "dont_know": ["8"]},
            ],
            "waves": WAVES,
        },
        source="test",
    )


def long(item: str, wave: str, raws: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"participant_id": [f"p{i}" for i in range(len(raws))], "wave": wave, "item_code": item, "raw": raws}
    )


@pytest.mark.parametrize(
    ("share", "label"),
    [(0.5, "plurality"), (0.5000001, "majority"), (2 / 3, "majority"), (0.667, "supermajority"), (0.2, "plurality")],
)
def test_consensus_label_boundaries_are_strict(share: float, label: str) -> None:
    assert consensus_label(share) == label


def test_distribution_counts_dk_and_na_in_denominator() -> None:
    # 10 answers: 4 x '4', 2 x '5', 1 x '1', 2 x DK ('8'), 1 x missing ('9') -> n = 10, share('4') = .4
    raws = ["4", "4", "4", "4", "5", "5", "1", "8", "8", "9"]
    scored = score_answers(long("A", "T1", raws), instrument())
    table = distributions(scored, instrument(), waves=["T1"])
    got = dict(zip(table["answer"], table["count"], strict=True))
    assert got == {"1": 1, "2": 0, "3": 0, "4": 4, "5": 2, "DK": 2, "NA": 1}
    assert set(table["n"]) == {10}
    assert table["share"].sum() == pytest.approx(1.0)
    assert not table.loc[table["answer"] == "DK", "is_substantive"].item()
    modes = modal_answers(table)
    assert modes[["answer", "share", "label"]].values.tolist() == [["4", 0.4, "plurality"]]
    # mean excludes DK/NA: (4*4 + 2*5 + 1) / 7 = 27/7
    assert scored["value"].mean() == pytest.approx(27 / 7)


def test_wilcoxon_matches_hand_worked_normal_approximation() -> None:
    # d = [1, 2, -3, 4, 5, 0, 6]: zero dropped (zero_method 'wilcox'), n = 6, ranks of |d| = 1..6,
    # R- = 3, R+ = 18; T = min = 3; E = n(n+1)/4 = 10.5; Var = n(n+1)(2n+1)/24 = 22.75 (no ties);
    # z = (3 - 10.5)/sqrt(22.75), p = 2*Phi(z), no continuity correction.
    pre = np.zeros(7)
    post = np.array([1.0, 2, -3, 4, 5, 0, 6])
    res = wilcoxon_signed_rank(pre, post)
    z = (3 - 10.5) / math.sqrt(22.75)
    assert res["wilcoxon_statistic"] == 3
    assert res["wilcoxon_n_nonzero"] == 6
    assert res["wilcoxon_z"] == pytest.approx(z, rel=1e-12)
    assert res["wilcoxon_p_value"] == pytest.approx(2 * stats.norm.cdf(z), rel=1e-12)
    assert (res["wilcoxon_zero_method"], res["wilcoxon_correction"], res["wilcoxon_method"]) == (
        "wilcox",
        False,
        "approx",
    )


def test_holm_and_bh_hand_worked() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    # Holm, sorted .005,.01,.03,.04 times 4,3,2,1 -> .02,.03,.06,.04 -> running max .02,.03,.06,.06
    np.testing.assert_allclose(holm(p)[:4], [0.03, 0.06, 0.06, 0.02], rtol=1e-12)
    # BH: sorted p*4/rank -> .02, .02, .04, .04 -> running min from the top: .02,.02,.04,.04
    np.testing.assert_allclose(benjamini_hochberg(p)[:4], [0.02, 0.04, 0.04, 0.02], rtol=1e-12)
    assert np.isnan(holm(p)[4]) and np.isnan(benjamini_hochberg(p)[4])


def test_bh_matches_scipy_false_discovery_control() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, 25)
    # scipy.stats.false_discovery_control(p, method='bh'): independent implementation
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"), rtol=1e-12)


def test_assess_change_reports_raw_and_adjusted_p() -> None:
    rng = np.random.default_rng(11)
    pre = rng.integers(1, 6, 60)
    post = np.clip(pre + rng.integers(-1, 3, 60), 1, 5)
    answers = pd.concat(
        [
            long("A", "T1", [str(v) for v in pre]),
            long("A", "T2", [str(v) for v in post[:-1]] + ["8"]),  # last person: DK at T2, no pair
            long("Y", "T1", ["1", "0"] * 30),
            long("Y", "T2", ["1", "1"] * 30),
        ]
    )
    table = assess_change(score_answers(answers, instrument()), instrument(), pre="T1", post="T2")
    row = table.set_index("item").loc["A"]
    assert row["n_pairs"] == 59
    ref = stats.ttest_rel(post[:-1], pre[:-1])  # scipy.stats.ttest_rel: independent
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    w = stats.wilcoxon(post[:-1] - pre[:-1], zero_method="wilcox", correction=False, method="approx")
    assert row["wilcoxon_p_value"] == pytest.approx(w.pvalue, rel=1e-12)
    raw = table["p_value"].to_numpy()
    np.testing.assert_allclose(table["p_bh"], stats.false_discovery_control(raw, method="bh"), rtol=1e-12)
    assert (table["p_holm"] >= table["p_value"]).all()


def test_mcnemar_exact_hand_worked() -> None:
    # 12 pairs: 1->0 twice (b = 2), 0->1 eight times (c = 8), 2 concordant.
    pre = ["1", "1"] + ["0"] * 8 + ["1", "0"]
    post = ["0", "0"] + ["1"] * 8 + ["1", "0"]
    answers = pd.concat([long("Y", "T1", pre), long("Y", "T2", post)])
    table = mcnemar(score_answers(answers, instrument()), instrument(), pre="T1", post="T2")
    row = table.iloc[0]
    # p = 2 * sum_{k<=2} C(10,k) / 2^10 = 2 * (1 + 10 + 45) / 1024 = 112/1024
    assert row["p_value"] == pytest.approx(112 / 1024, rel=1e-12)
    assert row["statistic"] == pytest.approx((2 - 8) ** 2 / 10)
    assert (row["n_pairs"], row["n_yes_to_no"], row["n_no_to_yes"]) == (12, 2, 8)


def test_stuart_maxwell_matches_statsmodels_square_table() -> None:
    from statsmodels.stats.contingency_tables import SquareTable

    rng = np.random.default_rng(21)
    pre = rng.integers(1, 6, 120)
    post = np.clip(pre + rng.choice([-1, 0, 0, 1, 2], 120), 1, 5)
    answers = pd.concat([long("A", "T1", [str(v) for v in pre]), long("A", "T2", [str(v) for v in post])])
    row = stuart_maxwell(score_answers(answers, instrument()), instrument(), pre="T1", post="T2").set_index("item")
    table = pd.crosstab(pre, post).reindex(index=range(1, 6), columns=range(1, 6), fill_value=0).to_numpy()
    # statsmodels SquareTable.homogeneity(method='stuart_maxwell'): independent implementation
    ref = SquareTable(table, shift_zeros=False).homogeneity(method="stuart_maxwell")
    assert row.loc["A", "statistic"] == pytest.approx(ref.statistic, rel=1e-10)
    assert row.loc["A", "df"] == ref.df
    assert row.loc["A", "p_value"] == pytest.approx(ref.pvalue, rel=1e-8)


def test_stuart_maxwell_drops_categories_without_change() -> None:
    from statsmodels.stats.contingency_tables import SquareTable

    # Pairs (pre, post): category 5 only ever 5 -> 5, so it has no change and is dropped.
    pairs = [(1, 2)] * 6 + [(2, 1)] * 2 + [(2, 3)] * 5 + [(3, 2)] * 1 + [(1, 3)] * 2 + [(3, 3)] * 4 + [(5, 5)] * 3
    pre = [str(a) for a, _ in pairs]
    post = [str(b) for _, b in pairs]
    answers = pd.concat([long("A", "T1", pre), long("A", "T2", post)])
    row = stuart_maxwell(score_answers(answers, instrument()), instrument(), pre="T1", post="T2").iloc[0]
    reduced = np.array([[0, 6, 2], [2, 0, 5], [0, 1, 4]])
    # statsmodels on the table without category 5: independent implementation
    ref = SquareTable(reduced, shift_zeros=False).homogeneity(method="stuart_maxwell")
    assert row["statistic"] == pytest.approx(ref.statistic, rel=1e-10)
    assert row["df"] == 2
    assert row["note"] == "without change, dropped: 5"
