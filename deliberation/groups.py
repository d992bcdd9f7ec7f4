"""Small groups: balanced random assignment and homogenisation/polarisation measures.

DOMAIN.md §1b step 6 and §3.7 (Luskin, Sood, Fishkin & Hahn, "Deliberative Distortions?", BJPolS
2022; soodoku/distortions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from deliberation.regression import ols_cluster
from sortition.errors import KleroError

GROUP_INDEX_COLUMNS = (
    "group",
    "index",
    "n_pre",
    "n_post",
    "m_pre",
    "m_post",
    "sd_pre",
    "sd_post",
    "homogenised",
    "homo_extent",
    "polar_extent",
    "polarised",
    "polar_extent_normalised",
)
SUMMARY_COLUMNS = (
    "n_pairs",
    "n_pairs_polar",
    "homofreq",
    "homoex",
    "polarfreq",
    "polarex",
    "polarex_normalised",
)


def assign_groups(
    participants: pd.DataFrame, *, size: int, balance: Sequence[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Randomly assign participants to ``round(n/size)`` (≥ 1) groups, balanced on ``balance``.

    Method: shuffle with ``rng``, stable-sort by the balance characteristics (so people are in random
    order within each stratum), then deal the list in blocks of G with a fresh random permutation of
    the groups for each block. Group sizes differ by at most 1, and each stratum's count differs by at
    most 2 between groups. Every participant's group is random; no one is placed by judgement.
    Returns ``participants`` with a column ``group`` (1..G), in the input order.
    """
    if size < 1:
        raise KleroError("Group size must be at least 1.", code="group_size")
    missing = [c for c in balance if c not in participants]
    if missing:
        raise KleroError(f"Balance characteristics not in the participant table: {missing}.", code="balance_columns")
    n = len(participants)
    count = max(1, round(n / size))
    order = rng.permutation(n)
    shuffled = participants.iloc[order]
    if balance:
        keys = shuffled[list(balance)].astype(str)
        shuffled = shuffled.iloc[np.lexsort([keys[c].to_numpy() for c in reversed(list(balance))])]
    blocks = math.ceil(n / count)
    labels = np.concatenate([rng.permutation(count) + 1 for _ in range(blocks)])[:n] if n else np.array([], int)
    groups = pd.Series(labels, index=shuffled.index, name="group")
    return participants.assign(group=groups.reindex(participants.index).to_numpy())


def group_index_changes(values: pd.DataFrame, groups: pd.Series, *, pre: str, post: str) -> pd.DataFrame:
    """Per group and 0–1 index: pre/post mean and SD (ddof 1) over available cases, and the
    group–index terms of §3.7.

    ``values``: long ``participant_id, wave, index, value`` (value on 0–1; NaN = not available);
    ``groups``: participant id → group. Columns: ``group, index, n_pre, n_post, m_pre, m_post, sd_pre,
    sd_post, homogenised`` (1[sd_post < sd_pre]), ``homo_extent`` (sd_pre − sd_post), ``polar_extent``
    ((m_post − m_pre)·sign(m_pre − 0.5)), ``polarised`` (1 if the mean moved away from 0.5, 0 if not,
    NaN when m_pre = 0.5) and ``polar_extent_normalised`` (polar_extent divided by the room left to
    move: 1 − m_pre above 0.5, m_pre below; NaN at 0.5 or when there is no room).
    """
    frame = values.dropna(subset=["value"]).assign(group=lambda f: f["participant_id"].map(groups))
    unassigned = frame["group"].isna()
    if unassigned.any():
        raise KleroError(f"{int(unassigned.sum())} values belong to participants without a group.", code="unassigned")
    stats = frame[frame["wave"].isin([pre, post])].groupby(["group", "index", "wave"])["value"]
    agg = stats.agg(["count", "mean", "std"]).set_axis(["n", "m", "sd"], axis=1).unstack("wave")  # std: ddof 1
    agg = agg.reindex(columns=pd.MultiIndex.from_product([["n", "m", "sd"], [pre, post]]))
    m_pre, m_post, sd_pre, sd_post = (
        agg[key].to_numpy(dtype=float) for key in (("m", pre), ("m", post), ("sd", pre), ("sd", post))
    )
    side = np.sign(m_pre - 0.5)
    polar = (m_post - m_pre) * side
    room = np.where(side > 0, 1 - m_pre, m_pre)
    with np.errstate(invalid="ignore", divide="ignore"):
        normalised = np.where((side != 0) & (room > 0), polar / room, np.nan)
    table = {
        "group": agg.index.get_level_values("group"),
        "index": agg.index.get_level_values("index"),
        "n_pre": np.nan_to_num(agg[("n", pre)].to_numpy(dtype=float)).astype(int),
        "n_post": np.nan_to_num(agg[("n", post)].to_numpy(dtype=float)).astype(int),
        "m_pre": m_pre,
        "m_post": m_post,
        "sd_pre": sd_pre,
        "sd_post": sd_post,
        "homogenised": np.where(np.isnan(sd_pre + sd_post), np.nan, (sd_post < sd_pre).astype(float)),
        "homo_extent": sd_pre - sd_post,
        "polar_extent": polar,
        "polarised": np.where((side != 0) & ~np.isnan(polar), (polar > 0).astype(float), np.nan),
        "polar_extent_normalised": normalised,
    }
    return pd.DataFrame(table, columns=list(GROUP_INDEX_COLUMNS))


def summarise_distortions(changes: pd.DataFrame) -> pd.DataFrame:
    """Means over group–index pairs of a ``group_index_changes`` table (DOMAIN.md §3.7).

    One row: ``n_pairs`` (pairs with both SDs), ``n_pairs_polar`` (pairs with m_pre ≠ 0.5),
    ``homofreq = mean 1[sd_post < sd_pre]``, ``homoex = mean(sd_pre − sd_post)``, ``polarfreq`` (share
    of pairs that moved away from 0.5, m_pre = 0.5 dropped), ``polarex = mean((m_post − m_pre)·
    sign(m_pre − 0.5))`` over all pairs with both means, ``polarex_normalised``.
    """
    homo = changes.dropna(subset=["homogenised"])
    polar = changes.dropna(subset=["polarised"])
    return pd.DataFrame(
        [
            {
                "n_pairs": len(homo),
                "n_pairs_polar": len(polar),
                "homofreq": homo["homogenised"].mean(),
                "homoex": homo["homo_extent"].mean(),
                "polarfreq": polar["polarised"].mean(),
                "polarex": changes["polar_extent"].dropna().mean(),
                "polarex_normalised": changes["polar_extent_normalised"].dropna().mean(),
            }
        ],
        columns=list(SUMMARY_COLUMNS),
    )


ASSIGNMENT_CHECK_COLUMNS = ("index", "n", "n_groups", "coefficient", "se", "ci_low", "ci_high", "p_value", "note")


def assignment_check(values: pd.DataFrame, groups: pd.Series, *, wave: str) -> pd.DataFrame:
    """Check of random assignment (DOMAIN.md §3.7): per index, OLS of a person's own value at ``wave``
    on the leave-one-out mean of the rest of their group, with SEs clustered by group (statsmodels
    ``cov_type="cluster"``, small-sample factor G/(G−1)·(N−1)/(N−K); computed by
    ``regression.ols_cluster``), normal 95% CI.

    Under random assignment the slope is near zero (slightly negative in small groups: about
    −1/(n_g − 1) for equal groups). Persons alone in their group at the wave have no leave-one-out
    mean and are excluded. Columns: ``index, n, n_groups, coefficient, se, ci_low, ci_high, p_value,
    note``.
    """
    frame = values[(values["wave"] == wave)].dropna(subset=["value"])
    frame = frame.assign(group=frame["participant_id"].map(groups)).dropna(subset=["group"])
    by = frame.groupby(["index", "group"])["value"]  # every index's groups in one pass
    size, total = by.transform("size"), by.transform("sum")
    frame = frame.assign(loo=(total - frame["value"]) / (size - 1), shared=size > 1)
    rows = []
    for index, part in frame.groupby("index", sort=True):
        part = part.loc[part["shared"]]
        n_groups = int(part["group"].nunique())
        row = {"index": index, "n": len(part), "n_groups": n_groups}
        if n_groups < 3:
            rows.append({**row, "note": "fewer than 3 groups"})
            continue
        x = np.column_stack([np.ones(len(part)), part["loo"].to_numpy(dtype=float)])
        fit = ols_cluster(part["value"].to_numpy(dtype=float), x, part["group"].to_numpy())
        rows.append(
            {
                **row,
                "coefficient": float(fit.params[1]),
                "se": float(fit.bse[1]),
                "ci_low": float(fit.ci_low[1]),
                "ci_high": float(fit.ci_high[1]),
                "p_value": float(fit.p_values[1]),
                "note": "",
            }
        )
    return pd.DataFrame(rows, columns=list(ASSIGNMENT_CHECK_COLUMNS))


GROUP_BALANCE_COLUMNS = ("characteristic", "value", "group", "n", "share", "n_all", "share_all", "difference_pp")


def group_balance(assignment: pd.DataFrame, *, balance: Sequence[str]) -> pd.DataFrame:
    """How mixed each group is compared with all members, per characteristic value.

    ``assignment``: one row per member with ``group`` and the ``balance`` columns. One row per
    characteristic, value and group: ``n`` and ``share`` in the group, ``n_all`` and ``share_all``
    over all members, ``difference_pp`` = 100·(share − share_all). Empty values are counted as the
    value ``(missing)``, never dropped.
    """
    missing = [c for c in balance if c not in assignment]
    if missing:
        raise KleroError(f"Balance characteristics not in the participant table: {missing}.", code="balance_columns")
    sizes = assignment.groupby("group").size()
    rows = []
    for column in balance:
        values = assignment[column].fillna("").astype(str).replace("", "(missing)")
        overall = values.value_counts()
        counts = pd.crosstab(values, assignment["group"]).reindex(columns=sizes.index, fill_value=0)
        for value in sorted(overall.index):
            share_all = overall[value] / len(assignment)
            for group, size in sizes.items():
                n = int(counts.at[value, group])
                rows.append(
                    {
                        "characteristic": column,
                        "value": value,
                        "group": group,
                        "n": n,
                        "share": n / size,
                        "n_all": int(overall[value]),
                        "share_all": share_all,
                        "difference_pp": 100 * (n / size - share_all),
                    }
                )
    return pd.DataFrame(rows, columns=list(GROUP_BALANCE_COLUMNS))


def choose_move(
    members: pd.DataFrame, dropout: pd.Series, *, balance: Sequence[str], rng: np.random.Generator
) -> tuple[str, object] | None:
    """After ``dropout`` (a row with ``participant_id``, ``group`` and the ``balance`` columns) leaves,
    pick who moves so group sizes again differ by at most one: None when they already do, else one
    member of a largest group, drawn at random with ``rng`` among those who share the drop-out's
    characteristics (all of them; if none, any member of the largest groups).

    ``members`` are the active members *after* the drop-out left. Returns ``(participant_id, group
    the person moves to)``.
    """
    sizes = members.groupby("group").size().reindex([*members["group"].unique(), dropout["group"]], fill_value=0)
    sizes = sizes[~sizes.index.duplicated()]
    if sizes.max() - sizes[dropout["group"]] <= 1:
        return None
    largest = members[members["group"].isin(sizes.index[sizes == sizes.max()])]
    alike = largest
    for column in balance:
        alike = alike[alike[column].astype(str) == str(dropout[column])]
    pool = alike if len(alike) else largest
    chosen = pool.iloc[int(rng.integers(len(pool)))]
    return str(chosen["participant_id"]), dropout["group"]
