"""The export writer and the mail merge: encodings, formula injection, atomic writes, house letters."""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from kleroterion.errors import KleroError
from kleroterion.exports import closest_cp1252, neutralise, write_table
from kleroterion.lists import address_line
from kleroterion.workspace import Workspace
from tests.conftest import run_cli

HEADER = (
    "bsn;voornamen;geslachtsnaam;geboortedatum;geslacht;straatnaam;huisnummer;huisletter;huisnummertoevoeging;"
    "postcode;woonplaats;wijkcode"
)
#: (huisnummer, huisletter, toevoeging): one resident per address, the same number with and without a letter.
ADDRESSES = [
    ("643", "", ""),
    ("643", "B", ""),
    ("643", "b", "2"),
    ("12", "", "hs"),
    ("12", "A", "1"),
    ("7", "", ""),
    ("7", "C", ""),
    ("100", "", "bis"),
]


def read_csv(path: Path, encoding: str = "cp1252") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def read_xlsx(path: Path) -> list[dict[str, object]]:
    sheet = load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(c) for c in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


def registry_with_letters(path: Path) -> Path:
    lines = [HEADER]
    for i, (number, letter, suffix) in enumerate(ADDRESSES):
        born = f"19{50 + i}0101"
        person = f"{100_000_500 + i};Naam{i};Achter;{born};{'MV'[i % 2]}"
        lines.append(f"{person};Molenstraat;{number};{letter};{suffix};5981 AB;Panningen;WK01")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- the writer ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","klik")', '\'=HYPERLINK("http://x","klik")'),
        ("+31 6 12345678", "'+31 6 12345678"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Jansen", "Jansen"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_prefixes_formula_starts(value: str, expected: str) -> None:
    assert neutralise(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Łukasz", "Lukasz"), ("Nguyễn", "Nguyên"), ("Erdoğan", "Erdogan"), ("Zoë", "Zoë"), ("😀", "?"), ("ő", "o")],
)
def test_closest_cp1252_keeps_what_windows_1252_holds(value: str, expected: str) -> None:
    assert closest_cp1252(value) == expected
    expected.encode("cp1252")


def test_csv_cp1252_fits_foreign_letters_and_names_them(tmp_path: Path) -> None:
    table = pd.DataFrame({"naam": ["Zoë", "Łukasz", "=1+1"], "n": [1, 2, 3]})
    result = write_table(table, tmp_path / "lijst.csv")
    rows = read_csv(tmp_path / "lijst.csv")
    assert [r["naam"] for r in rows] == ["Zoë", "Lukasz", "'=1+1"]
    assert result.approximated == [(2, "naam", "Łukasz")]
    assert result.neutralised == 1 and result.rows == 3
    write_table(table, tmp_path / "lijst-utf8.csv", encoding="utf-8")
    assert [r["naam"] for r in read_csv(tmp_path / "lijst-utf8.csv", "utf-8-sig")] == ["Zoë", "Łukasz", "'=1+1"]


def test_xlsx_holds_text_never_a_formula(tmp_path: Path) -> None:
    table = pd.DataFrame({"naam": ['=HYPERLINK("http://x","klik")', "Łukasz"], "n": [1, 2]})
    write_table(table, tmp_path / "lijst.xlsx")
    rows = read_xlsx(tmp_path / "lijst.xlsx")
    assert rows == [{"naam": '\'=HYPERLINK("http://x","klik")', "n": 1}, {"naam": "Łukasz", "n": 2}]
    cell = load_workbook(tmp_path / "lijst.xlsx").active["A2"]  # type: ignore[index]
    assert cell.data_type == "s"


def test_written_owner_only_and_replaced_atomically(tmp_path: Path) -> None:
    target = tmp_path / "lijst.csv"
    target.write_text("oud", encoding="utf-8")
    write_table(pd.DataFrame({"a": ["x"]}), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert read_csv(target) == [{"a": "x"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lijst.csv"]  # no temporary file left


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("lijst.txt", "ending in .csv or .xlsx"), ("geen-map/lijst.csv", "does not exist")],
)
def test_bad_target_is_refused_before_writing(tmp_path: Path, name: str, fragment: str) -> None:
    with pytest.raises(KleroError, match=fragment):
        write_table(pd.DataFrame({"a": ["x"]}), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_in_the_way_is_a_clean_error_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "lijst.csv").mkdir()
    with pytest.raises(KleroError, match="Nothing was changed"):
        write_table(pd.DataFrame({"a": ["x"]}), tmp_path / "lijst.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["lijst.csv"] and (tmp_path / "lijst.csv").is_dir()


def test_unknown_encoding_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KleroError, match="cp1252"):
        write_table(pd.DataFrame({"a": ["x"]}), tmp_path / "a.csv", encoding="latin-9")


# -- the mail merge -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("parts", "line"),
    [
        (("Molenstraat", "643", "B", ""), "Molenstraat 643 B"),
        (("Molenstraat", "643", "", ""), "Molenstraat 643"),
        (("Kerkweg", "12", "A", "1"), "Kerkweg 12 A 1"),
        (("Kerkweg", "12", "", "hs"), "Kerkweg 12 hs"),
    ],
)
def test_address_line(parts: tuple[str, str, str, str], line: str) -> None:
    assert address_line(*parts) == line


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_letters_keep_house_letter_and_toevoeging_as_the_registry_has_them(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    ws = str(workspace.root)
    assert run_cli(monkeypatch, "registry", "import", str(registry_with_letters(tmp_path / "brp.csv")), "-w", ws) == 0
    count = str(len(ADDRESSES))
    assert run_cli(monkeypatch, "letters", "draw", "--count", count, "--seed", "1", "-w", ws) == 0
    out = tmp_path / f"brieven{suffix}"
    assert run_cli(monkeypatch, "letters", "export", str(out), "-w", ws) == 0
    rows = read_csv(out) if suffix == ".csv" else read_xlsx(out)
    got = sorted((str(r["huisnummer"]), r["huisletter"] or "", r["huisnummertoevoeging"] or "") for r in rows)
    assert got == sorted(ADDRESSES)  # every letter, none without its letter or toevoeging, case kept
    lines = {str(r["adresregel"]) for r in rows}
    assert lines == {address_line("Molenstraat", *a) for a in ADDRESSES}
    assert "Molenstraat 643 B" in lines and "Molenstraat 643 b 2" in lines
    audit = workspace.store.audit_records("export.letters")[-1]
    assert audit["parameters"]["file"] == out.name and audit["result"]["rows"] == len(ADDRESSES)
    assert "Naam" not in str(audit)  # no personal data in the audit row


def test_letters_of_an_older_workspace_take_the_letter_from_the_address_key(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = str(workspace.root)
    assert run_cli(monkeypatch, "registry", "import", str(registry_with_letters(tmp_path / "brp.csv")), "-w", ws) == 0
    assert run_cli(monkeypatch, "letters", "draw", "--count", "8", "--seed", "1", "-w", ws) == 0
    with workspace.store.transaction() as conn:  # as imported before migration 0006
        conn.execute("UPDATE residents SET house_letter = NULL, house_suffix = NULL")
    assert run_cli(monkeypatch, "letters", "export", str(tmp_path / "b.csv"), "-w", ws) == 0
    got = sorted((r["huisnummer"], r["huisletter"], r["huisnummertoevoeging"]) for r in read_csv(tmp_path / "b.csv"))
    assert got == sorted((n, letter.upper(), suffix.upper()) for n, letter, suffix in ADDRESSES)


def test_letters_export_to_a_missing_folder_fails_cleanly(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(workspace.root)
    assert run_cli(monkeypatch, "registry", "import", str(registry_with_letters(tmp_path / "brp.csv")), "-w", ws) == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "letters", "export", str(tmp_path / "nergens" / "b.csv"), "-w", ws) == 1
    assert "does not exist" in " ".join(capsys.readouterr().out.split())
    assert not workspace.store.audit_records("export.letters")


def test_csv_is_semicolon_separated(tmp_path: Path) -> None:
    write_table(pd.DataFrame({"a": ["x;y"], "b": ["z"]}), tmp_path / "a.csv")
    text = (tmp_path / "a.csv").read_bytes().decode("cp1252")
    assert text.splitlines()[0] == "a;b"
    assert next(csv.reader(io.StringIO(text.splitlines()[1]), delimiter=";")) == ["x;y", "z"]
