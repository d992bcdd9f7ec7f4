"""Each workflow step ends with the usual next command; --quiet leaves it out."""

from __future__ import annotations

from pathlib import Path

import pytest

from kleroterion.workspace import Workspace
from tests.conftest import run_cli
from tests.sortition.test_cli_sortition import GOOD_ROWS, HEADER, write


def test_init_points_to_the_registry_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "ws"
    assert run_cli(monkeypatch, "init", str(folder), "--name", "P", "--municipality", "M") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == f"Next: klero registry import extract.csv -w {folder}"


@pytest.mark.parametrize(("quiet", "shown"), [((), True), (("--quiet",), False), (("-q",), False)])
def test_registry_import_points_to_the_letters_unless_quiet(
    quiet: tuple[str, ...],
    shown: bool,
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    extract = write(tmp_path / "brp.csv", [HEADER, *GOOD_ROWS])
    assert run_cli(monkeypatch, *quiet, "registry", "import", str(extract), "-w", str(workspace.root)) == 0
    out = capsys.readouterr().out
    assert "Imported 3 residents" in out
    hint = f"Next: klero letters draw --count N -w {workspace.root}"
    assert (out.strip().splitlines()[-1] == hint) is shown
    assert ("Next:" in out) is shown


def test_a_hint_in_the_current_folder_has_no_workspace_option(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    extract = write(tmp_path / "brp.csv", [HEADER, *GOOD_ROWS])
    monkeypatch.chdir(workspace.root)
    assert run_cli(monkeypatch, "registry", "import", str(extract)) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "Next: klero letters draw --count N"
