"""Control-group effects: ANCOVA with HC2 standard errors and the gain-score difference (DOMAIN.md §3.4).

Input: one row per person with ``pre``, ``post`` (0–1 index or scale value; rows with a missing value
are excluded and counted) and ``treat`` (1 = treated arm, 0 = control). Callers define "treat"
explicitly (attended vs control, or invited vs control for intention to treat) and pass it as
``contrast`` so the table says which it is.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from deliberation.analysis import by_item, item_rows, item_waves, knowledge_scores
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
    import statsmodels.api as sm  # lazy: statsmodels adds ~1 s to every klero start-up

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
    percentile bootstrap 95% CI resampling persons within arm (B ≥ 2000); see ``gain_differences``.

    One row: ``contrast, n_treated, n_control, n_excluded, gain_treated, gain_control,
    gain_difference, ci_low, ci_high, n_bootstrap, standardised_difference`` (over sd(pre | control)).
    """
    _complete(frame)  # too few cases is an error here, not a note
    table = gain_differences({"": frame}, contrast=contrast, rng=rng, n_bootstrap=n_bootstrap)
    return table[list(GAIN_COLUMNS)]


def _resample_counts(n: int, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """``counts[b, i]``: how often person i is drawn in bootstrap replicate b (n draws with replacement)."""
    draws = rng.integers(0, n, (n_bootstrap, n), dtype=np.int64 if n > 2**31 - 1 else np.int32)
    flat = draws + (np.arange(n_bootstrap, dtype=np.int64) * n)[:, None]
    return np.bincount(flat.ravel(), minlength=n_bootstrap * n).reshape(n_bootstrap, n).astype(float)


def gain_differences(
    frames: Mapping[str, pd.DataFrame], *, contrast: str, rng: np.random.Generator, n_bootstrap: int = MIN_BOOTSTRAP
) -> pd.DataFrame:
    """``gain_difference`` for several outcomes of the same persons, sharing one bootstrap resample.

    Each frame (``pre, post, treat`` indexed by person) is one outcome. The bootstrap draws the persons
    of each arm with replacement once (the union of the frames' persons, B ≥ 2000 replicates) and
    reuses the draw for every outcome: a replicate's arm mean is the mean gain of the drawn persons
    who have both values for that outcome (with nobody missing, exactly resampling the complete
    cases). Percentile 95% CI of the replicate differences. Columns: ``outcome`` and those of
    ``gain_difference``, and ``note`` (why an outcome could not be estimated, else empty).
    """
    if n_bootstrap < MIN_BOOTSTRAP:
        raise KleroError(f"Use at least {MIN_BOOTSTRAP} bootstrap resamples.", code="bootstrap_size")
    treat = pd.concat([pd.to_numeric(f["treat"], errors="coerce") for f in frames.values()])
    treat = treat[~treat.index.duplicated()]
    arms = {arm: treat.index[treat == arm] for arm in (1, 0)}
    counts = {arm: _resample_counts(len(ids), n_bootstrap, rng) for arm, ids in arms.items() if len(ids)}
    fitted: dict[str, tuple[pd.DataFrame, int]] = {}
    notes: dict[str, str] = {}
    for outcome, frame in frames.items():
        try:
            fitted[outcome] = _complete(frame)
        except KleroError as exc:
            notes[outcome] = exc.message
    boot: dict[int, np.ndarray] = {}
    for arm, ids in arms.items() if fitted else ():  # each arm has ≥ 2 persons when anything fitted
        # One matrix product per arm for every outcome: columns are outcomes, rows the arm's persons.
        gains = pd.DataFrame(
            {o: (d["post"] - d["pre"])[d["treat"] == arm].reindex(ids) for o, (d, _) in fitted.items()}, index=ids
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            boot[arm] = (counts[arm] @ gains.fillna(0).to_numpy(float)) / (counts[arm] @ gains.notna().to_numpy(float))
    rows: list[dict[str, object]] = []
    for outcome in frames:
        if outcome in notes:
            rows.append({"outcome": outcome, "contrast": contrast, "note": notes[outcome]})
            continue
        data, excluded = fitted[outcome]
        k = list(fitted).index(outcome)
        gain = data["post"] - data["pre"]
        means = {arm: float(gain[data["treat"] == arm].mean()) for arm in (1, 0)}
        low, high = np.nanquantile(boot[1][:, k] - boot[0][:, k], [0.025, 0.975])
        estimate = means[1] - means[0]
        sd_c = float(data.loc[data["treat"] == 0, "pre"].std(ddof=1))
        rows.append(
            {
                "outcome": outcome,
                "contrast": contrast,
                "n_treated": int((data["treat"] == 1).sum()),
                "n_control": int((data["treat"] == 0).sum()),
                "n_excluded": excluded,
                "gain_treated": means[1],
                "gain_control": means[0],
                "gain_difference": estimate,
                "ci_low": float(low),
                "ci_high": float(high),
                "n_bootstrap": n_bootstrap,
                "standardised_difference": estimate / sd_c if sd_c > 0 else np.nan,
                "note": "",
            }
        )
    return pd.DataFrame(rows, columns=["outcome", *GAIN_COLUMNS, "note"])


CONTRASTS = {
    "attended": ("attended vs control", ("participant",)),
    "invited": ("invited vs control (intention to treat)", ("participant", "invited")),
}


def draw_control_group(
    eligible: pd.DataFrame, *, count: int, exclude_addresses: frozenset[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Draw a control group of ``count`` residents, at most one per address, from addresses that got
    no invitation (DOMAIN.md §1b step 3: T1 respondents who are never invited).

    ``eligible`` has ``address_key`` and ``id``; rows are put in an order that does not depend on the
    workspace key (address, then birth date and gender where given, then id) before ``rng`` permutes
    them, and the first resident drawn at each address is kept. Returns the drawn rows of ``eligible``.
    """
    order = [c for c in ("address_key", "birth_date", "gender", "id") if c in eligible]
    pool = eligible[~eligible["address_key"].isin(exclude_addresses)].sort_values(order, kind="stable")
    addresses = pool["address_key"].nunique()
    if count < 1 or count > addresses:
        raise KleroError(
            f"A control group of {count} needs {count} addresses without an invitation; there are {addresses}.",
            code="control_size",
        )
    shuffled = pool.iloc[rng.permutation(len(pool))]
    return shuffled.drop_duplicates("address_key").iloc[:count]


def control_effects(
    scored: pd.DataFrame,
    instrument: Instrument,
    arms: pd.Series,
    *,
    pre: str,
    post: str,
    rng: np.random.Generator,
    n_bootstrap: int = MIN_BOOTSTRAP,
    contrast: str = "attended",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ANCOVA and gain-score difference for every attitude item and the knowledge score, treated arm
    vs ``arms == "control"`` (DOMAIN.md §3.4). ``contrast="attended"``: treat = attended
    (``arms == "participant"``), which carries self-selection; ``contrast="invited"``: treat = every
    invitee (attended or not, ``participant`` and ``invited``) — the intention-to-treat contrast, which
    needs the post wave of invited non-attenders too. Other arms are left out.

    Returns ``(ancova_table, gain_table)``: the ``ancova`` and ``gain_difference`` columns with
    ``outcome`` (item code or ``knowledge_score``) first. An outcome an arm has fewer than two complete
    cases for is one row with the reason in ``note``.
    """
    if contrast not in CONTRASTS:
        raise KleroError(f"contrast must be one of {sorted(CONTRASTS)}, not {contrast!r}.", code="contrast")
    label, treated = CONTRASTS[contrast]
    arms = arms[arms.isin([*treated, "control"])]
    treat = arms.isin(treated).astype(int).rename("treat")
    outcomes: dict[str, pd.DataFrame] = {}
    parts = by_item(scored)
    for item in instrument.attitude_items:
        outcomes[item.code] = item_waves(item_rows(parts, item.code, scored), item.code, pre=pre, post=post)
    if instrument.knowledge_items:
        outcomes["knowledge_score"] = pd.concat(
            [knowledge_scores(scored, instrument, wave=w) for w in (pre, post)], axis=1, keys=["pre", "post"]
        )
    frames = {outcome: values.join(treat, how="inner") for outcome, values in outcomes.items()}
    ancovas = []
    for outcome, frame in frames.items():
        try:
            ancovas.append(ancova(frame, contrast=label).assign(outcome=outcome, note=""))
        except KleroError as exc:
            ancovas.append(pd.DataFrame([{"outcome": outcome, "contrast": label, "note": exc.message}]))
    gains = gain_differences(frames, contrast=label, rng=rng, n_bootstrap=n_bootstrap)
    order_a = ["outcome", *ANCOVA_COLUMNS, "note"]
    return pd.concat(ancovas, ignore_index=True).reindex(columns=order_a), gains
