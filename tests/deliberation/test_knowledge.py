"""Knowledge gain against published values and paired t against scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from deliberation.analysis import knowledge_scores, paired_t, score_answers, summarise_knowledge_gain
from deliberation.instrument import instrument_from_dict
from deliberation.knowledge import summarise_knowledge_gain_answered
from tests.conftest import DATA

# soodoku/dp-learning tabs/poll_gains.csv (commit 0370a5e1), as in data/cor-sood-knowledge-batteries/PROVENANCE.md
PUBLISHED = {
    "wtu-1996": (
        230,
        0.39913043478260873,
        0.6869565217391305,
        0.2878260869565218,
        0.01753020287893481,
        0.24189775608134537,
        1.1898667090559187,
    ),
    "swepco-1996": (
        232,
        0.4353448275862069,
        0.6379310344827587,
        0.20258620689655174,
        0.020204973066791244,
        0.2345685217621958,
        0.8636547025774092,
    ),
}
LETTERS = "abcde"


def battery_answers(poll: str) -> tuple[pd.DataFrame, object]:
    """The battery as long answers (raw '1' = correct, '0' wrong, 'NA' no answer) and its instrument."""
    frame = pd.read_csv(
        DATA / "cor-sood-knowledge-batteries" / poll / "knowledge-battery.csv", dtype=str, keep_default_na=False
    )
    frame["participant_id"] = [f"r{i}" for i in range(len(frame))]
    parts = []
    for wave, suffix in (("T1", "1raw"), ("T2", "2raw")):
        cols = {f"know{x}{suffix}": f"K{x}" for x in LETTERS}
        part = (
            frame[["participant_id", *cols]]
            .rename(columns=cols)
            .melt(id_vars="participant_id", var_name="item_code", value_name="raw")
        )
        parts.append(part.assign(wave=wave))
    instrument = instrument_from_dict(
        {
            "items": [{"code": f"K{x}", "kind": "knowledge", "text": x, "correct": "1"} for x in LETTERS],
            "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T2", "kind": "post"}],
        },
        source="test",
    )
    return pd.concat(parts, ignore_index=True), instrument


@pytest.mark.parametrize("poll", sorted(PUBLISHED))
def test_knowledge_gain_reproduces_published_values(poll: str) -> None:
    answers, instrument = battery_answers(poll)
    scored = score_answers(answers, instrument)
    pre = knowledge_scores(scored, instrument, wave="T1")
    post = knowledge_scores(scored, instrument, wave="T2")
    row = summarise_knowledge_gain(pre, post).iloc[0]
    n, k1, k2, gain, se, sd1, std_gain = PUBLISHED[poll]
    assert row["n_pairs"] == n
    for got, want in (
        (row["mean_pre"], k1),
        (row["mean_post"], k2),
        (row["mean_change"], gain),
        (row["se"], se),
        (row["sd_pre"], sd1),
        (row["standardised_gain"], std_gain),
    ):
        assert got == pytest.approx(want, abs=1e-12)


def test_paired_t_matches_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(7)
    pre = rng.integers(1, 6, 40).astype(float)
    post = np.clip(pre + rng.integers(-1, 3, 40), 1, 5)
    result = paired_t(pre, post)
    ref = stats.ttest_rel(post, pre)  # scipy.stats.ttest_rel(post, pre): independent implementation
    assert result["t"] == pytest.approx(ref.statistic, rel=1e-12)
    assert result["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    ci = ref.confidence_interval(0.95)
    assert (result["ci_low"], result["ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_paired_t_hand_worked() -> None:
    # d = [1, 2, 3]: mean 2, sd 1, se 1/sqrt(3), t = 2*sqrt(3) = 3.4641, df 2, d_z = 2
    result = paired_t(np.array([1.0, 1.0, 1.0]), np.array([2.0, 3.0, 4.0]))
    assert result["t"] == pytest.approx(2 * np.sqrt(3))
    assert result["d_z"] == pytest.approx(2.0)
    assert result["df"] == 2


def test_dont_know_and_missing_codes_are_never_averaged() -> None:
    instrument = instrument_from_dict(
        {
            "items": [
                {"code": "A", "kind": "likert", "text": "a", "min": 1, "max": 5, "dont_know": ["9"], "missing": ["99"]}
            ],
            "waves": [{"code": "T1", "kind": "recruit"}],
        },
        source="test",
    )
    answers = pd.DataFrame({"participant_id": ["x", "y", "z"], "wave": "T1", "item_code": "A", "raw": ["4", "9", "99"]})
    scored = score_answers(answers, instrument)
    assert scored["value"].tolist()[0] == 4.0
    assert scored["value"].isna().tolist() == [False, True, True]


# DOMAIN.md §3.3: dropping DK gives WTU 0.214 (n = 225), published rounded to 3 decimals; SWEPCO
# 0.1144 (n = 225) is the project's own value at 4 decimals.
DROP_DK = {"wtu-1996": (225, 0.214, 5e-4), "swepco-1996": (225, 0.1144, 5e-5)}


@pytest.mark.parametrize("poll", sorted(DROP_DK))
def test_drop_dk_gain_reproduces_reference(poll: str) -> None:
    answers, _ = battery_answers(poll)
    instrument = instrument_from_dict(
        {
            "items": [
                {"code": f"K{x}", "kind": "knowledge", "text": x, "correct": "1", "missing": ["NA"]} for x in LETTERS
            ],
            "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T2", "kind": "post"}],
        },
        source="test",
    )
    scored = score_answers(answers, instrument)
    row = summarise_knowledge_gain_answered(scored, instrument, pre="T1", post="T2").iloc[0]
    n, gain, tol = DROP_DK[poll]
    assert row["n_pairs"] == n
    assert row["mean_change"] == pytest.approx(gain, abs=tol)
    # Independent computation straight from the CSV with pandas: correct/answered per wave, NaN where
    # nothing answered, mean of the difference over persons with both.
    frame = pd.read_csv(DATA / "cor-sood-knowledge-batteries" / poll / "knowledge-battery.csv")
    k1 = frame[[f"know{x}1raw" for x in LETTERS]].mean(axis=1, skipna=True)
    k2 = frame[[f"know{x}2raw" for x in LETTERS]].mean(axis=1, skipna=True)
    both = (k2 - k1).dropna()
    assert len(both) == n
    assert row["mean_change"] == pytest.approx(both.mean(), abs=1e-12)
    assert row["sd_pre"] == pytest.approx(k1[both.index].std(ddof=1), abs=1e-12)
