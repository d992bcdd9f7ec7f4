"""The whole chain through the real ``klero`` entry point, on a small synthetic municipality.

Every command a user can type is run here at least once (the demo and tests/test_readme.py run the
README's walk-through on the full example), and the readers added for the poll get their bad-input
cases: exit 1, a message naming file, row and column, and a store left exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from docx import Document

from kleroterion.workspace import Workspace
from sortition.pool import person_id
from sortition.quotas import count_by_quota
from sortition.registry import age_bands, ages_on
from sortition.synthetic import generate_registry
from tests.conftest import DATA, run_cli

EDUCATION = ("laag", "middelbaar", "hoog")
INSTRUMENT = DATA / "peel_en_maas" / "instrument.toml"
ITEMS = ("A1", "A2", "A3", "A4", "K1", "K2")


def flat(text: str) -> str:
    """Console output with the terminal's line wrapping undone."""
    return " ".join(text.split())


def answers(ids: list[str], *, shift: int) -> pd.DataFrame:
    """Valid answers for every item: Likert 1–5, scale 0–10, knowledge options a–d (b is correct)."""
    k = np.arange(len(ids))
    return pd.DataFrame(
        {
            "participant_id": ids,
            "A1": np.clip(1 + (k + shift) % 5, 1, 5),
            "A2": 1 + (k * 3 + shift) % 5,
            "A3": 1 + (k * 2) % 5,
            "A4": (k + 2 * shift) % 11,
            "K1": np.where((k + shift) % 3 == 0, "a", "b"),
            "K2": np.where(k % 4 == 0, "d", "b"),
        }
    )


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A workspace taken from registry import to analysis by CLI commands only."""
    yield build_chain(tmp_path_factory.mktemp("chain"))


def build_chain(base: Path, *, person: tuple[str, str] | None = None) -> dict[str, Path]:
    """Take a workspace ``base/ws`` from registry import to analysis by CLI commands only.

    ``person`` (given name, surname): resident i gets this name with the surname numbered (``Quackenbosch007``),
    sign-up i an e-mail address made of it, so a test can look for a name wherever the chain may have put it."""
    root = base / "ws"
    wijken = pd.DataFrame({"regiocode": ["WK189401", "WK189403"], "AantalInwoners": [300, 300], "Mannen": [150, 150]})
    extract, _ = generate_registry(
        wijken, total=600, men=300, rng=np.random.default_rng(8), reference_date=date(2024, 1, 1)
    )
    if person is not None:
        extract["voornamen"] = person[0]
        extract["geslachtsnaam"] = [f"{person[1]}{i:03d}" for i in range(len(extract))]
    brp = base / "brp.csv"
    extract.to_csv(brp, sep=";", index=False, encoding="cp1252")
    with pytest.MonkeyPatch.context() as mp:
        ws = str(root)
        assert (
            run_cli(
                mp, "init", ws, "--name", "Keten", "--municipality", "Peel en Maas", "--reference-date", "2024-01-01"
            )
            == 0
        )
        assert run_cli(mp, "registry", "import", str(brp), "-w", ws) == 0
        assert run_cli(mp, "letters", "draw", "--count", "150", "--stratify-by", "wijk", "--seed", "1", "-w", ws) == 0
        assert run_cli(mp, "letters", "export", str(base / "brieven.csv"), "-w", ws) == 0
        with Workspace.open(root) as opened:
            letters = opened.store.letters()
        signed = letters.iloc[:70]
        signups = pd.DataFrame(
            {
                "code": signed["code"],
                "gender": signed["gender"],
                "age_band": age_bands(ages_on(signed["birth_date"], date(2024, 1, 1))),
                "education": [EDUCATION[i % 3] for i in range(len(signed))],
            }
        )
        if person is not None:
            signups["email"] = [f"{person[0]}.{person[1]}{i:03d}@example.org".lower() for i in range(len(signed))]
        signups.to_csv(base / "aanmeldingen.csv", index=False)
        assert run_cli(mp, "pool", "import", str(base / "aanmeldingen.csv"), "-w", ws) == 0
        shares = str(DATA / "peel_en_maas" / "education_shares_synthetic.csv")
        assert run_cli(mp, "quotas", "derive", "--size", "10", "--tolerance", "2", "--shares", shares, "-w", ws) == 0
        assert run_cli(mp, "panel", "select", "--engine", "native", "--seed", "5", "--alternates", "3", "-w", ws) == 0
        assert run_cli(mp, "poll", "define", str(INSTRUMENT), "-w", ws) == 0
        invitees = [person_id(c) for c in letters["code"]]
        answers(invitees, shift=0).to_csv(base / "t1.csv", index=False)
        with Workspace.open(root) as opened:
            panel = opened.store.panel_members("panel")["person_id"].tolist()
        answers(panel, shift=1).to_csv(base / "t2.csv", index=False)
        assert run_cli(mp, "survey", "import", "--wave", "T1", str(base / "t1.csv"), "-w", ws) == 0
        assert run_cli(mp, "survey", "import", "--wave", "T2", str(base / "t2.csv"), "-w", ws) == 0
        assert run_cli(mp, "analyse", "-w", ws) == 0
    return {"root": root, "base": base}


def test_chain_stores_what_each_command_reports(chain: dict[str, Path]) -> None:
    export = pd.read_csv(chain["base"] / "brieven.csv", sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    with Workspace.open(chain["root"]) as ws:
        counts = ws.store.table_counts()
        assert counts["letters"] == len(export) == 150
        assert set(export["code"]) == set(ws.store.letters()["code"])
        assert counts["pool_members"] == 70
        assert len(ws.store.panel_members("panel")) == 10
        assert len(ws.store.panel_members("alternate")) == 3
        assert ws.store.latest_panel_draw()["engine"] == "native"
        assert counts["answers"] == (150 + 10) * len(ITEMS)
        change = ws.store.analysis("opinion_change")
        assert change is not None
        assert change["n_pairs"].tolist() == [10, 10, 10, 10]
    assert "bsn" not in export.columns  # the mail merge carries code, name and address only


def test_status_json_describes_the_latest_draw(
    chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run_cli(monkeypatch, "status", "--json", "-w", str(chain["root"])) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["counts"]["pool_members"] == 70
    assert status["panel"]["members"] == 10
    assert status["panel"]["engine"] == "native"
    assert status["panel"]["replacements"] == 0
    assert run_cli(monkeypatch, "panel", "verify", "-w", str(chain["root"])) == 0
    assert "replays identically" in flat(capsys.readouterr().out)


def test_outcomes_and_every_report_through_the_cli(
    chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws, out = str(chain["root"]), chain["base"]
    assert run_cli(monkeypatch, "recommendation", "add", "Bouw meer huurwoningen", "--support", "80", "-w", ws) == 0
    code = run_cli(
        monkeypatch,
        "response",
        "record",
        "1",
        "--status",
        "rejected",
        "--reason",
        "te duur",
        "--due",
        "2027-06-30",
        "-w",
        ws,
    )
    assert code == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "recommendation", "list", "-w", ws) == 0
    assert "1. Bouw meer huurwoningen — rejected (due 2027-06-30)" in flat(capsys.readouterr().out)
    for kind in ("council", "selection", "feedback"):
        html = out / f"{kind}.html"
        assert run_cli(monkeypatch, "report", kind, "--format", "html", "--out", str(html), "-w", ws) == 0
        assert "<h1>" in html.read_text(encoding="utf-8")
    selection = (out / "selection.html").read_text(encoding="utf-8")
    assert "klero panel select --algorithm maximin --seed 5 --engine native --alternates 3" in selection
    assert "te duur" in (out / "feedback.html").read_text(encoding="utf-8")
    docx = out / "council.docx"
    assert (
        run_cli(monkeypatch, "report", "council", "--lang", "en", "--format", "docx", "--out", str(docx), "-w", ws) == 0
    )
    headings = [p.text for p in Document(str(docx)).paragraphs if p.style is not None and "Heading" in p.style.name]
    assert "Summary" in headings


@pytest.mark.parametrize(
    ("name", "rows", "fragments"),
    [
        ("unknown code", [{"code": "ABCDE-FGHJK-2"}], ["row 2", "column 'code'"]),
        ("bad value", [{"education": "universiteit"}], ["row 2", "column 'education'", "universiteit"]),
    ],
)
def test_pool_import_bad_rows_change_nothing(
    chain: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    rows: list[dict[str, str]],
    fragments: list[str],
) -> None:
    base = chain["base"]
    with Workspace.open(chain["root"]) as ws:
        unused = ws.store.letters()["code"].iloc[100]  # a real code that has not signed up
        before = ws.store.table_counts()
    row = {"code": unused, "gender": "V", "age_band": "25-39", "education": "hoog", **rows[0]}
    bad = base / "late-signups.csv"
    pd.DataFrame([row]).to_csv(bad, index=False)
    capsys.readouterr()
    assert run_cli(monkeypatch, "pool", "import", str(bad), "-w", str(chain["root"])) == 1, name
    message = flat(capsys.readouterr().out)
    for fragment in ["late-signups.csv", *fragments]:
        assert fragment in message
    assert "Traceback" not in message
    with Workspace.open(chain["root"]) as ws:
        assert ws.store.table_counts() == before


def test_survey_import_bad_cells_change_nothing(
    chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = chain["base"]
    with Workspace.open(chain["root"]) as ws:
        before = ws.store.table_counts()
        stored_t2 = ws.store.answers().query("wave == 'T2'").sort_values(["participant_id", "item_code"])
    frame = pd.read_csv(base / "t2.csv", dtype=str)
    frame.loc[1, "A1"] = "7"  # Likert 1-5: file row 3
    frame.loc[2, "participant_id"] = "PNOBODY00000"  # file row 4
    bad = base / "t2-bad.csv"
    frame.to_csv(bad, index=False)
    capsys.readouterr()
    # even with --replace a bad file replaces nothing: T2's stored answers survive
    args = ("survey", "import", "--wave", "T2", str(bad), "--replace", "-w", str(chain["root"]))
    assert run_cli(monkeypatch, *args) == 1
    message = flat(capsys.readouterr().out)
    for fragment in ("t2-bad.csv", "row 3, column 'A1'", "'7'", "row 4, column 'participant_id'", "unknown"):
        assert fragment in message
    with Workspace.open(chain["root"]) as ws:
        assert ws.store.table_counts() == before
        after = ws.store.answers().query("wave == 'T2'").sort_values(["participant_id", "item_code"])
    pd.testing.assert_frame_equal(stored_t2.reset_index(drop=True), after.reset_index(drop=True))


def test_survey_reimport_needs_replace_and_is_audited(
    chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws_dir, t2 = str(chain["root"]), chain["base"] / "t2.csv"
    with Workspace.open(chain["root"]) as ws:
        before = ws.store.table_counts()
        stored = ws.store.wave_answer_count("T2")
    capsys.readouterr()
    assert run_cli(monkeypatch, "survey", "import", "--wave", "T2", str(t2), "-w", ws_dir) == 1
    message = flat(capsys.readouterr().out)
    assert f"Wave T2 already has {stored:,} stored answers" in message and "--replace" in message
    with Workspace.open(chain["root"]) as ws:
        assert ws.store.table_counts() == before
    assert run_cli(monkeypatch, "survey", "import", "--wave", "T2", str(t2), "--replace", "-w", ws_dir) == 0
    assert f"replacing {stored:,} earlier answers" in flat(capsys.readouterr().out)
    with Workspace.open(chain["root"]) as ws:
        assert ws.store.wave_answer_count("T2") == stored  # the same file again: same answers
        (last,) = ws.store._query(
            "SELECT parameters FROM audit_log WHERE action = 'survey.import' ORDER BY id DESC LIMIT 1"
        )
    assert json.loads(last["parameters"])["replaced_answers"] == stored


def test_analyse_writes_every_table_to_the_output_folder(
    chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = chain["base"] / "tabellen"
    assert run_cli(monkeypatch, "analyse", "--output", str(folder), "-w", str(chain["root"])) == 0
    with Workspace.open(chain["root"]) as ws:
        stored = ws.store.analysis("opinion_change")
    written = pd.read_csv(folder / "opinion_change.csv")
    assert stored is not None and {p.stem for p in folder.glob("*.csv")} >= {"opinion_change", "knowledge_gain"}
    pd.testing.assert_frame_equal(
        written[["item", "n_pairs"]].astype({"item": str}), stored[["item", "n_pairs"]].astype({"item": str})
    )


def test_analyse_weights_none_supersedes_the_weighted_table(
    chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(chain["root"])
    assert run_cli(monkeypatch, "analyse", "--weights", "none", "-w", ws) == 0
    with Workspace.open(chain["root"]) as opened:
        table = opened.store.analysis("opinion_change_weighted")
    assert table is not None and table["item"].tolist() == ["(not weighted)"]
    assert "not requested" in table["note"].iloc[0]
    capsys.readouterr()
    assert run_cli(monkeypatch, "analyse", "--weights", "design", "-w", ws) == 1
    assert "use raking, none or an imported weight column" in flat(capsys.readouterr().out)
    assert run_cli(monkeypatch, "analyse", "-w", ws) == 0  # back to the default (raking) for later tests
    with Workspace.open(chain["root"]) as opened:
        again = opened.store.analysis("opinion_change_weighted")
    assert again is not None and "not requested" not in " ".join(again.get("note", pd.Series(dtype=str)).astype(str))


def test_poll_define_bad_file_changes_nothing(
    chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = chain["base"] / "instrument-bad.toml"
    bad.write_text('name = "x"\n[[items]]\ncode = "A1"\nkind = "likert"\nmin = 5\nmax = 1\n', encoding="utf-8")
    broken = chain["base"] / "instrument-broken.toml"
    broken.write_text("name = \n", encoding="utf-8")
    with Workspace.open(chain["root"]) as ws:
        before = ws.store.table_counts()
    for path, fragment in ((bad, "a scale item needs min < max"), (broken, "not a readable TOML file")):
        capsys.readouterr()
        assert run_cli(monkeypatch, "poll", "define", str(path), "-w", str(chain["root"])) == 1
        message = flat(capsys.readouterr().out)
        assert path.name in message
        assert fragment in message
    with Workspace.open(chain["root"]) as ws:
        assert ws.store.table_counts() == before


def test_reports_follow_the_draw_after_later_changes(
    chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # runs last: it changes the workspace (new quotas after the draw, and a replacement)
    ws, out = str(chain["root"]), chain["base"]
    with Workspace.open(chain["root"]) as opened:
        draw = opened.store.latest_panel_draw()
        panel, alternates = opened.store.current_panel(int(draw["id"]))
    assert run_cli(monkeypatch, "quotas", "derive", "--size", "12", "--tolerance", "3", "-w", ws) == 0
    code = run_cli(monkeypatch, "panel", "replace", panel[0], "--accept-quota-break", "--reason", "verhuisd", "-w", ws)
    assert code == 0
    with Workspace.open(chain["root"]) as opened:
        sitting, _ = opened.store.current_panel(int(draw["id"]))
        _, quotas = opened.store.quota_set(int(draw["quota_set_id"]))
        pool = opened.store.pool()
    # which alternate comes in depends on the pool's pseudonyms (a fresh key per workspace), so
    # check the rule rather than a name: one person out, one alternate in, the panel size kept
    came_in = set(sitting) - set(panel)
    assert panel[0] not in sitting and len(sitting) == len(panel)
    assert len(came_in) == 1 and came_in <= set(alternates)
    expected = count_by_quota(pool[pool["id"].isin(sitting)], quotas).tolist()
    council = out / "council-after.en.html"
    assert run_cli(monkeypatch, "report", "council", "--lang", "en", "--out", str(council), "-w", ws) == 0
    text = council.read_text(encoding="utf-8")
    assert "a panel of 10 people" in flat(text)  # the draw's quota set (size 10), not the newer one (12)
    composition = re.search(r'<table[^>]*id="composition-table".*?</table>', text, re.S)
    assert composition is not None
    # the sitting panel; a row whose sign-up count is suppressed hides its panel count too (data-count="")
    shown = re.findall(r'data-count="(\d*)"', composition.group())
    assert len(shown) == len(expected) and any(shown)
    assert [int(n) for n in shown if n] == [count for n, count in zip(shown, expected, strict=True) if n]
    selection = out / "selection-after.en.html"
    assert run_cli(monkeypatch, "report", "selection", "--lang", "en", "--out", str(selection), "-w", ws) == 0
    assert "--seed 5 --engine native --alternates 3" in selection.read_text(encoding="utf-8")


def test_poll_control_draws_uninvited_residents_one_per_address(
    chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(chain["root"])
    capsys.readouterr()
    assert run_cli(monkeypatch, "poll", "control", "--count", "20", "--seed", "4", "-w", ws) == 0
    assert "Control group: 20 residents drawn (seed 4)" in flat(capsys.readouterr().out)
    with Workspace.open(chain["root"]) as opened:
        control = set(opened.store.participants().query("arm == 'control'")["participant_id"])
        letters = opened.store.letters()
        residents = opened.store.residents()
    # the control id is "C" + the first 10 hex digits of sha256(resident pseudonym), upper case
    ids = "C" + residents["id"].map(lambda r: hashlib.sha256(r.encode()).hexdigest()[:10].upper())
    drawn = residents[ids.isin(control)]
    assert len(control) == 20 and len(drawn) == 20
    assert drawn["address_key"].is_unique  # one per address
    assert not set(drawn["address_key"]) & set(letters["address_key"])  # never invited
