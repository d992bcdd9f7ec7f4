"""Survey weights: raking to population margins, Kish effective n, weighted means (DOMAIN.md §3.9).

Weights are sampling weights, never frequency weights: the reported n is always the number of
respondents, and variances use the linearisation formula, not ``Σw − 1`` degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from deliberation.analysis import items_waves, pairs_of
from deliberation.instrument import Instrument
from sortition.errors import KleroError

TOLERANCE = 1e-6
MARGIN_COLUMNS = ("variable", "category", "n", "target_share", "unweighted_share", "weighted_share")
MEAN_COLUMNS = ("n", "n_eff", "weighted", "mean", "se", "ci_low", "ci_high")


def rake(
    frame: pd.DataFrame,
    margins: Mapping[str, Mapping[str, float]],
    *,
    base_weights: pd.Series | None = None,
    tolerance: float = TOLERANCE,
    max_iterations: int = 1000,
) -> pd.Series:
    """Iterative proportional fitting: ``w_i ← w_i·T_{f,v}/Σ_{f(i)=v} w_i`` per margin, cycled until
    the largest relative margin error ``|Σ_{f(i)=v} w_i / T_{f,v} − 1|`` is below ``tolerance``.

    ``margins[var]`` maps category → population share (summing to 1); targets are scaled to the
    number of respondents, so the weights average 1. Raises ``KleroError`` if a respondent's category
    has no target, a target category has no respondent, or raking does not converge.
    """
    n = len(frame)
    w = np.ones(n) if base_weights is None else base_weights.to_numpy(dtype=float).copy()
    codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for var, shares in margins.items():
        total = sum(shares.values())
        if abs(total - 1) > 1e-9:
            raise KleroError(f"Margin shares of {var!r} sum to {total}, not 1.", code="margin_shares")
        values = frame[var].astype(str).to_numpy()
        cats = list(shares)
        unknown = sorted(set(values) - set(cats))
        empty = [c for c in cats if shares[c] > 0 and c not in set(values)]
        if unknown or empty:
            raise KleroError(
                f"Cannot rake {var!r}: categories without target {unknown}, targets without respondents {empty}.",
                code="margin_categories",
            )
        index = np.array([cats.index(v) for v in values])
        codes[var] = (index, np.array([shares[c] * n for c in cats]))
    for _ in range(max_iterations):
        for index, target in codes.values():
            sums = np.bincount(index, weights=w, minlength=len(target))
            factor = np.divide(target, sums, out=np.zeros_like(target), where=sums > 0)
            w = w * factor[index]
        if _max_relative_error(w, codes) < tolerance:
            return pd.Series(w, index=frame.index, name="weight")
    worst = _max_relative_error(w, codes)
    raise KleroError(
        f"Raking did not reach the margins of {', '.join(margins)} in {max_iterations} iterations (largest "
        f"relative margin error {worst:.2g}); the sample has empty cells the margins cannot fill. Rake on "
        "fewer characteristics or merge categories.",
        code="raking_diverged",
        max_relative_error=worst,
    )


def _max_relative_error(w: np.ndarray, codes: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> float:
    worst = 0.0
    for index, target in codes.values():
        sums = np.bincount(index, weights=w, minlength=len(target))
        ok = target > 0
        worst = max(worst, float(np.max(np.abs(sums[ok] / target[ok] - 1))))
    return worst


def margin_table(frame: pd.DataFrame, weights: pd.Series, margins: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Unweighted and weighted shares next to the targets. Columns: ``variable, category, n,
    target_share, unweighted_share, weighted_share``; ``n`` is the real count of respondents."""
    rows = []
    w = weights.to_numpy(dtype=float)
    for var, shares in margins.items():
        values = frame[var].astype(str).to_numpy()
        for cat, share in shares.items():
            hit = values == cat
            rows.append(
                {
                    "variable": var,
                    "category": cat,
                    "n": int(hit.sum()),
                    "target_share": share,
                    "unweighted_share": float(hit.mean()),
                    "weighted_share": float(w[hit].sum() / w.sum()),
                }
            )
    return pd.DataFrame(rows, columns=list(MARGIN_COLUMNS))


def kish_n_eff(weights: np.ndarray | pd.Series) -> float:
    """Kish effective sample size ``n_eff = (Σw)²/Σw²``."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum())


def weighted_mean(y: np.ndarray | pd.Series, weights: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """Weighted mean ``ȳ_w = Σwy/Σw`` with linearisation variance
    ``v = [n/(n−1)]·Σw_i²(y_i−ȳ_w)²/(Σw)²`` and a normal 95% CI ``ȳ_w ± 1.96·√v``.

    NaN values of y are an error (the caller decides what to exclude and reports it). One row:
    ``n, n_eff, weighted, mean, se, ci_low, ci_high``; ``n`` is the number of respondents, never Σw.
    Without weights (all w = 1) the se reduces to ``s/√n`` with s the ddof-1 SD.
    """
    values = np.asarray(y, dtype=float)
    if np.isnan(values).any():
        raise KleroError("weighted_mean received missing values; exclude them first.", code="missing_values")
    w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=float)
    n = len(values)
    mean = float((w * values).sum() / w.sum())
    var = n / (n - 1) * float((w**2 * (values - mean) ** 2).sum()) / float(w.sum()) ** 2 if n > 1 else np.nan
    se = float(np.sqrt(var))
    return pd.DataFrame(
        [
            {
                "n": n,
                "n_eff": kish_n_eff(w),
                "weighted": weights is not None,
                "mean": mean,
                "se": se,
                "ci_low": mean - 1.959963984540054 * se,
                "ci_high": mean + 1.959963984540054 * se,
            }
        ],
        columns=list(MEAN_COLUMNS),
    )


def weighted_change(
    scored: pd.DataFrame, instrument: Instrument, weights: pd.Series, *, pre: str, post: str
) -> pd.DataFrame:
    """Per attitude item, the weighted mean change ``d_i = y_post − y_pre`` on complete pairs with each
    person's (T1) weight, by ``weighted_mean`` (DOMAIN.md §3.9). Columns: ``item`` and those of
    ``weighted_mean``; ``n`` is the real number of pairs.
    """
    rows = []
    waves = items_waves(scored, [i.code for i in instrument.attitude_items], pre=pre, post=post)
    for item in instrument.attitude_items:
        pairs = pairs_of(waves[item.code])
        if pairs is None:
            continue
        diff = pairs["post"] - pairs["pre"]
        table = weighted_mean(diff.to_numpy(), weights.reindex(diff.index).to_numpy())
        rows.append(table.assign(item=item.code)[["item", *table.columns]])
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["item", *MEAN_COLUMNS])


RAO_SCOTT_COLUMNS = (
    "variable",
    "category",
    "n",
    "population_share",
    "weighted_share",
    "pp_difference",
    "chi2_weighted",
    "design_effect",
    "chi2_rao_scott",
    "df",
    "p_value",
    "n_eff",
    "n_missing",
    "test",
)


def rao_scott_goodness_of_fit(
    values: pd.Series, weights: pd.Series, shares: Mapping[str, float], *, variable: str
) -> pd.DataFrame:
    """Weighted shares of one nominal variable against population shares, with the first-order
    Rao–Scott correction (Rao & Scott 1981, JASA 76:221–230, eq. 3.2 for goodness of fit).

    With p̂_k = Σ_{i∈k} w_i / Σw the weighted share and π_k the population share of category k,
    ``X²_w = n·Σ_k (p̂_k − π_k)²/π_k`` uses the real n (never Σw); the design effects come from the
    linearisation variance of each weighted share, ``V̂(p̂_k) = [n/(n−1)]·Σ w_i²(1[i∈k] − p̂_k)²/(Σw)²``
    (the ``weighted_mean`` formula), and their mean ``δ̂ = n/(K−1)·Σ_k V̂(p̂_k)/π_k`` (the generalised
    design effect Σ_k (p̂_k/π_k)(1 − p̂_k)·d_k/(K−1), with d_k = n·V̂(p̂_k)/(p̂_k(1 − p̂_k))). The
    corrected ``X²_RS = X²_w/δ̂`` is referred to χ² with K−1 df.

    Persons with an empty value or one not among the categories are left out and counted in
    ``n_missing``. One row per category; the test columns repeat on every row.
    """
    cats = [c for c, s in shares.items() if s > 0]
    labels = values.astype(str).reindex(weights.index)
    keep = labels.isin(cats)
    y, w = labels[keep].to_numpy(), weights[keep].to_numpy(dtype=float)
    n = len(y)
    if n < 2 or len(cats) < 2:
        raise KleroError(f"Too few respondents or categories to test {variable!r}.", code="too_few")
    pi = np.array([shares[c] for c in cats], dtype=float)
    pi = pi / pi.sum()
    member = (y[:, None] == np.array(cats)[None, :]).astype(float)
    p_hat = (w[:, None] * member).sum(axis=0) / w.sum()
    var = n / (n - 1) * (w[:, None] ** 2 * (member - p_hat) ** 2).sum(axis=0) / w.sum() ** 2
    chi2_w = float(n * ((p_hat - pi) ** 2 / pi).sum())
    delta = float(n / (len(cats) - 1) * (var / pi).sum())
    corrected = chi2_w / delta if delta > 0 else np.nan
    df = len(cats) - 1
    test = {
        "chi2_weighted": chi2_w,
        "design_effect": delta,
        "chi2_rao_scott": corrected,
        "df": df,
        "p_value": float(stats.chi2.sf(corrected, df)) if delta > 0 else np.nan,
        "n_eff": kish_n_eff(w),
        "n_missing": int((~keep).sum()),
        "test": "Rao-Scott first-order, weighted goodness of fit",
    }
    rows = [
        {
            "variable": variable,
            "category": c,
            "n": int(member[:, k].sum()),
            "population_share": pi[k],
            "weighted_share": p_hat[k],
            "pp_difference": 100 * (p_hat[k] - pi[k]),
            **test,
        }
        for k, c in enumerate(cats)
    ]
    return pd.DataFrame(rows, columns=list(RAO_SCOTT_COLUMNS))
