"""Two writers at once: one wins, the other stops with a clean message; never a traceback, never a half state.

The commands run as real ``klero`` processes. The test holds the workspace's write lock itself; a small
wrapper marks (in a file) the moment a process asks for the lock, so the lock is released only when both
are waiting. A letter draw is one unit of work in one ``BEGIN IMMEDIATE`` transaction (issue 20), so the
second draw runs after the first on the state the first left: two draws, never the same address twice.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kleroterion.workspace import Workspace
from tests.conftest import lottery_workspace

pytestmark = pytest.mark.slow

#: Runs ``klero ARGS``; marks MARKER when the command asks for the write lock; BUSY seconds of busy timeout.
WRAPPER = """
import sys
from pathlib import Path
import kleroterion.store.core as core

marker, busy = Path(sys.argv[1]), float(sys.argv[2])
core.BUSY_TIMEOUT = busy
begin = core.StoreCore._begin

def marked(self, *args, **kwargs):
    marker.touch()
    return begin(self, *args, **kwargs)

core.StoreCore._begin = marked
sys.argv = ["klero", *sys.argv[3:]]
from kleroterion.cli import app
app()
"""


def _start(tmp_path: Path, name: str, busy: float, *args: str) -> tuple[subprocess.Popen[str], Path]:
    wrapper = tmp_path / "wrapper.py"
    wrapper.write_text(WRAPPER, encoding="utf-8")
    marker = tmp_path / f"{name}.ready"
    proc = subprocess.Popen(
        [sys.executable, str(wrapper), str(marker), str(busy), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, marker


def _wait_for(markers: list[Path], procs: list[subprocess.Popen[str]], *, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(m.exists() for m in markers):
        if any(p.poll() is not None for p in procs):
            outputs = [p.communicate()[0] for p in procs]
            pytest.fail(f"a draw ended before it queued for the lock: {outputs}")
        if time.monotonic() > deadline:
            pytest.fail("the draws did not reach the store in time")
        time.sleep(0.05)


def _query(root: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows read through the workspace's own store (SQLite or PostgreSQL, as the suite runs)."""
    with Workspace.open(root) as ws:
        return [tuple(r) for r in ws.store._query(sql)]


def _letter_draws(root: Path) -> list[tuple[int, int]]:
    return _query(root, "SELECT id, letter_count FROM letter_draws ORDER BY id")  # type: ignore[return-value]


def _letters(root: Path) -> int:
    return int(_query(root, "SELECT COUNT(*) FROM letters")[0][0])


@contextmanager
def _write_lock(root: Path) -> Iterator[None]:
    """Hold the workspace's write lock as another klero command would (SQLite: ``BEGIN IMMEDIATE``;
    PostgreSQL: the workspace's advisory lock)."""
    ws = Workspace.open(root)
    ws.store._begin()
    try:
        yield
    finally:
        ws.store._rollback()
        ws.store.close()


def test_two_letter_draws_at_once_run_one_after_the_other_never_sharing_an_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = lottery_workspace(tmp_path, monkeypatch, letters=40)
    assert _letter_draws(root) == [(1, 40)]
    draw = ["letters", "draw", "--count", "30", "--stratify-by", "wijk", "-w", str(root)]
    with _write_lock(root):  # both draws queue here
        first, first_ready = _start(tmp_path, "first", 60.0, *draw)
        second, second_ready = _start(tmp_path, "second", 60.0, *draw)
        _wait_for([first_ready, second_ready], [first, second])
        time.sleep(0.3)  # from the marker to BEGIN IMMEDIATE is one statement
    outputs = [first.communicate(timeout=120)[0], second.communicate(timeout=120)[0]]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert "Traceback" not in "".join(outputs)
    assert _letter_draws(root) == [(1, 40), (2, 30), (3, 30)]
    assert _letters(root) == 100
    # one letter per address over all three draws
    assert _query(root, "SELECT COUNT(DISTINCT address_key) FROM letters")[0][0] == 100


def test_a_writer_that_cannot_get_the_lock_says_busy_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = lottery_workspace(tmp_path, monkeypatch, letters=40)
    draw = ["letters", "draw", "--count", "30", "-w", str(root)]
    with _write_lock(root):
        proc, ready = _start(tmp_path, "waiting", 0.5, *draw)
        output = proc.communicate(timeout=120)[0]
    assert ready.exists()
    assert proc.returncode == 1, output
    assert "Traceback" not in output
    assert "Another klero command is writing to this workspace" in " ".join(output.split())
    assert _letter_draws(root) == [(1, 40)]
    assert _letters(root) == 40


def test_a_store_conflict_is_a_clean_error_and_rolls_back(tmp_path: Path) -> None:
    from kleroterion.errors import StoreError
    from kleroterion.store.core import StoreCore

    store = StoreCore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    with store.transaction() as conn:
        conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO t VALUES ('a')")
    with pytest.raises(StoreError) as caught, store.transaction() as conn:
        conn.execute("INSERT INTO t VALUES ('b')")
        conn.execute("INSERT INTO t VALUES ('a')")
    assert caught.value.code == "store_conflict"
    assert [r[0] for r in store._query("SELECT k FROM t")] == ["a"]
    store.close()
