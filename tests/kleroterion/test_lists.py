"""The organiser's lists through the real ``klero`` entry point: panel, small groups, control group;
and the honest record of re-draws and replacements (status, reports, groups).

One small municipality is taken to a drawn panel with alternates, small groups and a control group
once (``drawn``); tests that change it work on a copy (``copy``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kleroterion.workspace import Workspace
from sortition.pool import person_id
from sortition.registry import age_bands, ages_on
from sortition.synthetic import generate_registry
from tests.conftest import DATA, copy_workspace, run_cli
from tests.kleroterion.test_cli_chain import EDUCATION, flat
from tests.kleroterion.test_exports import read_csv, read_xlsx

REFERENCE = ("--reference-date", "2024-01-01")
INJECTION = '=HYPERLINK("http://kwaad.example","klik")'


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace with letters, 60 sign-ups (with e-mail and phone; one named ``=HYPERLINK(...)``),
    a panel of 10 with 4 alternates, small groups of 5 and a control group of 12."""
    base = tmp_path_factory.mktemp("lists")
    root = base / "ws"
    wijken = pd.DataFrame({"regiocode": ["WK189401", "WK189403"], "AantalInwoners": [250, 250], "Mannen": [125, 125]})
    extract, _ = generate_registry(
        wijken, total=500, men=250, rng=np.random.default_rng(3), reference_date=date(2024, 1, 1)
    )
    extract["voornamen"] = extract["voornamen"].astype(object)
    extract.loc[:, "voornamen"] = INJECTION  # every resident: whoever is drawn carries it
    extract.loc[extract.index[::2], "voornamen"] = "Zoë"
    brp = base / "brp.csv"
    extract.to_csv(brp, sep=";", index=False, encoding="cp1252")
    ws = str(root)
    with pytest.MonkeyPatch.context() as mp:
        assert run_cli(mp, "init", ws, "--name", "Lijsten", "--municipality", "Peel en Maas", *REFERENCE) == 0
        assert run_cli(mp, "registry", "import", str(brp), "-w", ws) == 0
        assert run_cli(mp, "letters", "draw", "--count", "120", "--stratify-by", "wijk", "--seed", "2", "-w", ws) == 0
        with Workspace.open(root) as opened:
            letters = opened.store.letters()
        signed = letters.iloc[:60]
        signups = pd.DataFrame(
            {
                "code": signed["code"],
                "gender": signed["gender"],
                "age_band": age_bands(ages_on(signed["birth_date"], date(2024, 1, 1))),
                "education": [EDUCATION[i % 3] for i in range(len(signed))],
                "email": [f"p{i}@example.nl" for i in range(len(signed))],
                "telefoon": [f"+31 6 {10000000 + i}" for i in range(len(signed))],
            }
        )
        signups.to_csv(base / "aanmeldingen.csv", index=False)
        assert run_cli(mp, "pool", "import", str(base / "aanmeldingen.csv"), "-w", ws) == 0
        shares = str(DATA / "peel_en_maas" / "education_shares_synthetic.csv")
        assert run_cli(mp, "quotas", "derive", "--size", "10", "--tolerance", "2", "--shares", shares, "-w", ws) == 0
        assert run_cli(mp, "panel", "select", "--seed", "5", "--alternates", "4", "-w", ws) == 0
        assert run_cli(mp, "groups", "assign", "--size", "5", "--seed", "1", "-w", ws) == 0
        assert run_cli(mp, "poll", "control", "--count", "12", "--seed", "4", "-w", ws) == 0
    yield root


@pytest.fixture
def copy(drawn: Path, tmp_path: Path) -> Path:
    """A private copy of the drawn workspace, for tests that change it."""
    target = tmp_path / "ws"
    copy_workspace(drawn, target)
    return target


# -- panel export --------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_panel_export_lists_members_and_ordered_alternates(
    drawn: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    out = tmp_path / f"panel{suffix}"
    assert run_cli(monkeypatch, "panel", "export", str(out), "-w", str(drawn)) == 0
    assert "Wrote 14 people (10 lid, 4 reserve)" in flat(capsys.readouterr().out)
    rows = read_csv(out) if suffix == ".csv" else read_xlsx(out)
    with Workspace.open(drawn) as ws:
        draw = ws.store.latest_panel_draw()
        panel, alternates = ws.store.current_panel(int(draw["id"]))
        pool = ws.store.pool().set_index("id")
        letters = ws.store.letters().set_index("code")
        audit = ws.store.audit_records("export.panel")[-1]
    status = [str(r["status"]) for r in rows]
    assert status == ["lid"] * 10 + ["reserve"] * 4
    assert {r["deelnemer_id"] for r in rows[:10]} == set(panel)
    assert [r["deelnemer_id"] for r in rows[10:]] == alternates  # in their order
    assert [int(str(r["volgorde"])) for r in rows[10:]] == [1, 2, 3, 4]
    for r in rows:
        pid = str(r["deelnemer_id"])
        assert r["uitnodigingscode"] == pool.at[pid, "letter_code"]
        assert person_id(str(r["uitnodigingscode"])) == pid
        assert r["antwoord_education"] == pool.at[pid, "education"]
        assert str(r["contact_email"]).endswith("@example.nl")
        assert str(r["contact_telefoon"]).startswith("'+31 6 ")  # + starts a formula: neutralised
        assert r["voornamen"] in ("Zoë", "'" + INJECTION)  # the injection stays text
        assert str(r["postcode"]) == letters.at[str(r["uitnodigingscode"]), "address_key"].split("|")[0]
        assert str(r["adresregel"]).startswith(str(r["straatnaam"]) + " " + str(r["huisnummer"]))
    assert audit["parameters"]["file"] == out.name and audit["result"]["rows"] == 14
    assert "@example.nl" not in str(audit) and "Zoë" not in str(audit)


def test_panel_export_before_a_draw_fails_cleanly(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "panel.csv"
    assert run_cli(monkeypatch, "panel", "export", str(out), "-w", str(workspace.root)) == 1
    assert "No panel drawn yet: run `klero panel select` first." in flat(capsys.readouterr().out)
    assert not out.exists()


@pytest.mark.parametrize(("name", "fragment"), [("panel.ods", ".csv or .xlsx"), ("map/panel.csv", "does not exist")])
def test_panel_export_bad_file_names_what_to_do(
    drawn: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    fragment: str,
) -> None:
    assert run_cli(monkeypatch, "panel", "export", str(tmp_path / name), "-w", str(drawn)) == 1
    out = flat(capsys.readouterr().out)
    assert fragment in out and "Traceback" not in out
    assert list(tmp_path.iterdir()) == []


# -- small groups --------------------------------------------------------------------------------
def test_groups_list_members_shows_the_ids_reassign_needs(
    drawn: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run_cli(monkeypatch, "groups", "list", "--members", "-w", str(drawn)) == 0
    text = capsys.readouterr().out
    with Workspace.open(drawn) as ws:
        members = ws.store.groups()
    assert len(members) == 10
    listed: dict[str, str] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("group ") and line.endswith(":"):
            heading = line[:-1]
        elif line.startswith("  P"):
            listed[line.split()[0]] = heading
    assert listed == dict(members.itertuples(index=False, name=None))
    assert run_cli(monkeypatch, "groups", "list", "-w", str(drawn)) == 0
    assert not any(pid in capsys.readouterr().out for pid in members["participant_id"])


def test_groups_export(drawn: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "groepen.csv"
    assert run_cli(monkeypatch, "groups", "export", str(out), "-w", str(drawn)) == 0
    rows = read_csv(out)
    with Workspace.open(drawn) as ws:
        members = ws.store.groups()
        pool = ws.store.pool().set_index("id")
    expected = [(pid, name.removeprefix("group ")) for pid, name in members.itertuples(index=False, name=None)]
    assert [(r["deelnemer_id"], r["groep"]) for r in rows] == expected  # the Dutch list numbers the groups
    assert all(r["uitnodigingscode"] == pool.at[r["deelnemer_id"], "letter_code"] for r in rows)
    assert {r["voornamen"] for r in rows} <= {"Zoë", "'" + INJECTION}


def test_groups_export_without_groups_fails_cleanly(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "groups", "export", str(tmp_path / "g.csv"), "-w", str(workspace.root)) == 1
    assert "No small groups yet" in flat(capsys.readouterr().out)
    assert not (tmp_path / "g.csv").exists()


# -- control group -------------------------------------------------------------------------------
def test_control_export_is_the_mailing_list_of_the_drawn_residents(
    drawn: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "controle.xlsx"
    assert run_cli(monkeypatch, "poll", "control", "export", str(out), "-w", str(drawn)) == 0
    rows = read_xlsx(out)
    with Workspace.open(drawn) as ws:
        control = set(ws.store.participants().query("arm == 'control'")["participant_id"])
        invited = set(ws.store.letters()["address_key"])
        audit = ws.store.audit_records("export.control")[-1]
    assert {r["deelnemer_id"] for r in rows} == control and len(rows) == 12
    keys = {f"{r['postcode']}|{r['huisnummer']}|{str(r['huisletter'] or '').upper()}|" for r in rows}
    assert len(keys) == 12 and not keys & invited  # one per address, never invited
    assert audit["result"]["rows"] == 12


def test_poll_control_prints_a_count_and_a_hint_not_the_ids(
    drawn: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    copy_workspace(drawn, ws)
    with Workspace.open(ws) as opened, opened.store.transaction() as conn:
        conn.execute("DELETE FROM participants WHERE arm = 'control'")
    capsys.readouterr()
    assert run_cli(monkeypatch, "poll", "control", "--count", "15", "--seed", "9", "-w", str(ws)) == 0
    out = flat(capsys.readouterr().out)
    assert "15 residents drawn (seed 9)" in out and "klero poll control export" in out
    with Workspace.open(ws) as opened:
        ids = opened.store.participants().query("arm == 'control'")["participant_id"]
    assert len(ids) == 15 and not any(i in out for i in ids)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("poll", "control", "-w", "WS"), "klero poll control --count N"),
        (("poll", "control", "--count", "3", "export", "x.csv", "-w", "WS"), "--count before `export`"),
        (("poll", "control", "-w", "WS", "export", "x.csv"), "put -w after the subcommand"),
    ],
)
def test_poll_control_usage_errors(
    drawn: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    fragment: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert run_cli(monkeypatch, *(str(drawn) if a == "WS" else a for a in args)) == 1
    assert fragment in flat(capsys.readouterr().out)
    assert not (tmp_path / "x.csv").exists()


# -- re-draws, replacements, status ---------------------------------------------------------------
def _status(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ws: Path) -> dict[str, object]:
    capsys.readouterr()
    assert run_cli(monkeypatch, "status", "--json", "-w", str(ws)) == 0
    status = json.loads(capsys.readouterr().out)
    assert isinstance(status, dict)
    return status


def test_a_second_draw_is_refused_unless_redraw_with_a_reason(
    copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(copy)
    capsys.readouterr()
    assert run_cli(monkeypatch, "panel", "select", "--seed", "6", "--alternates", "4", "-w", ws) == 1
    refused = flat(capsys.readouterr().out)
    assert "A panel was already drawn (draw 1" in refused and '--redraw --reason "..."' in refused
    assert "Traceback" not in refused
    for args, fragment in (
        (("--redraw",), "--redraw needs --reason"),
        (("--reason", "x"), "--reason goes with --redraw"),
        (("--redraw", "--reason", "  "), "--redraw needs --reason"),
    ):
        assert run_cli(monkeypatch, "panel", "select", "--seed", "6", *args, "-w", ws) == 1
        assert fragment in flat(capsys.readouterr().out)
    with Workspace.open(copy) as opened:
        assert len(opened.store.selection_draws()) == 1  # nothing was drawn
    reason = "Quotabestand bevatte een fout (leeftijd)"
    redraw = ("panel", "select", "--seed", "6", "--alternates", "4", "--redraw", "--reason", reason, "-w", ws)
    assert run_cli(monkeypatch, *redraw) == 0
    out = flat(capsys.readouterr().out)
    assert f"replaces draw 1, which stays on record): {reason}" in out and "klero groups assign" in out
    with Workspace.open(copy) as opened:
        draws = opened.store.selection_draws()
        first, second = draws
        assert second["parameters"]["redraw"] == {"reason": reason, "replaces_draw": 1, "number": 2}
        members = opened.store.panel_members()
        sitting, _ = opened.store.current_panel(int(second["id"]))
        arms = opened.store.participants().set_index("participant_id")["arm"]
        audit = opened.store.audit_records("selection.panel")
    assert (members["draw_id"] == 1).sum() == 14 and (members["draw_id"] == 2).sum() == 14  # both kept
    assert set(arms[arms == "participant"].index) == set(sitting)  # respondents follow the new panel
    assert audit[-1]["parameters"]["redraw"]["reason"] == reason
    status = _status(monkeypatch, capsys, copy)
    panel = status["panel"]
    assert isinstance(panel, dict)
    assert (panel["draws"], panel["redraws"], panel["members"], panel["alternates"]) == (2, 1, 10, 4)
    assert panel["redraw_reason"] == reason and panel["draw_id"] == 2
    report = tmp_path / "selectie.html"
    for lang in ("nl", "en"):
        assert run_cli(monkeypatch, "report", "selection", "--lang", lang, "--out", str(report), "-w", ws) == 0
        html = report.read_text(encoding="utf-8")
        history = re.search(r'<table id="history-table">.*?</table>', html, re.S)
        assert history is not None
        rows = re.findall(r'<tr data-draw="(\d)">(.*?)</tr>', history.group(), re.S)
        assert [n for n, _ in rows] == ["1", "2"]
        assert str(first["seed"]) in rows[0][1] and str(second["seed"]) in rows[1][1]
        assert reason in rows[1][1]
        current = "huidig panel" if lang == "nl" else "current panel"
        assert current in rows[1][1] and current not in rows[0][1]


def test_replacement_takes_the_dropouts_seat_in_the_small_group(
    copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(copy)
    with Workspace.open(copy) as opened:
        groups = opened.store.groups().set_index("participant_id")["group"]
    person = str(groups.index[0])
    capsys.readouterr()
    code = run_cli(monkeypatch, "panel", "replace", person, "--accept-quota-break", "--reason", "verhuisd", "-w", ws)
    assert code == 0
    out = flat(capsys.readouterr().out)
    came_in = re.search(rf"{person} replaced by (P\w+)", out)
    assert came_in is not None
    person_in = came_in.group(1)
    assert f"{person_in} takes {person}'s seat in small group '{groups[person]}'" in out
    with Workspace.open(copy) as opened:
        after = opened.store.groups().set_index("participant_id")["group"]
        arms = opened.store.participants().set_index("participant_id")["arm"]
    assert person not in after.index and after[person_in] == groups[person]
    assert sorted(after.value_counts()) == sorted(groups.value_counts())  # sizes unchanged
    assert arms[person_in] == "participant" and arms[person] == "invited"
    status = _status(monkeypatch, capsys, copy)
    panel = status["panel"]
    assert isinstance(panel, dict)
    assert (panel["members"], panel["alternates"], panel["replaced"], panel["replacements"]) == (10, 3, 1, 1)
    assert panel["alternates_left"] == 3 and status["counts"]["panel_members"] == 14  # type: ignore[index]
    assert run_cli(monkeypatch, "status", "-w", ws) == 0
    text = flat(capsys.readouterr().out)
    assert "10 members, 3 alternates waiting, 1 replaced" in text and "panel_members" not in text
    export = tmp_path / "panel.csv"
    assert run_cli(monkeypatch, "panel", "export", str(export), "-w", ws) == 0
    assert "(9 lid, 1 vervanger, 3 reserve, 1 vervangen)" in flat(capsys.readouterr().out)
    rows = {r["deelnemer_id"]: r for r in read_csv(export)}
    assert rows[person_in]["status"] == "vervanger" and rows[person_in]["vervangt"] == person
    assert rows[person]["status"] == "vervangen" and rows[person]["vervangen_door"] == person_in
    assert rows[person]["reden"] == "verhuisd"


def test_status_before_any_draw_has_no_panel(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _status(monkeypatch, capsys, workspace.root)["panel"] is None


def test_a_lottery_made_before_a_later_draw_cannot_be_drawn(
    copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(copy)
    capsys.readouterr()
    assert run_cli(monkeypatch, "panel", "select", "--lottery-size", "20", "--seed", "3", "-w", ws) == 1
    assert "A panel was already drawn" in flat(capsys.readouterr().out)
    lottery = ("panel", "select", "--lottery-size", "20", "--seed", "3", "--alternates", "2")
    assert run_cli(monkeypatch, *lottery, "--redraw", "--reason", "openbare loting", "-w", ws) == 0
    assert run_cli(monkeypatch, "panel", "select", "--seed", "8", "--redraw", "--reason", "toch direct", "-w", ws) == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "panel", "draw-from-lottery", "--number", "4", "-w", ws) == 1
    assert "would replace panel draw 3 without a reason on record" in flat(capsys.readouterr().out)
    assert run_cli(monkeypatch, *lottery, "--redraw", "--reason", "openbare loting, opnieuw", "-w", ws) == 0
    assert run_cli(monkeypatch, "panel", "draw-from-lottery", "--number", "4", "-w", ws) == 0
    with Workspace.open(copy) as opened:
        draws = [d for d in opened.store.selection_draws() if d["kind"] == "panel"]
    assert len(draws) == 3
    assert draws[-1]["parameters"]["redraw"]["reason"] == "openbare loting, opnieuw"
    assert draws[-1]["parameters"]["number"] == 4


def test_replacing_someone_in_no_group_says_how_to_seat_the_replacement(
    copy: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = str(copy)
    with Workspace.open(copy) as opened:
        person = str(opened.store.groups()["participant_id"].iloc[0])
    assert run_cli(monkeypatch, "groups", "reassign", person, "--seed", "1", "-w", ws) == 0  # leaves the groups
    capsys.readouterr()
    code = run_cli(monkeypatch, "panel", "replace", person, "--accept-quota-break", "-w", ws)
    assert code == 0
    out = flat(capsys.readouterr().out)
    assert f"{person} sat in no small group" in out and "klero groups reassign PERSON --replacement" in out
