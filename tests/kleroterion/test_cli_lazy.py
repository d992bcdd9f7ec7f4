"""The lazy top-level group: help in workflow order, a table that cannot drift, ``--version``."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import version

import pytest
import typer

from kleroterion.cli import KleroGroup, cli
from kleroterion.workspace import Workspace
from tests.conftest import run_cli


def _listed_commands(text: str) -> list[str]:
    """Command names in the order ``klero --help`` lists them (first word of each panel row)."""
    names = []
    in_commands = False
    for line in text.splitlines():
        if "Commands" in line:
            in_commands = True
            continue
        if in_commands:
            row = line.lstrip("│")
            if row[:1] == " " and row[1:2].isalpha():  # a wrapped help line is indented further
                names.append(row.split()[0])
    return names


def test_help_lists_every_command_in_workflow_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "--help") == 0
    listed = _listed_commands(capsys.readouterr().out)
    assert listed == list(KleroGroup.ORDER)
    assert listed[0] == "init"
    assert listed.index("registry") < listed.index("letters") < listed.index("panel") < listed.index("analyse")


def test_order_names_every_command_once() -> None:
    eager = set(typer.main.get_command(cli).commands)  # type: ignore[attr-defined]
    lazy = {spec.name for spec in KleroGroup.COMMANDS}
    assert not eager & lazy
    assert sorted(KleroGroup.ORDER) == sorted(eager | lazy)


@pytest.mark.parametrize("spec", KleroGroup.COMMANDS, ids=lambda spec: spec.name)
def test_every_lazy_command_resolves_and_its_help_matches(spec: object) -> None:
    from kleroterion.lazy import LazyCommand

    assert isinstance(spec, LazyCommand)
    command = spec.load()
    assert command.name == spec.name
    assert command.help is not None
    assert command.help.strip().splitlines()[0] == spec.help


def modules_imported_by(*args: str) -> list[str]:
    """Which heavy modules ``klero ARGS`` imports, run in a fresh interpreter."""
    code = (
        f"import sys; sys.argv = ['klero', *{list(args)!r}]\n"
        "from kleroterion.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "heavy = ('pandas', 'numpy', 'pyarrow', 'scipy',"
        " 'kleroterion.commands.registry', 'kleroterion.commands.letters')\n"
        "print('HEAVY', [m for m in heavy if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return ast.literal_eval(done.stdout.rsplit("HEAVY", 1)[1].strip())


def test_help_and_version_import_no_command_module() -> None:
    assert modules_imported_by("--help") == []
    assert modules_imported_by("--version") == []


def test_status_imports_neither_pandas_nor_pyarrow(workspace: Workspace) -> None:
    assert modules_imported_by("status", "-w", str(workspace.root)) == []


def test_version_prints_the_installed_version(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "--version") == 0
    assert capsys.readouterr().out.strip() == f"klero {version('kleroterion')}"


def test_a_lazy_command_runs_through_the_group(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "registry", "--help") == 0
    out = capsys.readouterr().out
    assert "Usage: klero registry" in out
    assert "import" in out


def test_a_misspelt_lazy_command_gets_a_suggestion(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "regstry") == 2
    captured = capsys.readouterr()
    # 'restore' (klero restore) is as close to the typo; the closest command comes first
    assert "Did you mean 'registry'" in captured.out + captured.err
