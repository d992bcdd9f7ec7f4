"""Ordinary least squares with HC2 standard errors, in numpy (no model object per fit).

The analyses fit hundreds of small regressions (one per item and contrast); building a statsmodels
model for each cost more than the arithmetic. ``ols_hc2`` computes what statsmodels
``OLS(y, x).fit(cov_type="HC2")`` reports, with the same formulas (tested against that call):

- ``β = X⁺y`` with the Moore–Penrose pseudo-inverse ``X⁺`` (statsmodels' default ``method="pinv"``);
- HC2 (MacKinnon & White 1985): ``V = X⁺ diag(e_i²/(1 − h_ii)) X⁺'`` with ``h_ii = x_i (X'X)⁺ x_i'``
  and ``(X'X)⁺ = X⁺X⁺'``;
- ``ols_cluster``: cluster-robust (``cov_type="cluster"``): ``V = c·(X'X)⁺ (Σ_g u_g u_g') (X'X)⁺``
  with ``u_g = Σ_{i∈g} x_i e_i`` and the small-sample factor ``c = G/(G−1)·(N−1)/(N−K)``
  (statsmodels ``sandwich_covariance.cov_cluster``, ``use_correction=True``);
- an observation with leverage ``h_ii = 1`` (it alone fixes a coefficient, e.g. the only person in a
  category) makes ``e_i²/(1 − h_ii)`` the undefined 0/0: the fit then keeps its coefficients and reports
  every standard error, CI bound and p-value as NaN (``OlsFit.leverage_one`` says why), where statsmodels
  divides by rounding noise and returns an arbitrary number or a divide-by-zero warning;
- normal-based inference, as statsmodels uses for robust covariances: ``z = β/se``, ``p = 2·Φ(−|z|)``,
  95% CI ``β ± Φ⁻¹(0.975)·se``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: ``h_ii`` within this of 1 counts as leverage one (HC2 undefined); rounding puts it near 1e-15.
LEVERAGE_ONE = 1e-9


@dataclass(frozen=True)
class OlsFit:
    """Coefficients, HC2 standard errors, normal 95% CI bounds and p-values, one entry per column of X."""

    params: np.ndarray
    bse: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_values: np.ndarray
    leverage_one: bool = False


def ols_hc2(y: np.ndarray, x: np.ndarray) -> OlsFit:
    """OLS of ``y`` on the design ``x`` (n × p, constant included by the caller) with HC2 standard
    errors and normal-based 95% CI and p; see the module docstring for the formulas."""
    pinv = np.linalg.pinv(x, rcond=1e-15)  # statsmodels' pinv_extended uses rcond 1e-15 as well
    beta = pinv @ y
    resid = y - x @ beta
    leverage = np.einsum("ij,ji->i", x, pinv)  # h_ii = x_i (X'X)⁺ x_i' = (X X⁺)_ii
    if np.any(leverage > 1 - LEVERAGE_ONE):
        nan = np.full_like(beta, np.nan)
        return OlsFit(params=beta, bse=nan, ci_low=nan, ci_high=nan, p_values=nan, leverage_one=True)
    scale = resid**2 / (1 - leverage)
    return _normal_fit(beta, (pinv * scale) @ pinv.T)


def ols_cluster(y: np.ndarray, x: np.ndarray, groups: np.ndarray) -> OlsFit:
    """OLS of ``y`` on ``x`` with standard errors clustered by ``groups`` (one label per row) and the
    small-sample factor; normal-based 95% CI and p (see the module docstring)."""
    pinv = np.linalg.pinv(x, rcond=1e-15)
    beta = pinv @ y
    resid = y - x @ beta
    codes, labels = pd.factorize(groups)
    scores = np.zeros((len(labels), x.shape[1]))
    np.add.at(scores, codes, x * resid[:, None])  # u_g = Σ_{i∈g} x_i e_i
    bread = pinv @ pinv.T  # (X'X)⁺
    n, k, g = x.shape[0], x.shape[1], len(labels)
    factor = g / (g - 1) * (n - 1) / (n - k)
    return _normal_fit(beta, factor * bread @ (scores.T @ scores) @ bread)


def _normal_fit(beta: np.ndarray, cov: np.ndarray) -> OlsFit:
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.diag(cov))
        z = beta / se
    half = stats.norm.ppf(0.975) * se
    return OlsFit(params=beta, bse=se, ci_low=beta - half, ci_high=beta + half, p_values=2 * stats.norm.sf(np.abs(z)))
