"""``klero user add|grant|list|passwd``: passwords from stdin or a prompt, never an argument."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kleroterion.app.accounts import verify_password
from kleroterion.store.server import ServerStore
from tests.conftest import copy_workspace, run_cli
from tests.web.conftest import PASSWORD, PROCESS, free_port


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_add_grant_list_and_passwd(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, processes: Path
) -> None:
    root = tmp_path / "serve"
    copy_workspace(processes, root)
    _stdin(monkeypatch, PASSWORD + "\n")
    assert run_cli(monkeypatch, "user", "add", "jan", "--root", str(root), "--password-stdin") == 0
    assert (
        run_cli(monkeypatch, "user", "grant", "jan", "--root", str(root), "--process", PROCESS, "--role", "auditor")
        == 0
    )
    capsys.readouterr()
    assert run_cli(monkeypatch, "user", "list", "--root", str(root)) == 0
    assert f"jan — {PROCESS}: auditor" in capsys.readouterr().out
    _stdin(monkeypatch, PASSWORD + "\n")
    assert run_cli(monkeypatch, "user", "add", "anna", "--root", str(root), "--admin", "--password-stdin") == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "user", "list", "--root", str(root)) == 0
    assert "anna [server beheerder] — no roles" in capsys.readouterr().out  # brackets shown, not read as markup
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
    copy_workspace(processes, root)
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


@pytest.mark.parametrize("args", [["--help"], ["user", "--help"], ["serve", "--help"]])
def test_the_web_stack_loads_only_when_serving(args: list[str]) -> None:
    code = (
        f"import sys; sys.argv = ['klero', *{args!r}]\n"
        "from kleroterion.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "heavy = ('starlette', 'uvicorn', 'jinja2', 'argon2', 'pandas', 'kleroterion.web')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.rsplit("HEAVY", 1)[1].strip() == "[]"


def test_klero_serve_answers_on_127_0_0_1(tmp_path: Path) -> None:
    port = free_port()
    klero = Path(sys.executable).with_name("klero")
    server = subprocess.Popen(
        [str(klero), "serve", "--root", str(tmp_path / "serve"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not status:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/login").status_code
            except httpx.TransportError:
                time.sleep(0.2)
        assert status == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "No users yet" in output
    assert (tmp_path / "serve" / "klero-server.sqlite").stat().st_mode & 0o777 == 0o600
