"""``klero pool import`` with sheets as organisers keep them, through the real entry point."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.workspace import Workspace
from sortition.registry import age_bands, ages_on
from tests.conftest import lottery_workspace, run_cli

DUTCH = {"code": "Code", "gender": "Geslacht", "age_band": "Leeftijdsgroep", "education": "Opleiding"}
SPOKEN = {"M": "man", "V": "Vrouw", "O": "ANDERS"}
EDUCATION = ("Laag", "middelbaar", "HOOG")


def flat(text: str) -> str:
    return " ".join(text.split())


def dutch_sheet(root: Path, rows: slice) -> pd.DataFrame:
    """A Dutch-headed sign-up sheet for the letters ``rows``, values as people type them."""
    with Workspace.open(root) as ws:
        letters = ws.store.letters().iloc[rows]
    return pd.DataFrame(
        {
            "Code": letters["code"].str.lower().to_numpy(),
            "Geslacht": letters["gender"].map(SPOKEN).to_numpy(),
            "Leeftijdsgroep": age_bands(ages_on(letters["birth_date"], date(2024, 1, 1))).to_numpy(),
            "Opleiding": [EDUCATION[i % 3] for i in range(len(letters))],
            "Tijdstempel": "2024-02-01",
        }
    )


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return lottery_workspace(tmp_path, monkeypatch)


def test_dutch_headed_sheet_with_mixed_case_values_imports(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = root.parent / "aanmeldingen.csv"
    dutch_sheet(root, slice(0, 30)).to_csv(sheet, sep=";", index=False, encoding="utf-8-sig")
    capsys.readouterr()
    assert run_cli(monkeypatch, "pool", "import", str(sheet), "-w", str(root)) == 0
    out = flat(capsys.readouterr().out)
    assert "aanmeldingen.csv: 30 new, 0 already in the pool, 0 conflicts." in out
    assert "Columns not used: Tijdstempel." in out
    with Workspace.open(root) as ws:
        pool = ws.store.pool()
        letters = ws.store.letters().set_index("code")
    assert len(pool) == 30
    assert set(pool["gender"]) <= {"M", "V", "O"}
    assert (pool["gender"].to_numpy() == letters.loc[pool["letter_code"], "gender"].to_numpy()).all()
    assert set(pool["education"]) == {"laag", "middelbaar", "hoog"}


def test_unknown_value_exits_1_names_file_row_column_value_and_stores_nothing(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = dutch_sheet(root, slice(0, 5))
    frame.loc[3, "Opleiding"] = "universiteit"
    sheet = root.parent / "aanmeldingen.csv"
    frame.to_csv(sheet, index=False)
    with Workspace.open(root) as ws:
        before = ws.store.table_counts()
    capsys.readouterr()
    assert run_cli(monkeypatch, "pool", "import", str(sheet), "-w", str(root)) == 1
    out = flat(capsys.readouterr().out)
    assert (
        "aanmeldingen.csv, row 5, column 'Opleiding': not an allowed value; allowed: laag, middelbaar, hoog "
        "(value: 'universiteit')" in out
    )
    assert "Traceback" not in out
    with Workspace.open(root) as ws:
        assert ws.store.table_counts() == before


def test_grown_sheet_adds_only_new_codes_and_a_conflict_blocks_unless_keep_stored(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = root.parent / "aanmeldingen.csv"
    dutch_sheet(root, slice(0, 30)).to_csv(sheet, index=False)
    assert run_cli(monkeypatch, "pool", "import", str(sheet), "-w", str(root)) == 0
    grown = dutch_sheet(root, slice(0, 42))
    changed_code = grown.loc[7, "Code"].upper()
    grown.loc[7, "Opleiding"] = "hoog" if grown.loc[7, "Opleiding"].lower() != "hoog" else "laag"
    grown.to_csv(sheet, index=False)
    with Workspace.open(root) as ws:
        before = ws.store.table_counts()
        stored = ws.store.pool().set_index("letter_code").loc[changed_code, "education"]
    capsys.readouterr()

    assert run_cli(monkeypatch, "pool", "import", str(sheet), "-w", str(root)) == 1
    out = flat(capsys.readouterr().out)
    assert f"aanmeldingen.csv, row 9: code {changed_code} is already in the pool with other answers" in out
    assert "12 new, 29 already in the pool, 1 conflict; nothing was stored" in out
    assert "--keep-stored" in out
    with Workspace.open(root) as ws:
        assert ws.store.table_counts() == before

    assert run_cli(monkeypatch, "pool", "import", str(sheet), "--keep-stored", "-w", str(root)) == 0
    out = flat(capsys.readouterr().out)
    assert "aanmeldingen.csv: 12 new, 29 already in the pool, 1 conflict:" in out
    assert f"row 9, code {changed_code}: education {stored!r} in the pool" in out
    assert "the pool now has 42 people" in out
    with Workspace.open(root) as ws:
        pool = ws.store.pool().set_index("letter_code")
        audit = ws.store._query("SELECT result FROM audit_log WHERE action = 'pool.import' ORDER BY id DESC LIMIT 1")
    assert len(pool) == 42
    assert pool.loc[changed_code, "education"] == stored
    assert '"already": 29' in audit[0]["result"]
    assert changed_code in audit[0]["result"]


@pytest.mark.parametrize(
    ("rows", "fragments"),
    [
        ([("Opleiding", "universitair", "0.5")], ["row 2, column 'feature': not a value of education", "universitair"]),
        ([("religie", "ja", "0.5")], ["row 2, column 'category': not a sign-up category", "'religie'"]),
        ([("education", "laag", "veel")], ["row 2, column 'share': not a number", "'veel'"]),
    ],
)
def test_bad_shares_file_exits_1_with_the_cell_and_derives_nothing(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    rows: list[tuple[str, str, str]],
    fragments: list[str],
) -> None:
    shares = root.parent / "aandelen.csv"
    pd.DataFrame(rows, columns=["category", "feature", "share"]).to_csv(shares, index=False)
    capsys.readouterr()
    args = ("quotas", "derive", "--size", "10", "--shares", str(shares), "-w", str(root))
    assert run_cli(monkeypatch, *args) == 1
    out = flat(capsys.readouterr().out)
    for fragment in ["aandelen.csv", *fragments]:
        assert fragment in out
    with Workspace.open(root) as ws:
        assert ws.store.table_counts()["quota_sets"] == 0


def test_a_mistake_in_the_declared_categories_is_named_and_nothing_is_imported(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with (root / "process.toml").open("a", encoding="utf-8") as process:
        process.write('\n[[signup.category]]\nname = "klimaat"\nvalues = ["ja", "Ja"]\n')
    sheet = root.parent / "aanmeldingen.csv"
    dutch_sheet(root, slice(0, 5)).to_csv(sheet, index=False)
    capsys.readouterr()
    assert run_cli(monkeypatch, "pool", "import", str(sheet), "-w", str(root)) == 1
    out = flat(capsys.readouterr().out)
    assert "process.toml: the sign-up categories cannot be used" in out
    assert "cannot be used: klimaat: 'Ja' would mean both 'ja' and 'Ja'" in out
    with Workspace.open(root) as ws:
        assert ws.store.table_counts()["pool_members"] == 0


def test_population_shares_in_process_toml_give_quotas_without_a_shares_file(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (root / "process.toml").open("a", encoding="utf-8") as process:
        process.write(
            '\n[[signup.category]]\nname = "gender"\n\n[[signup.category]]\nname = "huur"\nlabel_nl = "Huurder"\n'
            'values = ["ja", "nee"]\npopulation_shares = { Ja = 0.4, NEE = 0.6 }\n'
        )
    assert run_cli(monkeypatch, "quotas", "derive", "--size", "10", "--tolerance", "1", "-w", str(root)) == 0
    with Workspace.open(root) as ws:
        _, _, quotas = ws.store.quotas()
        source = ws.store._scalar("SELECT source FROM quota_sets")
    assert list(dict.fromkeys(quotas["category"])) == ["gender", "wijk", "huur"]
    huur = quotas[quotas["category"] == "huur"].set_index("feature")
    assert huur["target"].to_dict() == pytest.approx({"ja": 4.0, "nee": 6.0})
    assert source == "registry+process.toml"


def test_use_sheet_replaces_the_pool_answers_of_conflicting_codes_and_audits_both(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = root.parent / "aanmeldingen.csv"
    frame = dutch_sheet(root, slice(0, 10))
    frame.to_csv(sheet, index=False)
    assert run_cli(monkeypatch, "pool", "import", str(sheet), "-w", str(root)) == 0
    code = frame.loc[2, "Code"].upper()
    with Workspace.open(root) as ws:
        before = ws.store.pool().set_index("letter_code").loc[code]
    frame.loc[2, "Leeftijdsgroep"] = "70+" if before["age_band"] != "70+" else "16-24"
    frame.to_csv(sheet, index=False)
    capsys.readouterr()
    args = ("pool", "import", str(sheet), "-w", str(root))
    assert run_cli(monkeypatch, *args, "--keep-stored", "--use-sheet") == 1
    assert run_cli(monkeypatch, *args, "--use-sheet") == 0
    out = flat(capsys.readouterr().out)
    assert "0 new, 9 already in the pool, 1 conflict:" in out
    assert f"row 4, code {code}: age_band {before['age_band']!r} in the pool" in out
    assert "(changed to the sheet's answers)" in out
    with Workspace.open(root) as ws:
        after = ws.store.pool().set_index("letter_code").loc[code]
        audit = ws.store._query("SELECT result FROM audit_log WHERE action = 'pool.import' ORDER BY id DESC LIMIT 1")
    assert after["age_band"] == frame.loc[2, "Leeftijdsgroep"]
    assert (after.drop("age_band") == before.drop("age_band")).all()
    assert '"conflicts_resolved_by": "sheet"' in audit[0]["result"]
