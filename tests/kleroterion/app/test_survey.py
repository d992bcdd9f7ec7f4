"""``kleroterion.app.poll`` and ``kleroterion.app.survey`` without the CLI: typed, frozen results and
one transaction per import (a refused import stores nothing)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from deliberation.responses import WaveLayout
from kleroterion.app.poll import InstrumentDefined, define_poll, load_instrument
from kleroterion.app.survey import import_respondents, import_survey
from kleroterion.errors import KleroError
from kleroterion.workspace import Workspace
from tests.kleroterion.test_cli_chain import INSTRUMENT, ITEMS, answers

IDS = [f"r{i:02d}" for i in range(12)]


def survey_file(tmp_path: Path, *, shift: int, name: str = "t1.csv") -> Path:
    """A wide file of every item for the twelve respondents, with their arm and gender."""
    frame = answers(IDS, shift=shift).assign(arm=["participant"] * 6 + ["invited"] * 6, gender=["M", "V"] * 6)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


LAYOUT = WaveLayout(wave="T1", arm_column="arm", variables=("gender",))


def test_define_poll_returns_what_it_stored(workspace: Workspace) -> None:
    out = define_poll(workspace, INSTRUMENT)
    assert out == InstrumentDefined(
        items=len(load_instrument(workspace).items),
        knowledge_items=2,
        evaluation_items=len(load_instrument(workspace).evaluation_items),
        waves=tuple(w.code for w in load_instrument(workspace).waves),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.items = 0  # type: ignore[misc]


def test_load_instrument_before_define_names_the_command(workspace: Workspace) -> None:
    with pytest.raises(KleroError, match="klero poll define"):
        load_instrument(workspace)


def test_import_survey_creates_respondents_and_answers(workspace: Workspace, tmp_path: Path) -> None:
    define_poll(workspace, INSTRUMENT)
    out = import_survey(workspace, survey_file(tmp_path, shift=0), LAYOUT)
    assert (out.waves, out.wave, out.respondents, out.created) == (("T1",), "T1", 12, 12)
    assert out.answers == 12 * len(ITEMS) and out.replaced == 0
    assert dict(out.absent) == {"T1": 0}
    stored = workspace.store.participants().set_index("participant_id")
    assert stored.loc["r00", "arm"] == "participant" and stored.loc["r11", "arm"] == "invited"
    assert workspace.store.wave_answer_count("T1") == out.answers


def test_a_refused_reimport_stores_nothing_and_replace_says_what_it_replaced(
    workspace: Workspace, tmp_path: Path
) -> None:
    define_poll(workspace, INSTRUMENT)
    first = import_survey(workspace, survey_file(tmp_path, shift=0), LAYOUT)
    before = workspace.store.table_counts()
    again = survey_file(tmp_path, shift=2, name="t1-again.csv")
    with pytest.raises(KleroError, match="--replace") as refused:
        import_survey(workspace, again, LAYOUT)
    assert refused.value.code == "wave_exists"
    assert workspace.store.table_counts() == before  # not even the respondents of the refused file
    out = import_survey(workspace, again, LAYOUT, replace=True)
    assert out.replaced == first.answers
    assert workspace.store.wave_answer_count("T1") == out.answers


def test_import_respondents_counts_the_arms(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    pd.DataFrame({"participant_id": IDS, "arm": ["participant"] * 4 + ["control"] * 8}).to_csv(path, index=False)
    out = import_respondents(workspace, path, WaveLayout(wave="", arm_column="arm"))
    assert out.respondents == 12 and dict(out.arms) == {"participant": 4, "control": 8}
    assert out.ignored == ()
    assert len(workspace.store.audit_records("survey.respondents")) == 1
