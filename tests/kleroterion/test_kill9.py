"""The kill -9 harness: a ``klero`` process killed (SIGKILL, no clean-up of any kind) at random points of
the registry import, a letter draw, the pool import, the panel selection, a survey import and the
analysis. After each kill the store passes SQLite's integrity and foreign-key checks and holds either
everything the command stores or nothing of it (its tables' row counts equal those before the command
or those after one clean run); a re-run then succeeds and leaves what one clean run leaves.

Kill points are fractions of the clean run's own duration (drawn from a seeded generator), so they fall
in the start-up, the reading, the computing and the writing of each command on any machine.
"""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from kleroterion.workspace import Workspace
from tests.conftest import copy_workspace, run_cli, store_rows
from tests.deliberation.test_survey_files import long_poll
from tests.kleroterion.test_bad_input_corpus import EDUCATION_OK, LONG, SHARES_HEADER, _prepare, signups

pytestmark = pytest.mark.slow

#: Tables whose rows depend on the moment of the run rather than its effect.
VOLATILE = frozenset({"audit_log"})
KILLS_PER_COMMAND = 2


@dataclass(frozen=True)
class Step:
    """A command to kill: the stage it starts from, what to do in the copy first, its arguments."""

    id: str
    stage: str
    prepare: Callable[[Path, Path, pytest.MonkeyPatch], None]
    args: tuple[str, ...]


def _nothing(root: Path, base: Path, mp: pytest.MonkeyPatch) -> None:
    return None


def _extract(root: Path, base: Path, mp: pytest.MonkeyPatch) -> None:
    shutil.copy(STAGES_FILES["brp"], base / "brp.csv")


def _signups(root: Path, base: Path, mp: pytest.MonkeyPatch) -> None:
    codes = [str(r[0]) for r in store_rows(root, "SELECT code FROM letters ORDER BY code LIMIT 40")]
    (base / "signups.csv").write_text(signups(codes), encoding="utf-8")


def _quotas(root: Path, base: Path, mp: pytest.MonkeyPatch) -> None:
    (base / "shares.csv").write_text(SHARES_HEADER + EDUCATION_OK, encoding="utf-8")
    args = ("quotas", "derive", "--size", "8", "--tolerance", "2", "--shares", str(base / "shares.csv"))
    assert run_cli(mp, *args, "-w", str(root)) == 0


def _t2(root: Path, base: Path, mp: pytest.MonkeyPatch) -> None:
    frame = long_poll(blank_rows=False, seed=9)
    frame[frame["Time"] == "T2"].drop(columns=["wt", "age"]).to_csv(base / "t2.csv", index=False)


def _t2_imported(root: Path, base: Path, mp: pytest.MonkeyPatch) -> None:
    _t2(root, base, mp)
    assert run_cli(mp, *(a.format(file=base / "t2.csv", ws=root) for a in LONG)) == 0


STEPS = [
    Step("registry-import", "fresh", _extract, ("registry", "import", "{base}/brp.csv")),
    Step("letters-draw", "letters", _nothing, ("letters", "draw", "--count", "30", "--stratify-by", "wijk")),
    Step("pool-import", "letters", _signups, ("pool", "import", "{base}/signups.csv")),
    Step("panel-select", "pool", _quotas, ("panel", "select", "--algorithm", "maximin", "--alternates", "2")),
    Step("survey-import", "poll", _t2, (*LONG[:2], "{base}/t2.csv", *LONG[5:])),
    Step("analyse", "poll", _t2_imported, ("analyse", "--output", "{base}/tables")),
]
STAGES_FILES: dict[str, Path] = {}


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    prepared = {}
    with pytest.MonkeyPatch.context() as mp:
        for stage in ("fresh", "letters", "pool", "poll"):
            prepared[stage] = _prepare(stage, tmp_path_factory.mktemp(f"kill-{stage}"), mp)
    STAGES_FILES["brp"] = prepared["letters"].parent / "brp.csv"
    return prepared


def _copy(stages: dict[str, Path], step: Step, base: Path, mp: pytest.MonkeyPatch) -> Path:
    base.mkdir()
    root = base / "ws"
    copy_workspace(stages[step.stage], root)
    step.prepare(root, base, mp)
    return root


def _command(step: Step, root: Path, base: Path) -> list[str]:
    args = [a.format(base=base) for a in step.args]
    code = "import sys; from kleroterion.cli import app; sys.argv = ['klero', *sys.argv[1:]]; app()"
    return [sys.executable, "-c", code, *args, "-w", str(root)]


def _counts(root: Path) -> dict[str, int]:
    process = tomllib.loads((root / "process.toml").read_text(encoding="utf-8"))["process"]
    if str(process.get("database_url", "")).startswith("postgresql://"):  # the server checks keys at each write
        with Workspace.open(root) as ws:
            return {n: c for n, c in ws.store.table_counts().items() if n not in VOLATILE}
    with sqlite3.connect(root / "store.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            n: int(conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0])  # noqa: S608
            for n in sorted(names)
            if n not in VOLATILE and not n.startswith("sqlite_")
        }


@pytest.mark.parametrize("step", STEPS, ids=[s.id for s in STEPS])
def test_a_command_killed_anywhere_leaves_all_or_nothing_and_runs_again(
    step: Step, stages: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_base = tmp_path / "clean"
    clean_root = _copy(stages, step, clean_base, monkeypatch)
    before = _counts(clean_root)
    started = time.monotonic()
    done = subprocess.run(_command(step, clean_root, clean_base), capture_output=True, text=True, check=False)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    after = _counts(clean_root)
    assert after != before, "the command stored nothing: no kill point could fall inside its write"

    rng = random.Random(f"kill9-{step.id}")  # kill moments, not secrets
    for attempt in range(KILLS_PER_COMMAND):
        base = tmp_path / f"kill{attempt}"
        root = _copy(stages, step, base, monkeypatch)
        proc = subprocess.Popen(_command(step, root, base), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.35, 0.98) * duration)
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate()
        assert "Traceback" not in stderr
        state = _counts(root)
        assert state in (before, after), f"half state after kill -9 at attempt {attempt}: {state}"
        if state == before:
            rerun = subprocess.run(_command(step, root, base), capture_output=True, text=True, check=False)
            assert rerun.returncode == 0, rerun.stdout + rerun.stderr
            assert "Traceback" not in rerun.stdout + rerun.stderr
            assert _counts(root) == after
