"""``klero packet`` and ``klero groups`` through the real entry point, with their bad-input cases:
exit 1, a message naming file, row and column, and a store left exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kleroterion.workspace import Workspace
from tests.conftest import run_cli

N = 32
IDS = [f"P{i:03d}" for i in range(N)]

ARGUMENTS_CSV = """option,side,text,source
Starters,pro,Jongeren kunnen in hun eigen kern blijven wonen,CBS
Starters,con,Kleine woningen vragen veel bouwgrond,Provincie
Ouderen,pro,Doorstroming maakt gezinswoningen vrij,CBS; Gemeente
Ouderen,con,Voorrang is oneerlijk voor wie al lang wacht,Woningcorporatie
"""

ARGUMENTS_TOML = """title = "Wonen"
[[arguments]]
option = "Starters"
side = "pro"
text = "Jongeren blijven"
source = "CBS"

[[arguments]]
option = "Starters"
side = "con"
text = "Minder groen in de kern"
source = "Natuurmonumenten"

[[arguments]]
option = "Ouderen"
side = "pro"
text = "Doorstroming"
source = "Gemeente"
"""


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def poll(workspace: Workspace) -> Workspace:
    """A workspace with 32 panel participants (16 M, 16 V; two age bands) and 8 invited non-attenders."""
    participants = pd.DataFrame(
        {
            "participant_id": [*IDS, *(f"Q{i}" for i in range(8))],
            "arm": ["participant"] * N + ["invited"] * 8,
            "gender": (["M", "V"] * (N // 2 + 4)),
            "age_band": (["16-39"] * 2 + ["40+"] * 2) * (N // 4 + 2),
        }
    )
    workspace.store.save_participants(participants)
    return workspace


def cli(monkeypatch: pytest.MonkeyPatch, ws: Workspace, *args: str) -> int:
    return run_cli(monkeypatch, *args, "-w", str(ws.root))


def test_packet_versions_balance_signoff_and_receipts(
    poll: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file, toml_file = tmp_path / "argumenten.csv", tmp_path / "argumenten.toml"
    csv_file.write_text(ARGUMENTS_CSV, encoding="utf-8")
    toml_file.write_text(ARGUMENTS_TOML, encoding="utf-8")
    assert cli(monkeypatch, poll, "packet", "import", str(csv_file), "--title", "Wonen") == 0
    assert cli(monkeypatch, poll, "packet", "import", str(toml_file)) == 0
    out = flat(capsys.readouterr().out)
    assert "as 'Wonen' version 1" in out and "as 'Wonen' version 2" in out
    assert "Options with a side missing: Ouderen" in out  # version 2 has no con for Ouderen
    versions = poll.store.packet_versions()
    assert versions[["version", "n_arguments"]].values.tolist() == [[1, 4], [2, 3]]

    assert cli(monkeypatch, poll, "packet", "balance", "--version", "1") == 0
    out = flat(capsys.readouterr().out)
    # Starters: pro 8 words, con 5 words -> ratio 5/8 = 0.625 (printed 0.62); CBS backs only pro arguments.
    assert "Starters 1 1 8 5 0.62" in out
    assert "Sources used on one side only: CBS, Gemeente, Provincie, Woningcorporatie" in out

    for reviewer in ("Raadslid A (VVD)", "Raadslid B (GL)"):
        assert cli(monkeypatch, poll, "packet", "signoff", "--version", "1", "--reviewer", reviewer) == 0
    before = poll.store.table_counts()
    assert cli(monkeypatch, poll, "packet", "signoff", "--version", "1", "--reviewer", "Raadslid A (VVD)") == 1
    assert cli(monkeypatch, poll, "packet", "signoff", "--version", "7", "--reviewer", "X") == 1
    out = flat(capsys.readouterr().out)
    assert "already signed off" in out and "No packet 'Wonen' version 7" in out
    assert poll.store.table_counts() == before
    signoffs = poll.store.packet_signoffs()
    assert signoffs["reviewer"].tolist() == ["Raadslid A (VVD)", "Raadslid B (GL)"]
    assert set(signoffs["version"]) == {1}

    receipts = tmp_path / "ontvangen.csv"
    receipts.write_text("participant_id,received_on\nP000,2027-03-01\nP001,2027-03-02\nQ0,2027-03-02\n")
    assert cli(monkeypatch, poll, "packet", "receipts", str(receipts), "--version", "1") == 0
    got = poll.store.packet_receipts()
    assert got[["participant_id", "received_on"]].values.tolist() == [
        ["P000", "2027-03-01"],
        ["P001", "2027-03-02"],
        ["Q0", "2027-03-02"],
    ]
    assert poll.store.packet_versions()["n_receipts"].tolist() == [3, 0]


def test_bad_packet_files_leave_the_store_unchanged(
    poll: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "argumenten.csv"
    good.write_text(ARGUMENTS_CSV, encoding="utf-8")
    assert cli(monkeypatch, poll, "packet", "import", str(good)) == 0
    capsys.readouterr()
    before = poll.store.table_counts()
    bad = tmp_path / "fout.csv"
    bad.write_text("option,side,text,source\nStarters,pro,Tekst,CBS\nStarters,tegen,Tekst,\nOuderen,con,,\n")
    assert cli(monkeypatch, poll, "packet", "import", str(bad)) == 1
    out = flat(capsys.readouterr().out)
    assert "fout.csv, row 3, column 'side': side must be pro or con (value: 'tegen')" in out
    assert "fout.csv, row 4, column 'text': the text is empty" in out
    no_side = tmp_path / "kolom.csv"
    no_side.write_text("option,text\nStarters,Tekst\n")
    assert cli(monkeypatch, poll, "packet", "import", str(no_side)) == 1
    assert "kolom.csv, column 'side': missing column" in flat(capsys.readouterr().out)
    receipts = tmp_path / "ontvangen.csv"
    receipts.write_text(
        "participant_id,received_on\nP000,2027-03-01\nNOBODY,2027-03-01\nP001,1 maart\nP000,2027-03-03\n"
    )
    assert cli(monkeypatch, poll, "packet", "receipts", str(receipts), "--version", "1") == 1
    out = flat(capsys.readouterr().out)
    assert "ontvangen.csv, row 3, column 'participant_id': not a participant of this poll (value: 'NOBODY')" in out
    assert "row 4, column 'received_on': not a date (use YYYY-MM-DD) (value: '1 maart')" in out
    assert "row 5, column 'participant_id': participant listed twice" in out
    assert poll.store.table_counts() == before


def test_groups_assign_with_moderators_balance_and_dropouts(
    poll: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    moderators = tmp_path / "moderatoren.csv"
    moderators.write_text("moderator\nAnna\nBram\nCees\nDirk\n")
    code = cli(
        monkeypatch, poll, "groups", "assign", "--size", "8", "--balance", "gender", "--seed", "7",
        "--moderators", str(moderators),
    )  # fmt: skip
    assert code == 0
    groups = poll.store.small_groups()
    assert groups["moderator"].tolist() == ["Anna", "Bram", "Cees", "Dirk"]
    assert groups["n_active"].tolist() == [8, 8, 8, 8]
    members = poll.store.groups().merge(poll.store.participants(), on="participant_id")
    # 16 men and 16 women dealt over 4 groups: exactly 4 + 4 at every table, so the balance is exact.
    assert pd.crosstab(members["group"], members["gender"]).to_numpy().tolist() == [[4, 4]] * 4
    assert "gender M 0.5 0.5 0.5 0.0" in flat(capsys.readouterr().out)
    balance = poll.store.analysis("group_balance")
    assert balance is not None and balance["difference_pp"].abs().max() == 0

    first, second = members[members["group"] == "group 1"]["participant_id"].tolist()[:2]
    assert cli(monkeypatch, poll, "groups", "reassign", first, "--seed", "3") == 0
    assert "nobody moves" in flat(capsys.readouterr().out)
    assert cli(monkeypatch, poll, "groups", "reassign", second, "--seed", "3") == 0
    sizes = poll.store.small_groups()["n_active"].tolist()
    assert sizes[0] == 7 and max(sizes) - min(sizes) <= 1 and sum(sizes) == N - 2
    moved = poll.store.audit_records("groups.reassign")[-1]["result"]["moved"]
    gender = poll.store.participants().set_index("participant_id")["gender"]
    assert moved[1] == "group 1" and gender[moved[0]] == gender[second]

    newcomer = pd.DataFrame({"participant_id": ["P099"], "arm": ["participant"], "gender": ["V"], "age_band": ["40+"]})
    poll.store.save_participants(newcomer)
    third = poll.store.groups().iloc[0]["participant_id"]
    assert cli(monkeypatch, poll, "groups", "reassign", third, "--replacement", "P099") == 0
    now = poll.store.groups().set_index("participant_id")["group"]
    assert "P099" in now.index and third not in now.index


def test_packet_list_groups_list_and_moderators(
    poll: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(monkeypatch, poll, "packet", "list") == 0
    assert "No packets stored." in flat(capsys.readouterr().out)
    before = poll.store.table_counts()
    assert cli(monkeypatch, poll, "groups", "list") == 1
    assert cli(monkeypatch, poll, "groups", "moderators", str(tmp_path / "none.csv")) == 1
    assert flat(capsys.readouterr().out).count("No small groups yet") == 2
    assert poll.store.table_counts() == before

    csv_file = tmp_path / "argumenten.csv"
    csv_file.write_text(ARGUMENTS_CSV, encoding="utf-8")
    assert cli(monkeypatch, poll, "packet", "import", str(csv_file), "--title", "Wonen") == 0
    assert cli(monkeypatch, poll, "packet", "signoff", "--version", "1", "--reviewer", "Raadslid A") == 0
    capsys.readouterr()
    assert cli(monkeypatch, poll, "packet", "list") == 0
    assert "Wonen 1" in flat(capsys.readouterr().out)

    assert cli(monkeypatch, poll, "groups", "assign", "--size", "8", "--balance", "gender", "--seed", "7") == 0
    moderators = tmp_path / "moderatoren.csv"
    moderators.write_text("moderator,group\nDirk,4\nCees,3\nBram,2\nAnna,1\n")
    capsys.readouterr()
    assert cli(monkeypatch, poll, "groups", "moderators", str(moderators)) == 0
    assert poll.store.small_groups()["moderator"].tolist() == ["Anna", "Bram", "Cees", "Dirk"]
    assert cli(monkeypatch, poll, "groups", "list") == 0
    out = flat(capsys.readouterr().out)
    assert "group 4 Dirk 8" in out and "gender M 0.5 0.5 0.5 0.0" in out
    bad = tmp_path / "fout.csv"
    bad.write_text("moderator\nAnna\n")
    before = poll.store.table_counts()
    assert cli(monkeypatch, poll, "groups", "moderators", str(bad)) == 1
    assert "1 moderators for 4 groups" in flat(capsys.readouterr().out)
    assert poll.store.small_groups()["moderator"].tolist() == ["Anna", "Bram", "Cees", "Dirk"]
    assert poll.store.table_counts() == before


def test_groups_bad_input(
    poll: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    moderators = tmp_path / "moderatoren.csv"
    moderators.write_text("moderator,group\nAnna,1\nBram,9\n,2\nAnna,3\n")
    before = poll.store.table_counts()
    assert cli(monkeypatch, poll, "groups", "assign", "--size", "8", "--moderators", str(moderators)) == 1
    out = flat(capsys.readouterr().out)
    assert "moderatoren.csv, row 3, column 'group': group must be a number from 1 to 4 (value: '9')" in out
    assert "row 4, column 'moderator': the moderator is empty" in out
    assert "row 5, column 'moderator': moderator listed twice" in out
    short = tmp_path / "kort.csv"
    short.write_text("moderator\nAnna\nBram\n")
    assert cli(monkeypatch, poll, "groups", "assign", "--size", "8", "--moderators", str(short)) == 1
    assert "2 moderators for 4 groups" in flat(capsys.readouterr().out)
    assert cli(monkeypatch, poll, "groups", "assign", "--size", "8", "--balance", "income") == 1
    assert "income" in flat(capsys.readouterr().out)
    assert cli(monkeypatch, poll, "groups", "reassign", "P000") == 1
    assert "P000 is not an active member of any small group" in flat(capsys.readouterr().out)
    assert poll.store.table_counts() == before
