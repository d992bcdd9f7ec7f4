"""Design-based weighted inference checked against formulas computed independently: statsmodels WLS
with a sandwich, hand linearisation of domain means, Woolf's log odds ratio for a 2×2 table, and
scipy's Pearson χ²; and the frequency-weight mistake it must not make (DOMAIN.md §4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from deliberation.design import design_regression, rao_scott_independence, weighted_contrast


def sample(seed: int = 11, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treat = (rng.random(n) < 0.45).astype(int)
    pre = rng.normal(5, 2, n)
    # weights correlated with the outcome, as design weights of an unequal-probability sample are
    w = np.exp(rng.normal(0, 0.6, n)) * (1 + 0.5 * treat)
    post = 0.3 + 0.8 * pre + 0.25 * treat + 0.15 * np.log(w) + rng.normal(0, 1.2, n)
    return pd.DataFrame({"treat": treat, "pre": pre, "post": post, "w": w})


def test_design_regression_is_wls_with_hc0_times_n_over_n_minus_1() -> None:
    """R: ``svyglm(post ~ treat + pre, svydesign(ids = ~1, weights = ~w, data = d))`` = WLS point
    estimates with V = HC0 · n/(n−1); statsmodels: ``WLS(y, X, weights=w).fit(cov_type="HC0")``."""
    d = sample()
    x = sm.add_constant(d[["treat", "pre"]].to_numpy())
    ours = design_regression(d["post"].to_numpy(), x, d["w"].to_numpy(), terms=["const", "treat", "pre"])
    ref = sm.WLS(d["post"].to_numpy(), x, weights=d["w"].to_numpy()).fit(cov_type="HC0")
    n = len(d)
    np.testing.assert_allclose(ours["coefficient"], ref.params, rtol=1e-12)
    np.testing.assert_allclose(ours["se"], ref.bse * np.sqrt(n / (n - 1)), rtol=1e-10)
    t = ref.params / (ref.bse * np.sqrt(n / (n - 1)))
    np.testing.assert_allclose(ours["p_value"], 2 * stats.t.sf(np.abs(t), n - 3), rtol=1e-10)


def test_difference_in_means_by_hand_linearisation() -> None:
    """Two domain means ȳ_g = Σ_g w y / Σ_g w; their difference has linearisation variance
    ``n/(n−1) Σ_g Σ_{i∈g} w_i²(y_i − ȳ_g)²/(Σ_g w)²`` (Lumley 2010 §2.2)."""
    d = sample(seed=12)
    row = weighted_contrast(d, outcome="post", treated="treat", weight="w", label="y", contrast="t vs c")
    n = len(d)
    var, means = 0.0, {}
    for g in (0, 1):
        part = d[d["treat"] == g]
        means[g] = float((part["w"] * part["post"]).sum() / part["w"].sum())
        var += float((part["w"] ** 2 * (part["post"] - means[g]) ** 2).sum() / part["w"].sum() ** 2)
    assert row["estimate"] == pytest.approx(means[1] - means[0], abs=1e-12)
    assert row["se"] == pytest.approx(np.sqrt(n / (n - 1) * var), rel=1e-10)
    assert row["n_treated"] + row["n_comparison"] == n  # the real n, never Σw
    w1 = d.loc[d["treat"] == 1, "w"]
    assert row["n_eff_treated"] == pytest.approx(w1.sum() ** 2 / (w1**2).sum())


def test_frequency_weights_would_give_a_visibly_different_p_value() -> None:
    """Population-scaled weights (Σw = 50,000) treated as frequency weights: statsmodels
    ``GLM(y, X, freq_weights=w)`` has df = Σw − p and a p value orders of magnitude smaller; the
    design-based p value does not move when the weights are rescaled."""
    d = sample(seed=13, n=60)
    scaled = d.assign(w=d["w"] * 50_000 / d["w"].sum())
    ours = weighted_contrast(d, outcome="post", treated="treat", weight="w", label="y", contrast="c")
    ours_scaled = weighted_contrast(scaled, outcome="post", treated="treat", weight="w", label="y", contrast="c")
    assert ours_scaled["p_value"] == pytest.approx(ours["p_value"], rel=1e-10)
    assert ours_scaled["se"] == pytest.approx(ours["se"], rel=1e-10)
    x = sm.add_constant(scaled[["treat"]].to_numpy())
    freq = sm.GLM(scaled["post"].to_numpy(), x, freq_weights=scaled["w"].to_numpy()).fit()
    assert freq.params[1] == pytest.approx(ours["estimate"], rel=1e-10)  # same point estimate ...
    assert ours["p_value"] > 0.5  # no evidence of a difference in 60 respondents ...
    assert freq.pvalues[1] < 1e-3  # ... but "significant" when the weights pretend n = 50,000


def test_rao_scott_with_unit_weights_is_pearson_times_n_minus_1_over_n() -> None:
    """With every w = 1 the linearisation covariance is (D − pp')/(n−1), so every design effect is
    n/(n−1): X²_RS = X²_Pearson·(n−1)/n (scipy ``chi2_contingency(correction=False)``)."""
    rng = np.random.default_rng(3)
    n = 300
    groups = pd.Series(rng.choice(["participants", "invited", "control"], n))
    values = pd.Series(rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]))
    table = rao_scott_independence(groups, values, pd.Series(1.0, index=groups.index), variable="v")
    pearson = stats.chi2_contingency(pd.crosstab(groups, values).to_numpy(), correction=False)
    assert table["chi2_pearson"].iloc[0] == pytest.approx(pearson.statistic, rel=1e-10)
    assert table["design_effect"].iloc[0] == pytest.approx(n / (n - 1), rel=1e-10)
    assert table["chi2_rao_scott"].iloc[0] == pytest.approx(pearson.statistic * (n - 1) / n, rel=1e-10)
    assert int(table["df"].iloc[0]) == 6


def test_rao_scott_two_by_two_is_the_design_effect_of_woolfs_log_odds_ratio() -> None:
    """For a 2×2 table the interaction contrast is (1, −1, −1, 1), so δ = V_design(log OR)/V_srs(log OR)
    with V_srs = Σ_k 1/(n p_k) (Woolf) and V_design the linearisation variance of
    log OR = Σ_k c_k log p_k, influence ``u_i = w_i Σ_k c_k (z_ik − p_k)/p_k / Σw``."""
    rng = np.random.default_rng(8)
    n = 400
    g = rng.choice(["A", "B"], n)
    v = np.where(rng.random(n) < np.where(g == "A", 0.35, 0.5), "yes", "no")
    w = np.exp(rng.normal(0, 0.7, n)) * np.where(v == "yes", 1.6, 1.0)
    table = rao_scott_independence(pd.Series(g), pd.Series(v), pd.Series(w), variable="v")
    cells = [("A", "no"), ("A", "yes"), ("B", "no"), ("B", "yes")]
    c = np.array([1.0, -1.0, -1.0, 1.0])
    z = np.column_stack([(g == a) & (v == b) for a, b in cells]).astype(float)
    p = (w[:, None] * z).sum(axis=0) / w.sum()
    u = w * (((z - p) / p) @ c) / w.sum()
    v_design = n / (n - 1) * float((u**2).sum())
    delta = v_design / float((1 / (n * p)).sum())
    weighted_counts = (p * n).reshape(2, 2)
    pearson = stats.chi2_contingency(weighted_counts, correction=False).statistic
    assert table["design_effect"].iloc[0] == pytest.approx(delta, rel=1e-9)
    assert table["chi2_rao_scott"].iloc[0] == pytest.approx(pearson / delta, rel=1e-9)
    scaled = rao_scott_independence(pd.Series(g), pd.Series(v), pd.Series(w * 1000), variable="v")
    assert scaled["p_value"].iloc[0] == pytest.approx(table["p_value"].iloc[0], rel=1e-10)


def test_a_model_that_cannot_be_fitted_is_a_row_with_a_note() -> None:
    """A constant pre score (everyone 1) makes the weighted ANCOVA singular: NaN estimate and the reason,
    so ``analyse`` carries on; a group of one respondent likewise."""
    d = pd.DataFrame({"y": [1, 2, 3, 4, 5, 6.0], "t": [1, 1, 1, 0, 0, 0], "pre": 1.0, "w": [1, 2, 1, 2, 1, 2.0]})
    row = weighted_contrast(d, outcome="y", treated="t", weight="w", covariate="pre", label="y", contrast="c")
    assert np.isnan(row["estimate"]) and "cannot be fitted" in str(row["note"])
    one = weighted_contrast(d.iloc[2:], outcome="y", treated="t", weight="w", label="y", contrast="c")
    assert np.isnan(one["estimate"]) and "at least two" in str(one["note"])
    ok = weighted_contrast(d, outcome="y", treated="t", weight="w", label="y", contrast="c")
    assert ok["note"] == "" and ok["estimate"] == pytest.approx((1 + 4 + 3) / 4 - (4 * 2 + 5 + 6 * 2) / 5)
