"""The CLI owns standard output, and under ``--json`` failures are one JSON shape too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, run_cli

SMALL_20 = DATA / "citizensassemblies-replication" / "data" / "example_small_20"


def test_bytes_written_to_descriptor_1_never_reach_stdout() -> None:
    # What a C library does (HiGHS 1.16 prints its banner this way): write to fd 1 directly.
    code = (
        "import os, sys\n"
        "from kleroterion.console_io import owned_stdout\n"
        "with owned_stdout():\n"
        "    os.write(1, b'Running HiGHS banner\\n')\n"
        "    print('{\"ok\": true}')\n"
        "print('after')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == '{"ok": true}\nafter\n'


def test_native_select_json_is_pure_json_in_a_fresh_process(tmp_path: Path) -> None:
    klero = Path(sys.executable).with_name("klero")
    args = ["--categories", str(SMALL_20 / "categories.csv"), "--respondents", str(SMALL_20 / "respondents.csv")]
    done = subprocess.run(
        [str(klero), "select", *args, "--size", "20", "--seed", "7", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # the whole of stdout parses: no solver banner before it
    assert report["panel_size"] == 20


def test_json_input_error_has_the_documented_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    categories = tmp_path / "categories.csv"
    categories.write_text("category,feature,min,max\ngender,female,1,x\ngender,male,1,2\n", encoding="utf-8")
    code = run_cli(
        monkeypatch,
        "select",
        "--categories",
        str(categories),
        "--respondents",
        str(SMALL_20 / "respondents.csv"),
        "--size",
        "2",
        "--json",
    )
    assert code == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "input_error"
    assert set(error) == {"code", "message", "problems"}
    (problem,) = error["problems"]
    assert problem == {
        "file": "categories.csv",
        "row": problem["row"],
        "column": "max",
        "value": "x",
        "message": problem["message"],
    }
    assert isinstance(problem["row"], int)


def test_json_store_and_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "status", "--workspace", str(tmp_path / "nowhere"), "--json") == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "no_workspace"
    assert error["problems"] == []
    assert run_cli(monkeypatch, "status", "--no-such-option", "--json") == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "usage_error"


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    # `klero ... | head`: the pipe closes while the command is still writing (1 MB, far beyond a pipe buffer).
    code = (
        "import sys\n"
        "from kleroterion.console_io import owned_stdout\n"
        "with owned_stdout():\n"
        "    for i in range(100_000):\n"
        "        print('0123456789')\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as writer:
        assert writer.stdout is not None and writer.stderr is not None
        writer.stdout.read(10)
        writer.stdout.close()  # the reader leaves
        stderr = writer.stderr.read()
        writer.wait(timeout=60)
    assert "Traceback" not in stderr, stderr


def test_error_text_in_square_brackets_is_shown_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # rich reads "[[signup.category]]" as markup and would drop it from the message
    assert run_cli(monkeypatch, "init", str(tmp_path / "ws"), "--name", "T", "--municipality", "M") == 0
    with (tmp_path / "ws" / "process.toml").open("a", encoding="utf-8") as process:
        process.write("\n[signup]\ncategory = 5\n")
    capsys.readouterr()
    assert run_cli(monkeypatch, "quotas", "derive", "--size", "3", "--workspace", str(tmp_path / "ws")) == 1
    assert "[[signup.category]]" in capsys.readouterr().out
