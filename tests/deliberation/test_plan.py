"""The analysis plan without a store: which tables exist, their values against independent references
(scipy, normal equations, raking by hand — the references of ``test_analyse_command``) and the
parameters stored with each table being the ones the core used."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from deliberation.control import MIN_BOOTSTRAP
from deliberation.plan import (
    ANALYSIS_STEPS,
    AnalysisData,
    AnalysisOptions,
    AnalysisRun,
    analysis_steps,
    analysis_tables,
    design_weights,
    population_margins,
)
from sortition.errors import KleroError
from tests.deliberation.test_analyse_command import INSTRUMENT

N_PART, N_INV, N_CTL = 40, 60, 30
SEEDS = {"attended": 11, "invited": 12}
QUOTAS = pd.DataFrame(
    {
        "category": ["gender", "gender", "wijk", "wijk"],
        "feature": ["M", "V", "W1", "W2"],
        "population_share": [0.5, 0.5, 0.6, 0.4],
    }
)


def poll(**changes: Any) -> tuple[AnalysisData, dict[str, np.ndarray]]:
    """40 participants, 60 invited non-participants (T1 only) and 30 controls answering A (likert),
    Y (yes/no) and K (knowledge) — the data of ``test_analyse_command`` — and the raw values."""
    rng = np.random.default_rng(5)
    ids = [f"p{i}" for i in range(N_PART + N_INV)]
    ctl_ids = [f"c{i}" for i in range(N_CTL)]
    participants = pd.DataFrame(
        {
            "participant_id": ids + ctl_ids,
            "arm": ["participant"] * N_PART + ["invited"] * N_INV + ["control"] * N_CTL,
            "gender": ["M"] * 25 + ["V"] * 15 + ["M"] * 30 + ["V"] * 20 + [""] * 10 + ["M"] * N_CTL,
            "wijk": (["W1", "W2"] * 20) + ["W1"] * N_INV + ["W2"] * N_CTL,
        }
    )
    a1 = rng.integers(1, 6, len(ids))
    a2 = np.clip(a1[:N_PART] + rng.integers(-1, 3, N_PART), 1, 5)
    rows = []
    for i, pid in enumerate(ids):
        rows += [(pid, "T1", "A", str(a1[i])), (pid, "T1", "Y", str(i % 2)), (pid, "T1", "K", str(i % 3 == 0))]
        if i < N_PART:
            rows += [(pid, "T2", "A", str(a2[i])), (pid, "T2", "Y", "1"), (pid, "T2", "K", "1")]
    c1 = rng.integers(1, 6, N_CTL)
    c2 = np.clip(c1 + rng.integers(-1, 2, N_CTL), 1, 5)
    for i, pid in enumerate(ctl_ids):
        rows += [(pid, "T1", "A", str(c1[i])), (pid, "T2", "A", str(c2[i]))]
        rows += [(pid, w, k, "0") for w in ("T1", "T2") for k in ("Y", "K")]
    answers = pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "raw"])
    answers["raw"] = answers["raw"].replace({"True": "1", "False": "0"})
    data = {"instrument": INSTRUMENT, "answers": answers, "participants": participants, "signup": ("gender",)}
    data |= {"quotas": QUOTAS} | changes
    return AnalysisData(**data), {"a1": a1, "a2": a2, "c1": c1, "c2": c2}


def test_the_plan_reproduces_the_reference_values_without_a_store() -> None:
    data, raw = poll()
    tables = analysis_tables(data, AnalysisOptions(bootstrap_seeds=SEEDS))
    a1, a2, c1, c2 = raw["a1"], raw["a2"], raw["c1"], raw["c2"]
    tests = tables["opinion_tests"].frame.set_index("item")
    assert tests.loc["A", "p_value"] == pytest.approx(stats.ttest_rel(a2, a1[:N_PART]).pvalue, rel=1e-10)
    mc = tables["opinion_mcnemar"].frame.iloc[0]
    assert (mc["n_no_to_yes"], mc["n_yes_to_no"]) == (20, 0)
    assert mc["p_value"] == pytest.approx(2 * 0.5**20, rel=1e-12)  # exact McNemar, b = 0, c = 20
    nominal = tables["representativeness_nominal"].frame.iloc[0]
    ref = stats.chi2_contingency(np.array([[25, 15], [30, 20]]), correction=False)  # scipy Pearson χ²
    assert nominal["chi2"] == pytest.approx(ref.statistic, rel=1e-12)
    # ANCOVA: tau of post ~ 1 + treat + pre by the normal equations
    x = np.column_stack([np.ones(N_PART + N_CTL), np.r_[np.ones(N_PART), np.zeros(N_CTL)], np.r_[a1[:N_PART], c1]])
    beta = np.linalg.lstsq(x, np.r_[a2, c2].astype(float), rcond=None)[0]
    assert tables["control_ancova"].frame.set_index("outcome").loc["A", "tau"] == pytest.approx(beta[1], rel=1e-10)
    fit = tables["representativeness_population"].frame.iloc[0]
    assert fit["chi2"] == pytest.approx((25 - 20) ** 2 / 20 + (15 - 20) ** 2 / 20)  # hand: n·p = 20 each
    w = np.where(np.arange(N_PART) < 25, 20 / 25, 20 / 15)  # raking on gender: men 20/25, women 20/15
    d = (a2 - a1[:N_PART]).astype(float)
    weighted = tables["opinion_change_weighted"].frame.set_index("item").loc["A"]
    assert weighted["mean"] == pytest.approx((w * d).sum() / w.sum(), rel=1e-9)
    assert weighted["n_eff"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-9)


@pytest.mark.parametrize("n_bootstrap", [MIN_BOOTSTRAP, 2500])
def test_the_stored_bootstrap_parameters_are_those_the_core_used(n_bootstrap: int) -> None:
    data, _ = poll()
    options = AnalysisOptions(bootstrap_seeds=SEEDS, n_bootstrap=n_bootstrap)
    run = AnalysisRun.of(options, analysis_tables(data, options))
    gain = run.tables["control_gain_difference"]
    # the core writes the resamples it drew into the table; the parameters must say the same
    assert set(gain.frame["n_bootstrap"].dropna()) == {n_bootstrap}
    assert gain.parameters["n_bootstrap"] == n_bootstrap == run.parameters["n_bootstrap"]
    assert gain.parameters["bootstrap_seed"] == str(SEEDS["attended"])
    # the invited did not answer T2: no ITT contrast ran, and its seed is not claimed as used
    assert "control_gain_difference_itt" not in run.tables
    assert run.parameters["bootstrap_seeds"] == {"attended": str(SEEDS["attended"])}


def test_the_same_seeds_give_the_same_bootstrap_and_other_seeds_another() -> None:
    data, _ = poll()

    def interval(seed: int) -> list[float]:
        tables = analysis_tables(data, AnalysisOptions(bootstrap_seeds={"attended": seed, "invited": 0}))
        return tables["control_gain_difference"].frame[["ci_low", "ci_high"]].to_numpy().ravel().tolist()

    assert interval(3) == interval(3)
    assert interval(3) != interval(4)


def test_a_control_arm_without_seeds_is_an_error_not_a_hidden_default() -> None:
    data, _ = poll()
    with pytest.raises(KleroError, match="bootstrap seed"):
        analysis_tables(data, AnalysisOptions())


NO_SHARES = QUOTAS.assign(population_share=np.nan)


@pytest.mark.parametrize(
    ("changes", "options", "present", "absent", "note"),
    [
        ({}, {}, {"representativeness_population", "representativeness_population_weighted"}, set(), None),
        ({"quotas": None}, {}, set(), {"representativeness_population", "opinion_change_weighted"}, None),
        ({"quotas": NO_SHARES}, {}, set(), {"representativeness_population"}, "no population_share"),
        ({}, {"weights": "none"}, {"representativeness_population"}, set(), "--weights none"),
        ({"participants": None}, {}, set(), {"control_ancova", "control_gain_difference"}, None),
    ],
)
def test_which_tables_exist(
    changes: dict[str, Any], options: dict[str, Any], present: set[str], absent: set[str], note: str | None
) -> None:
    data, _ = poll()
    if "participants" in changes:  # no control arm
        kept = data.participants[data.participants["arm"] != "control"]
        changes = {"participants": kept, "answers": data.answers[~data.answers["participant_id"].str.startswith("c")]}
    data, _ = poll(**changes)
    tables = analysis_tables(data, AnalysisOptions(bootstrap_seeds=SEEDS, **options))
    base = {"opinion_change", "knowledge_gain", "opinion_tests", "exclusions", "representativeness_arms"}
    assert base | present <= set(tables)
    assert not absent & set(tables)
    if note is not None:
        row = tables["opinion_change_weighted"].frame.iloc[0]
        assert row["item"] == "(not weighted)" and note in row["note"]
        assert tables["opinion_change_weighted"].parameters["weighted"] is False
    for name, table in tables.items():
        assert table.name == name


def test_steps_are_the_announced_number_of_groups() -> None:
    data, _ = poll()
    groups = list(analysis_steps(data, AnalysisOptions(bootstrap_seeds=SEEDS)))
    assert len(groups) == ANALYSIS_STEPS
    assert "opinion_change" in groups[0] and "representativeness_nominal" in groups[1]


def test_an_unknown_design_weight_column_lists_the_imported_ones() -> None:
    stored = pd.DataFrame({"participant_id": ["p1"], "wave": ["T1"], "name": ["w_design"], "weight": [1.5]})
    with pytest.raises(KleroError, match="imported: w_design"):
        design_weights(stored, "w_other", wave="T1")
    with pytest.raises(KleroError, match="no values at wave T2"):
        design_weights(stored, "w_design", wave="T2")
    assert design_weights(stored, "raking", wave="T1") is None
    assert design_weights(stored, "w_design", wave="T1").to_dict() == {"p1": 1.5}


def test_population_margins_split_raking_and_comparison_characteristics() -> None:
    people = pd.DataFrame({"gender": ["M"], "wijk": ["W1"]})
    assert population_margins(QUOTAS, people) == {"gender": {"M": 0.5, "V": 0.5}}
    assert population_margins(QUOTAS, people, raking=False) == {"wijk": {"W1": 0.6, "W2": 0.4}}
    assert population_margins(None, people) == {}
    assert population_margins(NO_SHARES, people) is None
