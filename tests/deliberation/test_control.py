"""Control-group ANCOVA (HC2) and gain difference against independent numpy formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from deliberation.control import ancova, gain_difference
from kleroterion.errors import KleroError


def trial(seed: int = 4, n_t: int = 50, n_c: int = 70) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    treat = np.r_[np.ones(n_t), np.zeros(n_c)]
    pre = rng.uniform(0, 1, n_t + n_c)
    post = 0.1 + 0.15 * treat + 0.6 * pre + rng.normal(0, 0.1 + 0.1 * treat, n_t + n_c)
    return pd.DataFrame({"pre": pre, "post": post, "treat": treat})


def test_ancova_matches_hand_sandwich_hc2() -> None:
    frame = trial()
    row = ancova(frame, contrast="attended vs control").iloc[0]
    # Independent: normal equations and the HC2 sandwich (MacKinnon & White 1985) written out in numpy:
    # V = (X'X)^-1 X' diag(e_i² / (1 − h_ii)) X (X'X)^-1.
    x = np.column_stack([np.ones(len(frame)), frame["treat"], frame["pre"]])
    y = frame["post"].to_numpy()
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    e = y - x @ beta
    h = np.einsum("ij,jk,ik->i", x, xtx_inv, x)
    v = xtx_inv @ (x.T * (e**2 / (1 - h))) @ x @ xtx_inv
    se = np.sqrt(v[1, 1])
    assert row["tau"] == pytest.approx(beta[1], rel=1e-10)
    assert row["se"] == pytest.approx(se, rel=1e-10)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(beta[1] / se)), rel=1e-8)
    assert row["ci_low"] == pytest.approx(beta[1] - stats.norm.ppf(0.975) * se, rel=1e-10)
    sd_c = frame.loc[frame["treat"] == 0, "pre"].std(ddof=1)
    assert row["standardised_tau"] == pytest.approx(beta[1] / sd_c)


def test_gain_difference_hand_worked_and_bootstrap_se() -> None:
    frame = pd.DataFrame(
        {"pre": [0.2, 0.4, 0.6, 0.5, 0.5, np.nan], "post": [0.6, 0.6, 0.8, 0.5, 0.7, 0.9], "treat": [1, 1, 1, 0, 0, 1]}
    )
    # treated gains .4, .2, .2 -> .2667; control gains 0, .2 -> .1; difference 1/6; one row excluded.
    row = gain_difference(frame, contrast="x", rng=np.random.default_rng(0)).iloc[0]
    assert row["gain_difference"] == pytest.approx(0.8 / 3 - 0.1)
    assert row["n_excluded"] == 1
    big = trial(seed=9, n_t=200, n_c=300)
    res = gain_difference(big, contrast="x", rng=np.random.default_rng(1), n_bootstrap=4000).iloc[0]
    d = big["post"] - big["pre"]
    dt, dc = d[big["treat"] == 1], d[big["treat"] == 0]
    # Independent: analytic SE √(s_T²/n_T + s_C²/n_C); percentile CI width ≈ 2·1.96·SE within 10%.
    se = np.sqrt(dt.var(ddof=1) / len(dt) + dc.var(ddof=1) / len(dc))
    assert (res["ci_high"] - res["ci_low"]) == pytest.approx(2 * 1.959964 * se, rel=0.1)
    again = gain_difference(big, contrast="x", rng=np.random.default_rng(1), n_bootstrap=4000).iloc[0]
    assert again["ci_low"] == res["ci_low"]


def test_too_few_bootstrap_resamples_is_an_error() -> None:
    with pytest.raises(KleroError):
        gain_difference(trial(), contrast="x", rng=np.random.default_rng(0), n_bootstrap=500)


def test_control_effects_per_outcome_match_direct_calls() -> None:
    from deliberation.analysis import score_answers
    from deliberation.control import control_effects
    from deliberation.instrument import instrument_from_dict

    instrument = instrument_from_dict(
        {
            "items": [
                {"code": "A", "kind": "likert", "text": "a", "min": 1, "max": 5},
                {"code": "K", "kind": "knowledge", "text": "k", "correct": "1"},
            ],
            "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T3", "kind": "post"}],
        },
        source="test",
    )
    rng = np.random.default_rng(3)
    n = 60
    ids = [f"p{i}" for i in range(n)]
    arm = pd.Series(["participant"] * 25 + ["control"] * 30 + ["invited"] * 5, index=ids)
    a1 = rng.integers(1, 6, n)
    a3 = np.clip(a1 + (arm.to_numpy() == "participant") + rng.integers(-1, 2, n), 1, 5)
    rows = [(pid, "T1", "A", str(a1[i])) for i, pid in enumerate(ids)]
    rows += [(pid, "T3", "A", str(a3[i])) for i, pid in enumerate(ids)]
    rows += [(pid, w, "K", str(rng.integers(0, 2))) for pid in ids for w in ("T1", "T3")]
    scored = score_answers(pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "raw"]), instrument)
    anc, gain = control_effects(scored, instrument, arm, pre="T1", post="T3", rng=np.random.default_rng(0))
    assert anc["outcome"].tolist() == ["A", "knowledge_score"]
    keep = arm != "invited"
    direct = pd.DataFrame({"pre": a1[keep], "post": a3[keep], "treat": (arm[keep] == "participant").astype(int)})
    ref = ancova(direct, contrast="attended vs control").iloc[0]  # same estimator on a hand-built frame
    row = anc.set_index("outcome").loc["A"]
    assert row["tau"] == pytest.approx(ref["tau"], rel=1e-12)
    assert (row["n_treated"], row["n_control"]) == (25, 30)
    d = direct["post"] - direct["pre"]
    hand = d[direct["treat"] == 1].mean() - d[direct["treat"] == 0].mean()  # gain difference by hand
    assert gain.set_index("outcome").loc["A", "gain_difference"] == pytest.approx(hand)


def test_intention_to_treat_pools_attenders_and_no_shows_against_control() -> None:
    from deliberation.analysis import score_answers
    from deliberation.control import control_effects
    from deliberation.instrument import instrument_from_dict

    instrument = instrument_from_dict(
        {
            "items": [{"code": "A", "kind": "likert", "text": "a", "min": 1, "max": 5}],
            "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T2", "kind": "post"}],
        },
        source="test",
    )
    rng = np.random.default_rng(11)
    arm = pd.Series(["participant"] * 20 + ["invited"] * 40 + ["control"] * 30, index=[f"p{i}" for i in range(90)])
    a1 = rng.integers(1, 6, len(arm))
    a2 = np.clip(a1 + 2 * (arm.to_numpy() == "participant") + rng.integers(-1, 2, len(arm)), 1, 5)
    rows = [(pid, w, "A", str(v[i])) for i, pid in enumerate(arm.index) for w, v in (("T1", a1), ("T2", a2))]
    scored = score_answers(pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "raw"]), instrument)
    anc, gain = control_effects(
        scored, instrument, arm, pre="T1", post="T2", rng=np.random.default_rng(0), contrast="invited"
    )
    row = anc.iloc[0]
    assert row["contrast"] == "invited vs control (intention to treat)"
    assert (row["n_treated"], row["n_control"]) == (60, 30)
    # Independent: OLS normal equations with treat = 1 for all 60 invitees, 0 for the 30 controls.
    treat = (arm != "control").to_numpy(dtype=float)
    x = np.column_stack([np.ones(len(arm)), treat, a1])
    beta = np.linalg.lstsq(x, a2.astype(float), rcond=None)[0]
    assert row["tau"] == pytest.approx(beta[1], rel=1e-10)
    d = (a2 - a1).astype(float)
    hand = d[treat == 1].mean() - d[treat == 0].mean()
    assert gain.iloc[0]["gain_difference"] == pytest.approx(hand, rel=1e-12)
    attended, _ = control_effects(scored, instrument, arm, pre="T1", post="T2", rng=np.random.default_rng(0))
    # Diluted by the 40 no-shows who did not move: the ITT effect is smaller than the attended one.
    assert 0 < row["tau"] < attended.iloc[0]["tau"]
    with pytest.raises(KleroError, match="contrast"):
        control_effects(scored, instrument, arm, pre="T1", post="T2", rng=np.random.default_rng(0), contrast="x")


def test_control_group_one_per_uninvited_address() -> None:
    from deliberation.control import draw_control_group

    eligible = pd.DataFrame(
        {"id": [f"r{i}" for i in range(12)], "address_key": [f"A{i // 2}" for i in range(12)]}  # 6 addresses × 2
    )
    drawn = draw_control_group(
        eligible, count=4, exclude_addresses=frozenset({"A0", "A1"}), rng=np.random.default_rng(1)
    )
    assert len(drawn) == 4 and drawn["address_key"].is_unique
    assert set(drawn["address_key"]) == {"A2", "A3", "A4", "A5"}
    again = draw_control_group(
        eligible, count=4, exclude_addresses=frozenset({"A0", "A1"}), rng=np.random.default_rng(1)
    )
    assert drawn["id"].tolist() == again["id"].tolist()
    with pytest.raises(KleroError, match="needs 5 addresses"):
        draw_control_group(eligible, count=5, exclude_addresses=frozenset({"A0", "A1"}), rng=np.random.default_rng(1))
