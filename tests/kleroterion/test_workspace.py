"""The workspace: init, reopen, migrations, commands outside a workspace, transactional writes."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kleroterion.errors import WorkspaceNotFoundError
from kleroterion.store import migration_scripts
from kleroterion.workspace import Workspace
from sortition.synthetic import generate_registry
from tests.conftest import run_cli


def test_init_creates_workspace_and_reopens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "raad"
    code = run_cli(
        monkeypatch,
        "init",
        str(target),
        "--name",
        "Sociale Raad 2027",
        "--municipality",
        "Peel en Maas",
        "--reference-date",
        "2024-01-01",
    )
    assert code == 0
    assert (target / "process.toml").is_file()
    with Workspace.open(target) as ws:
        assert ws.settings.name == "Sociale Raad 2027"
        assert ws.settings.municipality == "Peel en Maas"
        assert ws.store.schema_version() == max(v for v, _, _ in migration_scripts())
        assert [r["action"] for r in ws.store.audit_records()] == ["workspace.init"]
        if ws.store.dialect == "sqlite":  # SQLite's settings (PostgreSQL always logs and checks keys)
            journal = ws.store._scalar("PRAGMA journal_mode")
            assert journal == "wal"
            assert ws.store._scalar("PRAGMA foreign_keys") == 1


def test_init_refuses_an_existing_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("init", str(tmp_path / "w"), "--name", "A", "--municipality", "B")
    assert run_cli(monkeypatch, *args) == 0
    assert run_cli(monkeypatch, *args) == 1
    assert "already holds a workspace" in capsys.readouterr().out


def test_command_outside_a_workspace_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli(monkeypatch, "status", "--workspace", str(tmp_path))
    out = capsys.readouterr().out
    assert code == 1
    assert "No Kleroterion workspace" in out
    assert "Traceback" not in out
    with pytest.raises(WorkspaceNotFoundError):
        Workspace.open(tmp_path)


def test_fixed_key_and_code_seed_repeat_the_letters_exactly(tmp_path: Path) -> None:
    # the demo's repeatability: same key, seed and code seed → the same addressees and codes; a fresh
    # workspace (key and codes from secrets) gets other pseudonyms and other codes
    from datetime import date

    import numpy as np

    from kleroterion.app.letters import draw_letters
    from kleroterion.app.registry import import_registry
    from kleroterion.workspace import ProcessSettings
    from sortition.synthetic import generate_registry

    wijken = pd.DataFrame({"regiocode": ["WK189401"], "AantalInwoners": [200], "Mannen": [100]})
    extract, _ = generate_registry(
        wijken, total=200, men=100, rng=np.random.default_rng(3), reference_date=date(2024, 1, 1)
    )
    brp = tmp_path / "brp.csv"
    extract.to_csv(brp, index=False)
    settings = ProcessSettings(name="T", municipality="Peel en Maas", reference_date="2024-01-01")
    drawn = []
    for name, key in (("a", b"k" * 32), ("b", b"k" * 32), ("c", None)):
        with Workspace.create(tmp_path / name, settings, key=key) as ws:
            import_registry(ws, brp)
            draw_letters(ws, count=20, seed=7, code_seed=None if key is None else 11)
            drawn.append(ws.store.letters().sort_values("address_key").reset_index(drop=True))
    assert (tmp_path / "a" / ".klero-key").read_text().strip() == (b"k" * 32).hex()
    pd.testing.assert_frame_equal(drawn[0], drawn[1], check_like=True)
    assert set(drawn[2]["code"]).isdisjoint(drawn[0]["code"])
    assert set(drawn[2]["resident_id"]).isdisjoint(drawn[0]["resident_id"])


@pytest.mark.sqlite_only(reason="lists the SQLite database files (store.sqlite, -wal, -shm) in the folder")
def test_workspace_files_are_private_whatever_the_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wijken = pd.DataFrame({"regiocode": ["WK189401"], "AantalInwoners": [40], "Mannen": [20]})
    extract, _ = generate_registry(
        wijken, total=40, men=20, rng=np.random.default_rng(1), reference_date=date(2024, 1, 1)
    )
    extract.to_csv(tmp_path / "brp.csv", sep=";", index=False)
    root = tmp_path / "ws"
    previous = os.umask(0)  # the most permissive umask: the modes must come from the code
    try:
        assert run_cli(monkeypatch, "init", str(root), "--name", "A", "--municipality", "B") == 0
        assert run_cli(monkeypatch, "registry", "import", str(tmp_path / "brp.csv"), "-w", str(root)) == 0
        with Workspace.open(root):  # an open database has its -wal and -shm files
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [root, *root.iterdir()]}
    finally:
        os.umask(previous)
    assert modes.pop("ws") == 0o700
    assert modes.pop("process.toml") == 0o600  # every file a command writes is owner-only (cli.PRIVATE_UMASK)
    assert set(modes) == {".klero-key", "store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "store.residents.arrow"}
    assert modes == dict.fromkeys(modes, 0o600)


def test_init_tightens_an_existing_folder_and_keeps_a_leftover_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bestaand"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert run_cli(monkeypatch, "init", str(folder), "--name", "A", "--municipality", "B") == 0
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    other = tmp_path / "half"
    other.mkdir()
    (other / ".klero-key").write_text("ab\n", encoding="utf-8")
    capsys.readouterr()
    assert run_cli(monkeypatch, "init", str(other), "--name", "A", "--municipality", "B") == 1
    assert "leftover" in capsys.readouterr().out
    assert (other / ".klero-key").read_text(encoding="utf-8") == "ab\n"
    assert not (other / "process.toml").exists()
