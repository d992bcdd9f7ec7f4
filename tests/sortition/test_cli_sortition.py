"""The citizen-lottery commands through the real ``klero`` entry point: exit codes, messages, store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.workspace import Workspace
from tests.conftest import DATA
from tests.conftest import run_cli as run

# BSNs from the synthetic block (sortition.registry.SYNTHETIC_BSN_BLOCK): exempt from the elfproef
HEADER = "bsn;voornamen;geslachtsnaam;geboortedatum;geslacht;straatnaam;huisnummer;postcode;woonplaats"
GOOD_ROWS = (
    "100000111;Jérôme;Dijkstra;19800101;M;Kerkstraat;1;5981 AB;Panningen",
    "100000112;Geertruida Ëlsbeth;van 't Hoff;19851231;V;Kerkstraat;1;5981 AB;Panningen",
    "100000113;Noël;Bruggeman-Ruçi;20000229;O;Molenweg;12;5988 CD;Helden",
)


def write(path: Path, lines: list[str] | tuple[str, ...], *, encoding: str = "cp1252") -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def test_windows_1252_semicolon_extract_with_dutch_names_imports(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    extract = write(tmp_path / "brp.csv", [HEADER, *GOOD_ROWS])
    with pytest.raises(UnicodeDecodeError):
        extract.read_bytes().decode("utf-8")  # the file really is not UTF-8
    assert run(monkeypatch, "registry", "import", str(extract), "-w", str(workspace.root)) == 0
    assert "Imported 3 residents at 2 addresses" in capsys.readouterr().out
    names = {tuple(r) for r in workspace.store._query("SELECT given_names, surname FROM residents")}
    assert names == {("Jérôme", "Dijkstra"), ("Geertruida Ëlsbeth", "van 't Hoff"), ("Noël", "Bruggeman-Ruçi")}
    ids = [r[0] for r in workspace.store._query("SELECT id FROM residents")]
    assert not {"100000111", "100000112", "100000113"} & set(ids)  # pseudonymised, no BSN stored


# (name, file lines, fragments the message must hold: file, row, column, value)
BAD_EXTRACTS = [
    (
        "wrong_cell_count",
        [HEADER, GOOD_ROWS[0], "100000112;Anna;Jansen;19900101;V;Dorpstraat;3;5981 AB"],
        ["brp.csv", "row 3", "column 'woonplaats'", "has 8 cells, the header has 9", "Dorpstraat"],
    ),
    (
        "missing_column",
        [HEADER.replace(";geslacht;", ";"), GOOD_ROWS[0].replace(";M", "")],
        ["brp.csv", "column 'geslacht'", "missing required column 'geslacht/geslachtsaanduiding'"],
    ),
    (
        "duplicate_id",
        [HEADER, GOOD_ROWS[0], GOOD_ROWS[1].replace("112", "111")],
        ["brp.csv", "row 3", "column 'bsn'", "duplicate id", "'100000111'"],
    ),
    (
        "future_date",
        [HEADER, GOOD_ROWS[0], GOOD_ROWS[1].replace("19851231", "20300101")],
        ["brp.csv", "row 3", "column 'geboortedatum'", "after the reference date", "'20300101'"],
    ),
    (
        "unknown_gender",
        [HEADER, GOOD_ROWS[0].replace(";M;", ";Q;")],
        ["brp.csv", "row 2", "column 'geslacht'", "unknown gender code", "'Q'"],
    ),
    (
        "malformed_postcode",
        [HEADER, GOOD_ROWS[2].replace("5988 CD", "0598 CD")],
        ["brp.csv", "row 2", "column 'postcode'", "malformed postcode", "'0598 CD'"],
    ),
    ("header_only", [HEADER], ["brp.csv", "no residents"]),
    ("empty_file", [], ["brp.csv", "the file is empty"]),
]


@pytest.mark.parametrize(("name", "lines", "fragments"), BAD_EXTRACTS, ids=[b[0] for b in BAD_EXTRACTS])
def test_bad_extract_exits_1_names_the_cell_and_stores_nothing(
    name: str,
    lines: list[str],
    fragments: list[str],
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    extract = tmp_path / "brp.csv"
    if lines:
        write(extract, lines)
    else:
        extract.write_bytes(b"")
    before = workspace.store.table_counts()
    assert run(monkeypatch, "registry", "import", str(extract), "-w", str(workspace.root)) == 1
    message = " ".join(capsys.readouterr().out.split())  # undo console wrapping
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert workspace.store.table_counts() == before


def test_areas_file_sets_wijk_and_reports_unplaced_addresses(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        *GOOD_ROWS,
        "100000114;Piet;Smits;19700505;M;Molenweg;14;5988 CD;Helden",
        "100000115;Kees;Peeters;19600606;M;Hoek;2;5991 EF;Baarlo",
    ]
    extract = write(tmp_path / "brp.csv", [HEADER, *rows])
    # 5981 AB 1 by exact number; 5988 CD by the whole-postcode row except number 14, which has its own; 5991 EF nowhere
    areas = write(
        tmp_path / "wijken.csv",
        ["postcode;huisnummer;wijk;buurt", "5981AB;1;WK01;BU011", "5988 CD;;WK02;BU021", "5988 CD;14;WK03;BU031"],
    )
    code = run(monkeypatch, "registry", "import", str(extract), "--areas", str(areas), "-w", str(workspace.root))
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0, out
    assert "3 addresses placed, 1 not placed" in out
    assert "not placed: 5991EF 2" in out
    wijk = dict(tuple(r) for r in workspace.store._query("SELECT house_number, wijk FROM residents"))
    assert wijk == {"1": "WK01", "12": "WK02", "14": "WK03", "2": None}
    audit = workspace.store.audit_records("registry.areas")
    assert len(audit) == 1
    result = audit[0]["result"] if isinstance(audit[0]["result"], dict) else json.loads(audit[0]["result"])
    assert result["unplaced_addresses"] == ["5991EF|2||"]


def test_bad_areas_file_exits_1_and_stores_nothing(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    extract = write(tmp_path / "brp.csv", [HEADER, *GOOD_ROWS])
    areas = write(
        tmp_path / "wijken.csv", ["postcode;huisnummer;wijk", "5981AB;1;WK01", "5981AB;1;WK02", "59 81AB;x;WK01"]
    )
    before = workspace.store.table_counts()
    assert run(monkeypatch, "registry", "import", str(extract), "--areas", str(areas), "-w", str(workspace.root)) == 1
    out = " ".join(capsys.readouterr().out.split())
    for fragment in (
        "wijken.csv, row 4, column 'postcode': malformed postcode (use 1234 AB) (value: '59 81AB')",
        "wijken.csv, row 4, column 'huisnummer'",
        "wijken.csv, row 2, column 'postcode'",
        "more than once with different areas",
    ):
        assert fragment in out, (fragment, out)
    assert workspace.store.table_counts() == before


# -- klero select (workspace-free) ---------------------------------------------------------------
SMALL_20 = DATA / "citizensassemblies-replication" / "data" / "example_small_20"


def select_args(categories: Path, respondents: Path, size: int | str, *options: str) -> list[str]:
    """``klero select`` on a categories + respondents pair, with further options."""
    return ["select", "--categories", str(categories), "--respondents", str(respondents), "--size", str(size), *options]


def tiny_files(tmp_path: Path) -> tuple[Path, Path]:
    categories = write(tmp_path / "categories.csv", ["category,feature,min,max", "gender,V,1,1", "gender,M,1,1"])
    respondents = write(tmp_path / "respondents.csv", ["id,gender", "a,V", "b,V", "c,M", "d,M"])
    return categories, respondents


@pytest.mark.parametrize("backend", ["sortition-algorithms", "native"])
def test_select_tiny_pool_exact_probabilities(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # k = 2 with exactly one V and one M: every feasible panel is {V, M}, so every π is exactly 1/2
    categories, respondents = tiny_files(tmp_path)
    probs = tmp_path / "probs.csv"
    options = ("--engine", backend, "--seed", "3", "--probabilities", str(probs), "--json")
    code = run(monkeypatch, *select_args(categories, respondents, 2, *options))
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(out)
    assert set(report) == {
        "algorithm",
        "engine",
        "panel_size",
        "min_probability",
        "mean_probability",
        "max_probability",
        "gini",
        "seconds",
        "panel",
        "seed",
        "relaxation",
        "notes",
        "excluded",
    }
    assert report["seed"] == 3 and report["relaxation"] == [] and report["notes"] == []
    assert report["engine"] == backend
    assert report["panel_size"] == 2
    assert report["min_probability"] == pytest.approx(0.5)
    assert report["max_probability"] == pytest.approx(0.5)
    assert report["gini"] == pytest.approx(0.0, abs=1e-9)
    assert len({p for p in report["panel"] if p in "ab"}) == 1
    assert len({p for p in report["panel"] if p in "cd"}) == 1
    written = pd.read_csv(probs, dtype={"id": str})
    assert dict(zip(written["id"], written["probability"], strict=True)) == pytest.approx(dict.fromkeys("abcd", 0.5))


def test_select_exclude_file_leaves_those_ids_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    categories, respondents = tiny_files(tmp_path)
    excluded = write(tmp_path / "served.csv", ["id", "a", "d"])
    options = ("--exclude", str(excluded), "--seed", "3", "--json")
    assert run(monkeypatch, *select_args(categories, respondents, 2, *options)) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["panel"], report["excluded"]) == (["b", "c"], ["a", "d"])
    assert report["min_probability"] == pytest.approx(1.0)


def test_select_replication_example_small_20(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # example_small_20 (n = 200, k = 20): maximin reaches min π = k/n = 0.10 (DOMAIN.md §2; Flanigan et al.
    # 2021 report 10.0% for leximin, and with min = mean = k/n every π equals 0.10)
    panel_file = tmp_path / "panel.csv"
    args = select_args(
        SMALL_20 / "categories.csv", SMALL_20 / "respondents.csv", 20, "--engine", "native", "--seed", "7", "--json"
    )
    assert run(monkeypatch, *args, "--out", str(panel_file)) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["min_probability"] == pytest.approx(0.10, abs=1e-6)
    assert first["max_probability"] == pytest.approx(0.10, abs=1e-6)
    panel = pd.read_csv(panel_file, dtype=str)
    assert len(panel) == 20
    assert sorted(panel["id"]) == sorted(first["panel"])
    quotas = pd.read_csv(SMALL_20 / "categories.csv")
    for q in quotas.itertuples():
        assert q.min <= (panel[q.category] == q.feature).sum() <= q.max
    assert run(monkeypatch, *args) == 0
    assert json.loads(capsys.readouterr().out)["panel"] == first["panel"]  # same seed, same panel


BAD_SELECT_INPUTS = [
    (
        "min_not_a_number",
        ["category,feature,min,max", "gender,V,een,1", "gender,M,1,1"],
        ["id,gender", "a,V", "b,M"],
        ["categories.csv, row 2, column 'min': not a whole number", "'een'"],
    ),
    (
        "min_above_max",
        ["category,feature,min,max", "gender,V,2,1", "gender,M,1,1"],
        ["id,gender", "a,V", "b,M"],
        ["categories.csv, row 2, column 'min': min is larger than max", "(value: 2)"],
    ),
    (
        "unknown_value",
        ["category,feature,min,max", "gender,V,1,1", "gender,M,1,1"],
        ["id,gender", "a,V", "b,X"],
        ["respondents.csv, row 3, column 'gender': not one of M, V", "'X'"],
    ),
    (
        "missing_category_column",
        ["category,feature,min,max", "age,jong,1,1"],
        ["id,gender", "a,V", "b,M"],
        ["respondents.csv, column 'age': missing column"],
    ),
    (
        "duplicate_id",
        ["category,feature,min,max", "gender,V,1,1", "gender,M,1,1"],
        ["id,gender", "a,V", "a,M"],
        ["respondents.csv, row 3, column 'id': duplicate id", "'a'"],
    ),
    (
        "quotas_cannot_sum_to_size",
        ["category,feature,min,max", "gender,V,0,1", "gender,M,0,1"],
        ["id,gender", "a,V", "b,M", "c,M"],
        ["the maxima add up to 2, less than the panel size 3"],
    ),
]


@pytest.mark.parametrize(
    ("name", "categories", "respondents", "fragments"), BAD_SELECT_INPUTS, ids=[b[0] for b in BAD_SELECT_INPUTS]
)
def test_select_bad_input_exits_1_with_the_cell(
    name: str,
    categories: list[str],
    respondents: list[str],
    fragments: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cat = write(tmp_path / "categories.csv", categories)
    resp = write(tmp_path / "respondents.csv", respondents)
    size = "3" if name == "quotas_cannot_sum_to_size" else "2"
    code = run(monkeypatch, *select_args(cat, resp, size, "--engine", "native", "--seed", "1"))
    message = " ".join(capsys.readouterr().out.split())
    assert code == 1, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize(
    ("backend", "algorithm"), [("native", "diversimax"), ("sortition-algorithms", "goldilocks"), ("gurobi", "maximin")]
)
def test_select_rejects_unknown_backend_or_algorithm(
    backend: str, algorithm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    categories, respondents = tiny_files(tmp_path)
    options = ("--engine", backend, "--algorithm", algorithm, "--seed", "1")
    code = run(monkeypatch, *select_args(categories, respondents, 2, *options))
    assert code == 1
    assert "Error:" in capsys.readouterr().out


# -- klero letters draw ---------------------------------------------------------------------------
def letters_registry(tmp_path: Path) -> Path:
    """20 adults at 20 addresses in WK01, 20 in WK02, and 5 residents of 16 (born 2007) in WK02."""
    header = HEADER + ";wijkcode"
    rows = [
        f"{100_000_100 + i};A;B;19700101;V;Straat;{i + 1};5981 AB;Panningen;{'WK01' if i < 20 else 'WK02'}"
        for i in range(40)
    ]
    rows += [f"{100_000_200 + i};C;D;20070601;M;Laan;{i + 1};5982 AB;Panningen;WK02" for i in range(5)]
    return write(tmp_path / "brp.csv", [header, *rows])


def test_letters_oversample_and_repeat_draw_never_reuses_an_address(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(workspace.root)
    assert run(monkeypatch, "registry", "import", str(letters_registry(tmp_path)), "-w", root) == 0
    # 10 letters, WK02's 20 adult addresses weighted x4 against WK01's 20: shares 20:80 -> 2 and 8 letters;
    # each address holds one eligible adult, so p = 2/20 in WK01 and 8/20 in WK02
    args = ["letters", "draw", "--count", "10", "--min-age", "18", "--oversample", "wijk=WK02:4", "-w", root]
    assert run(monkeypatch, *args, "--seed", "5") == 0
    first = workspace.store.letters()
    assert first.groupby("stratum").size().to_dict() == {"WK01": 2, "WK02": 8}
    probabilities = first.groupby("stratum")["inclusion_probability"].unique()
    assert probabilities["WK01"].tolist() == pytest.approx([0.1])
    assert probabilities["WK02"].tolist() == pytest.approx([0.4])
    assert not first["resident_id"].isin(minor_ids(workspace)).any()
    # a second round never draws an address of the first
    assert run(monkeypatch, *args, "--seed", "6") == 0
    both = workspace.store.letters()
    assert len(both) == 20 and both["address_key"].is_unique
    (params,) = {json.dumps(a["parameters"]["oversample"]) for a in workspace.store.audit_records("letters.draw")}
    assert json.loads(params) == {"WK02": 4.0}
    capsys.readouterr()


def minor_ids(workspace: Workspace) -> set[str]:
    return {r[0] for r in workspace.store._query("SELECT id FROM residents WHERE birth_date > '2006-01-01'")}


def test_letters_min_age_limits_the_frame(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(workspace.root)
    assert run(monkeypatch, "registry", "import", str(letters_registry(tmp_path)), "-w", root) == 0
    # 40 adult addresses: 41 letters to 18+ is impossible, 45 to 16+ takes every address, minors included
    assert run(monkeypatch, "letters", "draw", "--count", "41", "--min-age", "18", "--seed", "1", "-w", root) == 1
    assert "Only 40 addresses with eligible residents" in " ".join(capsys.readouterr().out.split())
    assert run(monkeypatch, "letters", "draw", "--count", "45", "--min-age", "16", "--seed", "1", "-w", root) == 0
    assert minor_ids(workspace) <= set(workspace.store.letters()["resident_id"])


@pytest.mark.parametrize(
    ("specs", "fragment"),
    [
        (["wijk=WK02"], "write COLUMN=VALUE:FACTOR"),
        (["wijk=WK02:0"], "write COLUMN=VALUE:FACTOR"),
        (["wijk=WK02:2", "buurt=BU01:2"], "oversample one column at a time"),
        (["wijk=WK09:2"], "Oversampled stratum 'WK09' does not exist"),
    ],
)
def test_letters_bad_oversample_exits_1(
    specs: list[str],
    fragment: str,
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = str(workspace.root)
    assert run(monkeypatch, "registry", "import", str(letters_registry(tmp_path)), "-w", root) == 0
    before = workspace.store.table_counts()
    options = [x for spec in specs for x in ("--oversample", spec)]
    assert run(monkeypatch, "letters", "draw", "--count", "5", *options, "--seed", "1", "-w", root) == 1
    assert fragment in " ".join(capsys.readouterr().out.split())
    assert workspace.store.table_counts() == before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "algorithm"), [("sortition-algorithms", "maximin"), ("native", "maximin"), ("native", "legacy")]
)
def test_select_same_seed_same_panel_across_processes_with_other_string_hashing(
    backend: str, algorithm: str, tmp_path: Path
) -> None:
    # the panel list an engine returns may follow Python's per-process string hashing; a stored seed must
    # still replay in another process, so run `klero select` under three PYTHONHASHSEED values
    import os
    import subprocess

    rows = [f"r{i},{'MV'[i % 2]},{('jong', 'midden', 'oud')[i % 3]}" for i in range(24)]
    respondents = write(tmp_path / "respondents.csv", ["id,gender,age", *rows])
    categories = write(
        tmp_path / "categories.csv",
        ["category,feature,min,max", "gender,M,3,3", "gender,V,3,3", "age,jong,1,3", "age,midden,1,3", "age,oud,1,3"],
    )
    klero = Path(sys.executable).with_name("klero")
    panels = set()
    for hash_seed in ("1", "2", "3"):
        done = subprocess.run(
            [
                str(klero),
                "select",
                "--categories",
                str(categories),
                "--respondents",
                str(respondents),
                "--size",
                "6",
                "--engine",
                backend,
                "--algorithm",
                algorithm,
                "--seed",
                "11",
                "--json",
            ],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        panels.add(tuple(json.loads(done.stdout)["panel"]))
    assert len(panels) == 1
