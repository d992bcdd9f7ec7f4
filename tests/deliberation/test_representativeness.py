"""Representativeness tests against hand-worked χ² and Welch values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from deliberation.representativeness import compare_nominal, compare_population, compare_scales
from kleroterion.errors import KleroError


def people(**cols: list[object]) -> pd.DataFrame:
    return pd.DataFrame(cols)


def test_chi2_two_groups_hand_worked() -> None:
    # a: 30 women, 10 men; b: 20 women, 40 men. n = 100; row totals 40/60, column totals 50/50.
    # E = [[20, 20], [30, 30]]; X² = 100/20 + 100/20 + 100/30 + 100/30 = 16.666...; df 1; V = √(X²/100).
    a = people(gender=["v"] * 30 + ["m"] * 10)
    b = people(gender=["v"] * 20 + ["m"] * 40)
    table = compare_nominal(a, b, variables=["gender"])
    chi2 = 10 + 20 / 3
    row = table.set_index("category").loc["v"]
    assert row["chi2"] == pytest.approx(chi2, rel=1e-12)
    assert row["df"] == 1
    assert row["p_value"] == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-12)
    assert row["cramers_v"] == pytest.approx(math.sqrt(chi2 / 100), rel=1e-12)
    assert row["pp_difference"] == pytest.approx(100 * (0.75 - 1 / 3))


def test_missing_values_are_counted_not_tested() -> None:
    a = people(edu=["laag", None, "hoog", ""])
    b = people(edu=["laag", "hoog", "hoog"])
    table = compare_nominal(a, b, variables=["edu"])
    assert set(table["category"]) == {"laag", "hoog"}
    assert (set(table["n_a"]), set(table["n_missing_a"]), set(table["n_missing_b"])) == ({2}, {2}, {0})
    # 2x2 [[1, 1], [1, 2]], n = 5: E = [[.8, 1.2], [1.2, 1.8]]; X² = .05 + .0333.. + .0333.. + .0222.. = 5/36
    assert table["chi2"].iloc[0] == pytest.approx(0.04 / 0.8 + 0.04 / 1.2 + 0.04 / 1.2 + 0.04 / 1.8)


def test_welch_hand_worked() -> None:
    # a = [1,2,3,4] mean 2.5 var 5/3; b = [2,4,6] mean 4 var 4. va = 5/12, vb = 4/3.
    a = people(age=[1.0, 2, 3, 4])
    b = people(age=[2.0, 4, 6])
    row = compare_scales(a, b, variables=["age"]).iloc[0]
    va, vb = 5 / 12, 4 / 3
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    assert row["t"] == pytest.approx(-1.5 / se, rel=1e-12)
    assert row["df"] == pytest.approx(df, rel=1e-12)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(1.5 / se, df), rel=1e-12)


def test_goodness_of_fit_hand_worked() -> None:
    # n = 100, observed 60/40, population 50.88/49.12 (Peel en Maas men share, DOMAIN.md §3.9).
    sample = people(gender=["m"] * 60 + ["v"] * 40)
    table = compare_population(sample, {"gender": {"m": 0.5088, "v": 0.4912}}, variables=["gender"])
    chi2 = (60 - 50.88) ** 2 / 50.88 + (40 - 49.12) ** 2 / 49.12
    row = table.iloc[0]
    assert row["chi2"] == pytest.approx(chi2, rel=1e-12)
    assert row["p_value"] == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-12)
    assert row["expected"] == pytest.approx(50.88)


def test_small_expected_counts_are_merged_and_named() -> None:
    # n = 20; shares .5/.3/.15/.05 -> expected 10/6/3/1: '80+' (1) merges into '65-79' (3) -> 4 < 5,
    # then into '35-64' (6): groups [18-34] and [35-64+65-79+80+] with expected 10/10.
    sample = people(age=["18-34"] * 8 + ["35-64"] * 8 + ["65-79"] * 3 + ["80+"])
    shares = {"18-34": 0.5, "35-64": 0.3, "65-79": 0.15, "80+": 0.05}
    table = compare_population(sample, {"age": shares}, variables=["age"])
    assert set(table["tested_as"]) == {"18-34", "35-64 + 65-79 + 80+"}
    chi2 = (8 - 10) ** 2 / 10 + (12 - 10) ** 2 / 10
    assert table["chi2"].iloc[0] == pytest.approx(chi2)
    assert table["df"].iloc[0] == 1
    assert "merged" in table["test"].iloc[0]
    assert np.isclose(table["expected"].sum(), 20)


def test_category_outside_population_is_an_error() -> None:
    with pytest.raises(KleroError):
        compare_population(people(g=["x"]), {"g": {"m": 0.5, "v": 0.5}}, variables=["g"])


def test_attendance_logit_matches_direct_likelihood_maximisation() -> None:
    from scipy import optimize

    from deliberation.representativeness import attendance_model

    rng = np.random.default_rng(12)
    n = 400
    female = rng.random(n) < 0.5
    know = rng.uniform(0, 1, n)
    p = 1 / (1 + np.exp(-(-2 + 0.5 * female + 1.5 * know)))
    frame = pd.DataFrame({"attended": (rng.random(n) < p).astype(int), "gender": np.where(female, "V", "M"),
                          "knowledge_score": know})  # fmt: skip
    frame.loc[0, "gender"] = ""  # one missing value: excluded and counted
    table = attendance_model(frame, attended="attended", nominal=["gender"], numeric=["knowledge_score"])
    table = table.set_index("term")
    # Independent: minimise the logit negative log-likelihood with scipy; SE from (X'WX)^-1.
    data = frame.iloc[1:]
    ref_cat = data["gender"].value_counts().sort_index().idxmax()
    other = "V" if ref_cat == "M" else "M"
    x = np.column_stack([np.ones(len(data)), data["gender"] == other, data["knowledge_score"]]).astype(float)
    y = data["attended"].to_numpy(float)

    def nll(b: np.ndarray) -> float:
        eta = x @ b
        return float(np.sum(np.logaddexp(0, eta) - y * eta))

    b = optimize.minimize(nll, np.zeros(3), method="BFGS", options={"gtol": 1e-10}).x
    mu = 1 / (1 + np.exp(-x @ b))
    se = np.sqrt(np.diag(np.linalg.inv(x.T @ (x * (mu * (1 - mu))[:, None]))))
    got = table.loc[["const", f"gender[{other}]", "knowledge_score"]]
    np.testing.assert_allclose(got["coefficient"], b, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got["se"], se, rtol=1e-5)
    assert got["odds_ratio"].iloc[2] == pytest.approx(np.exp(b[2]), rel=1e-5)
    assert got["ci_high"].iloc[2] == pytest.approx(np.exp(b[2] + stats.norm.ppf(0.975) * se[2]), rel=1e-5)
    assert set(table["n_excluded"]) == {1}
    assert set(table["reference"]) >= {ref_cat}


def test_attendance_separation_is_an_error() -> None:
    from deliberation.representativeness import attendance_model

    frame = pd.DataFrame({"attended": [0, 0, 0, 1, 1, 1], "x": [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]})
    with pytest.raises(KleroError):
        attendance_model(frame, attended="attended", numeric=["x"])
