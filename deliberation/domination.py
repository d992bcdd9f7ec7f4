"""Domination in small groups (DOMAIN.md §3.7): did groups move toward their advantaged members?

Luskin, Sood, Fishkin & Hahn, "Deliberative Distortions?", BJPolS 2022, Eq. 3, as implemented in
soodoku/distortions ``clean/00_functions.R`` (``signed_move``, ``dom_pairs_index``) and
``clean/02_domination.R``: the signed movement of an entity from T1 to T2 toward a reference point
is ``(m_post − m_pre)·sign(ref_pre − m_pre)``; undefined (NaN) when the reference equals the
entity's T1 mean, 0 when the entity did not move. For each group and 0–1 index, with means over the
available cases of the members whose characteristic is known, and only for groups with at least one
advantaged and one disadvantaged member:

- ``toward_adv_group`` — the whole group toward the advantaged subgroup's T1 mean (D);
- ``toward_adv_dis`` — the disadvantaged subgroup toward the advantaged T1 mean;
- ``toward_dis_group`` — mirror: the group toward the disadvantaged T1 mean;
- ``toward_dis_adv`` — mirror: the advantaged subgroup toward the disadvantaged T1 mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EPS = 1e-12
DOMINATION_COLUMNS = (
    "characteristic",
    "group",
    "index",
    "n_adv",
    "n_dis",
    "adv_pre",
    "adv_post",
    "dis_pre",
    "dis_post",
    "grp_pre",
    "grp_post",
    "toward_adv_group",
    "toward_adv_dis",
    "toward_dis_group",
    "toward_dis_adv",
)
MEASURES = ("toward_adv_group", "toward_adv_dis", "toward_dis_group", "toward_dis_adv")
SUMMARY_COLUMNS = ("characteristic", "measure", "n_pairs", "frequency", "extent")


def signed_move(pre: float, post: float, reference: float) -> float:
    """``(post − pre)·sign(reference − pre)``; NaN if ``|reference − pre| < 1e-12`` or a value is
    missing, 0 if ``|post − pre| < 1e-12`` (distortions ``signed_move``)."""
    gap, move = reference - pre, post - pre
    if np.isnan(gap) or np.isnan(move) or abs(gap) < EPS:
        return float("nan")
    return 0.0 if abs(move) < EPS else float(move * np.sign(gap))


def signed_moves(pre: np.ndarray, post: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``signed_move`` element-wise over arrays."""
    gap, move = reference - pre, post - pre
    out = np.where(np.abs(move) < EPS, 0.0, move * np.sign(gap))
    out[np.isnan(gap) | np.isnan(move) | (np.abs(gap) < EPS)] = np.nan
    return out


def group_domination(
    values: pd.DataFrame, groups: pd.Series, advantaged: pd.Series, *, pre: str, post: str, characteristic: str
) -> pd.DataFrame:
    """Per group and index, the four signed movements of the module docstring.

    ``values``: long ``participant_id, wave, index, value`` (0–1, NaN = not available); ``groups``:
    participant id → group; ``advantaged``: participant id → True/False (NaN or absent = unknown,
    left out). Columns: ``characteristic, group, index, n_adv, n_dis`` (members with the
    characteristic known), subgroup and group means at ``pre`` and ``post``, and the measures.
    """
    known = advantaged.dropna().astype(bool)
    frame = values[values["wave"].isin([pre, post]) & values["participant_id"].isin(known.index)]
    frame = frame.assign(group=frame["participant_id"].map(groups), adv=frame["participant_id"].map(known))
    frame = frame.dropna(subset=["group"])
    members = pd.DataFrame({"group": groups.reindex(known.index), "adv": known}).dropna(subset=["group"])
    size = members.groupby(["group", "adv"]).size().unstack(fill_value=0).reindex(columns=[True, False], fill_value=0)
    available = frame.dropna(subset=["value"])
    sub = available.groupby(["group", "index", "adv", "wave"])["value"].mean().unstack(["adv", "wave"])
    whole = available.groupby(["group", "index", "wave"])["value"].mean().unstack("wave")
    means = pd.DataFrame(index=whole.index)
    for w, wave in (("pre", pre), ("post", post)):
        means[f"adv_{w}"] = sub.get((True, wave), pd.Series(np.nan, index=sub.index)).reindex(means.index)
        means[f"dis_{w}"] = sub.get((False, wave), pd.Series(np.nan, index=sub.index)).reindex(means.index)
        means[f"grp_{w}"] = whole.get(wave, pd.Series(np.nan, index=whole.index))
    group_of = means.index.get_level_values("group")
    n_adv = size[True].reindex(group_of).to_numpy()
    n_dis = size[False].reindex(group_of).to_numpy()
    mixed = (n_adv > 0) & (n_dis > 0)  # groups with both an advantaged and a disadvantaged member
    m = {column: means[column].to_numpy(dtype=float)[mixed] for column in means.columns}
    table = {
        "characteristic": characteristic,
        "group": group_of[mixed],
        "index": means.index.get_level_values("index")[mixed],
        "n_adv": n_adv[mixed].astype(int),
        "n_dis": n_dis[mixed].astype(int),
        **m,
        "toward_adv_group": signed_moves(m["grp_pre"], m["grp_post"], m["adv_pre"]),
        "toward_adv_dis": signed_moves(m["dis_pre"], m["dis_post"], m["adv_pre"]),
        "toward_dis_group": signed_moves(m["grp_pre"], m["grp_post"], m["dis_pre"]),
        "toward_dis_adv": signed_moves(m["adv_pre"], m["adv_post"], m["dis_pre"]),
    }
    return pd.DataFrame(table, columns=list(DOMINATION_COLUMNS))


def summarise_domination(table: pd.DataFrame) -> pd.DataFrame:
    """Per characteristic and measure, over group–index pairs where it is defined: ``n_pairs``,
    ``frequency`` (share of pairs that moved toward the reference, > 1e-12) and ``extent`` (mean
    signed movement) — the paper's freqgrp/extgrp, freqdis/extdis and their mirrors."""
    rows = []
    for characteristic, part in table.groupby("characteristic", sort=False):
        for measure in MEASURES:
            moves = part[measure].dropna()
            rows.append(
                {
                    "characteristic": characteristic,
                    "measure": measure,
                    "n_pairs": len(moves),
                    "frequency": float((moves > EPS).mean()) if len(moves) else np.nan,
                    "extent": float(moves.mean()) if len(moves) else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
