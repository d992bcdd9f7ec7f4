"""Opinion change and knowledge gain on paired waves (DataFrame in, tidy DataFrame out).

Answers are long: ``participant_id, wave, item_code, raw``. ``score_answers`` adds ``value``:
the numeric answer of attitude items (NaN for don't-know and declared missing codes, which are
never averaged) and, for knowledge items, 1 for the correct answer and 0 otherwise (DK and missing
count as wrong, DOMAIN.md §3.3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from deliberation.instrument import Instrument

CHANGE_COLUMNS = (
    "item",
    "n_pairs",
    "mean_pre",
    "mean_post",
    "mean_change",
    "sd_change",
    "t",
    "df",
    "p_value",
    "ci_low",
    "ci_high",
    "d_z",
)


def score_answers(answers: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Add a numeric ``value`` column; see the module docstring for the scoring rules."""
    values = np.full(len(answers), np.nan)
    # Few distinct answers: strip and score each distinct text once, then spread by its code.
    raw_codes, distinct = pd.factorize(answers["raw"].astype(str), use_na_sentinel=False)
    texts = pd.Series(distinct, dtype=object).str.strip()
    codes, labels = pd.factorize(answers["item_code"])  # one pass over the item codes, not one per item
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    for item in instrument.items:
        where = labels.get_indexer([item.code])[0]
        if where < 0:
            continue
        mask = order[bounds[where] : bounds[where + 1]]  # the positions of this item's answers
        if item.is_knowledge:
            scores = (texts == str(item.correct)).astype(float).to_numpy()
        else:
            void = texts.isin(item.dont_know + item.missing) | (texts == "")
            numbers = pd.to_numeric(texts.where(~void), errors="coerce")
            if item.reverse and item.scale_min is not None and item.scale_max is not None:
                numbers = item.scale_min + item.scale_max - numbers
            scores = numbers.to_numpy(dtype=float)
        values[mask] = scores[raw_codes[mask]]
    return answers.assign(value=values)


def paired_t(pre: np.ndarray, post: np.ndarray) -> dict[str, float]:
    """Paired t-test on complete pairs: ``d = post − pre``, ``t = d̄/(s_d/√n)``, n−1 df.

    CI ``d̄ ± t_{.975,n−1}·s_d/√n``; effect size ``d_z = d̄/s_d`` (DOMAIN.md §3.2).
    """
    diff = post - pre
    n = len(diff)
    mean = float(diff.mean()) if n else np.nan
    sd = float(diff.std(ddof=1)) if n > 1 else np.nan
    se = sd / np.sqrt(n) if n > 1 else np.nan
    if n > 1 and sd > 0:
        t = mean / se
        p = float(2 * stats.t.sf(abs(t), n - 1))
        half = float(stats.t.ppf(0.975, n - 1) * se)
    else:
        t, p, half = np.nan, np.nan, np.nan
    return {
        "n_pairs": n,
        "mean_pre": float(pre.mean()) if n else np.nan,
        "mean_post": float(post.mean()) if n else np.nan,
        "mean_change": mean,
        "sd_change": sd,
        "t": float(t),
        "df": float(n - 1) if n > 1 else np.nan,
        "p_value": p,
        "ci_low": mean - half,
        "ci_high": mean + half,
        "d_z": mean / sd if n > 1 and sd > 0 else np.nan,
    }


def _wide(scored: pd.DataFrame, wave: str, codes: list[str]) -> pd.DataFrame:
    part = scored[(scored["wave"] == wave) & scored["item_code"].isin(codes)]
    return part.pivot(index="participant_id", columns="item_code", values="value")


def by_item(scored: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of each item code, split in one pass (so per-item loops do not rescan every answer)."""
    return {str(code): part for code, part in scored.groupby("item_code", sort=False)}


def item_rows(parts: dict[str, pd.DataFrame], code: str, scored: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``code`` from ``by_item(scored)`` (none: an empty frame with ``scored``'s columns)."""
    return parts[code] if code in parts else scored.iloc[:0]


def item_waves(scored: pd.DataFrame, code: str, *, pre: str, post: str) -> pd.DataFrame:
    """One item's value per participant at two waves: columns ``pre`` and ``post`` (NaN where unanswered)."""
    part = scored[(scored["item_code"] == code) & scored["value"].notna()]
    # The first value per person and wave; persons without any value at any wave are absent.
    codes, people = pd.factorize(part["participant_id"], sort=True)
    out = np.full((len(people), 2), np.nan)
    waves, values = part["wave"].to_numpy(), part["value"].to_numpy(dtype=float)
    for j, wave in enumerate((pre, post)):
        rows = np.flatnonzero(waves == wave)[::-1]  # reversed, so each person's first value is written last
        out[codes[rows], j] = values[rows]
    return pd.DataFrame(out, index=pd.Index(people, name="participant_id"), columns=["pre", "post"])


def wave_matrix(
    scored: pd.DataFrame, codes: list[str], *, pre: str, post: str
) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Every item's values at two waves in one person × item matrix, in a single pass over ``scored``.

    Returns ``(people, before, after, present)``: the participant ids (sorted) with a value for at
    least one of ``codes`` at any wave, and person × code arrays: the first value at ``pre`` and at
    ``post`` (NaN where unanswered) and whether the person has a value of that item at any wave.
    Column k of these is what ``item_waves(scored, codes[k], …)`` gives for the present rows.
    """
    item_of_row, item_labels = pd.factorize(scored["item_code"])  # distinct codes looked up once, not per row
    items = pd.Index(codes).get_indexer(item_labels)
    item_codes = np.where(item_of_row >= 0, items[item_of_row], -1)
    keep = np.flatnonzero((item_codes >= 0) & scored["value"].notna().to_numpy())
    item_codes = item_codes[keep]
    people_codes, people = pd.factorize(scored["participant_id"].to_numpy()[keep], sort=True)
    wave_of_row, wave_labels = pd.factorize(scored["wave"].to_numpy()[keep])
    values = scored["value"].to_numpy(dtype=float)[keep]
    shape = (len(people), len(codes))
    present = np.zeros(shape, dtype=bool)
    present[people_codes, item_codes] = True
    matrices = []
    for wave in (pre, post):
        out = np.full(shape, np.nan)
        found = np.flatnonzero(np.asarray(wave_labels == wave))
        rows = np.flatnonzero(wave_of_row == found[0])[::-1] if len(found) else np.array([], dtype=np.intp)
        out[people_codes[rows], item_codes[rows]] = values[rows]  # reversed rows: each first value wins
        matrices.append(out)
    return pd.Index(people, name="participant_id"), matrices[0], matrices[1], present


def items_waves(scored: pd.DataFrame, codes: list[str], *, pre: str, post: str) -> dict[str, pd.DataFrame]:
    """``item_waves`` for every code of ``codes`` from one ``wave_matrix`` (a code without values: an
    empty frame)."""
    people, before, after, present = wave_matrix(scored, codes, pre=pre, post=post)
    out = {}
    for k, code in enumerate(codes):
        rows = np.flatnonzero(present[:, k])
        values = np.column_stack([before[rows, k], after[rows, k]])
        out[code] = pd.DataFrame(values, index=people[rows], columns=["pre", "post"])
    return out


def pairs_of(waves: pd.DataFrame) -> pd.DataFrame | None:
    """The complete pairs of one ``item_waves`` frame; None when a wave has no value (see ``complete_pairs``)."""
    missing_pre, missing_post = np.isnan(waves["pre"].to_numpy()), np.isnan(waves["post"].to_numpy())
    if missing_pre.all() or missing_post.all():
        return None
    return waves[~(missing_pre | missing_post)]


def complete_pairs(scored: pd.DataFrame, code: str, *, pre: str, post: str) -> pd.DataFrame | None:
    """Participants with a value at both waves (columns ``pre``, ``post``); None when a wave has no value."""
    return pairs_of(item_waves(scored, code, pre=pre, post=post))


def rescaled_attitudes(scored: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Attitude answers on a 0–1 scale, ``(y − min)/(max − min)`` (DOMAIN.md §3 index convention).

    Columns ``participant_id, wave, index, value`` (``index`` is the item code; NaN stays NaN).
    """
    scales = {i.code: i for i in instrument.attitude_items if i.scale_min is not None and i.scale_max is not None}
    part = scored[scored["item_code"].isin(list(scales))]
    # float maps: with no scale item (a knowledge-only instrument) the empty result stays numeric
    low = part["item_code"].map({c: float(i.scale_min or 0) for c, i in scales.items()}).astype(float)
    high = part["item_code"].map({c: float(i.scale_max or 0) for c, i in scales.items()}).astype(float)
    return pd.DataFrame(
        {
            "participant_id": part["participant_id"],
            "wave": part["wave"],
            "index": part["item_code"],
            "value": (part["value"].astype(float) - low) / (high - low),
        }
    )


def summarise_change(scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str) -> pd.DataFrame:
    """Per attitude item, opinion change between waves ``pre`` and ``post`` on complete pairs.

    Columns: ``item, n_pairs, mean_pre, mean_post, mean_change, sd_change, t, df, p_value, ci_low,
    ci_high, d_z`` (see ``paired_t``). Unweighted; n is the number of complete pairs.
    """
    codes = [i.code for i in instrument.attitude_items]
    before, after = _wide(scored, pre, codes), _wide(scored, post, codes)
    rows = []
    for code in codes:
        if code not in before or code not in after:
            continue
        pair = pd.concat([before[code], after[code]], axis=1, keys=["pre", "post"], join="inner").dropna()
        rows.append({"item": code, **paired_t(pair["pre"].to_numpy(), pair["post"].to_numpy())})
    return pd.DataFrame(rows, columns=list(CHANGE_COLUMNS))


def knowledge_scores(scored: pd.DataFrame, instrument: Instrument, *, wave: str) -> pd.Series:
    """``K_i = (1/J)·Σ_j 1[answer_ij = key_j]`` per participant who answered the wave (DK = wrong)."""
    codes = [i.code for i in instrument.knowledge_items]
    wide = _wide(scored, wave, codes).reindex(columns=codes)
    return wide.fillna(0.0).mean(axis=1)


def summarise_knowledge_gain(pre_scores: pd.Series, post_scores: pd.Series) -> pd.DataFrame:
    """Knowledge gain ``ΔK = K_post − K_pre`` on persons with both scores (DOMAIN.md §3.3).

    One row: ``n_pairs, mean_pre, mean_post, mean_change, se, ci_low, ci_high, t, p_value, sd_pre,
    standardised_gain`` with ``se = sd(ΔK)/√n`` and ``standardised_gain = mean(ΔK)/sd(K_pre)``, ddof 1.
    """
    pair = pd.concat([pre_scores, post_scores], axis=1, keys=["pre", "post"], join="inner").dropna()
    result = paired_t(pair["pre"].to_numpy(), pair["post"].to_numpy())
    n = result["n_pairs"]
    se = result["sd_change"] / np.sqrt(n) if n > 1 else np.nan
    sd_pre = float(pair["pre"].std(ddof=1)) if n > 1 else np.nan
    row = {
        "n_pairs": n,
        "mean_pre": result["mean_pre"],
        "mean_post": result["mean_post"],
        "mean_change": result["mean_change"],
        "se": se,
        "ci_low": result["ci_low"],
        "ci_high": result["ci_high"],
        "t": result["t"],
        "p_value": result["p_value"],
        "sd_pre": sd_pre,
        "standardised_gain": result["mean_change"] / sd_pre if sd_pre else np.nan,
    }
    return pd.DataFrame([row])


def integer_counts(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its count columns (``n``, ``n_*`` but not ``n_eff*``, ``count_*``) as integers
    (pandas ``Int64``, empty where unknown) when they hold whole numbers, so a row with a note and no
    count does not turn every count into a float."""
    out = table.copy()
    for column in out.columns:
        name = str(column)
        is_count = name == "n" or (name.startswith("n_") and not name.startswith("n_eff")) or name.startswith("count_")
        if not is_count or not pd.api.types.is_float_dtype(out[column]):
            continue
        values = out[column].dropna()
        if (values == values.round()).all():
            out[column] = out[column].astype("Int64")
    return out
