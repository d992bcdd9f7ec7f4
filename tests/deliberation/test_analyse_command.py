"""``analyse`` stores every analysis it returns; values checked against scipy on the same answers."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from deliberation.instrument import instrument_from_dict
from deliberation.plan import AnalysisRun
from kleroterion.app.analysis import AnalysisRequest, analyse
from sortition.signup import DEFAULT_CATEGORIES

INSTRUMENT = instrument_from_dict(
    {
        "name": "t",
        "items": [
            {"code": "A", "kind": "likert", "text": "a", "min": 1, "max": 5, "dont_know": ["8"]},
            {"code": "Y", "kind": "yesno", "text": "y"},
            {"code": "K", "kind": "knowledge", "text": "k", "correct": "1", "dont_know": ["8"]},
        ],
        "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T2", "kind": "post"}],
    },
    source="test",
)


class MemoryStore:
    """The four store methods ``analyse`` uses, in memory."""

    def __init__(self, participants: pd.DataFrame, answers: pd.DataFrame) -> None:
        self._participants, self._answers = participants, answers
        self.saved: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {}

    def instrument_definition(self) -> dict[str, Any]:
        return dataclasses.asdict(INSTRUMENT)

    def participants(self) -> pd.DataFrame:
        return self._participants

    def answers(self) -> pd.DataFrame:
        return self._answers

    def quotas(self) -> tuple[int, int, pd.DataFrame]:
        table = pd.DataFrame(
            {
                "category": ["gender", "gender", "wijk", "wijk"],
                "feature": ["M", "V", "W1", "W2"],
                "population_share": [0.5, 0.5, 0.6, 0.4],
            }
        )
        return 1, 40, table

    def packet_arguments(self) -> pd.DataFrame:
        return pd.DataFrame(columns=["title", "version", "option", "side", "text", "source"])

    def groups(self) -> pd.DataFrame:
        return pd.DataFrame(columns=["participant_id", "group"])

    def save_analysis_run(self, run: AnalysisRun) -> int:
        self.saved = {name: (t.frame, dict(t.parameters)) for name, t in run.tables.items()}
        self.run_parameters = dict(run.parameters)
        return 1


def test_analyse_stores_all_tables() -> None:
    rng = np.random.default_rng(5)
    n_part, n_inv, n_ctl = 40, 60, 30
    ids = [f"p{i}" for i in range(n_part + n_inv)]
    ctl_ids = [f"c{i}" for i in range(n_ctl)]
    participants = pd.DataFrame(
        {
            "participant_id": ids + ctl_ids,
            "arm": ["participant"] * n_part + ["invited"] * n_inv + ["control"] * n_ctl,
            "gender": ["M"] * 25 + ["V"] * 15 + ["M"] * 30 + ["V"] * 20 + [""] * 10 + ["M"] * n_ctl,
            "wijk": (["W1", "W2"] * 20) + ["W1"] * n_inv + ["W2"] * n_ctl,
        }
    )
    a1 = rng.integers(1, 6, len(ids))
    a2 = np.clip(a1[:n_part] + rng.integers(-1, 3, n_part), 1, 5)
    rows = []
    for i, pid in enumerate(ids):
        rows += [(pid, "T1", "A", str(a1[i])), (pid, "T1", "Y", str(i % 2)), (pid, "T1", "K", str(i % 3 == 0))]
        if i < n_part:
            rows += [(pid, "T2", "A", str(a2[i])), (pid, "T2", "Y", "1"), (pid, "T2", "K", "1")]
    c1 = rng.integers(1, 6, n_ctl)
    c2 = np.clip(c1 + rng.integers(-1, 2, n_ctl), 1, 5)
    for i, pid in enumerate(ctl_ids):
        rows += [(pid, "T1", "A", str(c1[i])), (pid, "T2", "A", str(c2[i]))]
        rows += [(pid, w, k, "0") for w in ("T1", "T2") for k in ("Y", "K")]
    answers = pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "raw"])
    answers["raw"] = answers["raw"].replace({"True": "1", "False": "0"})
    store = MemoryStore(participants, answers)
    workspace = SimpleNamespace(store=store, signup_categories=DEFAULT_CATEGORIES)
    out = analyse(workspace, AnalysisRequest(pre="T1", post="T2")).tables  # type: ignore[arg-type]
    assert {"opinion_change", "knowledge_gain"} <= set(out)
    assert set(out) == set(store.saved)
    tests = out["opinion_tests"].set_index("item")
    assert tests.loc["A", "p_value"] == pytest.approx(stats.ttest_rel(a2, a1[:n_part]).pvalue, rel=1e-10)
    mc = out["opinion_mcnemar"].iloc[0]
    assert (mc["n_no_to_yes"], mc["n_yes_to_no"]) == (20, 0)
    assert mc["p_value"] == pytest.approx(2 * 0.5**20, rel=1e-12)  # exact McNemar, b = 0, c = 20
    nominal = out["representativeness_nominal"].iloc[0]
    # participants 25/15 vs invited with a value 30/20 (10 missing, reported not tested)
    table = np.array([[25, 15], [30, 20]])
    ref = stats.chi2_contingency(table, correction=False)  # scipy: independent Pearson χ²
    assert nominal["chi2"] == pytest.approx(ref.statistic, rel=1e-12)
    assert nominal["n_missing_b"] == 10
    assert store.saved["opinion_tests"][1]["wilcoxon"]["method"] == "approx"
    # Control arm: ANCOVA against statsmodels-free normal equations (tau of post ~ 1 + treat + pre).
    pre_all = np.r_[a1[:n_part], c1].astype(float)
    post_all = np.r_[a2, c2].astype(float)
    treat = np.r_[np.ones(n_part), np.zeros(n_ctl)]
    x = np.column_stack([np.ones(len(treat)), treat, pre_all])
    beta = np.linalg.lstsq(x, post_all, rcond=None)[0]
    row = out["control_ancova"].set_index("outcome").loc["A"]
    assert row["tau"] == pytest.approx(beta[1], rel=1e-10)
    assert (row["n_treated"], row["n_control"]) == (n_part, n_ctl)
    assert int(store.saved["control_gain_difference"][1]["bootstrap_seed"]) > 0
    fit = out["representativeness_population"].iloc[0]
    assert fit["chi2"] == pytest.approx((25 - 20) ** 2 / 20 + (15 - 20) ** 2 / 20)  # hand: n·p = 20 each
    # Raking on gender alone: men weigh 20/25, women 20/15. Weighted mean change by hand: Σw·d/Σw.
    w = np.where(np.arange(n_part) < 25, 20 / 25, 20 / 15)
    d = (a2 - a1[:n_part]).astype(float)
    weighted = out["opinion_change_weighted"].set_index("item").loc["A"]
    assert weighted["mean"] == pytest.approx((w * d).sum() / w.sum(), rel=1e-9)
    assert weighted["n"] == n_part
    assert weighted["n_eff"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-9)
    # Wijk is not raked on: the raked participants' wijk shares by hand, Σ_{W1} w / Σw (W1 = even rows).
    after = out["representativeness_population_weighted"].set_index("category")
    in_w1 = np.arange(n_part) % 2 == 0
    assert after.loc["W1", "weighted_share"] == pytest.approx(w[in_w1].sum() / w.sum(), rel=1e-9)
    assert after.loc["W1", "n"] == 20 and after.loc["W1", "population_share"] == pytest.approx(0.6)
