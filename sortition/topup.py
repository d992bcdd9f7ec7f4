"""A second wave of letters aimed at the strata that sign up least (issue 19, part 4).

After the first wave, stratum ``h`` has ``S_h`` sign-ups and an estimated sign-up rate per letter
``r̂_h`` (the sign-up model's mean prediction over the stratum's invitees, ``sortition.propensity``).
``E_h`` extra letters are expected to bring ``E_h·r̂_h`` more, so the expected pool of stratum ``h`` is
``S_h + E_h·r̂_h``. ``plan_topup`` chooses whole numbers ``E_h ≥ 0`` with ``Σ E_h = L`` that bring the
expected pool's shares closest to the population's: minimise
``Σ_h (x_h/Σx − P_h)²`` with ``x_h = S_h + E_h·r̂_h`` and ``P_h`` the stratum's share of the eligible
residents, greedily one letter at a time (each to the stratum where it lowers the distance most). The
oversampling rule ``L_h ∝ N_h/r̂_h`` of DOMAIN.md §1a step 2 is the same idea before any sign-up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sortition.errors import KleroError

STRATA_COLUMNS = ("stratum", "population", "signups", "rate", "available")


def plan_topup(strata: pd.DataFrame, *, count: int) -> pd.DataFrame:
    """Extra letters per stratum for a second wave of ``count`` letters.

    ``strata``: one row per stratum with ``stratum``, ``population`` (eligible residents), ``signups``
    (pool members so far), ``rate`` (estimated sign-ups per letter, > 0) and ``available`` (addresses not
    yet sent a letter; a stratum never gets more). Returns the same rows with ``population_share``,
    ``extra_letters``, ``expected_signups`` (``S_h + E_h·r̂_h``), ``expected_share`` and ``share_now``.
    """
    missing = [c for c in STRATA_COLUMNS if c not in strata.columns]
    if missing:
        raise KleroError(f"The strata table lacks column(s) {', '.join(missing)}.", code="bad_strata")
    if count <= 0:
        raise KleroError("The number of extra letters must be positive.", code="bad_letter_count", count=count)
    rate = strata["rate"].to_numpy(dtype=float)
    if not np.all(rate > 0) or not np.all(np.isfinite(rate)):
        raise KleroError("Every stratum needs an estimated sign-up rate above 0.", code="bad_strata")
    available = strata["available"].to_numpy(dtype=np.int64)
    if available.sum() < count:
        raise KleroError(
            f"Only {int(available.sum())} addresses are left without a letter; cannot plan {count} more.",
            code="too_few_addresses",
        )
    population = strata["population"].to_numpy(dtype=float)
    share = population / population.sum()
    expected = strata["signups"].to_numpy(dtype=float).copy()
    extra = np.zeros(len(strata), dtype=np.int64)
    for _ in range(count):
        trial = expected[None, :] + np.diag(rate)  # row h: one more letter in stratum h
        distance = ((trial / trial.sum(axis=1, keepdims=True) - share[None, :]) ** 2).sum(axis=1)
        distance[extra >= available] = np.inf
        h = int(np.argmin(distance))
        extra[h] += 1
        expected[h] += rate[h]
    signups = strata["signups"].to_numpy(dtype=float)
    return strata.assign(
        population_share=share,
        share_now=signups / signups.sum() if signups.sum() > 0 else np.nan,
        extra_letters=extra,
        expected_signups=expected,
        expected_share=expected / expected.sum(),
    )


def combined_letter_probability(letters: pd.DataFrame, addresses: pd.Series) -> pd.Series:
    """Each invitee's chance of a letter in *any* wave, from the per-wave probabilities the draws stored.

    ``letters``: ``draw_id`` (waves in increasing order), ``stratum``, ``inclusion_probability``
    (``p_i = (L_wh/A_wh)/E_a`` of the wave that sent it); ``addresses``: eligible addresses per stratum
    before the first wave (``A_h``). Wave ``w`` draws ``L_wh`` of the ``A_wh = A_h − Σ_{w'<w} L_w'h``
    addresses still without a letter, uniformly, so an address's chance over the waves is
    ``L_1h/A_h + (1 − L_1h/A_h)·L_2h/A_2h + … = Σ_w L_wh / A_h``, and the invitee's is that times
    ``1/E_a``: ``p_i · (Σ_w L_wh/A_h) / (L_wh/A_wh)``. The allocation of a later wave is taken as fixed
    (it was planned from the first wave's sign-ups, not from which addresses were drawn).
    """
    counts = letters.groupby(["stratum", "draw_id"]).size().rename("letters").reset_index()
    counts = counts.sort_values(["stratum", "draw_id"], kind="stable")
    counts["before"] = counts.groupby("stratum")["letters"].cumsum() - counts["letters"]
    missing = sorted(set(counts["stratum"]) - set(addresses.index))
    if missing:
        raise KleroError(f"No address count for stratum {missing[0]!r}.", code="bad_strata")
    counts["available"] = counts["stratum"].map(addresses).astype(float) - counts["before"]
    counts["total"] = counts["stratum"].map(counts.groupby("stratum")["letters"].sum())
    counts["factor"] = (counts["total"] / counts["stratum"].map(addresses).astype(float)) / (
        counts["letters"] / counts["available"]
    )
    factor = letters.merge(counts[["stratum", "draw_id", "factor"]], on=["stratum", "draw_id"], how="left")["factor"]
    return pd.Series(
        letters["inclusion_probability"].to_numpy(dtype=float) * factor.to_numpy(dtype=float), index=letters.index
    )
