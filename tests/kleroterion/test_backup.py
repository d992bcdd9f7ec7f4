"""``klero backup`` / ``klero restore`` (issue 18, item 5): a consistent archive of a workspace, restored
into a new folder only, checked against its manifest and audit-verified there; a damaged archive or an
existing folder is refused with nothing left behind."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import tarfile
from pathlib import Path

import pytest

from kleroterion.app.backup import restore_workspace
from kleroterion.workspace import KEY_FILE, PROCESS_FILE, Workspace
from tests.conftest import drop_append_only_triggers, run_cli
from tests.kleroterion.test_audit_chain import _build


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The audit suite's chained workspace: letters, two panel draws, a replacement."""
    base = tmp_path_factory.mktemp("backup-ws")
    _build(base / "ws", base)
    return base / "ws"


@pytest.fixture(scope="module")
def archive(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backup-out") / "audit.tar.gz"
    mp = pytest.MonkeyPatch()
    try:
        assert run_cli(mp, "backup", str(out), "-w", str(built)) == 0
    finally:
        mp.undo()
    return out


def _panel(root: Path) -> list[tuple[str, str, int, str]]:
    with sqlite3.connect(root / "store.sqlite") as conn:
        rows = conn.execute("SELECT person_id, role, rank, status FROM panel_members ORDER BY draw_id, role, rank")
        return [tuple(r) for r in rows]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.sqlite_only(
    reason="reads store.sqlite in the archive and the workspace (PostgreSQL: tests/kleroterion/store/test_postgres.py)"
)
def test_the_archive_is_private_and_its_manifest_hashes_every_member(built: Path, archive: Path) -> None:
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
        modes = {m.name: m.mode for m in tar.getmembers()}
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        contents = {n: tar.extractfile(n).read() for n in names if n != "manifest.json"}  # type: ignore[union-attr]
    assert names == sorted(["manifest.json", PROCESS_FILE, KEY_FILE, "store.sqlite", "store.residents.arrow"])
    assert set(modes.values()) == {0o600}
    assert {n: m["sha256"] for n, m in manifest["members"].items()} == {
        n: hashlib.sha256(data).hexdigest() for n, data in contents.items()
    }
    # unchanged files are byte-identical; the head is the one `klero audit anchor` prints on the original
    assert contents[KEY_FILE] == (built / KEY_FILE).read_bytes()
    with sqlite3.connect(built / "store.sqlite") as conn:
        seq, digest = conn.execute("SELECT id, entry_hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    assert manifest["chain_head"] == {"entry": seq, "hash": digest}
    assert manifest["schema_version"] == version


@pytest.mark.sqlite_only(
    reason="reads the restored store.sqlite (PostgreSQL: tests/kleroterion/store/test_postgres.py)"
)
def test_restore_verifies_and_gives_the_same_panel(
    built: Path, archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "restored"
    assert run_cli(monkeypatch, "restore", str(archive), str(target)) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Audit verify on the restored copy: the record holds" in text, text
    assert "3 draws checked, 3 replayed identically" in text, text
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    assert stat.S_IMODE((target / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((target / "store.sqlite").stat().st_mode) == 0o600
    assert _panel(target) == _panel(built) and len(_panel(built)) > 10
    assert [p.name for p in tmp_path.iterdir()] == ["restored"]  # no staging folder left
    capsys.readouterr()
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(target)) == 0
    assert "The audit record holds" in capsys.readouterr().out


# in the tar's compressed content (manifest, key, database) and in gzip's CRC-32 trailer. (A flipped bit
# that decodes to the very same bytes, such as an unused bit of deflate's last block, changes nothing restored.)
@pytest.mark.parametrize("where", [0.1, 0.5, 0.9, -4])
def test_an_archive_with_one_byte_changed_is_refused_and_nothing_is_left(
    archive: Path,
    where: float,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = bytearray(archive.read_bytes())
    at = int(len(data) * where) if where > 0 else len(data) + int(where)
    data[at] ^= 0x01
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(bytes(data))
    target = tmp_path / "restored"
    assert run_cli(monkeypatch, "restore", str(damaged), str(target)) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert "refused" in text and "Nothing was restored" in text and "Traceback" not in text, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.tar.gz"]


@pytest.mark.sqlite_only(
    reason="edits the archived store.sqlite (PostgreSQL: tests/kleroterion/store/test_postgres.py)"
)
def test_a_rehashed_manifest_does_not_hide_a_changed_database(archive: Path, tmp_path: Path) -> None:
    """An attacker who edits the database and rewrites the manifest's hashes is caught by the audit check."""
    work = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    conn = sqlite3.connect(work / "store.sqlite", isolation_level=None)
    drop_append_only_triggers(conn)
    changed = conn.execute(
        "UPDATE panel_members SET status = 'replaced' WHERE draw_id = 2 AND role = 'panel' AND rank = 3"
    )
    assert changed.rowcount == 1
    conn.close()  # the last connection: the WAL goes into the database file
    manifest = json.loads((work / "manifest.json").read_text())
    for name in manifest["members"]:
        manifest["members"][name]["sha256"] = _sha256(work / name)
    (work / "manifest.json").write_text(json.dumps(manifest))
    forged = tmp_path / "forged.tar.gz"
    with tarfile.open(forged, "w:gz") as tar:
        for name in ["manifest.json", *manifest["members"]]:
            tar.add(work / name, arcname=name)
    from kleroterion.app.audit import AuditError

    with pytest.raises(AuditError, match="first broken at entry"):
        restore_workspace(forged, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


@pytest.mark.parametrize("existing", ["file", "folder with a file"])
def test_restore_into_an_existing_folder_is_refused(
    archive: Path, existing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "there"
    if existing == "file":
        target.write_text("keep me")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("keep me")
    assert run_cli(monkeypatch, "restore", str(archive), str(target)) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert "is not an empty folder: restore into a new folder" in text, text
    assert (target if existing == "file" else target / "notes.txt").read_text() == "keep me"


def test_backup_refuses_to_overwrite_a_file(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "b.tar.gz"
    out.write_text("older backup")
    assert run_cli(monkeypatch, "backup", str(out), "-w", str(built)) == 1
    assert "already exists" in capsys.readouterr().out
    assert out.read_text() == "older backup"


@pytest.mark.sqlite_only(
    reason="holds SQLite's write lock on store.sqlite (PostgreSQL: tests/kleroterion/store/test_postgres.py)"
)
def test_backup_while_another_connection_writes_copies_the_committed_state(built: Path, tmp_path: Path) -> None:
    """An open, uncommitted write transaction (another klero command mid-write) is not copied half-way:
    the backup holds the last committed state, which verifies."""
    from kleroterion.app.backup import backup_workspace

    other = sqlite3.connect(built / "store.sqlite", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("CREATE TABLE scratch (x INTEGER)")
        other.execute("INSERT INTO scratch VALUES (1)")
        with Workspace.open(built) as ws:
            result = backup_workspace(ws, tmp_path / "during.tar.gz")
    finally:
        other.execute("ROLLBACK")
        other.close()
    restored = restore_workspace(result.archive, tmp_path / "restored")
    assert restored.audit.draws_replayed == 3
    with sqlite3.connect(tmp_path / "restored" / "store.sqlite") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "scratch" not in tables and "panel_members" in tables


@pytest.mark.sqlite_only(reason="rewrites the sqlite:/// URL in the archived process.toml")
def test_an_archive_whose_settings_name_another_database_is_refused(archive: Path, tmp_path: Path) -> None:
    """A re-hashed archive whose process.toml points at a database outside the restored folder would have
    the check run on that other file: refused before anything is opened."""
    from kleroterion.app.backup import BackupError

    work = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    elsewhere = tmp_path / "elsewhere.sqlite"
    settings = (work / PROCESS_FILE).read_text()
    (work / PROCESS_FILE).write_text(settings.replace("sqlite:///store.sqlite", f"sqlite:///{elsewhere}"))
    manifest = json.loads((work / "manifest.json").read_text())
    manifest["members"][PROCESS_FILE]["sha256"] = _sha256(work / PROCESS_FILE)
    (work / "manifest.json").write_text(json.dumps(manifest))
    forged = tmp_path / "forged.tar.gz"
    with tarfile.open(forged, "w:gz") as tar:
        for name in ["manifest.json", *manifest["members"]]:
            tar.add(work / name, arcname=name)
    with pytest.raises(BackupError, match="names the database"):
        restore_workspace(forged, tmp_path / "restored")
    assert not (tmp_path / "restored").exists() and not elsewhere.exists()
