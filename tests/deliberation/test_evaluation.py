"""Participants' evaluation of the event, on a hand-counted set of answers."""

from __future__ import annotations

import pandas as pd
import pytest

from deliberation.analysis import score_answers
from deliberation.evaluation import evaluation_distributions, summarise_evaluation
from deliberation.instrument import instrument_from_dict
from kleroterion.errors import InputError

INSTRUMENT = instrument_from_dict(
    {
        "name": "t",
        "items": [
            {"code": "A", "kind": "likert", "text": "a", "min": 1, "max": 5},
            {"code": "E1", "kind": "likert", "section": "evaluation", "text": "balans", "min": 1, "max": 5,
             "dont_know": ["9"]},
            {"code": "E2", "kind": "yesno", "section": "evaluation", "text": "spreken"},
        ],
        "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T2", "kind": "post"}],
    },
    source="test",
)  # fmt: skip


def test_evaluation_items_are_not_opinion_items() -> None:
    assert [i.code for i in INSTRUMENT.attitude_items] == ["A"]
    assert [i.code for i in INSTRUMENT.evaluation_items] == ["E1", "E2"]


def test_summary_and_distribution_hand_counted() -> None:
    e1 = ["5", "4", "4", "2", "9", ""]  # n 6; DK and NA 2; substantive 5, 4, 4, 2: mean 3.75
    e2 = ["1", "1", "0", "1"]
    rows = [(f"p{k}", "T2", "E1", v) for k, v in enumerate(e1)] + [(f"p{k}", "T2", "E2", v) for k, v in enumerate(e2)]
    scored = score_answers(pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "raw"]), INSTRUMENT)
    table = summarise_evaluation(scored, INSTRUMENT, wave="T2").set_index("item")
    assert table.loc["E1", ["n", "n_dk_na", "n_substantive"]].tolist() == [6, 2, 4]
    assert table.loc["E1", "mean"] == pytest.approx(3.75)
    # sd of 5, 4, 4, 2 (ddof 1): deviations 1.25, .25, .25, -1.75 -> squares sum 4.75, /3
    assert table.loc["E1", "sd"] == pytest.approx((4.75 / 3) ** 0.5)
    assert table.loc["E1", "share_top_two"] == pytest.approx(3 / 6)  # 5, 4, 4 of all six who got it
    assert table.loc["E2", "share_top_two"] == pytest.approx(3 / 4)
    dist = evaluation_distributions(scored, INSTRUMENT, wave="T2").set_index(["item", "answer"])
    assert dist.loc[("E1", "4"), "count"] == 2 and dist.loc[("E1", "1"), "count"] == 0
    assert dist.loc[("E1", "4"), "share"] == pytest.approx(2 / 6)
    assert dist.loc[("E1", "DK"), "count"] == 1


def test_knowledge_item_cannot_be_an_evaluation_item() -> None:
    with pytest.raises(InputError, match="section"):
        instrument_from_dict(
            {"items": [{"code": "K", "kind": "knowledge", "section": "evaluation", "correct": "a", "text": "k"}]},
            source="t.toml",
        )
