"""Every CSV (and XLSX) the product writes, enumerated from the source and checked (issue 18 item 7).

``WRITERS`` lists each function that writes a table file, found by scanning the product's source for
``to_csv``/``to_excel``/``csv.writer``/``write_table`` calls; the scan must find exactly these, so a new
writer fails this test until it is added here and checked. Each checked writer is run with hostile cells
(formula-leading text: ``=``, ``+``, ``-``, ``@``) and, where it writes aggregates, counts 1-4. Person-level
files (the organiser's lists, ``klero select``'s panel, the publish kit's pseudonymised pool) are not
aggregates, so suppression does not apply to them; formula neutralisation does. The reports write no CSV
(HTML, PDF, DOCX only; their suppression is tested in tests/reports).
"""

from __future__ import annotations

import ast
import csv
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kleroterion", "sortition", "deliberation", "reports")
WRITE_CALLS = {"to_csv", "to_excel", "writer", "DictWriter", "write_table"}

#: Every table writer of the product: module:function -> how it is checked (or why it is exempt).
WRITERS = {
    "kleroterion.exports:write_table": "checked: CSV and XLSX cells neutralised (the organiser's lists)",
    "kleroterion.lists:export_list": "checked: klero panel export of a pool with hostile contact cells",
    "kleroterion.app.analysis:write_tables": "checked: counts 1-4 suppressed with a complementary cell, neutralised",
    "kleroterion.app.quotas:write_quotas": "checked: neutralised (no person counts in a quota file)",
    "kleroterion.app.select:select_from_files": "checked: panel and probabilities files neutralised",
    "kleroterion.app.lottery:write_tickets": "checked: the published ticket list neutralised",
    "kleroterion.app.replay:write_publish_kit": "checked: pool.csv and quotas.csv neutralised, replay still matches",
    "kleroterion.app.letters:export_letters": "checked: the mail-merge list with sign-up links, neutralised",
    "kleroterion.demo:_write_registry": "exempt: the demo's synthetic input files",
    "kleroterion.demo:_simulate_signups": "exempt: the demo's synthetic input files",
    "kleroterion.demo:_simulate_answers": "exempt: the demo's synthetic input files",
    "kleroterion.demo:_simulate_receipts": "exempt: the demo's synthetic input files",
    "kleroterion.store.residents:write_columns": "exempt: store.residents.arrow for the letter draw, not a CSV",
}
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def writer_calls() -> set[str]:
    """module:function of every function in the product that calls a table-writing method."""
    found = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for top in ast.walk(tree):
                if not isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(top):
                    if isinstance(node, ast.Call):
                        func = node.func
                        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                        if name in WRITE_CALLS:
                            found.add(f"{module}:{top.name}")
    return found


def test_the_writers_are_exactly_the_enumerated_ones() -> None:
    found = writer_calls()
    unknown = sorted(found - set(WRITERS))
    assert not unknown, f"new table writers: add them to WRITERS and check them here: {unknown}"
    assert found == set(WRITERS), f"writers no longer found (remove them from WRITERS): {sorted(set(WRITERS) - found)}"
    checked = {k for k, how in WRITERS.items() if how.startswith("checked")}
    assert len(checked) == 8


def csv_cells(path: Path, *, delimiter: str = ",", encoding: str = "utf-8") -> list[str]:
    with path.open(encoding=encoding, newline="") as handle:
        return [cell for row in csv.reader(handle, delimiter=delimiter) for cell in row]


def assert_neutral(cells: list[str], where: str) -> None:
    bad = [c for c in cells if c.startswith(FORMULA) and not _number(c)]
    assert not bad, f"{where}: formula-leading cells {bad[:5]}"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x")']


def test_write_table_csv_and_xlsx(tmp_path: Path) -> None:
    from kleroterion.exports import write_table

    table = pd.DataFrame({"naam": HOSTILE, "n": [1, 2, 3, 4, 5]})
    write_table(table, tmp_path / "l.csv")
    assert_neutral(csv_cells(tmp_path / "l.csv", delimiter=";", encoding="cp1252"), "l.csv")
    write_table(table, tmp_path / "l.xlsx")
    sheet = load_workbook(tmp_path / "l.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert_neutral([str(c.value) for c in cells if isinstance(c.value, str)], "l.xlsx")


def test_analysis_tables_suppress_small_counts_and_neutralise(tmp_path: Path) -> None:
    from kleroterion.app.analysis import write_tables

    table = pd.DataFrame(
        {
            "variable": ["=x", "=x", "=x", "@y", "@y"],
            "category": ["-a", "b", "c", "+d", "e"],
            "n": [3, 40, 55, 50, 60],
            "share": [0.03, 0.4, 0.57, 0.45, 0.55],
        }
    )
    write_tables({"t": table}, tmp_path / "out", threshold=5)
    path = tmp_path / "out" / "t.csv"
    assert_neutral(csv_cells(path), "t.csv")
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    counts = written["n"].tolist()
    assert not [c for c in counts if c.isdigit() and 1 <= int(c) <= 4]
    # =x: 3 hidden, and 40 (the next smallest) with it, so 98 - 55 gives only their sum; @y untouched
    assert counts == ["<5", "<5", "55", "50", "60"]
    assert written["share"].tolist()[:2] == ["", ""]


def test_quota_file(tmp_path: Path) -> None:
    from kleroterion.app.quotas import write_quotas

    quotas = pd.DataFrame({"category": ["=c", "=c"], "feature": ["-1", "+2"], "min": [0, 1], "max": [3, 4]})
    write_quotas(quotas, tmp_path / "q.csv")
    assert_neutral(csv_cells(tmp_path / "q.csv"), "q.csv")


def test_lottery_tickets(tmp_path: Path) -> None:
    from kleroterion.app.lottery import write_tickets

    write_tickets(tmp_path / "t.csv", [(1, frozenset({"=a", "b"})), (2, frozenset({"@c"}))])
    assert_neutral(csv_cells(tmp_path / "t.csv"), "t.csv")


def test_select_outputs(tmp_path: Path) -> None:
    from kleroterion.app.select import SelectRequest, select_from_files

    pd.DataFrame({"category": ["g", "g"], "feature": ["=f", "-m"], "min": [1, 1], "max": [2, 2]}).to_csv(
        tmp_path / "c.csv", index=False
    )
    pd.DataFrame({"id": [f"@p{i}" for i in range(6)], "g": ["=f", "-m"] * 3}).to_csv(tmp_path / "r.csv", index=False)
    out, probabilities = tmp_path / "panel.csv", tmp_path / "p.csv"
    select_from_files(
        SelectRequest(tmp_path / "c.csv", tmp_path / "r.csv", size=2, seed=1, out=out, probabilities=probabilities)
    )
    assert_neutral(csv_cells(out), "panel.csv")
    assert_neutral(csv_cells(probabilities), "p.csv")


def test_publish_kit_and_panel_export_of_a_pool_with_hostile_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A people-file pool whose category values and contact cells start with formula characters: the
    kit's pool.csv and quotas.csv and the panel export are neutralised, and the kit still replays."""
    root = tmp_path / "ws"
    assert run_cli(monkeypatch, "init", str(root), "--name", "t", "--municipality", "X") == 0
    with (root / "process.toml").open("a", encoding="utf-8") as process:
        process.write('\n[[signup.category]]\nname = "kleur"\nvalues = ["=rood", "+blauw", "-groen"]\n')
    colours = ["=rood", "+blauw", "-groen"]
    pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(12)],
            "kleur": [colours[i % 3] for i in range(12)],
            "email": [f'=HYPERLINK("http://x/{i}")' for i in range(12)],
        }
    ).to_csv(tmp_path / "people.csv", index=False)
    assert run_cli(monkeypatch, "pool", "import", str(tmp_path / "people.csv"), "-w", str(root)) == 0
    pd.DataFrame({"category": ["kleur"] * 3, "feature": colours, "min": [1, 1, 1], "max": [2, 2, 2]}).to_csv(
        tmp_path / "q.csv", index=False
    )
    assert run_cli(monkeypatch, "quotas", "import", str(tmp_path / "q.csv"), "--size", "4", "-w", str(root)) == 0
    assert run_cli(monkeypatch, "panel", "select", "--seed", "5", "-w", str(root)) == 0
    kit = tmp_path / "kit"
    assert run_cli(monkeypatch, "publish-kit", str(kit), "-w", str(root)) == 0
    for name in ("pool.csv", "quotas.csv", "probabilities.csv"):
        assert_neutral(csv_cells(kit / name), name)
    assert "'=rood" in (kit / "pool.csv").read_text(encoding="utf-8")
    assert run_cli(monkeypatch, "replay", str(kit)) == 0  # the replay reads the values back unneutralised
    for suffix in ("csv", "xlsx"):
        export = tmp_path / f"panel.{suffix}"
        assert run_cli(monkeypatch, "panel", "export", str(export), "-w", str(root)) == 0
    assert_neutral(csv_cells(tmp_path / "panel.csv", delimiter=";", encoding="cp1252"), "panel.csv")
    sheet = load_workbook(tmp_path / "panel.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert_neutral([c.value for c in cells if isinstance(c.value, str)], "panel.xlsx")


def test_letters_export_with_signup_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mail-merge list with a sign-up link and QR code per letter: hostile names and streets neutralised."""
    from kleroterion.app import letters

    table = pd.DataFrame({"code": ["ABCDE-FGHJK-2", "KLMNP-QRSTV-3"], "naam": HOSTILE[:2], "straat": HOSTILE[2:4]})
    monkeypatch.setattr(letters, "letter_list", lambda ws: table.copy())
    monkeypatch.setattr(letters, "record_export", lambda store, kind, result: None)
    for suffix in ("csv", "xlsx"):
        path = tmp_path / f"brieven.{suffix}"
        workspace = SimpleNamespace(store=None)  # the list and the audit record are stubbed above
        letters.export_letters(workspace, path, signup_url="https://example.nl/aanmelden/raad")  # type: ignore[arg-type]
    cells = csv_cells(tmp_path / "brieven.csv", delimiter=";", encoding="cp1252")
    assert_neutral(cells, "brieven.csv")
    assert "https://example.nl/aanmelden/raad#code=ABCDE-FGHJK-2" in cells
    sheet = load_workbook(tmp_path / "brieven.xlsx").active
    values = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in values)
    assert_neutral([c.value for c in values if isinstance(c.value, str)], "brieven.xlsx")
