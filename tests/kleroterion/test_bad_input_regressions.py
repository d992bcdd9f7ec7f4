"""Inputs that once gave a raw traceback (issue 18's probe) now give a message with file, row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from kleroterion.workspace import Workspace
from tests.conftest import run_cli

HEADER = (
    "bsn;voornamen;voorvoegsel;geslachtsnaam;geboortedatum;geslacht;straatnaam;huisnummer;huisletter;"
    "huisnummertoevoeging;postcode;woonplaats;wijkcode;geheimhouding"
)


@pytest.mark.parametrize(
    ("born", "message"),
    [("29990101", "not a date"), ("18000101", "impossible birth date")],  # beyond / near pandas' ns range
)
def test_a_birth_date_pandas_cannot_hold_is_a_cell_problem(
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    born: str,
    message: str,
) -> None:
    extract = tmp_path / "brp.csv"
    extract.write_text(
        HEADER + "\n" + f"100000002;Jan;;Smit;{born};M;Kerkstraat;5;;;5981 AA;Panningen;WK189401;N\n",
        encoding="cp1252",
    )
    capsys.readouterr()
    assert run_cli(monkeypatch, "registry", "import", str(extract), "-w", str(workspace.root)) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert f"brp.csv, row 2, column 'geboortedatum': {message}" in out
    assert workspace.store.table_counts().get("residents", 0) == 0


def test_a_damaged_xlsx_is_named_not_a_traceback(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "brp.xlsx"
    damaged.write_bytes(b"PK\x03\x04 not really a workbook")
    capsys.readouterr()
    assert run_cli(monkeypatch, "registry", "import", str(damaged), "-w", str(workspace.root)) == 1
    out = capsys.readouterr().out
    assert "brp.xlsx" in out and "cannot read the file" in out
