"""Who signs up: a sign-up model from the process's own letters, and end-to-end chances of a seat.

Every invited resident has registry features (age band, gender, wijk, household size); only those who
sign up report the rest (education). The model (Flanigan, Gölz, Gupta & Procaccia, "Neutralizing
self-selection bias in sampling for sortition", NeurIPS 2020, §3: estimate each pool member's
probability of having joined from their features) has two parts:

1. A ridge-penalised logistic regression of "signed up" on the registry features, fitted on *all*
   invitees: ``logit s(x) = β₀ + β'x``, maximising ``ℓ(β) - (λ/2)·Σ_{j≥1} β_j²`` by Newton's method
   (the intercept is not penalised; one λ per feature, by 5-fold cross-validation unless given). Levels of a feature
   with fewer than ``min_invited`` invitees or ``min_signups`` sign-ups are pooled into one level
   ``POOLED`` (named in ``SignupModel.pooled``) rather than fitted on a handful of people.
2. A calibration for features only the sign-ups report: with ``a_e`` the share of level ``e`` among the
   sign-ups and ``P_e`` its population share (CBS), the factor is ``c_e = a_e / P_e``, and
   ``s(x, e) = s(x)·c_e``. This is Bayes' rule ``P(S|x,e) = P(S|x)·P(e|S,x)/P(e|x)`` under the
   stated assumption that ``e`` is independent of the registry features ``x`` in the population
   (``P(e|x) = P_e``) and among the sign-ups given ``x``; then ``Σ_e P_e c_e = 1``, so the registry
   model's sign-up rate is kept. The assumption is a named limitation, not hidden: where education and
   age go together, part of the education effect is already in the age coefficients.

Uncertainty: a nonparametric bootstrap over invitees (each replicate refits the regression and the
calibration factors on a resample, the pooling and the penalty fixed), with percentile intervals.

End-to-end: resident ``i``'s chance of a seat is ``P_i = p_i · s_i · π_i`` (letter to the address, sign-up
given a letter and the features, seat given the pool; DOMAIN.md §2 "Self-selection").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sortition.errors import KleroError

POOLED = "(pooled)"
MIN_INVITED = 30
MIN_SIGNUPS = 3
#: Ridge penalties tried by cross-validation when none is given (``choose_penalty``).
PENALTY_GRID = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
CV_FOLDS = 5
DEFAULT_BOOTSTRAP = 200
CONFIDENCE = 0.95


@dataclass(frozen=True)
class SignupModel:
    """A fitted sign-up model.

    ``levels[f]`` are the model levels of registry feature ``f`` (the first is the reference; may
    include ``POOLED``); ``pooled[f]`` the original levels merged into ``POOLED``. ``coefficients`` is
    indexed ``intercept`` and ``feature=level``; ``replicates`` holds one bootstrap coefficient vector
    per row. ``calibration`` has one row per calibrated level: ``feature, level, n_signups,
    signup_share, population_share, factor, ci_low, ci_high``; ``calibration_replicates[f]`` the
    bootstrap factors (replicate x level, in ``calibration`` order).
    """

    features: tuple[str, ...]
    levels: dict[str, tuple[str, ...]]
    pooled: dict[str, tuple[str, ...]]
    coefficients: pd.Series
    replicates: np.ndarray
    calibration: pd.DataFrame
    calibration_replicates: dict[str, np.ndarray]
    penalty: dict[str, float]
    n_invited: int
    n_signups: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    def odds_ratios(self) -> pd.DataFrame:
        """Odds ratio per coefficient with its bootstrap percentile interval.

        Columns: ``term, odds_ratio, ci_low, ci_high`` (the intercept row holds the reference odds)."""
        low, high = _percentiles(self.replicates)
        return pd.DataFrame(
            {
                "term": self.coefficients.index,
                "odds_ratio": np.exp(self.coefficients.to_numpy()),
                "ci_low": np.exp(low),
                "ci_high": np.exp(high),
            }
        )


def _percentiles(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the replicates (axis 0); NaN without replicates (``bootstrap=0``)."""
    if draws.shape[0] == 0:
        empty = np.full(draws.shape[1:], np.nan)
        return empty, empty
    alpha = (1 - CONFIDENCE) / 2
    return np.quantile(draws, alpha, axis=0), np.quantile(draws, 1 - alpha, axis=0)


def _check(invitees: pd.DataFrame, features: Sequence[str], signed_up: str, calibrate: Mapping[str, object]) -> None:
    missing = [c for c in (*features, signed_up, *calibrate) if c not in invitees.columns]
    if missing:
        raise KleroError(f"The invitee table lacks column(s) {', '.join(missing)}.", code="bad_invitees")
    if invitees[signed_up].isna().any() or not invitees[signed_up].isin([True, False, 0, 1]).all():
        raise KleroError(f"Column {signed_up!r} must be true or false for every invitee.", code="bad_invitees")
    blank = [f for f in features if invitees[f].isna().any()]
    if blank:
        raise KleroError(
            f"Registry feature(s) {', '.join(blank)} have missing values; give them a level such as 'unknown'.",
            code="bad_invitees",
        )
    signed = invitees[signed_up].astype(bool)
    if signed.sum() == 0 or (~signed).sum() == 0:
        raise KleroError("A sign-up model needs invitees who signed up and invitees who did not.", code="bad_invitees")


def _pool_levels(
    invitees: pd.DataFrame, features: Sequence[str], signed: np.ndarray, *, min_invited: int, min_signups: int
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Model levels per feature (largest first, the reference) and the small levels pooled together."""
    levels: dict[str, tuple[str, ...]] = {}
    pooled: dict[str, tuple[str, ...]] = {}
    for feature in features:
        values = invitees[feature].astype(str)
        table = pd.DataFrame({"n": values.value_counts(), "s": values[signed].value_counts()}).fillna(0)
        small = table.index[(table["n"] < min_invited) | (table["s"] < min_signups)]
        kept = table.drop(index=small).sort_values("n", ascending=False, kind="stable")
        names = [str(v) for v in kept.index]
        if len(small):
            pooled[feature] = tuple(sorted(str(v) for v in small))
            names.append(POOLED)
        levels[feature] = tuple(names)
    return levels, pooled


def _design(
    frame: pd.DataFrame, levels: Mapping[str, Sequence[str]], pooled: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """Intercept plus treatment-coded dummies (reference = first level); unknown levels raise."""
    columns = [np.ones(len(frame))]
    for feature, names in levels.items():
        values = frame[feature].astype(str)
        merged = set(pooled.get(feature, ()))
        values = values.where(~values.isin(merged), POOLED)
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise KleroError(
                f"{feature}: level(s) {', '.join(unknown)} were not among the invitees the model was fitted on.",
                code="unknown_level",
            )
        columns.extend((values == name).to_numpy(dtype=float) for name in names[1:])
    return np.column_stack(columns)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, penalty: float | np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Ridge logistic regression: maximise ``Σ[y log μ + (1-y) log(1-μ)] - ½·Σ_{j≥1} λ_j β_j²`` by Newton.

    Gradient ``Xᵀ(y-μ) - Dβ``, Hessian ``-(XᵀWX + D)`` with ``W = diag(μ(1-μ))`` and ``D = diag(λ)``,
    ``λ_0 = 0`` (the intercept is not penalised); ``penalty`` is one λ for every slope or one per column.
    With ``λ = 0`` this is the maximum-likelihood fit (statsmodels ``Logit``).
    """
    p = x.shape[1]
    d = np.diag(np.broadcast_to(np.asarray(penalty, dtype=float), (p,)).copy())
    d[0, 0] = 0.0
    beta = np.zeros(p)
    mean = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    beta[0] = np.log(mean / (1 - mean))
    for _ in range(max_iter):
        mu = 1 / (1 + np.exp(-(x @ beta)))
        gradient = x.T @ (y - mu) - d @ beta
        hessian = (x * (mu * (1 - mu))[:, None]).T @ x + d + 1e-10 * np.eye(p)
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if np.abs(step).max() < 1e-10:
            return beta
    raise KleroError("The sign-up model did not converge.", code="no_convergence")


def cv_deviance(x: np.ndarray, y: np.ndarray, penalty: float | np.ndarray) -> float:
    """Held-out deviance ``-2 Σ [y log μ + (1-y) log(1-μ)]`` summed over ``CV_FOLDS`` folds.

    Fold ``j`` holds rows ``j, j + K, j + 2K, ...``: deterministic (no random draw), so the same invitees
    always give the same model; the store lists letters by their random invitation code, so this
    interleaving is in effect a random split. Each training fit scales λ by its share of the rows."""
    folds = np.arange(len(y)) % CV_FOLDS
    loss = 0.0
    for fold in range(CV_FOLDS):
        train, test = folds != fold, folds == fold
        beta = fit_logistic(x[train], y[train], penalty=np.asarray(penalty) * train.mean())
        mu = np.clip(1 / (1 + np.exp(-(x[test] @ beta))), 1e-12, 1 - 1e-12)
        loss -= 2 * float(np.sum(y[test] * np.log(mu) + (1 - y[test]) * np.log(1 - mu)))
    return loss


def choose_penalty(x: np.ndarray, y: np.ndarray, grid: Sequence[float] = PENALTY_GRID) -> float:
    """The one ridge penalty of ``grid`` with the smallest cross-validated deviance (``cv_deviance``)."""
    return float(grid[int(np.argmin([cv_deviance(x, y, penalty) for penalty in grid]))])


def choose_penalties(
    x: np.ndarray, y: np.ndarray, blocks: Sequence[Sequence[int]], grid: Sequence[float] = PENALTY_GRID
) -> np.ndarray:
    """One ridge penalty per block of columns (a feature's dummies), by cross-validation (``cv_deviance``).

    Coordinate search: starting from λ = 1 everywhere, each block in turn takes the grid value with the
    smallest deviance given the others; two sweeps. A feature without signal (twelve wijken that do not
    differ) is shrunk hard without dragging a strong one (age) along, as one shared λ would.
    Returns the per-column penalty vector (0 for the intercept)."""
    lam = np.ones(x.shape[1])
    lam[0] = 0.0
    for _ in range(2):
        for block in blocks:
            columns = list(block)
            losses = []
            for value in grid:
                trial = lam.copy()
                trial[columns] = value
                losses.append(cv_deviance(x, y, trial))
            lam[columns] = grid[int(np.argmin(losses))]
    return lam


def _calibration_factors(
    values: pd.Series, shares: Mapping[str, float], order: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """``c_e = a_e / P_e`` for each level in ``order``, and the sign-up counts behind ``a_e``."""
    counts = values.astype(str).value_counts().reindex(list(order), fill_value=0).to_numpy(dtype=float)
    total = counts.sum()
    population = np.array([shares[level] for level in order], dtype=float)
    return (counts / total) / population, counts


def fit_signup_model(
    invitees: pd.DataFrame,
    *,
    features: Sequence[str],
    rng: np.random.Generator,
    signed_up: str = "signed_up",
    calibrate: Mapping[str, Mapping[str, float]] | None = None,
    penalty: float | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    min_invited: int = MIN_INVITED,
    min_signups: int = MIN_SIGNUPS,
) -> SignupModel:
    """Fit the sign-up model (module docstring) on one row per invited resident.

    ``invitees``: the registry ``features``, ``signed_up`` (bool) and, for each ``calibrate`` column
    (e.g. ``education``), the level the sign-ups reported (missing for the others). ``calibrate`` maps
    that column to its population shares (CBS), which must cover every reported level and sum to 1.
    ``rng`` drives the bootstrap resamples only. ``penalty`` ``None``: one per feature, chosen by
    ``choose_penalties``; a number: that λ for every slope.
    """
    calibrate = dict(calibrate or {})
    _check(invitees, features, signed_up, calibrate)
    signed = invitees[signed_up].astype(bool).to_numpy()
    levels, pooled = _pool_levels(invitees, features, signed, min_invited=min_invited, min_signups=min_signups)
    x = _design(invitees, levels, pooled)
    y = signed.astype(float)
    blocks, start = [], 1
    for names_ in levels.values():
        blocks.append(list(range(start, start + len(names_) - 1)))
        start += len(names_) - 1
    if penalty is None:
        lam = choose_penalties(x, y, [b for b in blocks if b])
    else:
        lam = np.full(x.shape[1], float(penalty))
        lam[0] = 0.0
    penalties = {f: (float(lam[b[0]]) if b else 0.0) for f, b in zip(levels, blocks, strict=True)}
    beta = fit_logistic(x, y, penalty=lam)
    names = ["intercept", *(f"{f}={level}" for f, names_ in levels.items() for level in names_[1:])]
    orders = {
        column: _calibration_levels(invitees.loc[signed, column], shares, column)
        for column, shares in calibrate.items()
    }
    factors = {c: _calibration_factors(invitees.loc[signed, c], calibrate[c], orders[c]) for c in calibrate}
    replicates = np.empty((bootstrap, len(beta)))
    factor_draws = {c: np.empty((bootstrap, len(orders[c]))) for c in calibrate}
    n = len(invitees)
    for b in range(bootstrap):
        rows = rng.integers(0, n, size=n)
        replicates[b] = fit_logistic(x[rows], y[rows], penalty=lam)
        sample = invitees.iloc[rows]
        chosen = sample[signed[rows]]
        for column in calibrate:
            factor_draws[column][b] = _calibration_factors(chosen[column], calibrate[column], orders[column])[0]
    table = []
    for column in calibrate:
        low, high = _percentiles(factor_draws[column])
        factor, counts = factors[column]
        for j, level in enumerate(orders[column]):
            table.append(
                {
                    "feature": column,
                    "level": level,
                    "n_signups": int(counts[j]),
                    "signup_share": float(counts[j] / counts.sum()),
                    "population_share": float(calibrate[column][level]),
                    "factor": float(factor[j]),
                    "ci_low": float(low[j]),
                    "ci_high": float(high[j]),
                }
            )
    notes = [
        f"{feature}: {', '.join(values)} pooled into one level (fewer than {min_invited} invited or "
        f"{min_signups} sign-ups each)"
        for feature, values in pooled.items()
    ]
    how = f"chosen by {CV_FOLDS}-fold cross-validation" if penalty is None else "given"
    notes.append("ridge penalty " + ", ".join(f"{f} {v:g}" for f, v in penalties.items()) + f" ({how})")
    notes += [
        f"{column}: calibrated to population shares, assuming it is independent of "
        f"{', '.join(features)} in the population"
        for column in calibrate
    ]
    return SignupModel(
        features=tuple(features),
        levels=levels,
        pooled=pooled,
        coefficients=pd.Series(beta, index=names, dtype=float),
        replicates=replicates,
        calibration=pd.DataFrame(
            table,
            columns=[
                "feature",
                "level",
                "n_signups",
                "signup_share",
                "population_share",
                "factor",
                "ci_low",
                "ci_high",
            ],
        ),
        calibration_replicates=factor_draws,
        penalty=penalties,
        n_invited=n,
        n_signups=int(signed.sum()),
        notes=tuple(notes),
    )


def _calibration_levels(reported: pd.Series, shares: Mapping[str, float], column: str) -> tuple[str, ...]:
    values = reported.dropna().astype(str)
    if len(values) < len(reported):
        raise KleroError(f"{column}: {len(reported) - len(values)} sign-up(s) did not report it.", code="bad_invitees")
    unknown = sorted(set(values) - {str(k) for k in shares})
    if unknown:
        raise KleroError(f"{column}: no population share for {', '.join(unknown)}.", code="bad_shares")
    total = float(sum(shares.values()))
    if abs(total - 1) > 1e-6 or any(float(v) <= 0 for v in shares.values()):
        raise KleroError(
            f"{column}: population shares must be positive and sum to 1 (they sum to {total:g}).", code="bad_shares"
        )
    return tuple(str(k) for k in shares)


def signup_probabilities(
    model: SignupModel, frame: pd.DataFrame, *, calibrated: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's sign-up probability given a letter, and its bootstrap replicates (replicate x row).

    ``frame`` has the model's registry features and (``calibrated``) its calibrated columns; with
    ``calibrated=False`` the registry part ``s(x)`` alone, averaged over the calibrated features (for
    invitees who did not report them). Probabilities are capped at 1 (a cell whose factors multiply
    past 1 would otherwise exceed it)."""
    x = _design(frame, model.levels, model.pooled)
    point = 1 / (1 + np.exp(-(x @ model.coefficients.to_numpy())))
    draws = 1 / (1 + np.exp(-(model.replicates @ x.T)))
    if not calibrated:
        return point, draws
    for column, draws_c in model.calibration_replicates.items():
        rows = model.calibration[model.calibration["feature"] == column]
        order = rows["level"].tolist()
        values = frame[column].astype(str)
        unknown = sorted(set(values) - set(order))
        if unknown:
            raise KleroError(f"{column}: no calibration factor for {', '.join(unknown)}.", code="unknown_level")
        index = values.map({level: j for j, level in enumerate(order)}).to_numpy(dtype=int)
        point = point * rows["factor"].to_numpy()[index]
        draws = draws * draws_c[:, index]
    return np.minimum(point, 1.0), np.minimum(draws, 1.0)


def end_to_end_by_group(
    pool: pd.DataFrame,
    *,
    groups: Sequence[str],
    letter_probability: np.ndarray,
    signup: np.ndarray,
    signup_replicates: np.ndarray,
    selection_probability: np.ndarray,
) -> pd.DataFrame:
    """Mean end-to-end chance ``P_i = p_i·s_i·π_i`` of the pool members of each group, with intervals.

    One row per (``category``, ``feature``) of the ``groups`` columns of ``pool``; columns ``category,
    feature, n, letter_probability, signup_probability, selection_probability, end_to_end, ci_low,
    ci_high`` (means over the group's pool members; the interval is the bootstrap percentile interval of
    the sign-up model, with ``p`` and ``π`` fixed). Read ``end_to_end`` as the chance of a seat of a
    resident like this group's sign-ups, from before the letters went out.
    """
    p = np.asarray(letter_probability, dtype=float)
    pi = np.asarray(selection_probability, dtype=float)
    point = p * signup * pi
    draws = p[None, :] * signup_replicates * pi[None, :]
    rows = []
    for category in groups:
        values = pool[category].astype(str).to_numpy()
        for level in sorted(set(values)):
            mask = values == level
            low, high = _percentiles(draws[:, mask].mean(axis=1))
            rows.append(
                {
                    "category": category,
                    "feature": level,
                    "n": int(mask.sum()),
                    "letter_probability": float(p[mask].mean()),
                    "signup_probability": float(signup[mask].mean()),
                    "selection_probability": float(pi[mask].mean()),
                    "end_to_end": float(point[mask].mean()),
                    "ci_low": float(low),
                    "ci_high": float(high),
                }
            )
    return pd.DataFrame(rows)


def spread_ratio(table: pd.DataFrame, *, category: str | None = None) -> float:
    """Highest over lowest group end-to-end chance (within ``category`` if given; ``inf`` if one is 0)."""
    values = table if category is None else table[table["category"] == category]
    low, high = float(values["end_to_end"].min()), float(values["end_to_end"].max())
    return high / low if low > 0 else float("inf")
