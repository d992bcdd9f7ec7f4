"""Control-group effects: ANCOVA with HC2 standard errors and the gain-score difference (DOMAIN.md §3.4).

Input: one row per person with ``pre``, ``post`` (0–1 index or scale value; rows with a missing value
are excluded and counted) and ``treat`` (1 = treated arm, 0 = control). Callers define "treat"
explicitly (attended vs control, or invited vs control for intention to treat) and pass it as
``contrast`` so the table says which it is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from deliberation.analysis import item_waves, knowledge_scores
from deliberation.instrument import Instrument
from kleroterion.errors import KleroError

MIN_BOOTSTRAP = 2000
ANCOVA_COLUMNS = (
    "contrast",
    "n_treated",
    "n_control",
    "n_excluded",
    "tau",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "beta_pre",
    "sd_pre_control",
    "standardised_tau",
    "cov_type",
)
GAIN_COLUMNS = (
    "contrast",
    "n_treated",
    "n_control",
    "n_excluded",
    "gain_treated",
    "gain_control",
    "gain_difference",
    "ci_low",
    "ci_high",
    "n_bootstrap",
    "standardised_difference",
)


def _complete(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    data = frame[["pre", "post", "treat"]].apply(pd.to_numeric, errors="coerce")
    complete = data.dropna()
    bad = set(complete["treat"].unique()) - {0, 1}
    if bad:
        raise KleroError(f"treat must be 0 or 1, found {sorted(bad)}.", code="treat_values")
    if (complete["treat"] == 1).sum() < 2 or (complete["treat"] == 0).sum() < 2:
        raise KleroError("Each arm needs at least two complete cases.", code="arm_too_small")
    return complete, len(data) - len(complete)


def ancova(frame: pd.DataFrame, *, contrast: str) -> pd.DataFrame:
    """OLS ``post = α + τ·treat + β·pre + ε`` with HC2 (MacKinnon & White 1985) standard errors,
    statsmodels ``OLS(...).fit(cov_type="HC2")``; normal-based 95% CI and p.

    One row: ``contrast, n_treated, n_control, n_excluded, tau, se, ci_low, ci_high, p_value,
    beta_pre, sd_pre_control`` (ddof 1), ``standardised_tau = τ/sd(pre | control)``, ``cov_type``.
    """
    data, excluded = _complete(frame)
    x = sm.add_constant(data[["treat", "pre"]].to_numpy(dtype=float), has_constant="add")
    fit = sm.OLS(data["post"].to_numpy(dtype=float), x).fit(cov_type="HC2")
    tau, se = float(fit.params[1]), float(fit.bse[1])
    ci = fit.conf_int(0.05)[1]
    sd_c = float(data.loc[data["treat"] == 0, "pre"].std(ddof=1))
    row = {
        "contrast": contrast,
        "n_treated": int((data["treat"] == 1).sum()),
        "n_control": int((data["treat"] == 0).sum()),
        "n_excluded": excluded,
        "tau": tau,
        "se": se,
        "ci_low": float(ci[0]),
        "ci_high": float(ci[1]),
        "p_value": float(fit.pvalues[1]),
        "beta_pre": float(fit.params[2]),
        "sd_pre_control": sd_c,
        "standardised_tau": tau / sd_c if sd_c > 0 else np.nan,
        "cov_type": "HC2, normal",
    }
    return pd.DataFrame([row], columns=list(ANCOVA_COLUMNS))


def gain_difference(
    frame: pd.DataFrame, *, contrast: str, rng: np.random.Generator, n_bootstrap: int = MIN_BOOTSTRAP
) -> pd.DataFrame:
    """Gain-score difference ``(ȳ_T,post − ȳ_T,pre) − (ȳ_C,post − ȳ_C,pre)`` (ANCOVA with β = 1), with a
    percentile bootstrap 95% CI resampling persons within arm (B ≥ 2000).

    One row: ``contrast, n_treated, n_control, n_excluded, gain_treated, gain_control,
    gain_difference, ci_low, ci_high, n_bootstrap, standardised_difference`` (over sd(pre | control)).
    """
    if n_bootstrap < MIN_BOOTSTRAP:
        raise KleroError(f"Use at least {MIN_BOOTSTRAP} bootstrap resamples.", code="bootstrap_size")
    data, excluded = _complete(frame)
    d_t = (data["post"] - data["pre"])[data["treat"] == 1].to_numpy(dtype=float)
    d_c = (data["post"] - data["pre"])[data["treat"] == 0].to_numpy(dtype=float)
    estimate = float(d_t.mean() - d_c.mean())
    boot_t = d_t[rng.integers(0, len(d_t), (n_bootstrap, len(d_t)))].mean(axis=1)
    boot_c = d_c[rng.integers(0, len(d_c), (n_bootstrap, len(d_c)))].mean(axis=1)
    low, high = np.quantile(boot_t - boot_c, [0.025, 0.975])
    sd_c = float(data.loc[data["treat"] == 0, "pre"].std(ddof=1))
    row = {
        "contrast": contrast,
        "n_treated": len(d_t),
        "n_control": len(d_c),
        "n_excluded": excluded,
        "gain_treated": float(d_t.mean()),
        "gain_control": float(d_c.mean()),
        "gain_difference": estimate,
        "ci_low": float(low),
        "ci_high": float(high),
        "n_bootstrap": n_bootstrap,
        "standardised_difference": estimate / sd_c if sd_c > 0 else np.nan,
    }
    return pd.DataFrame([row], columns=list(GAIN_COLUMNS))


def control_effects(
    scored: pd.DataFrame,
    instrument: Instrument,
    arms: pd.Series,
    *,
    pre: str,
    post: str,
    rng: np.random.Generator,
    n_bootstrap: int = MIN_BOOTSTRAP,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ANCOVA and gain-score difference for every attitude item and the knowledge score, with
    ``treat`` = attended (``arms == "participant"``) vs ``arms == "control"`` (contrast
    ``"attended vs control"``; it carries self-selection, DOMAIN.md §3.4). Other arms are left out.

    Returns ``(ancova_table, gain_table)``: the ``ancova`` and ``gain_difference`` columns with
    ``outcome`` (item code or ``knowledge_score``) first. An outcome an arm has fewer than two complete
    cases for is one row with the reason in ``note``.
    """
    arms = arms[arms.isin(["participant", "control"])]
    treat = (arms == "participant").astype(int).rename("treat")
    outcomes: dict[str, pd.DataFrame] = {}
    for item in instrument.attitude_items:
        outcomes[item.code] = item_waves(scored, item.code, pre=pre, post=post)
    if instrument.knowledge_items:
        outcomes["knowledge_score"] = pd.concat(
            [knowledge_scores(scored, instrument, wave=w) for w in (pre, post)], axis=1, keys=["pre", "post"]
        )
    contrast = "attended vs control"
    ancovas, gains = [], []
    for outcome, values in outcomes.items():
        frame = values.join(treat, how="inner")
        try:
            ancovas.append(ancova(frame, contrast=contrast).assign(outcome=outcome, note=""))
            gains.append(
                gain_difference(frame, contrast=contrast, rng=rng, n_bootstrap=n_bootstrap).assign(
                    outcome=outcome, note=""
                )
            )
        except KleroError as exc:
            ancovas.append(pd.DataFrame([{"outcome": outcome, "contrast": contrast, "note": exc.message}]))
            gains.append(pd.DataFrame([{"outcome": outcome, "contrast": contrast, "note": exc.message}]))
    order_a = ["outcome", *ANCOVA_COLUMNS, "note"]
    order_g = ["outcome", *GAIN_COLUMNS, "note"]
    return (
        pd.concat(ancovas, ignore_index=True).reindex(columns=order_a),
        pd.concat(gains, ignore_index=True).reindex(columns=order_g),
    )
