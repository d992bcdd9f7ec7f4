"""Change vs knowledge gain regression against numpy normal equations and the HC2 sandwich."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deliberation.analysis import score_answers
from deliberation.instrument import instrument_from_dict
from deliberation.knowledge import change_on_knowledge

INSTRUMENT = instrument_from_dict(
    {
        "items": [
            {"code": "A", "kind": "likert", "text": "a", "min": 1, "max": 7},
            *({"code": f"K{j}", "kind": "knowledge", "text": "k", "correct": "1"} for j in range(4)),
        ],
        "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T3", "kind": "post"}],
    },
    source="test",
)


def test_change_on_knowledge_matches_hand_ols_hc2() -> None:
    rng = np.random.default_rng(17)
    n = 80
    ids = [f"p{i}" for i in range(n)]
    rows = []
    k1 = rng.integers(0, 2, (n, 4))
    k2 = np.maximum(k1, rng.integers(0, 2, (n, 4)))
    a1 = rng.integers(1, 8, n)
    a2 = np.clip(a1 + np.rint(k2.sum(1) - k1.sum(1) + rng.normal(0, 1, n)).astype(int), 1, 7)
    for i, pid in enumerate(ids):
        rows += [(pid, "T1", "A", str(a1[i])), (pid, "T3", "A", str(a2[i]))]
        rows += [(pid, w, f"K{j}", str(k[i, j])) for j in range(4) for w, k in (("T1", k1), ("T3", k2))]
    scored = score_answers(pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "raw"]), INSTRUMENT)
    table = change_on_knowledge(scored, INSTRUMENT, pre="T1", post="T3")
    got = table[table["outcome"] == "signed"].set_index("term")
    # Independent: normal equations and HC2 sandwich in numpy on the same variables.
    dk = k2.mean(1) - k1.mean(1)
    x = np.column_stack([np.ones(n), dk, a1, k1.mean(1)]).astype(float)
    y = (a2 - a1).astype(float)
    inv = np.linalg.inv(x.T @ x)
    beta = inv @ x.T @ y
    e = y - x @ beta
    h = np.einsum("ij,jk,ik->i", x, inv, x)
    se = np.sqrt(np.diag(inv @ (x.T * (e**2 / (1 - h))) @ x @ inv))
    np.testing.assert_allclose(got.loc[["const", "delta_k", "y_pre", "k_pre"], "coefficient"], beta, rtol=1e-9)
    np.testing.assert_allclose(got.loc[["const", "delta_k", "y_pre", "k_pre"], "se"], se, rtol=1e-9)
    assert set(table["n"]) == {n}
    absolute = table[(table["outcome"] == "absolute") & (table["term"] == "delta_k")]
    beta_abs = inv @ x.T @ np.abs(y)
    assert absolute["coefficient"].item() == pytest.approx(beta_abs[1], rel=1e-9)


def test_collinear_design_is_a_named_row() -> None:
    # Everyone answers every knowledge item correctly at T3, so ΔK = 1 − K_pre: collinear.
    rows = []
    for i in range(12):
        pid = f"p{i}"
        rows += [(pid, "T1", "A", str(1 + i % 7)), (pid, "T3", "A", str(1 + (i + 1) % 7))]
        rows += [(pid, "T1", f"K{j}", str((i + j) % 2)) for j in range(4)]
        rows += [(pid, "T3", f"K{j}", "1") for j in range(4)]
    scored = score_answers(pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "raw"]), INSTRUMENT)
    table = change_on_knowledge(scored, INSTRUMENT, pre="T1", post="T3")
    assert table["term"].tolist() == ["(not fitted)"]
    assert "collinear" in table["note"].item()


def test_a_person_alone_fixing_a_coefficient_gives_no_standard_error() -> None:
    # Only p0 gains knowledge and only p1 starts at 1 of 4: the ΔK and K_pre columns are each one
    # person's indicator, so both have leverage 1 and HC2's e²/(1 − h) is 0/0 (it warned and crashed
    # the analysis once, on a panel that happened to be drawn so).
    rows = []
    for i in range(8):
        pid = f"p{i}"
        pre = [1, 0, 0, 0] if i == 1 else [1, 1, 0, 0]
        post = [1, 1, 1, 0] if i == 0 else pre
        rows += [(pid, "T1", "A", str(1 + i % 7)), (pid, "T3", "A", str(1 + (i * 3) % 7))]
        rows += [(pid, w, f"K{j}", str(k[j])) for j in range(4) for w, k in (("T1", pre), ("T3", post))]
    scored = score_answers(pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "raw"]), INSTRUMENT)
    table = change_on_knowledge(scored, INSTRUMENT, pre="T1", post="T3")  # warnings are errors in the suite
    signed = table[table["outcome"] == "signed"].set_index("term")
    # The coefficients stand (least squares by hand), only their standard errors are undefined.
    y_pre = np.array([1 + i % 7 for i in range(8)], dtype=float)
    x = np.column_stack([np.ones(8), np.eye(8)[0] * 0.25, y_pre, 0.5 - np.eye(8)[1] * 0.25])
    y = np.array([1 + (i * 3) % 7 for i in range(8)], dtype=float) - y_pre
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    np.testing.assert_allclose(signed.loc[["const", "delta_k", "y_pre", "k_pre"], "coefficient"], beta, rtol=1e-9)
    assert signed[["se", "ci_low", "ci_high", "p_value"]].isna().all().all()
    assert set(table["note"]) == {
        "no standard error: one person alone determines a coefficient (leverage 1, HC2 undefined)"
    }
