"""The README's walk-through runs as written, command by command, and is the demo's sequence of steps.

The walk-through is the fenced ``sh`` block under "Walk through the example". It is run with the venv's
``klero`` in a temporary folder laid out like the repository after ``make demo``: ``data/`` and
``demo-output/`` (the session's shared demo run) side by side, the workspace created next to them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from kleroterion.demo import walkthrough
from kleroterion.workspace import Workspace
from tests.conftest import DATA, REPO

KLERO = Path(sys.executable).parent / "klero"
SECTION = "## Walk through the example"


def readme_block(text: str) -> list[str]:
    """The lines of the first fenced ``sh`` block after the walk-through heading."""
    if SECTION not in text:
        raise AssertionError(f"README.md has no {SECTION!r} section")
    found = re.search(r"```sh\n(.*?)```", text[text.index(SECTION) :], flags=re.DOTALL)
    if found is None:
        raise AssertionError("The walk-through section has no ```sh block")
    return found.group(1).splitlines()


def commands(lines: list[str]) -> list[str]:
    """The block's commands: blank and comment lines dropped, trailing comments kept for shlex to skip."""
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["# a comment", "", "klero status   # counts", "#   klero panel verify"], ["klero status   # counts"]),
        (["  cd raad  "], ["cd raad"]),
    ],
)
def test_commands_drop_comment_and_blank_lines(lines: list[str], expected: list[str]) -> None:
    assert commands(lines) == expected


def test_readme_block_is_found_after_its_heading() -> None:
    text = "# Title\n```sh\nmake demo\n```\n## Walk through the example\n\n```sh\nklero status\n```\n"
    assert readme_block(text) == ["klero status"]
    with pytest.raises(AssertionError, match="no"):
        readme_block("# Title\n```sh\nmake demo\n```\n")


def test_readme_walkthrough_is_the_demos_sequence() -> None:
    """The README's klero commands are the demo's, with the paths a reader in the repository folder uses."""
    lines = commands(readme_block((REPO / "README.md").read_text(encoding="utf-8")))
    typed = [shlex.split(line, comments=True) for line in lines if line.startswith("klero ")]
    expected = walkthrough(
        workspace="raad", data0="data/peel_en_maas", data="../data/peel_en_maas", out="../demo-output"
    )
    assert [args[1:] for args in typed] == expected
    assert lines[0] == "source .venv/bin/activate"
    assert [line for line in lines if line.startswith("cd ")] == ["cd raad"]
    assert lines.index("cd raad") == 2  # right after `klero init raad`, as WALKTHROUGH assumes


@pytest.mark.slow
def test_readme_walkthrough_runs_as_written(demo_output: Path, tmp_path: Path) -> None:
    (tmp_path / "data").symlink_to(DATA, target_is_directory=True)
    (tmp_path / "demo-output").symlink_to(demo_output, target_is_directory=True)
    env = {**os.environ, "PATH": f"{KLERO.parent}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "200"}
    cwd = tmp_path
    for line in commands(readme_block((REPO / "README.md").read_text(encoding="utf-8"))):
        args = shlex.split(line, comments=True)
        if args == ["source", ".venv/bin/activate"]:
            assert (REPO / ".venv" / "bin" / "activate").is_file() or KLERO.is_file()
            continue  # the test runs the venv's klero by its path
        if args[0] == "cd":
            cwd = cwd / args[1]
            assert cwd.is_dir(), line
            continue
        assert args[0] == "klero", f"the walk-through runs only klero commands: {line}"
        done = subprocess.run([str(KLERO), *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    report = cwd / "council-report.nl.pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(report).pages)
    assert "Verslag aan de gemeenteraad" in text
    assert "voorbeeld, synthetische gegevens" in text  # an example workspace says so in its reports
    # the same steps as the demo: the same letters, pool and panel
    with Workspace.open(cwd) as mine, Workspace.open(demo_output / "workspace") as demo:
        assert mine.is_example
        assert set(mine.store.letters()["code"]) == set(demo.store.letters()["code"])
        assert set(mine.store.panel_members("panel")["person_id"]) == set(
            demo.store.panel_members("panel")["person_id"]
        )
        after = {"audit_log", "reports"}  # the demo renders 18 reports after the walk-through
        mine_counts, demo_counts = mine.store.table_counts(), demo.store.table_counts()
        assert {k: n for k, n in mine_counts.items() if k not in after} == {
            k: n for k, n in demo_counts.items() if k not in after
        }
