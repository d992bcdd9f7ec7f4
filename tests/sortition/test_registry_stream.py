"""The registry import in chunks and the letter draw on compact columns.

Chunks are made tiny (``CHUNK_ROWS``) so that a file of a few dozen rows crosses many chunk boundaries;
every result is checked against the whole-file path (``validate_registry``, ``draw_letters`` on a
frame) or against hand-counted values.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kleroterion.app import letters as lottery_letters
from kleroterion.app import registry as lottery
from kleroterion.io import read_table
from kleroterion.workspace import Workspace
from sortition.letters import draw_letters
from sortition.registry import ages_on, latest_birth, validate_registry
from tests.conftest import run_cli as run

HEADER = "bsn;voornamen;geslachtsnaam;geboortedatum;geslacht;straatnaam;huisnummer;postcode;woonplaats;wijkcode"
#: Registry ids: nine digits that cannot occur by chance in a hex pseudonym, a date or a postcode.
BSN = [str(100_000_100 + i) for i in range(40)]  # the synthetic BSN block: exempt from the elfproef


def rows(n: int = 40) -> list[str]:
    """``n`` residents at ``n // 2`` addresses (two per address), ages 10 to 88, two wijken."""
    out = []
    for i in range(n):
        born = f"{1936 + 2 * i}0{1 + i % 9}1{i % 9}"
        gender = "MVO"[i % 3]
        wijk = "WK01" if i % 4 < 2 else ""
        out.append(f"{BSN[i]};Naam{i};Achter;{born};{gender};Straat;{1 + i // 2};5981 AB;Panningen;{wijk}")
    return out


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lottery, "CHUNK_ROWS", 3)
    monkeypatch.setattr("kleroterion.io.BLOCK", 256)  # Arrow's reader hands over a few rows at a time


def import_file(monkeypatch: pytest.MonkeyPatch, workspace: Workspace, path: Path) -> int:
    """``klero registry import PATH`` into the workspace; the exit code."""
    return run(monkeypatch, "registry", "import", str(path), "-w", str(workspace.root))


def message(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().out.split())


def test_chunked_import_stores_what_the_whole_file_gives(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_chunks: None
) -> None:
    extract = write(tmp_path / "brp.csv", [HEADER, *rows()])
    assert run(monkeypatch, "registry", "import", str(extract), "-w", str(workspace.root)) == 0
    stored = workspace.store.residents(("id", "birth_date", "gender", "address_key", "wijk", "house_number"))
    whole = validate_registry(
        read_table(extract), source="brp.csv", reference_date=workspace.reference_date, key=workspace.key
    ).residents
    pd.testing.assert_frame_equal(
        stored.fillna("").astype(str),
        whole[list(stored.columns)].sort_values("id").reset_index(drop=True).fillna("").astype(str),
    )
    info = workspace.store.registry_info()
    assert info is not None and info["row_count"] == 40
    # the compact copy holds the same residents, sorted by address and then id
    columns = workspace.store.resident_columns()
    assert len(columns) == 40 and len(columns.address_keys) == 20
    copy = pd.DataFrame(
        {
            "id": columns.pseudonyms_of(np.arange(40)),
            "address_key": columns.keys_of(columns.address),
            "birth_date": [f"{b // 10000:04d}-{b // 100 % 100:02d}-{b % 100:02d}" for b in columns.birth],
        }
    )
    assert copy.equals(copy.sort_values(["address_key", "id"]))
    by_id = copy.set_index("id").sort_index()
    pd.testing.assert_frame_equal(by_id, stored.set_index("id")[["address_key", "birth_date"]], check_dtype=False)


def test_duplicate_id_in_another_chunk_names_both_rows_and_stores_nothing(
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_chunks: None,
) -> None:
    lines = rows()
    lines[30] = lines[30].replace(BSN[30], BSN[1], 1)  # file row 32 repeats the id of file row 3
    before = workspace.store.table_counts()
    assert import_file(monkeypatch, workspace, write(tmp_path / "brp.csv", [HEADER, *lines])) == 1
    text = message(capsys)
    assert "row 3, column 'bsn': duplicate id" in text and "same id as row 32" in text
    assert "row 32, column 'bsn': duplicate id" in text and "same id as row 3" in text
    assert workspace.store.table_counts() == before
    assert not workspace.store.columns_path.exists()


def test_bad_cell_in_the_last_chunk_rolls_back_every_chunk(
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_chunks: None,
) -> None:
    lines = rows()
    lines[-1] = lines[-1].replace("5981 AB", "0598 AB")
    assert import_file(monkeypatch, workspace, write(tmp_path / "brp.csv", [HEADER, *lines])) == 1
    assert "row 41, column 'postcode': malformed postcode (use 1234 AB) (value: '0598 AB')" in message(capsys)
    assert workspace.store.table_counts()["residents"] == 0
    assert workspace.store.registry_info() is None
    # the same workspace takes the corrected file
    assert import_file(monkeypatch, workspace, write(tmp_path / "ok.csv", [HEADER, *rows()])) == 0


def test_problems_are_capped_over_the_whole_file_not_per_chunk(
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_chunks: None,
) -> None:
    monkeypatch.setattr("kleroterion.errors.InputError.MAX_SHOWN", 10_000)
    lines = [f"{700000000 + i};A;B;19800101;Q;S;{1 + i};5981 AB;P;WK01" for i in range(250)]
    assert import_file(monkeypatch, workspace, write(tmp_path / "brp.csv", [HEADER, *lines])) == 1
    text = message(capsys)
    assert len(re.findall(r"row \d+, column 'geslacht': unknown gender code", text)) == 200
    assert "unknown gender code (use M, V or O): 50 more rows beyond those listed" in text


def test_blank_lines_keep_row_numbers_exact(
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_chunks: None,
) -> None:
    lines = rows(10)
    lines[7] = lines[7].replace(";V;", ";Q;").replace(";M;", ";Q;").replace(";O;", ";Q;")
    with_blanks = [HEADER, *lines[:3], "", *lines[3:6], "", "", *lines[6:]]  # the bad row is file row 12
    assert import_file(monkeypatch, workspace, write(tmp_path / "brp.csv", with_blanks)) == 1
    assert "row 12, column 'geslacht': unknown gender code" in message(capsys)
    good = [HEADER, *rows(10)[:3], "", *rows(10)[3:]]
    assert import_file(monkeypatch, workspace, write(tmp_path / "ok.csv", good)) == 0
    assert workspace.store.registry_info()["row_count"] == 10  # type: ignore[index]


def test_wrong_cell_counts_in_a_large_file_are_listed_with_their_rows(
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_chunks: None,
) -> None:
    lines = rows()
    lines[25] = lines[25].rsplit(";", 1)[0]  # file row 27 lacks its wijkcode
    assert import_file(monkeypatch, workspace, write(tmp_path / "brp.csv", [HEADER, *lines])) == 1
    assert "row 27, column 'wijkcode': has 9 cells, the header has 10" in message(capsys)
    assert workspace.store.table_counts()["residents"] == 0


def test_compact_draw_equals_the_frame_draw_and_survives_a_lost_copy(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_chunks: None
) -> None:
    assert import_file(monkeypatch, workspace, write(tmp_path / "brp.csv", [HEADER, *rows()])) == 0
    # the frame path: residents 18+ on the reference date (ages_on), restricted none, stratified by wijk
    frame = workspace.store.residents()
    frame = frame[ages_on(frame["birth_date"], workspace.reference_date) >= 18]
    expected = draw_letters(frame, count=6, rng=np.random.default_rng(11), stratify_by="wijk")
    out = lottery_letters.draw_letters(workspace, count=6, seed=11, stratify_by="wijk", min_age=18)
    assert out.eligible == len(frame)
    letters = workspace.store.letters().sort_values("resident_id")
    assert letters["resident_id"].tolist() == sorted(expected["resident_id"])
    assert sorted(letters["inclusion_probability"]) == pytest.approx(sorted(expected["inclusion_probability"]))
    # the copy is derived data: removed, it is rebuilt from SQLite and the next draw still avoids old addresses
    workspace.store.columns_path.unlink()
    lottery_letters.draw_letters(workspace, count=6, seed=12, stratify_by="wijk", min_age=18)
    assert workspace.store.columns_path.exists()
    both = workspace.store.letters()
    assert len(both) == 12 and both["address_key"].is_unique


def test_letters_cannot_be_stratified_by_an_unstored_column(
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert import_file(monkeypatch, workspace, write(tmp_path / "brp.csv", [HEADER, *rows()])) == 0
    assert run(monkeypatch, "letters", "draw", "--count", "3", "--stratify-by", "kern", "-w", str(workspace.root)) == 1
    assert "Cannot allocate letters over 'kern': use one of gender, wijk, buurt" in message(capsys)


# -- data minimisation -----------------------------------------------------------------------------
def test_residents_keep_only_what_the_draw_and_letters_need_and_never_a_bsn(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert import_file(monkeypatch, workspace, write(tmp_path / "brp.csv", [HEADER, *rows()])) == 0
    assert run(monkeypatch, "letters", "draw", "--count", "5", "--seed", "1", "-w", str(workspace.root)) == 0
    if workspace.store.dialect == "postgresql":
        columns = [
            r[0]
            for r in workspace.store._query(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = ? AND table_name = 'residents'",
                (workspace.store.schema,),
            )
        ]
    else:
        columns = [r["name"] for r in workspace.store._query("PRAGMA table_info(residents)")]
    # the draw: id, birth_date, address_key, wijk, buurt, gender, restricted; the letter: names and address
    # (huisnummer, huisletter and toevoeging as the registry has them)
    assert sorted(columns) == sorted(
        [
            "id",
            "import_id",
            "birth_date",
            "gender",
            "address_key",
            "postcode",
            "house_number",
            "house_letter",
            "house_suffix",
            "wijk",
            "buurt",
            "restricted",
            "given_names",
            "name_prefix",
            "surname",
            "street",
            "city",
        ]
    )
    ids = {r[0] for r in workspace.store._query("SELECT id FROM residents")}
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    workspace.store.close()
    files = [p for p in workspace.root.iterdir() if p.is_file() and p.name != "brp.csv"]
    assert any(p.suffix == ".arrow" for p in files)
    stored = b"".join(p.read_bytes() for p in files)
    for bsn in BSN:
        assert bsn.encode() not in stored, bsn


@pytest.mark.parametrize(
    ("born", "on", "min_age"),
    [
        ("2008-02-29", "2024-02-28", 16),
        ("2008-02-29", "2024-02-29", 16),
        ("2008-02-29", "2025-02-28", 17),
        ("2008-02-29", "2025-03-01", 17),
        ("2007-12-31", "2024-01-01", 16),
        ("2008-01-01", "2024-01-01", 16),
        ("2008-01-02", "2024-01-01", 16),
    ],
)
def test_integer_birth_cutoff_agrees_with_ages_on(born: str, on: str, min_age: int) -> None:
    reference = date.fromisoformat(on)
    by_age = int(ages_on(pd.Series([born]), reference)[0]) >= min_age
    assert (int(born.replace("-", "")) <= latest_birth(reference, min_age)) == by_age
