"""Private by default: every file a command writes is its owner's only (0600, folders 0700), and no cell
of a CSV the product writes can run as a spreadsheet formula (OWASP CSV injection: a leading ``'``)."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.deliberation.test_survey_files import long_poll, poll_workspace

FORMULA = '=HYPERLINK("http://x","klik")'


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


@pytest.fixture
def analysed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A poll whose declared variable holds a formula, analysed with --output."""
    root = poll_workspace(tmp_path, monkeypatch)
    frame = long_poll(blank_rows=False)
    # a small category (3 treated, 3 control respondents): its counts must be suppressed in every table
    frame["age"] = frame["ID"].map(lambda i: FORMULA if int(i[1:]) % 40 == 1 else "18-34")
    frame.to_csv(tmp_path / "poll.csv", index=False)
    args = (
        "--id-column",
        "ID",
        "--wave-column",
        "Time",
        "--arm-column",
        "Group",
        "--variables",
        "age",
        "--weights",
        "wt",
    )
    assert run_cli(monkeypatch, "survey", "import", str(tmp_path / "poll.csv"), "-w", str(root), *args) == 0
    out = tmp_path / "tabellen"
    assert run_cli(monkeypatch, "analyse", "-w", str(root), "--output", str(out), "--weights", "none") == 0
    return out


def test_analysis_tables_are_owner_only_and_hold_no_formula(analysed: Path) -> None:
    tables = sorted(analysed.glob("*.csv"))
    assert tables
    assert mode(analysed) == 0o700
    assert {mode(t) for t in tables} == {0o600}
    written = [cell for t in tables for cell in cells(t)]
    assert "'" + FORMULA in written  # the variable's value is in the tables, neutralised
    assert not [c for c in written if c.startswith(("=", "+", "@"))]


def test_analysis_tables_show_no_count_below_the_threshold(analysed: Path) -> None:
    """Every person count (n, n_*, count_*) in every table is 0, at least 5 (the default threshold), or
    shown as "<5" with the row's other numbers blanked."""
    import pandas as pd

    from deliberation.disclosure import is_count_column

    suppressed = 0
    for table in sorted(analysed.glob("*.csv")):
        frame = pd.read_csv(table, dtype=str, keep_default_na=False)
        for column in (c for c in frame.columns if is_count_column(c)):
            for value in frame[column]:
                if value in ("", "<5"):
                    suppressed += value == "<5"
                    continue
                number = float(value)
                assert number == 0 or number >= 5, f"{table.name}, {column}: {value}"
    assert suppressed > 0  # the small category was there to hide


def test_klero_select_outputs_are_owner_only_and_hold_no_formula(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "categories.csv").write_text("category,feature,min,max\ngender,M,1,2\ngender,V,1,2\n", encoding="utf-8")
    people = "id,gender,note\n" + "".join(f"@p{i},{'MV'[i % 2]},{FORMULA if i % 2 else 'x'}\n" for i in range(8))
    (tmp_path / "people.csv").write_text(people.replace(f"{FORMULA}", f'"{FORMULA.replace(chr(34), chr(34) * 2)}"'))
    out, chances = tmp_path / "panel.csv", tmp_path / "chances.csv"
    args = ("--categories", str(tmp_path / "categories.csv"), "--respondents", str(tmp_path / "people.csv"))
    code = run_cli(
        monkeypatch, "select", *args, "--size", "4", "--seed", "1", "--out", str(out), "--probabilities", str(chances)
    )
    assert code == 0
    assert mode(out) == mode(chances) == 0o600
    written = cells(out) + cells(chances)
    assert "'@p0" in cells(chances)  # ids beginning with @ are neutralised too
    assert not [c for c in written if c.startswith(("=", "+", "@"))]


def test_a_workspace_and_its_quota_file_are_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "ws"
    assert run_cli(monkeypatch, "init", str(root), "--name", "T", "--municipality", "M") == 0
    assert mode(root) == 0o700
    assert {mode(p) for p in root.iterdir() if p.is_file()} == {0o600}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+31 6", "'+31 6"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("Jan", "Jan"), ("", "")],
)
def test_neutralise_frame_quotes_text_cells_that_start_a_formula(value: str, expected: str) -> None:
    import pandas as pd

    from kleroterion.exports import neutralise_frame

    table = neutralise_frame(pd.DataFrame({"text": [value], "number": [-2.5], value or "x": [1]}))
    assert table["text"].tolist() == [expected]
    assert table["number"].tolist() == [-2.5]  # numbers are no formula
    assert list(table.columns)[2] == (expected or "x")
