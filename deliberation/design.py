"""Design-based inference with survey weights (DataFrame in, tidy DataFrame out).

Weights are *sampling* weights, never frequency weights: the n is the number of respondents, the
variances come from Taylor linearisation with the with-replacement estimator of a one-stage design
without strata, as R's ``survey`` package computes for ``svydesign(ids = ~1, weights = ~w)``
(Lumley 2010, *Complex Surveys*, §2.2 and §5.2; Binder 1983). Scaling every weight by a constant
changes no estimate, standard error or p value. Kish ``n_eff = (Σw)²/Σw²`` sits beside every n.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from deliberation.weighting import kish_n_eff
from sortition.errors import KleroError

REGRESSION_COLUMNS = ("term", "coefficient", "se", "t", "df", "p_value", "ci_low", "ci_high")
CONTRAST_COLUMNS = (
    "outcome",
    "contrast",
    "estimand",
    "n_treated",
    "n_comparison",
    "n_eff_treated",
    "n_eff_comparison",
    "mean_treated",
    "mean_comparison",
    "estimate",
    "se",
    "t",
    "df",
    "p_value",
    "ci_low",
    "ci_high",
    "n_excluded",
    "variance",
    "note",
)
VARIANCE = "linearisation (svydesign(ids=~1, weights=~w)), t with n - p df"


def design_regression(y: np.ndarray, x: np.ndarray, w: np.ndarray, *, terms: Sequence[str]) -> pd.DataFrame:
    """Weighted least squares ``β̂ = (X'WX)⁻¹X'Wy`` with the design-based (linearisation) variance
    ``V̂ = (X'WX)⁻¹ [n/(n−1) Σ_i w_i² e_i² x_i x_i'] (X'WX)⁻¹`` (R ``svyglm`` on
    ``svydesign(ids=~1, weights=~w)``; equal to statsmodels ``WLS(...).fit(cov_type="HC0")`` times
    n/(n−1)). Tests use t with ``n − p`` df (``svyglm``'s residual df), CIs at 95%.

    One row per term: ``term, coefficient, se, t, df, p_value, ci_low, ci_high``.
    """
    y, x, w = np.asarray(y, float), np.asarray(x, float), np.asarray(w, float)
    n, p = x.shape
    if n <= p:
        raise KleroError(f"Too few respondents ({n}) for a weighted model with {p} terms.", code="too_few")
    if np.isnan(y).any() or np.isnan(x).any() or np.isnan(w).any() or (w <= 0).any():
        raise KleroError("design_regression needs complete data and positive weights.", code="missing_values")
    xtwx = x.T @ (w[:, None] * x)
    try:
        bread = np.linalg.inv(xtwx)
    except np.linalg.LinAlgError as exc:
        raise KleroError(f"The weighted model cannot be fitted: {exc}.", code="singular") from exc
    beta = bread @ (x.T @ (w * y))
    scores = (w * (y - x @ beta))[:, None] * x
    meat = n / (n - 1) * scores.T @ scores
    se = np.sqrt(np.diag(bread @ meat @ bread))
    df = n - p
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    half = stats.t.ppf(0.975, df) * se
    return pd.DataFrame(
        {
            "term": list(terms),
            "coefficient": beta,
            "se": se,
            "t": t,
            "df": float(df),
            "p_value": 2 * stats.t.sf(np.abs(t), df),
            "ci_low": beta - half,
            "ci_high": beta + half,
        },
        columns=list(REGRESSION_COLUMNS),
    )


def weighted_contrast(
    frame: pd.DataFrame,
    *,
    outcome: str,
    treated: str,
    weight: str,
    covariate: str | None = None,
    label: str,
    contrast: str,
    estimand: str | None = None,
) -> dict[str, object]:
    """Weighted comparison of two groups on ``outcome`` (``treated`` 0/1): without ``covariate`` the
    difference of weighted means ``ȳ_w,1 − ȳ_w,0`` (the coefficient of ``y ~ 1 + treat``, R:
    ``svyglm(y ~ treat, design)``); with it the weighted ANCOVA ``y ~ 1 + treat + covariate``.
    Rows with a missing value or weight are left out and counted in ``n_excluded``; with fewer than two
    respondents in a group the estimate is NaN. One row of ``CONTRAST_COLUMNS`` as a dict."""
    cols = [outcome, treated, weight, *([covariate] if covariate else [])]
    data = frame[cols].apply(pd.to_numeric, errors="coerce")
    keep = data.notna().all(axis=1) & (data[weight] > 0)
    data = data[keep]
    group = data[treated].to_numpy(dtype=float)
    w, y = data[weight].to_numpy(dtype=float), data[outcome].to_numpy(dtype=float)
    one, zero = group == 1, group == 0
    row: dict[str, object] = {
        "outcome": label,
        "contrast": contrast,
        "estimand": estimand or ("ancova_tau" if covariate else "difference_in_means"),
        "n_treated": int(one.sum()),
        "n_comparison": int(zero.sum()),
        "n_eff_treated": kish_n_eff(w[one]) if one.any() else np.nan,
        "n_eff_comparison": kish_n_eff(w[zero]) if zero.any() else np.nan,
        "mean_treated": float((w[one] * y[one]).sum() / w[one].sum()) if one.any() else np.nan,
        "mean_comparison": float((w[zero] * y[zero]).sum() / w[zero].sum()) if zero.any() else np.nan,
        "n_excluded": int((~keep).sum()),
        "variance": VARIANCE,
        "note": "",
    }
    columns = [np.ones(len(y)), group, *([data[covariate].to_numpy(dtype=float)] if covariate else [])]
    empty = {"estimate": np.nan, "se": np.nan, "t": np.nan, "df": np.nan, "p_value": np.nan}
    if one.sum() < 2 or zero.sum() < 2:
        return {**row, **empty, "note": "each group needs at least two respondents with a value and a weight"}
    try:
        fit = design_regression(y, np.column_stack(columns), w, terms=["const", "treat", "covariate"][: len(columns)])
    except KleroError as exc:
        return {**row, **empty, "note": exc.message}
    coef = fit.iloc[1]
    return {
        **row,
        "estimate": float(coef["coefficient"]),
        "se": float(coef["se"]),
        "t": float(coef["t"]),
        "df": float(coef["df"]),
        "p_value": float(coef["p_value"]),
        "ci_low": float(coef["ci_low"]),
        "ci_high": float(coef["ci_high"]),
    }


RAO_SCOTT_TABLE_COLUMNS = (
    "variable",
    "group",
    "category",
    "n",
    "share",
    "weighted_share",
    "n_eff_group",
    "chi2_pearson",
    "design_effect",
    "chi2_rao_scott",
    "df",
    "p_value",
    "n_missing",
    "test",
)


def rao_scott_independence(groups: pd.Series, values: pd.Series, weights: pd.Series, *, variable: str) -> pd.DataFrame:
    """Weighted χ² test that ``values`` (a nominal variable) is distributed alike in every group, with
    the first-order Rao–Scott correction (Rao & Scott 1984, *Ann. Statist.* 12:46–60), computed as R's
    ``svychisq(~group + variable, design, statistic = "Chisq")``:

    the Pearson X² of the weighted table rescaled to the sample size n (never to Σw) is divided by the
    mean generalised design effect ``δ̄ = tr(Δ)/((r−1)(c−1))``, ``Δ = (C'D⁻¹C/n)⁻¹(C'D⁻¹ V D⁻¹ C)``,
    where D holds the weighted cell shares, V their linearisation covariance
    ``n/(n−1)·Σ w_i²(z_i − p̂)(z_i − p̂)'/(Σw)²`` and C spans the interaction contrasts orthogonal to
    the main effects. Referred to χ² with (r−1)(c−1) df. Empty values are left out (``n_missing``).
    One row per group and category; the test columns repeat.
    """
    labels = values.astype(str).reindex(groups.index).fillna("")
    w_all = pd.to_numeric(weights.reindex(groups.index), errors="coerce")
    keep = (labels != "") & w_all.notna() & (w_all > 0)
    g, v, w = groups[keep].astype(str).to_numpy(), labels[keep].to_numpy(), w_all[keep].to_numpy(dtype=float)
    rows_, cols_ = sorted(set(g)), sorted(set(v))
    r, c, n = len(rows_), len(cols_), len(g)
    if r < 2 or c < 2 or n < 3:
        raise KleroError(f"Too few groups, categories or respondents to test {variable!r}.", code="too_few")
    cell = np.array([rows_.index(a) * c + cols_.index(b) for a, b in zip(g, v, strict=True)])
    z = np.zeros((n, r * c))
    z[np.arange(n), cell] = 1.0
    p_hat = (w[:, None] * z).sum(axis=0) / w.sum()
    dev = z - p_hat
    v_hat = n / (n - 1) * (dev * w[:, None]).T @ (dev * w[:, None]) / w.sum() ** 2
    table = (p_hat * n).reshape(r, c)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = float(np.nansum((table - expected) ** 2 / expected))
    design = _main_effects(r, c)
    interactions = _interactions(r, c)
    contrasts = interactions - design @ np.linalg.lstsq(design, interactions, rcond=None)[0]
    inv_d = np.diag(np.where(p_hat > 0, 1 / np.where(p_hat > 0, p_hat, 1), 0.0))
    denom = contrasts.T @ (inv_d / n) @ contrasts
    numer = contrasts.T @ inv_d @ v_hat @ inv_d @ contrasts
    try:
        delta = np.linalg.solve(denom, numer)
    except np.linalg.LinAlgError as exc:
        raise KleroError(
            f"Cannot test {variable!r}: the weighted table is degenerate ({exc}).", code="too_few"
        ) from exc
    df = (r - 1) * (c - 1)
    mean_deff = float(np.trace(delta)) / df
    corrected = pearson / mean_deff if mean_deff > 0 else np.nan
    test = {
        "chi2_pearson": pearson,
        "design_effect": mean_deff,
        "chi2_rao_scott": corrected,
        "df": df,
        "p_value": float(stats.chi2.sf(corrected, df)) if mean_deff > 0 else np.nan,
        "n_missing": int((~keep).sum()),
        "test": "Rao-Scott first-order (svychisq Chisq)",
    }
    out = []
    for group in rows_:
        in_group = g == group
        for category in cols_:
            hit = in_group & (v == category)
            out.append(
                {
                    "variable": variable,
                    "group": group,
                    "category": category,
                    "n": int(hit.sum()),
                    "share": float(hit.sum() / in_group.sum()),
                    "weighted_share": float(w[hit].sum() / w[in_group].sum()),
                    "n_eff_group": kish_n_eff(w[in_group]),
                    **test,
                }
            )
    return pd.DataFrame(out, columns=list(RAO_SCOTT_TABLE_COLUMNS))


def _main_effects(r: int, c: int) -> np.ndarray:
    """``model.matrix(~factor(rows) + factor(cols))`` over the r·c cells, rows varying slowest."""
    cells = [(i, j) for i in range(r) for j in range(c)]
    return np.array(
        [[1.0] + [float(i == a) for a in range(1, r)] + [float(j == b) for b in range(1, c)] for i, j in cells]
    )


def _interactions(r: int, c: int) -> np.ndarray:
    cells = [(i, j) for i in range(r) for j in range(c)]
    return np.array([[float(i == a and j == b) for a in range(1, r) for b in range(1, c)] for i, j in cells])
