"""Representativeness: participants vs invited non-participants, and sample vs population.

DOMAIN.md §3.1. Nominal variables: χ² on counts of distinct people (two groups) or goodness of fit
with expected counts n·p_pop (vs population), with percentage-point differences and Cramér's V.
Ordinal and continuous variables: Welch's t. Never pool the never-invited with invited no-shows:
callers pass exactly the two groups to compare.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from deliberation.analysis import rescaled_attitudes
from deliberation.instrument import Instrument
from sortition.errors import KleroError

NOMINAL_COLUMNS = (
    "variable",
    "category",
    "n_a",
    "n_b",
    "n_missing_a",
    "n_missing_b",
    "count_a",
    "count_b",
    "share_a",
    "share_b",
    "pp_difference",
    "chi2",
    "df",
    "p_value",
    "cramers_v",
    "test",
)
SCALE_COLUMNS = ("variable", "n_a", "n_b", "mean_a", "mean_b", "difference", "se", "t", "df", "p_value", "test")
FIT_COLUMNS = (
    "variable",
    "category",
    "tested_as",
    "n",
    "count",
    "share",
    "population_share",
    "expected",
    "pp_difference",
    "chi2",
    "df",
    "p_value",
    "cramers_v",
    "test",
)
MIN_EXPECTED = 5.0


def compare_nominal(a: pd.DataFrame, b: pd.DataFrame, *, variables: Sequence[str]) -> pd.DataFrame:
    """χ² test of independence (no continuity correction) per nominal variable between groups a and b.

    Each row of a/b is one distinct person. Persons with a missing (NaN or empty) value are excluded
    from the test and counted in ``n_missing_a``/``n_missing_b``; ``n_a``/``n_b`` are the persons with
    a value. ``X² = Σ(O−E)²/E`` on the 2×k table, ``df = k−1``, Cramér's
    ``V = √(X²/(n·(min(r,k)−1)))``. One row per category: ``variable, category, n_a, n_b,
    n_missing_a, n_missing_b, count_a, count_b, share_a, share_b, pp_difference``
    (100·(share_a−share_b))
    and the variable's ``chi2, df, p_value, cramers_v, test`` repeated. Unweighted.
    """
    rows = []
    for var in variables:
        xa_all = a[var].astype("string").str.strip().replace("", pd.NA)
        xb_all = b[var].astype("string").str.strip().replace("", pd.NA)
        xa, xb = xa_all.dropna(), xb_all.dropna()
        cats = sorted(set(xa) | set(xb))
        ca = xa.value_counts().reindex(cats, fill_value=0).to_numpy()
        cb = xb.value_counts().reindex(cats, fill_value=0).to_numpy()
        table = np.vstack([ca, cb])
        n = int(table.sum())
        if len(cats) > 1 and len(xa) and len(xb):
            res = stats.chi2_contingency(table, correction=False)
            chi2, df, p = float(res.statistic), int(res.dof), float(res.pvalue)
            v = float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))
        else:
            chi2, df, p, v = np.nan, 0, np.nan, np.nan
        for k, cat in enumerate(cats):
            sa, sb = ca[k] / len(xa) if len(xa) else np.nan, cb[k] / len(xb) if len(xb) else np.nan
            rows.append(
                {
                    "variable": var,
                    "category": cat,
                    "n_a": len(xa),
                    "n_b": len(xb),
                    "n_missing_a": int(xa_all.isna().sum()),
                    "n_missing_b": int(xb_all.isna().sum()),
                    "count_a": int(ca[k]),
                    "count_b": int(cb[k]),
                    "share_a": sa,
                    "share_b": sb,
                    "pp_difference": 100 * (sa - sb),
                    "chi2": chi2,
                    "df": df,
                    "p_value": p,
                    "cramers_v": v,
                    "test": "pearson chi2, no continuity correction",
                }
            )
    return pd.DataFrame(rows, columns=list(NOMINAL_COLUMNS))


def compare_scales(a: pd.DataFrame, b: pd.DataFrame, *, variables: Sequence[str]) -> pd.DataFrame:
    """Welch's t per ordinal/continuous variable: ``t = (x̄_a−x̄_b)/√(s_a²/n_a+s_b²/n_b)`` with
    Welch–Satterthwaite df. Missing values are excluded and the n used is reported. Columns:
    ``variable, n_a, n_b, mean_a, mean_b, difference, se, t, df, p_value, test``."""
    rows = []
    for var in variables:
        xa = pd.to_numeric(a[var], errors="coerce").dropna().to_numpy(dtype=float)
        xb = pd.to_numeric(b[var], errors="coerce").dropna().to_numpy(dtype=float)
        na, nb = len(xa), len(xb)
        if na > 1 and nb > 1:
            va, vb = xa.var(ddof=1) / na, xb.var(ddof=1) / nb
            se = float(np.sqrt(va + vb))
            df = float((va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))) if se > 0 else np.nan
            t = float((xa.mean() - xb.mean()) / se) if se > 0 else np.nan
            p = float(2 * stats.t.sf(abs(t), df)) if se > 0 else np.nan
        else:
            se = t = df = p = np.nan
        rows.append(
            {
                "variable": var,
                "n_a": na,
                "n_b": nb,
                "mean_a": float(xa.mean()) if na else np.nan,
                "mean_b": float(xb.mean()) if nb else np.nan,
                "difference": float(xa.mean() - xb.mean()) if na and nb else np.nan,
                "se": se,
                "t": t,
                "df": df,
                "p_value": p,
                "test": "welch t",
            }
        )
    return pd.DataFrame(rows, columns=list(SCALE_COLUMNS))


def _merge_small(expected: np.ndarray, labels: list[str]) -> list[list[int]]:
    """Groups of category indices such that every group's expected count is ≥ 5, merging the
    smallest group into the next smallest until that holds (or one group is left)."""
    groups = [[k] for k in range(len(labels))]
    while len(groups) > 1:
        sums = [expected[g].sum() for g in groups]
        smallest = int(np.argmin(sums))
        if sums[smallest] >= MIN_EXPECTED:
            break
        rest = [k for k in range(len(groups)) if k != smallest]
        partner = min(rest, key=lambda k: sums[k])
        groups[partner] = sorted(groups[partner] + groups[smallest])
        del groups[smallest]
    return groups


def compare_population(
    sample: pd.DataFrame, population: Mapping[str, Mapping[str, float]], *, variables: Sequence[str]
) -> pd.DataFrame:
    """Goodness of fit of the sample to population shares, with expected counts ``n·p_pop``.

    ``population[var]`` maps category → population share (must sum to 1; a sample category missing
    from it is an error). When an expected count is below 5 the smallest categories are merged (named in
    ``tested_as``) before ``X² = Σ(O−E)²/E`` with ``df = groups−1``; if only one group is left, no test
    is possible and chi2/p are NaN. Cramér's V for goodness of fit is ``√(X²/(n·(k−1)))``. One row per
    original category: ``variable, category, tested_as, n, count, share, population_share, expected,
    pp_difference, chi2, df, p_value, cramers_v, test``. Unweighted.
    """
    rows = []
    for var in variables:
        shares = population[var]
        total = sum(shares.values())
        if abs(total - 1) > 1e-9:
            raise KleroError(f"Population shares of {var!r} sum to {total}, not 1.", code="population_shares")
        x = sample[var].dropna().astype(str)
        unknown = sorted(set(x) - set(shares))
        if unknown:
            raise KleroError(
                f"Categories {unknown} of {var!r} are not in the population margins.", code="population_categories"
            )
        cats = list(shares)
        counts = x.value_counts().reindex(cats, fill_value=0).to_numpy(dtype=float)
        n = counts.sum()
        p = np.array([shares[c] for c in cats], dtype=float)
        expected = n * p
        groups = _merge_small(expected, cats)
        obs_g = np.array([counts[g].sum() for g in groups])
        exp_g = np.array([expected[g].sum() for g in groups])
        if len(groups) > 1 and n > 0:
            res = stats.chisquare(obs_g, exp_g)
            chi2, df, pv = float(res.statistic), len(groups) - 1, float(res.pvalue)
            v = float(np.sqrt(chi2 / (n * (len(groups) - 1))))
        else:
            chi2, df, pv, v = np.nan, 0, np.nan, np.nan
        test = "chi2 goodness of fit" + (", categories merged (expected < 5)" if len(groups) < len(cats) else "")
        for g in groups:
            name = " + ".join(cats[k] for k in g)
            for k in g:
                rows.append(
                    {
                        "variable": var,
                        "category": cats[k],
                        "tested_as": name,
                        "n": int(n),
                        "count": int(counts[k]),
                        "share": counts[k] / n if n else np.nan,
                        "population_share": p[k],
                        "expected": expected[k],
                        "pp_difference": 100 * (counts[k] / n - p[k]) if n else np.nan,
                        "chi2": chi2,
                        "df": df,
                        "p_value": pv,
                        "cramers_v": v,
                        "test": test,
                    }
                )
    return pd.DataFrame(rows, columns=list(FIT_COLUMNS))


ATTENDANCE_COLUMNS = (
    "term",
    "coefficient",
    "se",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_attended",
    "n_excluded",
    "reference",
)


def attendance_model(
    invited: pd.DataFrame, *, attended: str, nominal: Sequence[str] = (), numeric: Sequence[str] = ()
) -> pd.DataFrame:
    """Logit ``P(attend) = β₀ + β'x`` among the invited (DOMAIN.md §3.1), by maximum likelihood
    (statsmodels ``Logit``), with Wald 95% CIs exponentiated to odds ratios.

    ``attended`` is a 0/1 column; nominal predictors are dummy-coded against their most frequent
    category (named in ``reference``); numeric predictors enter as given (e.g. ``knowledge_score``,
    extremity ``|y_pre − 0.5|``). Rows with any missing value are excluded and counted in
    ``n_excluded``. Non-convergence or perfect separation is an error, never a silent fallback.
    Columns: ``term, coefficient, se, odds_ratio, ci_low, ci_high, p_value, n, n_attended,
    n_excluded, reference``.
    """
    # lazy: statsmodels adds ~1 s to every klero start-up; the module alone, not statsmodels.api (0.3 s, not 0.8)
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    cols = [attended, *nominal, *numeric]
    data = invited[cols].replace("", np.nan).dropna()
    design = [pd.Series(1.0, index=data.index, name="const")]
    references = {}
    for var in nominal:
        values = data[var].astype(str)
        ref = values.value_counts().sort_index().idxmax()
        references[var] = ref
        for cat in sorted(set(values) - {ref}):
            design.append((values == cat).astype(float).rename(f"{var}[{cat}]"))
    design += [pd.to_numeric(data[v]).astype(float).rename(v) for v in numeric]
    x = pd.concat(design, axis=1)
    y = pd.to_numeric(data[attended]).astype(float)
    if len(data) <= x.shape[1] or y.nunique() < 2:
        raise KleroError(
            f"The attendance model cannot be fitted: {len(data)} invited respondents have every predictor "
            f"({', '.join(cols[1:]) or 'none'}) and both attenders and non-attenders are needed.",
            code="attendance_model",
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = Logit(y.to_numpy(), x.to_numpy()).fit(disp=0, maxiter=200)
        except np.linalg.LinAlgError as exc:
            raise KleroError(f"The attendance model cannot be fitted: {exc}.", code="attendance_model") from exc
    trouble = [w for w in caught if issubclass(w.category, ConvergenceWarning | PerfectSeparationWarning)]
    if trouble or not fit.mle_retvals.get("converged", False):
        raise KleroError(
            "The attendance model did not converge (perfect separation or too few attendees); "
            "use fewer predictors or merge categories.",
            code="attendance_model",
        )
    ci = fit.conf_int(0.05)
    rows = []
    for k, term in enumerate(x.columns):
        var = term.split("[", 1)[0]
        rows.append(
            {
                "term": term,
                "coefficient": float(fit.params[k]),
                "se": float(fit.bse[k]),
                "odds_ratio": float(np.exp(fit.params[k])),
                "ci_low": float(np.exp(ci[k, 0])),
                "ci_high": float(np.exp(ci[k, 1])),
                "p_value": float(fit.pvalues[k]),
                "n": len(data),
                "n_attended": int(y.sum()),
                "n_excluded": len(invited) - len(data),
                "reference": references.get(var, ""),
            }
        )
    return pd.DataFrame(rows, columns=list(ATTENDANCE_COLUMNS))


def extremity(scored: pd.DataFrame, instrument: Instrument, *, wave: str) -> pd.Series:
    """Per participant, the mean over attitude items of ``|y − 0.5|`` with y rescaled to 0–1 (DOMAIN.md
    §3.1, the attendance model's extremity term); unanswered items are skipped."""
    rescaled = rescaled_attitudes(scored[scored["wave"] == wave], instrument)
    return (rescaled["value"] - 0.5).abs().groupby(rescaled["participant_id"]).mean().rename("extremity")
