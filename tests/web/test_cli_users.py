"""``klero user add|grant|list|passwd``: passwords from stdin or a prompt, never an argument."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pytest

from kleroterion.app.accounts import verify_password
from kleroterion.store.server import ServerStore
from tests.conftest import run_cli
from tests.web.conftest import PASSWORD, PROCESS


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_add_grant_list_and_passwd(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, processes: Path
) -> None:
    root = tmp_path / "serve"
    shutil.copytree(processes, root)
    _stdin(monkeypatch, PASSWORD + "\n")
    assert run_cli(monkeypatch, "user", "add", "jan", "--root", str(root), "--password-stdin") == 0
    assert (
        run_cli(monkeypatch, "user", "grant", "jan", "--root", str(root), "--process", PROCESS, "--role", "auditor")
        == 0
    )
    capsys.readouterr()
    assert run_cli(monkeypatch, "user", "list", "--root", str(root)) == 0
    assert f"jan — {PROCESS}: auditor" in capsys.readouterr().out
    _stdin(monkeypatch, "a new long password\n")
    assert run_cli(monkeypatch, "user", "passwd", "jan", "--root", str(root), "--password-stdin") == 0
    store = ServerStore(root)
    user = store.user_by_name("jan")
    assert user is not None
    assert verify_password(store.password_hash(user.id), "a new long password")
    assert store.roles_of(user.id) == {PROCESS: "auditor"}
    store.close()
    assert (root / "klero-server.sqlite").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["user", "add", "kort", "--password-stdin"], "short\n", "at least 12"),
        (["user", "add", "bad name!", "--password-stdin"], PASSWORD + "\n", "not allowed"),
        (["user", "add", "x1", "--password-stdin", "--role", "auditor"], PASSWORD + "\n", "--role and --process"),
        (["user", "grant", "nobody", "--process", PROCESS, "--role", "auditor"], "", "no user 'nobody'"),
        (["user", "grant", "nobody", "--process", "nowhere", "--role", "auditor"], "", "no process 'nowhere'"),
        (["user", "grant", "nobody", "--process", PROCESS, "--role", "koning"], "", "Unknown role 'koning'"),
        (["user", "passwd", "nobody", "--password-stdin"], PASSWORD + "\n", "no user 'nobody'"),
    ],
)
def test_bad_input_is_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    processes: Path,
    args: list[str],
    stdin: str,
    message: str,
) -> None:
    root = tmp_path / "serve"
    shutil.copytree(processes, root)
    _stdin(monkeypatch, stdin)
    assert run_cli(monkeypatch, *args, "--root", str(root)) == 1
    out = capsys.readouterr().out
    assert message in " ".join(out.split())
    assert "Traceback" not in out


def test_a_taken_name_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for expected in (0, 1):
        _stdin(monkeypatch, PASSWORD + "\n")
        assert run_cli(monkeypatch, "user", "add", "piet", "--root", str(tmp_path), "--password-stdin") == expected
    assert "already a user called 'piet'" in capsys.readouterr().out
