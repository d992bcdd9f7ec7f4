"""Opinion change per item: distributions per wave, paired tests and multiple-testing adjustment.

DOMAIN.md §3.2. Input is scored long answers (``participant_id, wave, item_code, raw, value``) as
produced by ``deliberation.analysis.score_answers``. Don't-know and declared missing codes are their
own rows in distributions (counted in the denominator) and are excluded from means and tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from deliberation.analysis import CHANGE_COLUMNS, by_item, item_rows, items_waves, paired_t, pairs_of
from deliberation.instrument import Instrument, Item

DONT_KNOW = "DK"
NO_ANSWER = "NA"

# Wilcoxon signed-rank options, pinned (scipy.stats.wilcoxon) and printed in every result row.
WILCOXON_ZERO_METHOD = "wilcox"  # zero differences are dropped before ranking
WILCOXON_CORRECTION = False  # no continuity correction
WILCOXON_METHOD = "approx"  # normal approximation with tie correction, whatever n

DISTRIBUTION_COLUMNS = ("item", "wave", "answer", "is_substantive", "count", "n", "share")
MODE_COLUMNS = ("item", "wave", "answer", "count", "n", "share", "label")
TEST_COLUMNS = (
    *CHANGE_COLUMNS,
    "wilcoxon_statistic",
    "wilcoxon_z",
    "wilcoxon_p_value",
    "wilcoxon_n_nonzero",
    "wilcoxon_zero_method",
    "wilcoxon_correction",
    "wilcoxon_method",
    "p_holm",
    "p_bh",
    "wilcoxon_p_holm",
    "wilcoxon_p_bh",
)
MCNEMAR_COLUMNS = (
    "item",
    "n_pairs",
    "yes_pre",
    "yes_post",
    "share_yes_pre",
    "share_yes_post",
    "n_yes_to_no",
    "n_no_to_yes",
    "statistic",
    "p_value",
    "method",
)


def answer_category(item: Item, raw: pd.Series) -> pd.Series:
    """Map raw answers to their category: the answer itself, ``DK`` for don't-know codes, ``NA`` for
    declared missing codes and empty cells."""
    cells = raw.astype(str).str.strip()
    missing = cells.isin(item.missing) | cells.isin(["", "nan", "None", "<NA>"])
    return cells.mask(cells.isin(item.dont_know), DONT_KNOW).mask(missing, NO_ANSWER)


def distributions(scored: pd.DataFrame, instrument: Instrument, *, waves: list[str]) -> pd.DataFrame:
    """Full answer distribution of every attitude item at each wave.

    Columns: ``item, wave, answer, is_substantive, count, n, share``. ``answer`` is the raw answer or
    ``DK``/``NA``; ``n`` counts everyone who received the item at that wave, DK and NA included, and
    ``share = count / n``. Unweighted. Scale points nobody chose appear with count 0.
    """
    rows = []
    parts = by_item(scored)
    for item in instrument.attitude_items:
        rows_of_item = item_rows(parts, item.code, scored)
        for wave in waves:
            part = rows_of_item[rows_of_item["wave"] == wave]
            if part.empty:
                continue
            cats = answer_category(item, part["raw"])
            counts = cats.value_counts()
            n = int(counts.sum())
            scale = []
            if item.scale_min is not None and item.scale_max is not None:
                scale = [str(int(v)) for v in np.arange(item.scale_min, item.scale_max + 1)]
            extra = sorted(set(counts.index) - set(scale) - {DONT_KNOW, NO_ANSWER})
            for answer in [*scale, *extra, DONT_KNOW, NO_ANSWER]:
                count = int(counts.get(answer, 0))
                if answer in (DONT_KNOW, NO_ANSWER) and count == 0:
                    continue
                rows.append(
                    {
                        "item": item.code,
                        "wave": wave,
                        "answer": answer,
                        "is_substantive": answer not in (DONT_KNOW, NO_ANSWER),
                        "count": count,
                        "n": n,
                        "share": count / n,
                    }
                )
    return pd.DataFrame(rows, columns=list(DISTRIBUTION_COLUMNS))


def consensus_label(share: float) -> str:
    """``supermajority`` if share > 2/3, ``majority`` if > 1/2, else ``plurality`` (DOMAIN.md §3.2)."""
    if share > 2 / 3:
        return "supermajority"
    if share > 1 / 2:
        return "majority"
    return "plurality"


def modal_answers(table: pd.DataFrame) -> pd.DataFrame:
    """The modal answer of each item and wave in a ``distributions`` table, with its label.

    Columns: ``item, wave, answer, count, n, share, label``; the share uses the table's denominator
    (DK and NA included). Ties list every tied answer, one row each.
    """
    rows = []
    for (item, wave), part in table.groupby(["item", "wave"], sort=False):
        top = part[part["count"] == part["count"].max()]
        for _, r in top.iterrows():
            rows.append(
                {
                    "item": item,
                    "wave": wave,
                    "answer": r["answer"],
                    "count": int(r["count"]),
                    "n": int(r["n"]),
                    "share": float(r["share"]),
                    "label": consensus_label(float(r["share"])),
                }
            )
    return pd.DataFrame(rows, columns=list(MODE_COLUMNS))


def _adjusted(p_values: np.ndarray, method: str) -> np.ndarray:
    """statsmodels ``multipletests(p, method=method)`` on the non-NaN p-values; NaN stays NaN."""
    from statsmodels.stats.multitest import multipletests  # lazy: statsmodels adds ~1 s to every klero start-up

    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p: ``max_{j≤i} min(1, (m−j+1)·p_(j))`` (Holm 1979). NaN stays NaN."""
    return _adjusted(p_values, "holm")


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p: ``min_{j≥i} min(1, m·p_(j)/j)`` (BH 1995). NaN stays NaN."""
    return _adjusted(p_values, "fdr_bh")


def wilcoxon_signed_rank(pre: np.ndarray, post: np.ndarray) -> dict[str, float | str | bool | int]:
    """Wilcoxon signed-rank test of ``d = post − pre`` with the pinned options above.

    ``wilcoxon_statistic`` is min(R+, R−) as scipy reports it for a two-sided test; ``wilcoxon_z`` is
    the normal-approximation z (scipy ``method="approx"``, tie-corrected variance).
    """
    diff = post - pre
    nonzero = int(np.count_nonzero(diff))
    base: dict[str, float | str | bool | int] = {
        "wilcoxon_n_nonzero": nonzero,
        "wilcoxon_zero_method": WILCOXON_ZERO_METHOD,
        "wilcoxon_correction": WILCOXON_CORRECTION,
        "wilcoxon_method": WILCOXON_METHOD,
    }
    if nonzero == 0:
        return {**base, "wilcoxon_statistic": np.nan, "wilcoxon_z": np.nan, "wilcoxon_p_value": np.nan}
    res = stats.wilcoxon(diff, zero_method=WILCOXON_ZERO_METHOD, correction=WILCOXON_CORRECTION, method=WILCOXON_METHOD)
    z = float(getattr(res, "zstatistic", np.nan))
    return {
        **base,
        "wilcoxon_statistic": float(res.statistic),
        "wilcoxon_z": z,
        "wilcoxon_p_value": float(res.pvalue),
    }


def _pairs(waves: pd.DataFrame) -> pd.DataFrame:
    pairs = pairs_of(waves)
    return pd.DataFrame(columns=["pre", "post"]) if pairs is None else pairs


def assess_change(scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str) -> pd.DataFrame:
    """Paired t, Wilcoxon signed-rank and adjusted p per attitude item, on complete pairs.

    Columns: those of ``analysis.summarise_change`` (``item, n_pairs, mean_pre, mean_post,
    mean_change, sd_change, t, df, p_value, ci_low, ci_high, d_z``) plus ``wilcoxon_statistic,
    wilcoxon_z, wilcoxon_p_value, wilcoxon_n_nonzero, wilcoxon_zero_method, wilcoxon_correction,
    wilcoxon_method`` and Holm / Benjamini–Hochberg adjusted p across the items of this comparison:
    ``p_holm, p_bh`` (t-test) and ``wilcoxon_p_holm, wilcoxon_p_bh``. Raw p stays in ``p_value`` and
    ``wilcoxon_p_value``. DK and missing are excluded (value NaN). Unweighted.
    """
    rows = []
    waves = items_waves(scored, [i.code for i in instrument.attitude_items], pre=pre, post=post)
    for item in instrument.attitude_items:
        pair = _pairs(waves[item.code])
        a, b = pair["pre"].to_numpy(dtype=float), pair["post"].to_numpy(dtype=float)
        rows.append({"item": item.code, **paired_t(a, b), **wilcoxon_signed_rank(a, b)})
    adjusted = ("p_holm", "p_bh", "wilcoxon_p_holm", "wilcoxon_p_bh")
    table = pd.DataFrame(rows, columns=[c for c in TEST_COLUMNS if c not in adjusted])
    table["p_holm"] = holm(table["p_value"].to_numpy(dtype=float))
    table["p_bh"] = benjamini_hochberg(table["p_value"].to_numpy(dtype=float))
    table["wilcoxon_p_holm"] = holm(table["wilcoxon_p_value"].to_numpy(dtype=float))
    table["wilcoxon_p_bh"] = benjamini_hochberg(table["wilcoxon_p_value"].to_numpy(dtype=float))
    return table[list(TEST_COLUMNS)]


def mcnemar(scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str) -> pd.DataFrame:
    """McNemar's test for each yes/no item (values 1 = yes, 0 = no) on complete pairs.

    Exact form: with b = yes→no and c = no→yes, ``p = min(1, 2·P(X ≤ min(b, c)))``, X ~ Bin(b+c, ½);
    ``statistic = (b − c)²/(b + c)`` (uncorrected χ², shown for reference). Columns: ``item, n_pairs,
    yes_pre, yes_post, share_yes_pre, share_yes_post, n_yes_to_no, n_no_to_yes, statistic, p_value,
    method``. DK and missing are excluded. Unweighted.
    """
    rows = []
    waves = items_waves(scored, [i.code for i in instrument.attitude_items], pre=pre, post=post)
    for item in instrument.attitude_items:
        if item.kind != "yesno":
            continue
        pair = _pairs(waves[item.code])
        a, b_ = pair["pre"].to_numpy(dtype=float), pair["post"].to_numpy(dtype=float)
        n = len(a)
        b = int(((a == 1) & (b_ == 0)).sum())
        c = int(((a == 0) & (b_ == 1)).sum())
        discordant = b + c
        p = float(stats.binomtest(min(b, c), discordant, 0.5).pvalue) if discordant else np.nan
        rows.append(
            {
                "item": item.code,
                "n_pairs": n,
                "yes_pre": int((a == 1).sum()),
                "yes_post": int((b_ == 1).sum()),
                "share_yes_pre": float((a == 1).mean()) if n else np.nan,
                "share_yes_post": float((b_ == 1).mean()) if n else np.nan,
                "n_yes_to_no": b,
                "n_no_to_yes": c,
                "statistic": (b - c) ** 2 / discordant if discordant else np.nan,
                "p_value": p,
                "method": "exact binomial",
            }
        )
    return pd.DataFrame(rows, columns=list(MCNEMAR_COLUMNS))


STUART_MAXWELL_COLUMNS = ("item", "n_pairs", "n_categories", "statistic", "df", "p_value", "note")


def stuart_maxwell(scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str) -> pd.DataFrame:
    """Stuart–Maxwell test of marginal homogeneity of each attitude item's pre × post table.

    On complete pairs (DK/missing excluded), with categories that occur at either wave: ``d_i =
    n_i· − n_·i`` for the first k−1 categories, ``S_ii = n_i· + n_·i − 2n_ii``, ``S_ij = −(n_ij + n_ji)``,
    ``X² = d'S⁻¹d`` with k−1 df (Stuart 1955; Maxwell 1970). A category nobody moved into or out of
    has a zero row and column in S and d_i = 0; it is dropped (named in ``note``) and df falls by one,
    the same as using the generalised inverse of S. Columns: ``item, n_pairs, n_categories`` (before
    dropping), ``statistic, df, p_value, note``. Unweighted.
    """
    rows = []
    waves = items_waves(scored, [i.code for i in instrument.attitude_items], pre=pre, post=post)
    for item in instrument.attitude_items:
        pair = _pairs(waves[item.code])
        cats = np.union1d(pair["pre"].unique(), pair["post"].unique())
        k = len(cats)
        row: dict[str, object] = {"item": item.code, "n_pairs": len(pair), "n_categories": k}
        if k < 2:
            rows.append({**row, "statistic": np.nan, "df": 0, "p_value": np.nan, "note": "fewer than 2 categories"})
            continue
        i = np.searchsorted(cats, pair["pre"].to_numpy())
        j = np.searchsorted(cats, pair["post"].to_numpy())
        table = np.zeros((k, k))
        np.add.at(table, (i, j), 1)
        moved = table.sum(axis=1) + table.sum(axis=0) - 2 * np.diag(table) > 0
        note = "" if moved.all() else "without change, dropped: " + ", ".join(f"{c:g}" for c in cats[~moved])
        table = table[np.ix_(moved, moved)]
        k = int(moved.sum())
        if k < 2:
            rows.append({**row, "statistic": np.nan, "df": 0, "p_value": np.nan, "note": "nobody changed answer"})
            continue
        d = (table.sum(axis=1) - table.sum(axis=0))[:-1]
        s = -(table + table.T)
        np.fill_diagonal(s, table.sum(axis=1) + table.sum(axis=0) - 2 * np.diag(table))
        s = s[:-1, :-1]
        if np.linalg.matrix_rank(s) < k - 1:
            rows.append({**row, "statistic": np.nan, "df": k - 1, "p_value": np.nan, "note": "singular S"})
            continue
        chi2 = float(d @ np.linalg.solve(s, d))
        p_value = float(stats.chi2.sf(chi2, k - 1))
        rows.append({**row, "statistic": chi2, "df": k - 1, "p_value": p_value, "note": note})
    return pd.DataFrame(rows, columns=list(STUART_MAXWELL_COLUMNS))
