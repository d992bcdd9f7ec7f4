"""``klero poll define`` with an XLSX instrument (sheets ``items`` and ``waves``)."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from deliberation.instrument import instrument_from_dict
from kleroterion.app.poll import define_poll, load_instrument
from kleroterion.workspace import Workspace
from tests.conftest import DATA, run_cli
from tests.kleroterion.test_cli_chain import flat

TOML = DATA / "peel_en_maas" / "instrument.toml"


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ";".join(map(str, value))
    return "yes" if value is True else str(value)


def _workbook(path: Path, items: list[dict[str, Any]], waves: list[dict[str, Any]]) -> Path:
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame([{k: _cell(v) for k, v in item.items()} for item in items]).to_excel(
            writer, sheet_name="items", index=False
        )
        pd.DataFrame(waves).to_excel(writer, sheet_name="waves", index=False)
    return path


def test_workbook_defines_the_same_instrument_as_the_shipped_toml(workspace: Workspace, tmp_path: Path) -> None:
    data = tomllib.loads(TOML.read_text(encoding="utf-8"))
    path = _workbook(tmp_path / "Wonen in Peel en Maas.xlsx", data["items"], data["waves"])
    out = define_poll(workspace, path)
    expected = instrument_from_dict(data, source="toml")
    assert out.items == len(expected.items) and out.waves == ("T1", "T2")
    stored = load_instrument(workspace)
    assert dataclasses.asdict(stored) == dataclasses.asdict(expected)  # name = file stem = the TOML's name
    assert stored.item("R1").is_ranking and list(stored.item("R1").options) == ["a", "b", "c", "d"]
    assert stored.item("K1").options["b"] == "45.000" and stored.item("A1").dont_know == ("9",)


def test_bad_workbook_names_sheet_row_and_column_and_changes_nothing(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    items = [
        {"code": "A1", "kind": "likert", "text": "a", "min": 1, "max": 5},
        {"code": "A2", "kind": "likert", "text": "b", "min": "laag", "max": 5},  # row 3: not a number
        {"code": "R1", "kind": "ranking", "text": "r", "options": "a=x; b=y"},  # row 4: two options
        {"code": "K1", "kind": "knowledge", "text": "k", "options": "a=1; b", "correct": "a"},  # row 5: 'b' alone
    ]
    path = _workbook(tmp_path / "bad.xlsx", items, [{"code": "T1", "kind": "later"}])  # waves row 2
    before = workspace.store.table_counts()
    capsys.readouterr()
    assert run_cli(monkeypatch, "poll", "define", str(path), "-w", str(workspace.root)) == 1
    message = flat(capsys.readouterr().out)
    for fragment in (  # every problem at once: bad cells and the instrument's own checks, by sheet and row
        "bad.xlsx, row 3, column 'min': sheet 'items': not a number",
        "bad.xlsx, row 4: sheet 'items': a ranking item needs 3 to 7 options",
        "bad.xlsx, row 5, column 'options': sheet 'items': options must read",
        "bad.xlsx, row 2: sheet 'waves': unknown wave kind",
    ):
        assert fragment in message
    assert workspace.store.table_counts() == before
    # A blank row is skipped; rows below it keep their own sheet row numbers.
    items[1]["min"], items[3]["options"] = 1, "a=1; b=2"
    _workbook(path, [items[0], {}, *items[1:]], [{"code": "T1", "kind": "recruit"}])
    capsys.readouterr()
    assert run_cli(monkeypatch, "poll", "define", str(path), "-w", str(workspace.root)) == 1
    message = flat(capsys.readouterr().out)
    assert "1 problem in bad.xlsx" in message
    assert "bad.xlsx, row 5: sheet 'items': a ranking item needs 3 to 7 options" in message
    assert workspace.store.table_counts() == before


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"not a workbook", "not a readable XLSX workbook"), (None, "missing sheet 'waves'")],
)
def test_unreadable_or_incomplete_workbook(
    workspace: Workspace, tmp_path: Path, content: bytes | None, fragment: str
) -> None:
    path = tmp_path / "i.xlsx"
    if content is None:
        with pd.ExcelWriter(path) as writer:
            pd.DataFrame([{"code": "A", "kind": "yesno"}]).to_excel(writer, sheet_name="items", index=False)
    else:
        path.write_bytes(content)
    with pytest.raises(Exception, match=fragment) as caught:
        define_poll(workspace, path)
    assert type(caught.value).__name__ == "InputError"
