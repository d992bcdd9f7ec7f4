"""Weighted comparisons of a poll's arms with the respondents' own design weights (DataFrame in, tidy
DataFrame out): treatment vs control, participants vs non-participants, and nominal variables across
arms, weighted (design-based, ``deliberation.design``) and unweighted side by side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from deliberation.control import _outcome_matrix
from deliberation.design import CONTRAST_COLUMNS, RAO_SCOTT_TABLE_COLUMNS, rao_scott_independence, weighted_contrast
from deliberation.instrument import Instrument
from deliberation.weighting import weighted_mean
from sortition.errors import KleroError

OUTCOME_COLUMNS = ("participant_id", "outcome", "pre", "post")


def person_outcomes(scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str) -> pd.DataFrame:
    """Every attitude item and the knowledge score (DK = wrong among those who answered the wave) per
    person at ``pre`` and ``post``: ``participant_id, outcome, pre, post`` (NaN where unanswered)."""
    people, outcomes = _outcome_matrix(scored, instrument, pre=pre, post=post)
    parts = [
        pd.DataFrame(
            {
                "participant_id": people[outcomes.present[:, k]],
                "outcome": name,
                "pre": outcomes.pre[outcomes.present[:, k], k],
                "post": outcomes.post[outcomes.present[:, k], k],
            }
        )
        for k, name in enumerate(outcomes.names)
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(OUTCOME_COLUMNS))


def weighted_arm_contrasts(
    outcomes: pd.DataFrame,
    treated: pd.Series,
    weights: pd.Series,
    *,
    contrast: str,
    unweighted: bool = False,
) -> pd.DataFrame:
    """Treated (``treated == 1``) vs comparison (``0``) on every outcome: the weighted gain difference
    ``(ȳ_post − ȳ_pre)`` of complete pairs (difference of weighted mean gains) and the weighted ANCOVA
    ``y_post ~ treat + y_pre`` (DOMAIN.md §3.4 with design weights), both with linearisation SEs
    (``design.weighted_contrast``). ``weights`` are each person's ``pre``-wave weights; with
    ``unweighted`` every weight is 1 (the same estimators, for the unweighted column beside them).
    Persons outside ``treated`` are left out; those without a weight or a complete pair are counted in
    ``n_excluded``. Columns ``CONTRAST_COLUMNS`` plus ``weighted``.
    """
    rows = []
    for outcome, part in outcomes.groupby("outcome", sort=False):
        frame = part.set_index("participant_id")
        frame = frame[frame.index.isin(treated.index)]
        w = pd.Series(1.0, index=frame.index) if unweighted else weights.reindex(frame.index)
        frame = frame.assign(gain=frame["post"] - frame["pre"], treat=treated.reindex(frame.index), w=w)
        common = {"treated": "treat", "weight": "w", "label": str(outcome), "contrast": contrast}
        rows.append(weighted_contrast(frame, outcome="gain", estimand="gain_difference", **common))
        rows.append(weighted_contrast(frame, outcome="post", covariate="pre", estimand="ancova_tau", **common))
    table = pd.DataFrame(rows, columns=list(CONTRAST_COLUMNS))
    return table.assign(weighted=not unweighted)


def weighted_level_contrasts(
    outcomes: pd.DataFrame,
    treated: pd.Series,
    weights: pd.Series,
    *,
    wave: str,
    contrast: str,
    unweighted: bool = False,
) -> pd.DataFrame:
    """Treated vs comparison on each outcome's level at one wave (``wave`` is ``pre`` or ``post``): the
    difference of weighted means with its linearisation SE, e.g. participants vs invited
    non-participants at T1 (representativeness of attitudes and knowledge). Columns as
    ``weighted_arm_contrasts``."""
    rows = []
    for outcome, part in outcomes.groupby("outcome", sort=False):
        frame = part.set_index("participant_id")
        frame = frame[frame.index.isin(treated.index)]
        w = pd.Series(1.0, index=frame.index) if unweighted else weights.reindex(frame.index)
        frame = frame.assign(treat=treated.reindex(frame.index), w=w)
        rows.append(
            weighted_contrast(
                frame,
                outcome=wave,
                treated="treat",
                weight="w",
                label=str(outcome),
                contrast=contrast,
                estimand=f"difference_in_means_{wave}",
            )
        )
    return pd.DataFrame(rows, columns=list(CONTRAST_COLUMNS)).assign(weighted=not unweighted)


def nominal_by_arm(
    people: pd.DataFrame,
    *,
    arm: str,
    variables: Sequence[str],
    weights: pd.Series | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Each nominal ``variable`` across the arms in ``people[arm]`` (e.g. participants, invited
    non-participants, control): unweighted Pearson χ² on counts of distinct persons (no continuity
    correction; ``design_effect`` 1) or, with ``weights``, the Rao–Scott corrected weighted χ²
    (``design.rao_scott_independence``). ``labels`` renames the arms in the output. A variable that
    cannot be tested (one category, one arm) is one row with the reason in ``test``.
    """
    out = []
    groups = people[arm].map(lambda a: (labels or {}).get(a, a))
    for variable in variables:
        values = people[variable].astype(str).str.strip().replace({"nan": ""})
        try:
            if weights is None:
                table = _pearson_by_arm(groups, values, variable=variable)
            else:
                table = rao_scott_independence(groups, values, weights.reindex(people.index), variable=variable)
        except KleroError as exc:
            table = pd.DataFrame([{"variable": variable, "test": exc.message}], columns=list(RAO_SCOTT_TABLE_COLUMNS))
        out.append(table)
    frame = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=list(RAO_SCOTT_TABLE_COLUMNS))
    return frame.assign(weighted=weights is not None)


def _pearson_by_arm(groups: pd.Series, values: pd.Series, *, variable: str) -> pd.DataFrame:
    keep = values != ""
    g, v = groups[keep].astype(str), values[keep]
    counts = pd.crosstab(g, v)
    if counts.shape[0] < 2 or counts.shape[1] < 2:
        raise KleroError(f"Too few groups or categories to test {variable!r}.", code="too_few")
    res = stats.chi2_contingency(counts.to_numpy(), correction=False)
    test = {
        "chi2_pearson": float(res.statistic),
        "design_effect": 1.0,
        "chi2_rao_scott": float(res.statistic),
        "df": int(res.dof),
        "p_value": float(res.pvalue),
        "n_missing": int((~keep).sum()),
        "test": "pearson chi2 on counts, no continuity correction",
    }
    rows = []
    for group in counts.index:
        total = counts.loc[group].sum()
        for category in counts.columns:
            n = int(counts.at[group, category])
            share = n / total if total else np.nan
            rows.append(
                {
                    "variable": variable,
                    "group": group,
                    "category": category,
                    "n": n,
                    "share": share,
                    "weighted_share": share,
                    "n_eff_group": float(total),
                    **test,
                }
            )
    return pd.DataFrame(rows, columns=list(RAO_SCOTT_TABLE_COLUMNS))


#: Columns of a respondents table that are not declared variables.
STRUCTURAL = ("participant_id", "letter_code", "arm")
ARM_LABELS = {"participant": "participants", "invited": "invited non-participants", "control": "control"}


def declared_variables(participants: pd.DataFrame) -> list[str]:
    """The respondents' variables (demographics from survey files, sign-up categories, wijk)."""
    return [c for c in participants.columns if c not in STRUCTURAL]


def representativeness_by_arm(participants: pd.DataFrame, weights: pd.Series | None = None) -> pd.DataFrame:
    """Every declared variable across the arms present (participants, invited non-participants, control;
    never pooled), unweighted or with ``weights`` (Rao–Scott); see ``nominal_by_arm``."""
    people = participants.set_index("participant_id")
    if people["arm"].nunique() < 2:
        return pd.DataFrame(columns=[*RAO_SCOTT_TABLE_COLUMNS, "weighted"])
    return nominal_by_arm(
        people, arm="arm", variables=declared_variables(participants), weights=weights, labels=ARM_LABELS
    )


def design_weighted_tables(
    scored: pd.DataFrame,
    instrument: Instrument,
    participants: pd.DataFrame,
    weights: pd.Series,
    *,
    pre: str,
    post: str,
) -> dict[str, pd.DataFrame]:
    """The weighted analyses of a poll with the respondents' own ``weights`` (person -> weight at
    ``pre``), each with linearisation SEs and Kish n_eff, unweighted rows beside the weighted ones:

    - ``knowledge_gain_weighted``: the participants' weighted mean knowledge gain (``weighted_mean``);
    - ``control_weighted`` (with a control arm): participants vs control, gain difference and ANCOVA;
      ``control_weighted_itt`` when invited non-participants answered ``post`` (every invitee vs control);
    - ``participants_vs_nonparticipants_weighted`` (with invited non-participants): levels at ``pre``;
    - ``representativeness_arms_weighted``: declared variables across arms, Rao–Scott.

    ``scored`` holds the scored answers of every respondent present at each wave.
    """
    arms = participants.set_index("participant_id")["arm"]
    outcomes = person_outcomes(scored, instrument, pre=pre, post=post)
    out: dict[str, pd.DataFrame] = {}
    panel = outcomes[outcomes["participant_id"].isin(arms.index[arms == "participant"])]
    knowledge = panel[panel["outcome"] == "knowledge_score"].dropna(subset=["pre", "post"])
    if len(knowledge) > 1:
        w = weights.reindex(knowledge["participant_id"]).to_numpy(dtype=float)
        has = np.isfinite(w)
        gain = (knowledge["post"] - knowledge["pre"]).to_numpy()
        if has.sum() > 1:
            out["knowledge_gain_weighted"] = weighted_mean(gain[has], w[has]).assign(n_excluded=int((~has).sum()))
    designs: list[tuple[str, str, tuple[str, ...]]] = []
    if (arms == "control").any():
        designs.append(("control_weighted", "attended vs control", ("participant",)))
        invited_post = outcomes["participant_id"].isin(arms.index[arms == "invited"]) & outcomes["post"].notna()
        if invited_post.any():
            designs.append(
                ("control_weighted_itt", "invited vs control (intention to treat)", ("participant", "invited"))
            )
    for name, contrast, treated_arms in designs:
        in_design = arms[arms.isin([*treated_arms, "control"])]
        treated = in_design.isin(treated_arms).astype(int)
        out[name] = pd.concat(
            [
                weighted_arm_contrasts(outcomes, treated, weights, contrast=contrast),
                weighted_arm_contrasts(outcomes, treated, weights, contrast=contrast, unweighted=True),
            ],
            ignore_index=True,
        )
    if (arms == "invited").any() and (arms == "participant").any():
        in_design = arms[arms.isin(["participant", "invited"])]
        treated = (in_design == "participant").astype(int)
        contrast = "participants vs invited non-participants"
        out["participants_vs_nonparticipants_weighted"] = pd.concat(
            [
                weighted_level_contrasts(outcomes, treated, weights, wave="pre", contrast=contrast),
                weighted_level_contrasts(outcomes, treated, weights, wave="pre", contrast=contrast, unweighted=True),
            ],
            ignore_index=True,
        )
    arms_table = representativeness_by_arm(participants, weights)
    if len(arms_table):
        out["representativeness_arms_weighted"] = arms_table
    return out
