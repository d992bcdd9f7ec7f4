"""A pool without letters (issue 14): the Sortition Foundation's people file imported into a workspace with
``klero pool import --format sortition-foundation``, then the whole chain through the real entry point.

The reference for the draw is the fixture's own published figure (data/sortition-algorithms-fixture/
PROVENANCE.md): sortition-algorithms 0.12.15 gives a maximin minimum selection probability of 0.0909091
(= 2/22) for this pool at panel size 22, with one person per household (primary_address1 + primary_zip).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.store.core import _split_sql, migration_scripts
from kleroterion.workspace import Workspace
from tests.conftest import DATA, lottery_workspace, run_cli
from tests.deliberation.test_survey_files import INSTRUMENT

FIXTURE = DATA / "sortition-algorithms-fixture"
ADDRESS = ("primary_address1", "primary_zip")
CATEGORIES = """
[[signup.category]]
name = "gender"
source = "shares-file"
values = ["Female", "Male", "Non-binary or other"]

[[signup.category]]
name = "age_bracket"
values = ["0-15", "16-29", "30-44", "45-59", "60+"]

[[signup.category]]
name = "geo_bucket"
values = ["Central Scotland", "Glasgow", "Highlands and Islands", "Lothian", "Mid Scotland and Fife",
          "North East Scotland", "South Scotland", "West Scotland"]

[[signup.category]]
name = "edu_level"
values = ["No qualifications", "Level 1", "Level 2 or 3", "Level 4 and above"]
"""


def flat(text: str) -> str:
    return " ".join(text.split())


def sf_workspace(base: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = base / "ws"
    assert run_cli(monkeypatch, "init", str(root), "--name", "Scotland", "--municipality", "X") == 0
    with (root / "process.toml").open("a", encoding="utf-8") as process:
        process.write(CATEGORIES)
    return root


def import_fixture(root: Path, monkeypatch: pytest.MonkeyPatch, *extra: str, file: Path | None = None) -> int:
    people = file or FIXTURE / "candidates.csv"
    return run_cli(
        monkeypatch,
        "pool",
        "import",
        str(people),
        "-w",
        str(root),
        "--format",
        "sortition-foundation",
        "--id-column",
        "nationbuilder_id",
        "--address-columns",
        ",".join(ADDRESS),
        *extra,
    )


def test_people_file_through_the_whole_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sf_workspace(tmp_path, monkeypatch)
    capsys.readouterr()
    assert import_fixture(root, monkeypatch) == 0
    out = flat(capsys.readouterr().out)
    assert "candidates.csv: 150 new, 0 already in the pool, 0 conflicts." in out
    # names, addresses and mobile numbers are not pool data; email is kept as contact
    assert "Columns not used: first_name, last_name, mobile_number, primary_address2, primary_city." in out
    people = pd.read_csv(FIXTURE / "candidates.csv", dtype=str)
    with Workspace.open(root) as ws:
        pool = ws.store.pool()
        external = ws.store.pool_external_ids()
        raw = ws.store._query("SELECT source, letter_code, address_key, contact FROM pool_members")
    assert len(pool) == 150 and sorted(external.values()) == sorted(people["nationbuilder_id"])
    assert {r["source"] for r in raw} == {"file"} and {r["letter_code"] for r in raw} == {None}
    # pool ids and household keys are keyed pseudonyms: no file id and no address in them
    assert not set(pool["id"]) & set(people["nationbuilder_id"])
    stored_text = json.dumps([dict(r) for r in raw])
    assert "primary_address1" not in stored_text and "primary_zip" not in stored_text
    # one household per distinct (primary_address1, primary_zip), as sortition-algorithms keys them
    by_id = pool.assign(external=pool["id"].map(external)).set_index("external")
    households = people.assign(key=people["primary_address1"] + "|" + people["primary_zip"])
    for _, same in households.groupby("key"):
        assert by_id.loc[same["nationbuilder_id"], "address_key"].nunique() == 1
    assert pool["address_key"].nunique() == households["key"].nunique()
    # answers mapped to the workspace's categories, exactly as in the file
    for column in ("Gender", "age_bracket", "geo_bucket", "edu_level"):
        name = column.lower()
        assert (by_id.loc[people["nationbuilder_id"], name].to_numpy() == people[column].to_numpy()).all()

    # SF's own features.csv as the quotas ("Gender" is our gender); the fixture's panel size 22
    assert run_cli(monkeypatch, "quotas", "import", str(FIXTURE / "features.csv"), "--size", "22", "-w", str(root)) == 0
    assert run_cli(monkeypatch, "panel", "select", "--seed", "7", "-w", str(root)) == 0
    (tmp_path / "instrument.toml").write_text(INSTRUMENT, encoding="utf-8")
    assert run_cli(monkeypatch, "poll", "define", str(tmp_path / "instrument.toml"), "-w", str(root)) == 0
    with Workspace.open(root) as ws:
        draw = ws.store.latest_panel_draw()
        probabilities = ws.store.selection_probabilities(int(draw["id"]))
        panel, _ = ws.store.current_panel(int(draw["id"]))
    wave = tmp_path / "t1.csv"  # the first wave, answered by the panel under their pool ids
    pd.DataFrame({"participant_id": panel, "A1": 5, "K1": "1"}).to_csv(wave, index=False)
    assert run_cli(monkeypatch, "survey", "import", str(wave), "--wave", "T1", "-w", str(root)) == 0
    with Workspace.open(root) as ws:
        participants = ws.store.participants()
    assert float(pd.Series(probabilities).min()) == pytest.approx(0.0909091, abs=1e-6)  # PROVENANCE.md
    assert float(pd.Series(probabilities).sum()) == pytest.approx(22, abs=1e-6)
    chosen = pool.set_index("id").loc[panel]
    assert len(panel) == 22 and chosen["address_key"].is_unique
    assert 11 <= (chosen["gender"] == "Female").sum() <= 12
    # respondents of the poll: every pool member, the panel as participants
    arms = participants.set_index("participant_id")["arm"]
    assert len(arms) == 150 and set(arms[arms == "participant"].index) == set(panel)

    capsys.readouterr()
    assert run_cli(monkeypatch, "panel", "verify", "-w", str(root)) == 0
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(root)) == 0
    kit = tmp_path / "kit"
    assert run_cli(monkeypatch, "publish-kit", str(kit), "-w", str(root)) == 0
    kit_text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in kit.iterdir() if p.is_file())
    assert "nationbuilder" not in kit_text and "p0," not in kit_text and "primary_zip0" not in kit_text
    assert run_cli(monkeypatch, "replay", str(kit)) == 0
    assert "The kit matches its replay" in flat(capsys.readouterr().out)

    export = tmp_path / "panel.csv"
    assert run_cli(monkeypatch, "panel", "export", str(export), "-w", str(root)) == 0
    listed = pd.read_csv(export, dtype=str, keep_default_na=False, sep=None, engine="python")
    members = listed[listed["status"] == "lid"]
    assert sorted(members["bestand_id"]) == sorted(external[p] for p in panel)
    emails = people.set_index("nationbuilder_id")["email"]
    assert (members["contact_email"].to_numpy() == emails.loc[members["bestand_id"]].to_numpy()).all()


def test_people_file_pool_through_a_transparent_lottery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Numbered panels from the file pool, one picked by a public number, then verify and audit verify:
    the lottery replays from the stored record as on a letter pool."""
    root = sf_workspace(tmp_path, monkeypatch)
    assert import_fixture(root, monkeypatch) == 0
    assert run_cli(monkeypatch, "quotas", "import", str(FIXTURE / "features.csv"), "--size", "22", "-w", str(root)) == 0
    tickets = tmp_path / "tickets.csv"
    args = ("panel", "select", "--seed", "11", "--lottery-size", "20", "--lottery-out", str(tickets), "-w", str(root))
    assert run_cli(monkeypatch, *args) == 0
    listed = pd.read_csv(tickets, dtype=str)
    assert len(listed) == 20
    assert run_cli(monkeypatch, "panel", "draw-from-lottery", "--number", "13", "-w", str(root)) == 0
    with Workspace.open(root) as ws:
        draw = ws.store.latest_panel_draw()
        panel, _ = ws.store.current_panel(int(draw["id"]))
    assert sorted(panel) == sorted(listed.set_index("number").at["13", "members"].split())
    capsys.readouterr()
    assert run_cli(monkeypatch, "panel", "verify", "-w", str(root)) == 0
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(root)) == 0
    assert "replayed identically" in flat(capsys.readouterr().out)


def test_import_again_adds_nothing_and_a_changed_answer_is_a_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sf_workspace(tmp_path, monkeypatch)
    people = pd.read_csv(FIXTURE / "candidates.csv", dtype=str)
    first = tmp_path / "first.csv"
    people.iloc[:100].to_csv(first, index=False)
    assert import_fixture(root, monkeypatch, file=first) == 0
    grown = people.copy()
    grown.loc[3, "edu_level"] = "Level 1" if people.at[3, "edu_level"] != "Level 1" else "Level 2 or 3"
    changed = tmp_path / "grown.csv"
    grown.to_csv(changed, index=False)
    capsys.readouterr()
    assert import_fixture(root, monkeypatch, file=changed) == 1
    out = flat(capsys.readouterr().out)
    assert "grown.csv" in out and "row 5" in out and "id p3 is already in the pool with other answers" in out
    assert "50 new, 99 already in the pool, 1 conflict" in out and "Traceback" not in out
    with Workspace.open(root) as ws:
        assert len(ws.store.pool()) == 100  # nothing stored
    assert import_fixture(root, monkeypatch, "--keep-stored", file=changed) == 0
    with Workspace.open(root) as ws:
        pool = ws.store.pool()
        external = ws.store.pool_external_ids()
    assert len(pool) == 150
    kept = pool.assign(external=pool["id"].map(external)).set_index("external")
    assert kept.at["p3", "edu_level"] == people.at[3, "edu_level"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda f: f.assign(Gender=f["Gender"].where(f.index != 4, "Vrouw?")), "row 6, column 'Gender'"),
        (lambda f: f.assign(nationbuilder_id=f["nationbuilder_id"].where(f.index != 7, "p1")), "row 9"),
        (lambda f: f.assign(nationbuilder_id=f["nationbuilder_id"].where(f.index != 2, "")), "empty id"),
        (lambda f: f.drop(columns=["geo_bucket"]), "column 'geo_bucket'"),
        (lambda f: f.iloc[:0], "no people"),
    ],
    ids=["bad value", "duplicate id", "empty id", "missing category", "header only"],
)
def test_bad_rows_name_file_row_and_column_and_store_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], edit, expected: str
) -> None:
    root = sf_workspace(tmp_path, monkeypatch)
    bad = tmp_path / "bad people.csv"
    edit(pd.read_csv(FIXTURE / "candidates.csv", dtype=str)).to_csv(bad, index=False)
    capsys.readouterr()
    assert import_fixture(root, monkeypatch, file=bad) == 1
    out = flat(capsys.readouterr().out)
    assert "bad people.csv" in out and expected in out and "Traceback" not in out
    if expected == "row 9":
        assert "already used on an earlier row" in out
    with Workspace.open(root) as ws:
        assert ws.store.pool().empty


def test_options_are_checked_and_nothing_is_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = sf_workspace(tmp_path, monkeypatch)
    people = str(FIXTURE / "candidates.csv")
    capsys.readouterr()
    # auto-detection: no code column, an id-like column: a people file, but its id column must be named
    assert run_cli(monkeypatch, "pool", "import", people, "-w", str(root)) == 1
    out = flat(capsys.readouterr().out)
    assert "read as a people file (sortition-foundation format)" in out
    assert "write --id-column nationbuilder_id" in out
    assert run_cli(monkeypatch, "pool", "import", people, "-w", str(root), "--format", "csv") == 1
    assert "use one of signup, sortition-foundation" in flat(capsys.readouterr().out)
    args = ("pool", "import", people, "-w", str(root), "--id-column", "nationbuilder_id")
    assert run_cli(monkeypatch, *args, "--address-columns", "primary_adres") == 1
    assert "column 'primary_adres'" in flat(capsys.readouterr().out)
    assert run_cli(monkeypatch, *args, "--id-column", "email") == 1
    assert "--id-column is given 2 times" in flat(capsys.readouterr().out)
    # without address columns: imported, and the missing household check is said
    assert run_cli(monkeypatch, *args) == 0
    assert "every person is their own household" in flat(capsys.readouterr().out)
    with Workspace.open(root) as ws:
        assert ws.store.pool()["address_key"].is_unique


def test_a_letter_workspace_refuses_a_people_file_and_a_people_pool_refuses_a_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    letters = lottery_workspace(tmp_path / "a", monkeypatch)
    capsys.readouterr()
    assert import_fixture(letters, monkeypatch) == 1
    assert "a pool without letters; import it in a new workspace" in flat(capsys.readouterr().out)
    root = sf_workspace(tmp_path / "b", monkeypatch)
    assert import_fixture(root, monkeypatch) == 0
    sheet = tmp_path / "sheet.csv"
    pd.DataFrame({"code": ["ABCD-EFGH"], "Gender": ["Male"]}).to_csv(sheet, index=False)
    capsys.readouterr()
    assert run_cli(monkeypatch, "pool", "import", str(sheet), "-w", str(root), "--format", "signup") == 1
    assert "The pool came from a people file" in flat(capsys.readouterr().out)


@pytest.mark.sqlite_only(
    reason="SQLite's table rebuild of 0045 on store.sqlite; PostgreSQL alters in place (0045_pool_sources.pg.sql)"
)
def test_migration_keeps_a_letter_pool_and_its_draws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """0045 rebuilds pool_members: an existing letter pool keeps every row, references from draws stay
    valid, and NOT NULL is gone only for letter_code (tied to source by a CHECK)."""
    root = lottery_workspace(tmp_path, monkeypatch, letters=40)
    with Workspace.open(root) as ws:
        letters = ws.store.letters()
    sheet = tmp_path / "sheet.csv"
    pd.DataFrame({"code": letters["code"].iloc[:30], "gender": "man", "age_band": "16-24", "education": "laag"}).to_csv(
        sheet, index=False
    )
    assert run_cli(monkeypatch, "pool", "import", str(sheet), "-w", str(root)) == 0
    conn = sqlite3.connect(root / "store.sqlite")
    before = conn.execute("SELECT id, letter_code, address_key, features FROM pool_members ORDER BY id").fetchall()
    columns = [r[1] for r in conn.execute("PRAGMA table_info(pool_members)")]
    assert columns[:3] == ["id", "source", "letter_code"]
    with pytest.raises(sqlite3.IntegrityError):  # a letter member without its code is refused
        conn.execute(
            "INSERT INTO pool_members (id, source, letter_code, signed_up_at, address_key, features, contact)"
            " VALUES ('X', 'letters', NULL, '', '', '{}', '{}')"
        )
    conn.close()
    # the migration run on an old-schema copy: same rows, foreign keys intact
    old = tmp_path / "old.sqlite"
    legacy = sqlite3.connect(old)
    legacy.executescript(
        "CREATE TABLE letters (code TEXT PRIMARY KEY);"
        "CREATE TABLE pool_members (id TEXT PRIMARY KEY, letter_code TEXT NOT NULL UNIQUE REFERENCES letters(code),"
        " signed_up_at TEXT NOT NULL, address_key TEXT NOT NULL, features TEXT NOT NULL, contact TEXT NOT NULL);"
        "CREATE TABLE panel_members (person_id TEXT NOT NULL REFERENCES pool_members(id));"
    )
    legacy.executemany("INSERT INTO letters VALUES (?)", [(r[1],) for r in before])
    legacy.executemany("INSERT INTO pool_members VALUES (?, ?, '', ?, ?, '{}')", before)
    legacy.executemany("INSERT INTO panel_members VALUES (?)", [(r[0],) for r in before[:5]])
    legacy.commit()
    sql = next(text for version, _, text in migration_scripts() if version == 45)
    legacy.execute("PRAGMA foreign_keys = OFF")
    for statement in _split_sql(sql):
        legacy.execute(statement)
    legacy.commit()
    legacy.execute("PRAGMA foreign_keys = ON")
    assert legacy.execute("PRAGMA foreign_key_check").fetchall() == []
    after = legacy.execute("SELECT id, letter_code, address_key, features FROM pool_members ORDER BY id").fetchall()
    assert after == before
    assert {r[0] for r in legacy.execute("SELECT source FROM pool_members")} == {"letters"}
    with pytest.raises(sqlite3.IntegrityError):  # panel_members still reference the rebuilt table
        legacy.execute("INSERT INTO panel_members VALUES ('nobody')")


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_public_account_of_a_pool_without_letters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """The verantwoording has no letter step to account for: the pool section says where the pool came
    from (150 people, panel of 22), the letter section and the letter seed are left out, and the seat
    chances and the panel seed are there; HTML, PDF and DOCX."""
    from tests.reports.test_demo_reports import report_text

    root = sf_workspace(tmp_path, monkeypatch)
    assert import_fixture(root, monkeypatch) == 0
    assert run_cli(monkeypatch, "quotas", "import", str(FIXTURE / "features.csv"), "--size", "22", "-w", str(root)) == 0
    assert run_cli(monkeypatch, "panel", "select", "--seed", "7", "-w", str(root)) == 0
    for fmt in ("html", "pdf", "docx"):
        out = tmp_path / f"public.{fmt}"
        args = ("report", "public", "-w", str(root), "--lang", lang, "--format", fmt, "--out", str(out))
        assert run_cli(monkeypatch, *args) == 0
        text = " ".join(report_text(out).split())
        assert ("geen brieven verstuurd" if lang == "nl" else "No letters were sent") in text, fmt
        assert "150" in text and "22" in text
        assert ("brievenloting" if lang == "nl" else "letter draw") not in text
        assert ("Stap 3" if lang == "nl" else "Step 3") not in text
    html = (tmp_path / "public.html").read_text(encoding="utf-8")
    assert 'id="letters"' not in html and 'id="panel-seed">7<' in html


def test_settings_toml_gives_ids_households_and_kept_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """sortition-algorithms' settings.toml as SA users have it: id column, same-address columns and the
    columns to keep (for the panel list); the draw's settings are named, not silently dropped; an option
    that disagrees with the file is refused."""
    settings = tmp_path / "settings.toml"
    settings.write_text(
        'id_column = "nationbuilder_id"\ncheck_same_address = true\n'
        'check_same_address_columns = ["primary_address1", "primary_zip"]\n'
        'columns_to_keep = ["first_name", "last_name"]\nselection_algorithm = "maximin"\nrandom_number_seed = 42\n',
        encoding="utf-8",
    )
    root = sf_workspace(tmp_path, monkeypatch)
    people = str(FIXTURE / "candidates.csv")
    capsys.readouterr()
    args = ("pool", "import", people, "-w", str(root), "--settings", str(settings))
    assert run_cli(monkeypatch, *args, "--id-column", "email") == 1
    out = flat(capsys.readouterr().out)
    assert "--id-column email and id_column = 'nationbuilder_id' in --settings disagree" in out
    assert run_cli(monkeypatch, *args) == 0
    out = flat(capsys.readouterr().out)
    assert "selection_algorithm and random_number_seed in settings.toml belong to the draw" in out
    assert "Kept with the contact details (for the panel list): first_name, last_name." in out
    assert "Columns not used: mobile_number, primary_address2, primary_city." in out
    frame = pd.read_csv(FIXTURE / "candidates.csv", dtype=str)
    with Workspace.open(root) as ws:
        pool = ws.store.pool()
        external = ws.store.pool_external_ids()
    households = frame["primary_address1"] + "|" + frame["primary_zip"]
    assert pool["address_key"].nunique() == households.nunique()
    assert run_cli(monkeypatch, "quotas", "import", str(FIXTURE / "features.csv"), "--size", "22", "-w", str(root)) == 0
    assert run_cli(monkeypatch, "panel", "select", "--seed", "42", "-w", str(root)) == 0
    export = tmp_path / "panel.csv"
    assert run_cli(monkeypatch, "panel", "export", str(export), "-w", str(root)) == 0
    listed = pd.read_csv(export, dtype=str, sep=";", encoding="cp1252", keep_default_na=False)
    names = frame.set_index("nationbuilder_id")
    for row in listed.itertuples(index=False):
        assert row.contact_first_name == names.at[row.bestand_id, "first_name"]
        assert row.contact_last_name == names.at[row.bestand_id, "last_name"]
    assert set(listed["bestand_id"]) <= set(external.values())
