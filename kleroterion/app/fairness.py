"""End-to-end fairness of a draw: the sign-up model from the workspace's letters and pool (issue 19).

Read-only helpers of the panel use cases (``end_to_end_record``, ``pool_for_algorithm``) and of the
letters' top-up (``topup_strata``); they compute, and store nothing themselves.

The store's letters carry every invitee's exact letter probability ``p_i`` and registry features; the
pool says who signed up and what they reported. ``sortition.propensity`` turns these into each pool
member's probability of being in the pool, ``q_i = p_i·ŝ_i``, which the ``end-to-end`` algorithm
equalises and every draw reports per group (``p_i·ŝ_i·π_i`` with bootstrap intervals).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from kleroterion.app.registry import eligible_mask, strata
from kleroterion.errors import KleroError
from kleroterion.workspace import Workspace
from sortition.engine import END_TO_END, POOL_PROBABILITY
from sortition.propensity import (
    DEFAULT_BOOTSTRAP,
    SignupModel,
    end_to_end_by_group,
    fit_signup_model,
    signup_probabilities,
    spread_ratio,
)
from sortition.registry import age_bands, ages_on

#: Registry features every letter carries (from the BRP extract), used for the sign-up model.
REGISTRY_FEATURES = ("age_band", "gender", "wijk")
UNKNOWN = "(unknown)"


def signup_frames(
    ws: Workspace, pool: pd.DataFrame, quotas: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict[str, float]]]:
    """(invitees, pool members with their letter's probability and registry features, calibration shares).

    Calibrated columns are the quota categories the registry does not hold (e.g. education), with the
    quota table's population shares."""
    letters = ws.store.letters()
    if letters.empty:
        raise KleroError(
            "No letters in this workspace: end-to-end chances need the letters (`klero letters draw`).",
            code="no_letters",
        )
    if letters["draw_id"].nunique() > 1:  # a top-up: the chance of a letter in any wave
        letters = letters.assign(inclusion_probability=_over_the_waves(ws, letters))
    invitees = pd.DataFrame(
        {
            "code": letters["code"].astype(str),
            "letter_probability": letters["inclusion_probability"].astype(float),
            "age_band": age_bands(ages_on(letters["birth_date"], ws.reference_date)).astype(object),
            "gender": letters["gender"].astype(object),
            "wijk": letters["wijk"].astype(object),
        }
    )
    for feature in REGISTRY_FEATURES:
        invitees[feature] = invitees[feature].where(invitees[feature].notna(), UNKNOWN).astype(str)
    unmatched = sorted(set(pool["letter_code"].astype(str)) - set(invitees["code"]))
    if unmatched:
        raise KleroError(
            f"{len(unmatched)} pool member(s) have no letter in this workspace (e.g. code {unmatched[0]}).",
            code="pool_without_letter",
        )
    shares: dict[str, dict[str, float]] = {}
    if "population_share" in quotas.columns:
        for category, rows in quotas.groupby(quotas["category"].astype(str), sort=False):
            if category not in REGISTRY_FEATURES and category in pool.columns:
                shares[str(category)] = {
                    str(r.feature): float(r.population_share) for r in rows.itertuples(index=False)
                }
    reported = pool.set_index(pool["letter_code"].astype(str))
    invitees["signed_up"] = invitees["code"].isin(reported.index)
    for column in shares:
        invitees[column] = invitees["code"].map(reported[column].astype(str))
    members = invitees.set_index("code").loc[pool["letter_code"].astype(str)].reset_index(drop=True)
    members.insert(0, "id", pool["id"].astype(str).to_numpy())
    for column in pool.columns:
        if column not in members.columns and column not in ("letter_code", "address_key"):
            members[column] = pool[column].to_numpy()
    return invitees, members, shares


def _over_the_waves(ws: Workspace, letters: pd.DataFrame) -> pd.Series:
    """``sortition.topup.combined_letter_probability`` for this workspace's letter waves."""
    from sortition.topup import combined_letter_probability

    plans = {(d.stratify_by, d.min_age) for d in ws.store.letter_draw_records()}
    if len(plans) > 1:
        raise KleroError(
            "The letter waves were stratified differently (or for other ages), so a resident's chance of a "
            "letter over the waves is not known; draw later waves with --topup.",
            code="mixed_waves",
        )
    stratify_by, min_age = plans.pop()
    labels, _, addresses = _address_counts(ws, stratify_by, min_age=min_age, exclude_lettered=False)
    return combined_letter_probability(letters, pd.Series(addresses, index=labels))


def _address_counts(
    ws: Workspace, stratify_by: str | None, *, min_age: int, exclude_lettered: bool
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Stratum labels, eligible residents and eligible addresses per stratum (an address counts in the
    stratum of its first eligible resident, as in the letter draw); optionally only addresses without a
    letter yet."""
    columns = ws.store.resident_columns()
    mask, _ = eligible_mask(ws, columns, min_age=min_age)
    stratum, labels = strata(columns, stratify_by)
    code = np.where(stratum < 0, len(labels) - 1, stratum)
    population = np.bincount(code[mask], minlength=len(labels))
    keep = mask
    if exclude_lettered:
        keep = mask & ~columns.address_mask(ws.store.letter_addresses()["address_key"])[columns.address]
    left = columns.address[keep]
    firsts = np.flatnonzero(np.r_[True, left[1:] != left[:-1]]) if len(left) else np.zeros(0, np.int64)
    addresses = np.bincount(code[keep][firsts], minlength=len(labels))
    return list(labels), population, addresses


def fit_workspace_model(
    ws: Workspace, pool: pd.DataFrame, quotas: pd.DataFrame, *, rng: np.random.Generator, bootstrap: int
) -> tuple[SignupModel, pd.DataFrame]:
    """The sign-up model of this workspace and the pool members' frame (``signup_frames``)."""
    invitees, members, shares = signup_frames(ws, pool, quotas)
    features = [f for f in REGISTRY_FEATURES if invitees[f].nunique() > 1]
    model = fit_signup_model(invitees, features=features, calibrate=shares, rng=rng, bootstrap=bootstrap)
    return model, members


def with_pool_probability(ws: Workspace, pool: pd.DataFrame, quotas: pd.DataFrame) -> pd.DataFrame:
    """``pool`` plus ``pool_probability`` = letter probability × estimated sign-up probability.

    The point estimate does not depend on a random draw (the bootstrap is not needed here), so the
    same letters and pool always give the same column."""
    model, members = fit_workspace_model(ws, pool, quotas, rng=np.random.default_rng(0), bootstrap=0)
    signup, _ = signup_probabilities(model, members)
    q = members["letter_probability"].to_numpy() * signup
    return pool.assign(**{POOL_PROBABILITY: q})


def stored_pool_probability(pool: pd.DataFrame, stored: dict[str, float]) -> pd.DataFrame:
    """``pool`` with the ``pool_probability`` a draw recorded (refused when a member has none)."""
    missing = sorted(set(pool["id"].astype(str)) - set(stored))
    if missing:
        raise KleroError(
            f"The draw recorded no pool probability for {len(missing)} pool member(s) (e.g. {missing[0]}).",
            code="pool_probability_missing",
        )
    return pool.assign(**{POOL_PROBABILITY: pool["id"].astype(str).map(stored).astype(float)})


def end_to_end_record(
    ws: Workspace,
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    probabilities: pd.Series,
    *,
    rng: np.random.Generator,
    bootstrap: int = DEFAULT_BOOTSTRAP,
) -> dict[str, Any]:
    """Each quota group's end-to-end chance of a seat, for the draw record (JSON-ready).

    ``{"groups": [{category, feature, n, letter_probability, signup_probability, selection_probability,
    end_to_end, ci_low, ci_high}], "ratio": {category: highest/lowest}, "notes": [...], "odds_ratios": [...]}``;
    without letters (a one-stage process) ``{"unavailable": reason}``."""
    try:
        model, members = fit_workspace_model(ws, pool, quotas, rng=rng, bootstrap=bootstrap)
    except KleroError as exc:  # the draw stands; the report names why its chances are missing
        return {"unavailable": exc.message}
    signup, draws = signup_probabilities(model, members)
    pi = members["id"].map(probabilities).fillna(0.0).to_numpy(dtype=float)
    categories = [str(c) for c in dict.fromkeys(quotas["category"].astype(str)) if c in members.columns]
    table = end_to_end_by_group(
        members,
        groups=categories,
        letter_probability=members["letter_probability"].to_numpy(dtype=float),
        signup=signup,
        signup_replicates=draws,
        selection_probability=pi,
    )
    ratios = {c: spread_ratio(table, category=c) for c in categories}
    return {
        "groups": [_json_row(r) for r in table.to_dict("records")],
        "ratio": {c: (None if math.isinf(v) else v) for c, v in ratios.items()},
        "notes": list(model.notes),
        # the same choices as data, so a report can say them in its own language with its labels
        "choices": {
            "pooled": {f: list(levels) for f, levels in model.pooled.items()},
            "penalty": dict(model.penalty),
            "calibrated": sorted({str(f) for f in model.calibration["feature"]}),
            "features": list(model.features),
        },
        "bootstrap": bootstrap,
        "n_invited": model.n_invited,
        "n_signups": model.n_signups,
        "odds_ratios": [_json_row(r) for r in model.odds_ratios().to_dict("records")],
    }


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, float | np.floating):
            out[str(key)] = None if math.isnan(float(value)) else float(value)
        elif isinstance(value, np.integer):
            out[str(key)] = int(value)
        else:
            out[str(key)] = value
    return out


def pool_for_algorithm(
    ws: Workspace,
    pool: pd.DataFrame,
    quotas: pd.DataFrame,
    algorithm: str,
    *,
    parameters: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, float] | None]:
    """The pool as ``algorithm`` needs it, and the pool probabilities to record (``None``: not used).

    ``end-to-end`` reads ``pool_probability``: the one a draw recorded in ``parameters`` (replay), else
    estimated now from the letters and sign-ups."""
    if algorithm != END_TO_END:
        return pool, None
    stored = (parameters or {}).get("pool_probabilities")
    if stored is not None:
        pool = stored_pool_probability(pool, {str(k): float(v) for k, v in stored.items()})
    else:
        pool = with_pool_probability(ws, pool, quotas)
    q = dict(zip(pool["id"].astype(str), pool[POOL_PROBABILITY].astype(float), strict=True))
    return pool, q


def bootstrap_generator(seed: int) -> np.random.Generator:
    """The sign-up model's bootstrap generator for a draw: its own stream of the draw's seed."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(19,))))


def topup_strata(ws: Workspace, *, min_age: int = 16) -> tuple[str, pd.DataFrame]:
    """The first letter draw's stratum column and, per stratum, what ``sortition.topup.plan_topup`` needs.

    ``population``: eligible residents; ``available``: eligible addresses without a letter (an address
    counts in the stratum of its first eligible resident, as in the draw); ``signups``: pool members;
    ``rate``: the sign-up model's mean registry prediction over the stratum's invitees."""
    draws = ws.store.letter_draw_records()
    if not draws:
        raise KleroError(
            "No letters yet: a top-up follows a first letter draw (`klero letters draw`).", code="no_letters"
        )
    stratify_by = draws[0].stratify_by
    if not stratify_by:
        raise KleroError(
            "The first letters were not stratified, so there are no strata to aim a top-up at; "
            "use --stratify-by (e.g. wijk) for the first draw.",
            code="no_strata",
        )
    pool = ws.store.pool()
    if pool.empty:
        raise KleroError("No sign-ups yet: import them first (`klero pool import FILE`).", code="no_pool")
    try:
        _, _, quotas = ws.store.quotas()
    except KleroError:
        quotas = pd.DataFrame(columns=["category", "feature", "min", "max"])
    model, _ = fit_workspace_model(ws, pool, quotas, rng=np.random.default_rng(0), bootstrap=0)
    invitees, _, _ = signup_frames(ws, pool, quotas)
    letters = ws.store.letters().set_index("code")
    invitees["stratum"] = invitees["code"].map(letters["stratum"]).astype(str)
    invitees["rate"], _ = signup_probabilities(model, invitees, calibrated=False)
    labels, population, available = _address_counts(ws, stratify_by, min_age=min_age, exclude_lettered=True)
    signups = pool["letter_code"].map(letters["stratum"]).astype(str).value_counts()
    rates = invitees.groupby("stratum")["rate"].mean()
    frame = pd.DataFrame(
        {
            "stratum": labels,
            "population": population,
            "signups": [int(signups.get(label, 0)) for label in labels],
            "rate": [float(rates.get(label, np.nan)) for label in labels],
            "available": available,
        }
    )
    frame = frame[frame["population"] > 0].reset_index(drop=True)
    unknown = frame.loc[frame["rate"].isna(), "stratum"].tolist()
    if unknown:
        raise KleroError(
            f"No letters went to stratum {unknown[0]!r} yet, so its sign-up rate is unknown; "
            "a top-up needs a first wave in every stratum.",
            code="no_rate",
        )
    return str(stratify_by), frame
