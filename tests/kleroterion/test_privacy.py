"""``klero purge`` and ``klero person erase`` on a chain built through the real ``klero`` entry point:
the deleted text is gone from every byte of the workspace folder, the draw still replays and the
council report still renders (the same as before, for a purge)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.workspace import Workspace
from tests.conftest import run_cli
from tests.kleroterion.test_cli_chain import build_chain, flat
from tests.sortition.test_cli_sortition import letters_registry

GIVEN, SURNAME = "Zwanetta", "Quackenbosch"


def workspace_bytes(root: Path) -> bytes:
    """Every file of the workspace folder (database, its log, key, settings, copies), concatenated; on
    PostgreSQL also a ``pg_dump`` of the workspace's schema (what the database holds for it)."""
    files = b"\n".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())
    with Workspace.open(root) as ws:
        url = ws.settings.database_url
    if not url.startswith("postgresql://"):
        return files
    from kleroterion.store.postgres import dump_schema

    return files + b"\n" + dump_schema(url)


def council_html(monkeypatch: pytest.MonkeyPatch, root: Path, out: Path) -> str:
    assert run_cli(monkeypatch, "report", "council", "--format", "html", "--out", str(out), "-w", str(root)) == 0
    return out.read_text(encoding="utf-8")


def set_retention(root: Path, day: str) -> None:
    process = root / "process.toml"
    text = process.read_text(encoding="utf-8")
    assert 'retention_date = ""' in text
    process.write_text(text.replace('retention_date = ""', f'retention_date = "{day}"'), encoding="utf-8")


@pytest.fixture
def named_chain(tmp_path: Path) -> dict[str, Path]:
    return build_chain(tmp_path, person=(GIVEN, SURNAME))


def test_purge_removes_every_name_and_address_from_the_files_and_keeps_draw_and_reports(
    named_chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, base = named_chain["root"], named_chain["base"]
    with Workspace.open(root) as ws:
        addresses = [str(r["address_key"]) for r in ws.store._query("SELECT address_key FROM residents")]
        streets = {str(r["street"]) for r in ws.store._query("SELECT street FROM residents")}
    before = workspace_bytes(root)
    for text in (SURNAME.encode(), b"@example.org", addresses[0].encode(), addresses[-1].encode()):
        assert text in before  # the checks below can fail
    report_before = council_html(monkeypatch, root, base / "before.html")
    capsys.readouterr()

    assert run_cli(monkeypatch, "purge", "-w", str(root)) == 1
    assert "no retention_date" in flat(capsys.readouterr().out)
    set_retention(root, "2999-12-31")
    assert run_cli(monkeypatch, "purge", "-w", str(root)) == 1
    assert "The retention date is 2999-12-31" in flat(capsys.readouterr().out)
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert run_cli(monkeypatch, "purge", "--reason", "raad besloot eerder te wissen", "-w", str(root)) == 1
    asked = flat(capsys.readouterr().out)
    assert "450 registry rows of residents who got no letter: deleted" in asked
    assert "70 sign-ups: contact details (e-mail, telephone) removed" in asked
    assert "Aborted" in asked
    assert SURNAME.encode() in workspace_bytes(root)  # nothing changed

    assert run_cli(monkeypatch, "purge", "--reason", "raad besloot eerder te wissen", "--yes", "-w", str(root)) == 0
    said = flat(capsys.readouterr().out)
    assert "Purged." in said
    assert "brieven.csv (exported" in said  # the mail-merge export, a copy the purge cannot reach, is named

    after = workspace_bytes(root)
    assert SURNAME.encode() not in after
    assert GIVEN.encode() not in after
    assert b"@example.org" not in after
    assert not [a for a in addresses if a.encode() in after]
    assert not [s for s in streets if s.encode() in after]
    assert not (root / "store.residents.arrow").exists()
    with Workspace.open(root) as ws:
        assert ws.store.personal_data_counts() == dict.fromkeys(ws.store.personal_data_counts(), 0)
        assert ws.store.table_counts()["residents"] == 150  # the invitees' pseudonymous rows
        (record,) = ws.store.audit_records("privacy.purge")
        assert record["parameters"]["reason"] == "raad besloot eerder te wissen"
        assert record["result"]["residents_deleted"] == 450
        assert record["result"]["pool_contacts"] == 70
        assert SURNAME.lower() not in json.dumps(record).lower()

    assert run_cli(monkeypatch, "panel", "verify", "-w", str(root)) == 0
    assert "replays identically" in flat(capsys.readouterr().out)
    assert council_html(monkeypatch, root, base / "after.html") == report_before
    assert run_cli(monkeypatch, "report", "selection", "--out", str(base / "sel.html"), "-w", str(root)) == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "letters", "draw", "--count", "5", "-w", str(root)) == 1
    assert "purged" in flat(capsys.readouterr().out)


def test_purge_on_the_retention_date_needs_no_reason_and_runs_once(
    named_chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = named_chain["root"]
    set_retention(root, "2000-01-01")
    assert run_cli(monkeypatch, "purge", "--yes", "-w", str(root)) == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "purge", "--yes", "-w", str(root)) == 0
    assert "Nothing to remove" in flat(capsys.readouterr().out)
    with Workspace.open(root) as ws:
        assert len(ws.store.audit_records("privacy.purge")) == 1
        assert ws.store.audit_records("privacy.purge")[0]["parameters"]["reason"] == ""


def test_erase_removes_one_panel_member_and_the_draw_still_replays(
    named_chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, base = named_chain["root"], named_chain["base"]
    with Workspace.open(root) as ws:
        member = str(ws.store.panel_members("panel")["person_id"].iloc[0])
        (row,) = ws.store._query(
            "SELECT p.letter_code, p.contact, l.address_key, r.surname FROM pool_members p"
            " JOIN letters l ON l.code = p.letter_code JOIN residents r ON r.id = l.resident_id WHERE p.id = ?",
            (member,),
        )
        other = str(
            ws.store._query("SELECT surname FROM residents WHERE surname != ? LIMIT 1", (row["surname"],))[0][0]
        )
        audits = len(ws.store.audit_records())
    email = json.loads(row["contact"])["email"]
    for text in (row["surname"], email, other):
        assert text.encode() in workspace_bytes(root)
    capsys.readouterr()

    assert run_cli(monkeypatch, "person", "erase", "XXXX-XXXX", "-w", str(root)) == 1
    assert "No invitee with invitation code or pool id 'XXXX-XXXX'" in flat(capsys.readouterr().out)
    with Workspace.open(root) as ws:
        assert len(ws.store.audit_records()) == audits  # nothing written

    assert run_cli(monkeypatch, "person", "erase", row["letter_code"].lower(), "-w", str(root)) == 0
    assert "Erased: name and address, contact details." in flat(capsys.readouterr().out)
    after = workspace_bytes(root)
    assert row["surname"].encode() not in after
    assert email.encode() not in after
    assert other.encode() in after  # everyone else is untouched
    with Workspace.open(root) as ws:
        person = ws.store.find_person(member)
        assert person is not None
        assert not person["named"]
        assert person["contact"] == "{}"
        assert person["address_key"].startswith("adres-x")
        (record,) = ws.store.audit_records("privacy.erase")
        assert record["result"]["draws_rehashed"] == [1]
        assert member not in json.dumps(record)
        assert row["letter_code"] not in json.dumps(record)

    assert run_cli(monkeypatch, "panel", "verify", "-w", str(root)) == 0
    assert "replays identically" in flat(capsys.readouterr().out)
    assert "<h1>" in council_html(monkeypatch, root, base / "council.html")
    assert run_cli(monkeypatch, "person", "erase", member, "-w", str(root)) == 0
    assert "Nothing left to erase" in flat(capsys.readouterr().out)
    assert run_cli(monkeypatch, "purge", "--reason", "einde proces", "--yes", "-w", str(root)) == 0  # after an erasure
    assert SURNAME.encode() not in workspace_bytes(root)
    assert run_cli(monkeypatch, "panel", "verify", "-w", str(root)) == 0
    with Workspace.open(root) as ws:
        assert [r["result"]["draws_rehashed"] for r in ws.store.audit_records("privacy.purge")] == [[1]]


def test_erase_of_an_invitee_who_did_not_sign_up(
    named_chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = named_chain["root"]
    with Workspace.open(root) as ws:
        (row,) = ws.store._query(
            "SELECT l.code, r.surname, r.birth_date FROM letters l JOIN residents r ON r.id = l.resident_id"
            " WHERE l.code NOT IN (SELECT letter_code FROM pool_members) ORDER BY l.code LIMIT 1"
        )
    assert run_cli(monkeypatch, "person", "erase", row["code"], "--reason", "verzoek per brief", "-w", str(root)) == 0
    assert row["surname"].encode() not in workspace_bytes(root)
    with Workspace.open(root) as ws:
        (kept,) = ws.store._query(
            "SELECT r.birth_date, r.postcode, r.given_names FROM letters l JOIN residents r ON r.id = l.resident_id"
            " WHERE l.code = ?",
            (row["code"],),
        )
        assert (kept["postcode"], kept["given_names"]) == ("", None)
        assert kept["birth_date"][5:] == "01-01"  # the reference date's day: the birthday is gone
        assert ws.store.audit_records("privacy.erase")[0]["parameters"]["reason"] == "verzoek per brief"
    assert run_cli(monkeypatch, "panel", "verify", "-w", str(root)) == 0


def test_erase_before_any_draw_deletes_the_sign_up(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(workspace.root)
    assert run_cli(monkeypatch, "registry", "import", str(letters_registry(tmp_path)), "-w", root) == 0
    assert run_cli(monkeypatch, "letters", "draw", "--count", "4", "--min-age", "18", "--seed", "3", "-w", root) == 0
    codes = workspace.store.letters()["code"].tolist()
    signups = pd.DataFrame(
        {"code": codes[:2], "gender": "V", "age_band": "40-54", "education": "hoog", "email": ["a@x.nl", "b@x.nl"]}
    )
    signups.to_csv(tmp_path / "aanmeldingen.csv", index=False)
    assert run_cli(monkeypatch, "pool", "import", str(tmp_path / "aanmeldingen.csv"), "-w", root) == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "person", "erase", codes[0], "-w", root) == 0
    assert "the sign-up (no draw used it)" in flat(capsys.readouterr().out)
    assert workspace.store.pool()["letter_code"].tolist() == [codes[1]]
    assert codes[0] in workspace.store.letters()["code"].tolist()  # the letter itself stays (stratum, p_i)
    assert b"a@x.nl" not in workspace_bytes(workspace.root)
    assert b"b@x.nl" in workspace_bytes(workspace.root)
    assert not (workspace.root / "store.residents.arrow").exists()  # held the address; rebuilt when needed
    assert run_cli(monkeypatch, "letters", "draw", "--count", "2", "--min-age", "18", "--seed", "4", "-w", root) == 0
    assert len(workspace.store.letters()) == 6


def test_erase_drops_sign_up_answers_no_quota_uses(
    named_chain: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = named_chain["root"]
    with Workspace.open(root) as ws:  # a sign-up question outside the quotas (as custom categories may add)
        member = str(ws.store.panel_members("alternate")["person_id"].iloc[0])
        with ws.store.transaction() as conn:
            features = json.loads(
                conn.execute("SELECT features FROM pool_members WHERE id = ?", (member,)).fetchone()[0]
            )
            conn.execute(
                "UPDATE pool_members SET features = ? WHERE id = ?",
                (json.dumps({**features, "huisdier": "hond"}, sort_keys=True), member),
            )
    capsys.readouterr()
    assert run_cli(monkeypatch, "person", "erase", member, "-w", str(root)) == 0
    assert "1 sign-up answer(s) no draw needs" in flat(capsys.readouterr().out)
    with Workspace.open(root) as ws:
        person = ws.store.find_person(member)
        assert person is not None
        assert sorted(json.loads(person["features"])) == ["age_band", "education", "gender", "wijk"]
    assert run_cli(monkeypatch, "panel", "verify", "-w", str(root)) == 0
