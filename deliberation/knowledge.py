"""Knowledge scores with the "drop DK" option (DOMAIN.md §3.3).

The default score (``analysis.knowledge_scores``) counts DK and no answer as wrong. The drop-DK
score is ``correct / answered`` per person and wave, kept only for persons with at least one
answered item; a person with no answered item at a wave gets no score there (so no pair).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from deliberation.analysis import items_waves, knowledge_scores, pairs_of, summarise_knowledge_gain
from deliberation.instrument import Instrument
from deliberation.regression import ols_hc2

UNANSWERED_CELLS = ("", "nan", "None", "<NA>")


def answered_mask(scored: pd.DataFrame, instrument: Instrument) -> pd.Series:
    """True where a knowledge answer is substantive: not a don't-know or declared missing code and not
    an empty cell."""
    mask = pd.Series(False, index=scored.index)
    raw = scored["raw"].astype(str).str.strip()
    for item in instrument.knowledge_items:
        rows = scored["item_code"] == item.code
        void = raw.isin(item.dont_know) | raw.isin(item.missing) | raw.isin(UNANSWERED_CELLS)
        mask |= rows & ~void
    return mask


def knowledge_scores_answered(scored: pd.DataFrame, instrument: Instrument, *, wave: str) -> pd.Series:
    """Drop-DK score ``K_i = (Σ_j correct_ij) / (number of items i answered)`` at ``wave``.

    Indexed by participant id; persons who answered no knowledge item at the wave are absent.
    """
    codes = [i.code for i in instrument.knowledge_items]
    part = scored[(scored["wave"] == wave) & scored["item_code"].isin(codes)]
    part = part[answered_mask(part, instrument)]
    return part.groupby("participant_id")["value"].mean().rename("score")


def summarise_knowledge_gain_answered(
    scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str
) -> pd.DataFrame:
    """Knowledge gain with the drop-DK score; same columns as ``analysis.summarise_knowledge_gain``
    (``n_pairs, mean_pre, mean_post, mean_change, se, ci_low, ci_high, t, p_value, sd_pre,
    standardised_gain``) plus ``scoring = "drop_dk"``. ``n_pairs`` counts persons with at least one
    answered item in both waves."""
    table = summarise_knowledge_gain(
        knowledge_scores_answered(scored, instrument, wave=pre),
        knowledge_scores_answered(scored, instrument, wave=post),
    )
    return table.assign(scoring="drop_dk")


LEVERAGE_ONE_NOTE = "no standard error: one person alone determines a coefficient (leverage 1, HC2 undefined)"
CHANGE_KNOWLEDGE_COLUMNS = ("item", "outcome", "term", "coefficient", "se", "ci_low", "ci_high", "p_value", "n", "note")


def change_on_knowledge(
    scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str, covariates: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per attitude item, OLS ``Δy_i = α + β·ΔK_i + γ'X_i + ε`` with X = (y_pre, K_pre, covariates),
    HC2 standard errors (statsmodels ``OLS.fit(cov_type="HC2")``, computed by ``regression.ols_hc2``),
    normal 95% CI (DOMAIN.md §3.6).

    Fitted twice per item: ``outcome = "signed"`` (Δy, direction) and ``"absolute"`` (|Δy|, amount).
    Knowledge scores are the default DK-wrong scores. Persons without both waves of the item or of
    knowledge are excluded; ``n`` is the number used. ``covariates`` (numeric, indexed by participant
    id) are optional. Columns: ``item, outcome, term, coefficient, se, ci_low, ci_high, p_value, n,
    note``; empty without knowledge items. An item that cannot be fitted (too few persons, collinear
    predictors) is one row with ``term = "(not fitted)"`` and the reason in ``note``.
    """
    if not instrument.knowledge_items:
        return pd.DataFrame(columns=list(CHANGE_KNOWLEDGE_COLUMNS))
    k_pre = knowledge_scores(scored, instrument, wave=pre).rename("k_pre")
    k_post = knowledge_scores(scored, instrument, wave=post)
    gain = (k_post - k_pre).rename("delta_k")
    rows = []
    waves = items_waves(scored, [i.code for i in instrument.attitude_items], pre=pre, post=post)
    for item in instrument.attitude_items:
        pairs = pairs_of(waves[item.code])
        if pairs is None:
            continue
        index = pairs.index
        data = pd.DataFrame(
            {
                "delta_y": pairs["post"] - pairs["pre"],
                "delta_k": gain.reindex(index),
                "y_pre": pairs["pre"],
                "k_pre": k_pre.reindex(index),
            },
            index=index,
        )
        if covariates is not None:
            data = data.join(covariates, how="inner")
        data = data.dropna()
        terms = [c for c in data.columns if c != "delta_y"]
        x = np.column_stack([np.ones(len(data)), data[terms].to_numpy(dtype=float)])
        if len(data) <= x.shape[1] or np.linalg.matrix_rank(x) < x.shape[1]:
            note = "too few persons" if len(data) <= x.shape[1] else "collinear predictors (e.g. ΔK = 1 − K_pre)"
            rows.append({"item": item.code, "outcome": "both", "term": "(not fitted)", "n": len(data), "note": note})
            continue
        delta_y = data["delta_y"].to_numpy(dtype=float)
        for outcome, y in (("signed", delta_y), ("absolute", np.abs(delta_y))):
            fit = ols_hc2(y, x)
            for k, term in enumerate(["const", *terms]):
                rows.append(
                    {
                        "item": item.code,
                        "outcome": outcome,
                        "term": term,
                        "coefficient": float(fit.params[k]),
                        "se": float(fit.bse[k]),
                        "ci_low": float(fit.ci_low[k]),
                        "ci_high": float(fit.ci_high[k]),
                        "p_value": float(fit.p_values[k]),
                        "n": len(data),
                        "note": LEVERAGE_ONE_NOTE if fit.leverage_one else "",
                    }
                )
    return pd.DataFrame(rows, columns=list(CHANGE_KNOWLEDGE_COLUMNS))
