"""Ranking items and single-peakedness (List et al. 2013), on hand-worked sets of rankings."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from deliberation.instrument import instrument_from_dict
from deliberation.peakedness import (
    best_axis,
    candidate_axes,
    is_single_peaked,
    single_peaked_shares,
    summarise_single_peakedness,
)
from deliberation.waves import validate_wave
from kleroterion.app.analysis import AnalysisRequest, analyse
from kleroterion.errors import InputError
from kleroterion.workspace import Workspace
from sortition.signup import DEFAULT_CATEGORIES
from tests.conftest import run_cli
from tests.deliberation.test_analyse_command import MemoryStore
from tests.kleroterion.test_cli_chain import chain, flat  # noqa: F401  (module fixture: its own workspace)

RANKING = {"code": "R", "kind": "ranking", "text": "r", "options": {"a": "A", "b": "B", "c": "C"}, "dont_know": ["9"]}
INSTRUMENT = instrument_from_dict(
    {
        "name": "t",
        "items": [{"code": "A", "kind": "likert", "text": "a", "min": 1, "max": 5}, RANKING],
        "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T2", "kind": "post"}],
    },
    source="test",
)
ALL_THREE = [tuple(p) for p in itertools.permutations("abc")]


def test_ranking_items_are_not_opinion_items() -> None:
    assert [i.code for i in INSTRUMENT.attitude_items] == ["A"]
    assert [i.code for i in INSTRUMENT.ranking_items] == ["R"]


@pytest.mark.parametrize(
    ("ranking", "expected"),
    [("abc", True), ("bac", True), ("bca", True), ("cba", True), ("acb", False), ("cab", False)],
)
def test_three_options_only_middle_last_is_not_single_peaked(ranking: str, expected: bool) -> None:
    # Axis a-b-c: the rankings with b (the middle option) last, a>c>b and c>a>b, are the only ones not single-peaked.
    assert is_single_peaked(tuple(ranking), ("a", "b", "c")) is expected


def test_four_options_two_to_the_m_minus_one_single_peaked_rankings() -> None:
    # On a fixed axis of m options exactly 2^(m-1) of the m! rankings are single-peaked: 8 of 24 for m = 4
    # (the peak, then each further option taken from the left or the right end of what is left).
    axis = ("a", "b", "c", "d")
    peaked = {r for r in itertools.permutations(axis) if is_single_peaked(r, axis)}
    assert len(peaked) == 8
    assert ("b", "c", "a", "d") in peaked and ("b", "d", "c", "a") not in peaked  # d not adjacent to b


@pytest.mark.parametrize(("m", "count"), [(3, 3), (4, 12), (5, 60)])
def test_axes_are_permutations_up_to_reversal(m: int, count: int) -> None:
    axes = candidate_axes("abcde"[:m])
    assert len(axes) == count  # m!/2
    assert not {tuple(reversed(a)) for a in axes} & set(axes)


def test_best_axis_of_a_hand_worked_set() -> None:
    # a>b>c, b>a>c, a>c>b, c>a>b. Each is single-peaked on an axis unless its last option is the axis's middle:
    # a-b-c (b middle): 2 of 4; a-c-b (c middle): 2 of 4; b-a-c (a middle): 4 of 4 (a is never last).
    rankings = [tuple("abc"), tuple("bac"), tuple("acb"), tuple("cab")]
    shares = single_peaked_shares(rankings, "abc")
    assert shares.to_dict() == {"a-b-c": 0.5, "a-c-b": 0.5, "b-a-c": 1.0}
    assert best_axis(rankings, "abc") == ("b-a-c", 1.0, 1)


def test_all_six_rankings_give_two_thirds_on_every_axis() -> None:
    # Every ranking of 3 options is single-peaked on 2 of the 3 axes, so the six together: 4/6 on each.
    axis, share, tied = best_axis(ALL_THREE, "abc")
    assert (axis, share, tied) == ("a-b-c", pytest.approx(2 / 3), 3)


def _long(rows: dict[str, tuple[str, str]]) -> pd.DataFrame:
    records = [
        (pid, wave, "R", raw) for pid, pair in rows.items() for wave, raw in zip(("T1", "T2"), pair, strict=True)
    ]
    return pd.DataFrame(records, columns=["participant_id", "wave", "item_code", "raw"])


def test_change_before_after_hand_worked() -> None:
    # T1: the six rankings, 2/3 single-peaked on the best axis (three axes tie; a-b-c is kept, the first).
    # T2: the same six people all rank b not last, all single-peaked on a-b-c: share 1, change +1/3.
    # p7 answers don't know at T2 and is left out of the pairs.
    after = ["abc", "bac", "bca", "cba", "abc", "cba"]
    rows = {
        f"p{k}": (">".join(before), ">".join(a)) for k, (before, a) in enumerate(zip(ALL_THREE, after, strict=True))
    }
    rows["p7"] = ("a>b>c", "9")
    row = summarise_single_peakedness(_long(rows), INSTRUMENT, pre="T1", post="T2").iloc[0]
    assert (row["n_pairs"], row["n_excluded"], row["options"]) == (6, 1, 3)
    assert (row["best_axis_pre"], row["tied_axes_pre"]) == ("a-b-c", 3)
    assert row["share_pre"] == pytest.approx(2 / 3)
    assert (row["best_axis_post"], row["share_post"], row["tied_axes_post"]) == ("a-b-c", 1.0, 1)
    assert row["share_post_on_pre_axis"] == 1.0
    assert row["change"] == pytest.approx(1 / 3)


def test_wave_file_rankings_are_checked_per_cell() -> None:
    frame = pd.DataFrame(
        {
            "participant_id": ["p1", "p2", "p3", "p4", "p5", "p6"],
            "R": ["b>a>c", " c > b > a ", "a>d>c", "a>a>b", "a>b", "9"],
        },
        index=range(2, 8),  # file rows
    )
    with pytest.raises(InputError) as caught:
        validate_wave(frame, INSTRUMENT, known_ids=frozenset(frame["participant_id"]), source="t1.csv")
    found = {(p.row, p.column, p.message.split(" (")[0].split(":")[0]) for p in caught.value.problems}
    assert found == {
        (4, "R", "unknown option in ranking"),
        (5, "R", "option ranked more than once"),
        (6, "R", "incomplete ranking"),
    }
    assert "t1.csv" in str(caught.value) and "row 4" in str(caught.value)
    good = validate_wave(frame.loc[[2, 3, 7]], INSTRUMENT, known_ids=frozenset(frame["participant_id"]), source="x")
    assert good["raw"].tolist() == ["b>a>c", "c>b>a", "9"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"options": {"a": "A", "b": "B"}}, "3 to 7 options"),
        ({"options": {"a>b": "A", "b": "B", "c": "C"}}, "contain no"),
        ({"options": {str(k): "x" for k in range(8)}}, "3 to 7 options"),
        ({"section": "evaluation"}, "section"),
    ],
)
def test_bad_ranking_items_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        instrument_from_dict({"items": [{**RANKING, **change}]}, source="i.toml")


class RankingStore(MemoryStore):
    def instrument_definition(self) -> dict[str, Any]:
        base = super().instrument_definition()
        ranking = dataclasses.asdict(INSTRUMENT.item("R"))
        return {**base, "items": [*base["items"], ranking]}


def test_analyse_stores_single_peakedness_when_rankings_at_both_waves() -> None:
    n_part = 12
    ids = [f"p{i}" for i in range(n_part)]
    participants = pd.DataFrame({"participant_id": ids, "arm": "participant", "gender": ["M", "V"] * 6})
    rng = np.random.default_rng(3)
    rows = []
    for i, pid in enumerate(ids):
        a1 = int(rng.integers(1, 6))
        rows += [(pid, w, "A", str(v)) for w, v in (("T1", a1), ("T2", min(a1 + 1, 5)))]
        rows += [(pid, w, k, str(i % 2)) for w in ("T1", "T2") for k in ("Y", "K")]
        # T1: the six rankings twice (2/3 on every axis); T2: all single-peaked on b-a-c (a never last).
        rows += [(pid, "T1", "R", ">".join(ALL_THREE[i % 6])), (pid, "T2", "R", ">".join("bac" if i % 2 else "cab"))]
    answers = pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "raw"])
    store = RankingStore(participants, answers)
    workspace = SimpleNamespace(store=store, signup_categories=DEFAULT_CATEGORIES)
    out = analyse(workspace, AnalysisRequest(pre="T1", post="T2")).tables  # type: ignore[arg-type]
    table, params = store.saved["single_peakedness"]
    assert out["single_peakedness"] is table
    row = table.iloc[0]
    assert (row["item_code"], row["n_pairs"], row["best_axis_post"], row["share_post"]) == ("R", 12, "b-a-c", 1.0)
    assert row["change"] == pytest.approx(1 / 3)
    assert params["pre"] == "T1"
    # The ranking item is not an opinion item: the opinion tables do not list it.
    assert "R" not in set(out["opinion_change"].iloc[:, 0])


def test_cli_ranking_cells_checked_then_analysed(
    chain: dict[str, Path],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The shipped instrument's R1 (options a-d). A bad cell: exit 1, file/row/column named, nothing stored.
    base, ws_dir = chain["base"], str(chain["root"])
    with Workspace.open(chain["root"]) as ws:
        before = ws.store.table_counts()
    t1, t2 = (pd.read_csv(base / name, dtype=str) for name in ("t1.csv", "t2.csv"))
    t2["R1"] = "a>b>c>d"
    t2.loc[1, "R1"] = "a>b>c"  # file row 3
    t2.to_csv(base / "t2-r.csv", index=False)
    capsys.readouterr()
    assert (
        run_cli(monkeypatch, "survey", "import", "--wave", "T2", str(base / "t2-r.csv"), "--replace", "-w", ws_dir) == 1
    )
    message = flat(capsys.readouterr().out)
    assert "t2-r.csv" in message and "row 3, column 'R1'" in message and "incomplete ranking" in message
    with Workspace.open(chain["root"]) as ws:
        assert ws.store.table_counts() == before
    # Valid: T1 all c>a>b>d (not single-peaked on a-b-c-d, but on b-a-c-d: c, then a next to it, then b,
    # then d), T2 all a>b>c>d: every pair single-peaked on the best axis at both waves, change 0.
    t1["R1"], t2["R1"] = "c > a > b > d", "a>b>c>d"
    t1.to_csv(base / "t1-r.csv", index=False)
    t2.to_csv(base / "t2-r.csv", index=False)
    for wave, name in (("T1", "t1-r.csv"), ("T2", "t2-r.csv")):
        assert (
            run_cli(monkeypatch, "survey", "import", "--wave", wave, str(base / name), "--replace", "-w", ws_dir) == 0
        )
    assert run_cli(monkeypatch, "analyse", "-w", ws_dir) == 0
    with Workspace.open(chain["root"]) as ws:
        table = ws.store.analysis("single_peakedness")
        panel = len(ws.store.panel_members("panel"))
    assert table is not None
    row = table.iloc[0]
    assert (row["item_code"], row["n_pairs"], row["share_pre"], row["share_post"]) == ("R1", panel, 1.0, 1.0)
    assert row["change"] == 0.0


def _peaked_by_definition(ranking: tuple[str, ...], axis: tuple[str, ...]) -> bool:
    """The literal definition: from the top option, preference strictly falls walking either way."""
    rank = [ranking.index(option) for option in axis]  # 0 = best, along the axis
    peak = rank.index(0)
    left, right = rank[: peak + 1][::-1], rank[peak:]
    return all(a < b for a, b in itertools.pairwise(left)) and all(a < b for a, b in itertools.pairwise(right))


def test_vectorised_shares_match_the_definition_for_every_ranking_of_four() -> None:
    every = list(itertools.permutations("abcd"))
    rankings = [*every, *every[:5]]  # repeats count with their frequency
    shares = single_peaked_shares(rankings, "abcd")
    for axis in candidate_axes("abcd"):
        expected = sum(_peaked_by_definition(r, axis) for r in rankings) / len(rankings)
        assert shares["-".join(axis)] == pytest.approx(expected)
        assert all(is_single_peaked(r, axis) == _peaked_by_definition(r, axis) for r in every)


def test_non_numeric_scale_bounds_are_a_message_not_a_traceback() -> None:
    from deliberation.instrument import instrument_from_dict
    from kleroterion.errors import InputError

    data = {"name": "x", "items": [{"code": "A1", "kind": "likert", "min": "x", "max": 5}], "waves": []}
    with pytest.raises(InputError) as caught:
        instrument_from_dict(data, source="vragen.toml")
    assert "vragen.toml" in str(caught.value) and "min and max must be numbers" in str(caught.value)
