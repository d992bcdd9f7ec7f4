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


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('suppression_threshold = "five"', "suppression_threshold = 'five' must be a whole number"),
        ("suppression_threshold = -1", "suppression_threshold = -1 must be 1 or more"),
        ('retention_date = "31-12-2027"', "retention_date = '31-12-2027' is not a date"),
        ("exclude_restricted = 1", "exclude_restricted = 1 must be true or false"),
    ],
)
def test_a_process_setting_of_the_wrong_type_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    assert run_cli(monkeypatch, "init", str(tmp_path / "ws"), "--name", "T", "--municipality", "M") == 0
    process = tmp_path / "ws" / "process.toml"
    key = line.split(" = ")[0]
    text = "\n".join(row for row in process.read_text(encoding="utf-8").splitlines() if not row.startswith(key))
    process.write_text(text.replace("[process]", "[process]\n" + line, 1) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert run_cli(monkeypatch, "status", "-w", str(tmp_path / "ws")) == 1
    assert message in " ".join(capsys.readouterr().out.split())


def test_an_unquoted_toml_date_is_read_as_the_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, "init", str(tmp_path / "ws"), "--name", "T", "--municipality", "M") == 0
    process = tmp_path / "ws" / "process.toml"
    text = "\n".join(r for r in process.read_text(encoding="utf-8").splitlines() if not r.startswith("retention_date"))
    process.write_text(text.replace("[process]", "[process]\nretention_date = 2027-12-31", 1) + "\n", encoding="utf-8")
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.settings.retention_date == "2027-12-31"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["laag,nan", "middelbaar,0.37", "hoog,0.36"], "row 2, column 'share': a share is a decimal from 0 to 1"),
        (["laag,0.27", "middelbaar,inf", "hoog,0.36"], "row 3, column 'share': a share is a decimal from 0 to 1"),
        (["laag,0.5", "middelbaar,0.5", "hoog,0.5"], "the shares of education sum to 1.5, not 1"),
    ],
)
def test_shares_that_are_not_a_distribution_are_refused(tmp_path: Path, rows: list[str], message: str) -> None:
    from kleroterion.errors import InputError
    from kleroterion.pool_files import read_shares

    shares = tmp_path / "shares.csv"
    shares.write_text("category,feature,share\n" + "".join(f"education,{r}\n" for r in rows), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_shares(shares)
    assert message in str(caught.value)


def test_rounded_published_shares_are_accepted(tmp_path: Path) -> None:
    from kleroterion.pool_files import read_shares

    shares = tmp_path / "shares.csv"
    shares.write_text("category,feature,share\neducation,laag,0.27\neducation,middelbaar,0.37\neducation,hoog,0.365\n")
    assert read_shares(shares)["education"] == {"laag": 0.27, "middelbaar": 0.37, "hoog": 0.365}
