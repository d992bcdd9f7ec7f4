"""The streaming CSV reader: file row numbers as a spreadsheet shows them, on both reading paths."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kleroterion.errors import InputError
from kleroterion.io import IrregularCsvError, iter_csv, read_table, scan_csv

# (name, bytes, expected {file row: first cell}, whether the fast path can number the rows itself)
CASES = [
    ("plain", b"a;b;c\n1;2;3\n4;5;6\n", {2: "1", 3: "4"}, True),
    ("bom_crlf", "\ufeffa;b;c\r\n1;2;3\r\n4;5;6\r\n".encode(), {2: "1", 3: "4"}, True),
    ("comma_no_final_newline", b"a,b,c\n1,2,3\n4,5,6", {2: "1", 3: "4"}, True),
    ("trailing_empty_lines", b"a;b;c\n1;2;3\n4;5;6\n\n\n", {2: "1", 3: "4"}, True),
    ("row_of_empty_cells", b"a;b;c\n1;2;3\n;;\n4;5;6\n", {2: "1", 4: "4"}, True),
    ("windows_1252", "a;b;c\nJosé;2;3\n".encode("cp1252"), {2: "José"}, True),
    ("blank_line_inside", b"a;b;c\n1;2;3\n\n4;5;6\n", {2: "1", 4: "4"}, False),
    ("line_break_in_a_cell", b'a;b;c\n"x\ny";2;3\n4;5;6\n', {2: "x\ny", 3: "4"}, False),
    ("header_only", b"a;b;c\n", {}, True),
]


def first_cells(frames: list[pd.DataFrame]) -> dict[int, str]:
    return {int(row): str(value) for frame in frames for row, value in frame["a"].items()}


@pytest.mark.parametrize(("name", "data", "expected", "fast"), CASES, ids=[c[0] for c in CASES])
def test_both_paths_number_rows_as_a_spreadsheet(
    name: str, data: bytes, expected: dict[int, str], fast: bool, tmp_path: Path
) -> None:
    path = tmp_path / f"{name}.csv"
    path.write_bytes(data)
    layout = scan_csv(path)
    assert layout.header == ["a", "b", "c"]
    assert first_cells(list(iter_csv(layout, chunk_rows=1, exact=True))) == expected
    if fast:
        assert first_cells(list(iter_csv(layout, chunk_rows=1))) == expected
    else:
        with pytest.raises(IrregularCsvError):
            list(iter_csv(layout, chunk_rows=1))
    assert first_cells([read_table(path)]) == expected


def test_wrong_cell_counts_are_all_named_before_anything_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a;b;c\n1;2;3\n4;5\n6;7;8;9\n")
    layout = scan_csv(path)
    with pytest.raises(IrregularCsvError):
        list(iter_csv(layout))
    with pytest.raises(InputError) as caught:
        list(iter_csv(layout, exact=True))
    text = str(caught.value)
    assert "row 3, column 'c': has 2 cells, the header has 3" in text
    assert "row 4, column '(extra cell 4)': has 4 cells, the header has 3" in text


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "the file is empty"),
        (b"a;a;b\n1;2;3\n", "column appears more than once"),
        (b"a;b\n\x81\x8d;1\n", "cannot decode the file as UTF-8 or Windows-1252"),
    ],
)
def test_unreadable_files_say_what_to_do(data: bytes, fragment: str, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match=fragment):
        scan_csv(path)


def test_spss_sav_reads_codes_as_text_with_case_numbers(tmp_path: Path) -> None:
    import pyreadstat

    frame = pd.DataFrame({"participant_id": ["P1", "P2", "P3"], "A1": [3.0, 9.0, float("nan")], "A4": [0.5, 10, 7]})
    path = tmp_path / "golf.sav"
    # 9 is a declared (user) missing code with a value label: read_table keeps the code, not the label
    pyreadstat.write_sav(
        frame, str(path), variable_value_labels={"A1": {3.0: "neutraal", 9.0: "weet niet"}}, missing_ranges={"A1": [9]}
    )
    read = read_table(path)
    assert list(read.index) == [1, 2, 3]  # SPSS case numbers
    assert read["A1"].tolist() == ["3", "9", ""]  # whole numbers without ".0"; system-missing empty
    assert read["A4"].tolist() == ["0.5", "10", "7"]


def test_a_broken_sav_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "kapot.sav"
    path.write_bytes(b"not an SPSS file at all")
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert "kapot.sav" in str(caught.value) and "SPSS" in str(caught.value)
