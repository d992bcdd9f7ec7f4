"""``ols_hc2`` against statsmodels ``OLS(y, X).fit(cov_type="HC2")`` (the independent reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from deliberation.regression import ols_cluster, ols_hc2


@pytest.mark.parametrize(("seed", "n", "p"), [(0, 12, 2), (1, 60, 3), (2, 500, 5), (3, 2000, 4)])
def test_ols_hc2_matches_statsmodels(seed: int, n: int, p: int) -> None:
    rng = np.random.default_rng(seed)
    x = sm.add_constant(rng.normal(size=(n, p - 1)) * rng.uniform(0.1, 10, p - 1), has_constant="add")
    x[:, -1] = rng.integers(0, 2, n)  # a 0/1 regressor as in the ANCOVA
    y = x @ rng.normal(size=p) + rng.normal(size=n) * (0.5 + x[:, 1] ** 2)  # heteroscedastic errors
    ref = sm.OLS(y, x).fit(cov_type="HC2")
    got = ols_hc2(y, x)
    ci = ref.conf_int(0.05)
    np.testing.assert_allclose(got.params, ref.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.bse, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(got.ci_low, ci[:, 0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.ci_high, ci[:, 1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.p_values, ref.pvalues, rtol=1e-8, atol=1e-300)


def test_ols_hc2_collinear_design_matches_statsmodels_pinv() -> None:
    rng = np.random.default_rng(7)
    z = rng.normal(size=40)
    x = np.column_stack([np.ones(40), z, 2 * z])  # rank 2: both use the pseudo-inverse
    y = 1 + z + rng.normal(size=40)
    with pytest.warns(SingularMatrixWarning):
        ref = sm.OLS(y, x).fit(cov_type="HC2")
    got = ols_hc2(y, x)
    np.testing.assert_allclose(got.params, ref.params, rtol=1e-8)
    np.testing.assert_allclose(got.bse, ref.bse, rtol=1e-6)


@pytest.mark.parametrize(("seed", "n", "g"), [(0, 30, 4), (1, 600, 75), (2, 2000, 40)])
def test_ols_cluster_matches_statsmodels(seed: int, n: int, g: int) -> None:
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, g, n)
    effect = rng.normal(size=g)[groups]  # within-group correlation
    x = sm.add_constant(rng.normal(size=n) + 0.5 * effect, has_constant="add")
    y = 0.3 + 0.2 * x[:, 1] + effect + rng.normal(size=n)
    ref = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]})
    got = ols_cluster(y, x, groups)
    ci = ref.conf_int(0.05)
    np.testing.assert_allclose(got.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(got.bse, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(got.ci_low, ci[:, 0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.ci_high, ci[:, 1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.p_values, ref.pvalues, rtol=1e-8, atol=1e-300)


def test_ols_hc2_leverage_one_has_coefficients_but_no_standard_errors() -> None:
    # The last row alone fixes the dummy's coefficient: h = 1 (statsmodels reports it), e = 0, and HC2's
    # e²/(1 − h) is 0/0; statsmodels divides rounding noise by rounding noise, we say "undefined".
    x = np.column_stack([np.ones(6), [0, 0, 0, 0, 0, 1], [1, 2, 3, 4, 5, 6.0]])
    y = np.array([1, 3, 2, 5, 4, 9.0])
    ref = sm.OLS(y, x).fit()
    assert ref.get_influence().hat_matrix_diag[-1] == pytest.approx(1)
    got = ols_hc2(y, x)
    np.testing.assert_allclose(got.params, ref.params, rtol=1e-10)  # [0.6, 3.6, 0.8]
    assert got.leverage_one
    assert np.isnan(got.bse).all() and np.isnan(got.p_values).all() and np.isnan(got.ci_low).all()
