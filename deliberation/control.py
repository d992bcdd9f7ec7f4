"""Control-group effects: ANCOVA with HC2 standard errors and the gain-score difference (DOMAIN.md §3.4).

Input: one row per person with ``pre``, ``post`` (0–1 index or scale value; rows with a missing value
are excluded and counted) and ``treat`` (1 = treated arm, 0 = control). Callers define "treat"
explicitly (attended vs control, or invited vs control for intention to treat) and pass it as
``contrast`` so the table says which it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from deliberation.analysis import wave_matrix
from deliberation.instrument import Instrument
from deliberation.regression import ols_hc2
from sortition.errors import KleroError

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


@dataclass(frozen=True)
class _Outcomes:
    """Several outcomes of the same persons as person × outcome arrays (one column per outcome).

    ``treat`` is 1, 0 or NaN per person; ``present`` marks the persons an outcome has a row for
    (its complete cases and its excluded ones); ``pre``/``post`` are NaN where missing.
    """

    names: list[str]
    treat: np.ndarray
    pre: np.ndarray
    post: np.ndarray
    present: np.ndarray

    def complete(self) -> np.ndarray:
        finite = np.isfinite(self.pre) & np.isfinite(self.post)
        return self.present & finite & np.isin(self.treat, (0, 1))[:, None]


def _ancova_row(
    pre: np.ndarray, post: np.ndarray, treat: np.ndarray, *, contrast: str, excluded: int
) -> dict[str, object]:
    """One ``ancova`` row from complete cases (``ols_hc2`` = statsmodels ``OLS.fit(cov_type="HC2")``)."""
    fit = ols_hc2(post, np.column_stack([np.ones(len(post)), treat, pre]))
    tau = float(fit.params[1])
    sd_c = float(np.std(pre[treat == 0], ddof=1))
    return {
        "contrast": contrast,
        "n_treated": int((treat == 1).sum()),
        "n_control": int((treat == 0).sum()),
        "n_excluded": excluded,
        "tau": tau,
        "se": float(fit.bse[1]),
        "ci_low": float(fit.ci_low[1]),
        "ci_high": float(fit.ci_high[1]),
        "p_value": float(fit.p_values[1]),
        "beta_pre": float(fit.params[2]),
        "sd_pre_control": sd_c,
        "standardised_tau": tau / sd_c if sd_c > 0 else np.nan,
        "cov_type": "HC2, normal",
    }


def ancova(frame: pd.DataFrame, *, contrast: str) -> pd.DataFrame:
    """OLS ``post = α + τ·treat + β·pre + ε`` with HC2 (MacKinnon & White 1985) standard errors, as
    statsmodels ``OLS(...).fit(cov_type="HC2")`` (computed by ``regression.ols_hc2``); normal-based
    95% CI and p.

    One row: ``contrast, n_treated, n_control, n_excluded, tau, se, ci_low, ci_high, p_value,
    beta_pre, sd_pre_control`` (ddof 1), ``standardised_tau = τ/sd(pre | control)``, ``cov_type``.
    """
    data, excluded = _complete(frame)
    arrays = [data[c].to_numpy(dtype=float) for c in ("pre", "post", "treat")]
    row = _ancova_row(*arrays, contrast=contrast, excluded=excluded)
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
    counts = np.empty((n_bootstrap, n))
    for b, row in enumerate(draws):  # row by row: 4× faster than one bincount over offset indices
        counts[b] = np.bincount(row, minlength=n)
    return counts


def _outcomes_of_frames(frames: Mapping[str, pd.DataFrame]) -> _Outcomes:
    """The frames (``pre, post, treat`` indexed by person) as arrays over the union of their persons,
    in order of first appearance; a person's ``treat`` is the first one given."""
    treat = pd.concat([pd.to_numeric(f["treat"], errors="coerce") for f in frames.values()])
    treat = treat[~treat.index.duplicated()]
    shape = (len(treat), len(frames))
    pre, post, present = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, dtype=bool)
    for k, frame in enumerate(frames.values()):
        rows = treat.index.get_indexer(frame.index)
        pre[rows, k] = pd.to_numeric(frame["pre"], errors="coerce").to_numpy(dtype=float)
        post[rows, k] = pd.to_numeric(frame["post"], errors="coerce").to_numpy(dtype=float)
        present[rows, k] = True
    return _Outcomes(list(frames), treat.to_numpy(dtype=float), pre, post, present)


def _arm_notes(outcomes: _Outcomes, complete: np.ndarray) -> dict[str, str]:
    """Outcomes an arm has fewer than two complete cases for (the ``_complete`` rule), with the reason."""
    treated = (complete & (outcomes.treat == 1)[:, None]).sum(axis=0)
    control = (complete & (outcomes.treat == 0)[:, None]).sum(axis=0)
    return {
        name: "Each arm needs at least two complete cases."
        for name, t, c in zip(outcomes.names, treated, control, strict=True)
        if t < 2 or c < 2
    }


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
    notes: dict[str, str] = {}
    for outcome, frame in frames.items():
        try:
            _complete(frame)
        except KleroError as exc:
            notes[outcome] = exc.message
    return _gain_table(_outcomes_of_frames(frames), notes, contrast=contrast, rng=rng, n_bootstrap=n_bootstrap)


def _gain_table(
    outcomes: _Outcomes, notes: dict[str, str], *, contrast: str, rng: np.random.Generator, n_bootstrap: int
) -> pd.DataFrame:
    """The ``gain_differences`` table of ``outcomes`` (``notes``: outcomes already known not to fit).

    The bootstrap is two matrix products per arm: ``counts (B × persons) @ gains (persons × outcomes)``
    over the persons' complete gains (0 where missing) and over the indicator of a complete gain.
    """
    complete = outcomes.complete()
    notes = {**_arm_notes(outcomes, complete), **notes}
    treat = outcomes.treat
    counts = {
        arm: _resample_counts(int((treat == arm).sum()), n_bootstrap, rng) for arm in (1, 0) if (treat == arm).any()
    }
    gain = np.where(complete, outcomes.post - outcomes.pre, np.nan)
    fitted = [k for k, name in enumerate(outcomes.names) if name not in notes]
    low = high = np.full(len(outcomes.names), np.nan)
    if fitted:  # each arm has ≥ 2 persons when anything fitted
        boot = {}
        for arm in (1, 0):
            rows = gain[treat == arm][:, fitted]
            with np.errstate(invalid="ignore", divide="ignore"):
                boot[arm] = (counts[arm] @ np.nan_to_num(rows, nan=0.0)) / (counts[arm] @ np.isfinite(rows))
        low, high = np.full((2, len(outcomes.names)), np.nan)
        low[fitted], high[fitted] = np.nanquantile(boot[1] - boot[0], [0.025, 0.975], axis=0)
    rows_out: list[dict[str, object]] = []
    for k, outcome in enumerate(outcomes.names):
        if outcome in notes:
            rows_out.append({"outcome": outcome, "contrast": contrast, "note": notes[outcome]})
            continue
        arm_t, arm_c = complete[:, k] & (treat == 1), complete[:, k] & (treat == 0)
        means = {1: float(gain[arm_t, k].mean()), 0: float(gain[arm_c, k].mean())}
        estimate = means[1] - means[0]
        sd_c = float(np.std(outcomes.pre[arm_c, k], ddof=1))
        rows_out.append(
            {
                "outcome": outcome,
                "contrast": contrast,
                "n_treated": int(arm_t.sum()),
                "n_control": int(arm_c.sum()),
                "n_excluded": int(outcomes.present[:, k].sum() - complete[:, k].sum()),
                "gain_treated": means[1],
                "gain_control": means[0],
                "gain_difference": estimate,
                "ci_low": float(low[k]),
                "ci_high": float(high[k]),
                "n_bootstrap": n_bootstrap,
                "standardised_difference": estimate / sd_c if sd_c > 0 else np.nan,
                "note": "",
            }
        )
    return pd.DataFrame(rows_out, columns=["outcome", *GAIN_COLUMNS, "note"])


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


def _outcome_matrix(scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str) -> tuple[pd.Index, _Outcomes]:
    """Every attitude item and the knowledge score (``knowledge_scores``, DK = wrong, of those who
    answered the wave) of every person in ``scored``, from one person × item matrix; ``treat`` unset."""
    codes = [i.code for i in instrument.attitude_items]
    knowledge = [i.code for i in instrument.knowledge_items]
    people, before, after, present = wave_matrix(scored, codes + knowledge, pre=pre, post=post)
    names = list(codes)
    if knowledge:
        k = slice(len(codes), None)
        scores = [
            np.where(np.isnan(m[:, k]).all(axis=1), np.nan, np.nan_to_num(m[:, k]).mean(axis=1))
            for m in (before, after)
        ]
        answered = ~(np.isnan(before[:, k]) & np.isnan(after[:, k])).all(axis=1)
        before = np.column_stack([before[:, : len(codes)], scores[0]])
        after = np.column_stack([after[:, : len(codes)], scores[1]])
        present = np.column_stack([present[:, : len(codes)], answered])
        names.append("knowledge_score")
    return people, _Outcomes(names, np.full(len(people), np.nan), before, after, present)


def _select(people: pd.Index, outcomes: _Outcomes, treat: pd.Series) -> _Outcomes:
    """The persons of ``treat`` with their ``treat``, in the order the per-outcome frames would list
    them (each outcome's persons sorted by id, a person first seen at their first outcome)."""
    present = outcomes.present & people.isin(treat.index)[:, None]
    sequence = np.concatenate([np.array([], dtype=np.intp), *(np.flatnonzero(c) for c in present.T)])
    seen, first = np.unique(sequence, return_index=True)
    order = seen[np.argsort(first, kind="stable")]
    treat_values = treat.reindex(people[order]).to_numpy(dtype=float)
    return _Outcomes(outcomes.names, treat_values, outcomes.pre[order], outcomes.post[order], present[order])


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
    cases for is one row with the reason in ``note``. See ``control_contrasts`` for several at once.
    """
    tables = control_contrasts(
        scored, instrument, arms, pre=pre, post=post, rngs={contrast: rng}, n_bootstrap=n_bootstrap
    )
    return tables[contrast]


def control_contrasts(
    scored: pd.DataFrame,
    instrument: Instrument,
    arms: pd.Series,
    *,
    pre: str,
    post: str,
    rngs: Mapping[str, np.random.Generator],
    n_bootstrap: int = MIN_BOOTSTRAP,
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """``control_effects`` for each contrast of ``rngs`` (contrast → its bootstrap generator), all
    read from one person × outcome matrix (``analysis.wave_matrix``) instead of a frame per item."""
    for contrast in rngs:
        if contrast not in CONTRASTS:
            raise KleroError(f"contrast must be one of {sorted(CONTRASTS)}, not {contrast!r}.", code="contrast")
    if n_bootstrap < MIN_BOOTSTRAP:
        raise KleroError(f"Use at least {MIN_BOOTSTRAP} bootstrap resamples.", code="bootstrap_size")
    people, everyone = _outcome_matrix(scored, instrument, pre=pre, post=post)
    out = {}
    for contrast, rng in rngs.items():
        label, treated = CONTRASTS[contrast]
        in_design = arms[arms.isin([*treated, "control"])]
        outcomes = _select(people, everyone, in_design.isin(treated).astype(int))
        complete = outcomes.complete()
        notes = _arm_notes(outcomes, complete)
        out[contrast] = (
            _ancova_table(outcomes, complete, notes, contrast=label),
            _gain_table(outcomes, notes, contrast=label, rng=rng, n_bootstrap=n_bootstrap),
        )
    return out


def _ancova_table(outcomes: _Outcomes, complete: np.ndarray, notes: dict[str, str], *, contrast: str) -> pd.DataFrame:
    """One ``ancova`` row per outcome (``notes``: outcomes that cannot be fitted, with the reason)."""
    rows: list[dict[str, object]] = []
    for k, outcome in enumerate(outcomes.names):
        if outcome in notes:
            rows.append({"outcome": outcome, "contrast": contrast, "note": notes[outcome]})
            continue
        used = complete[:, k]
        excluded = int(outcomes.present[:, k].sum() - used.sum())
        values = (outcomes.pre[used, k], outcomes.post[used, k], outcomes.treat[used])
        rows.append({"outcome": outcome, **_ancova_row(*values, contrast=contrast, excluded=excluded), "note": ""})
    return pd.DataFrame(rows, columns=["outcome", *ANCOVA_COLUMNS, "note"])
