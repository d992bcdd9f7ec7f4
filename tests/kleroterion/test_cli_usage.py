"""Typing a command wrong gives click's usage message and exit 2, never a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--bogus",), "No such option: --bogus"),
        (("demo", "elsewhere"), "unexpected extra argument"),
        (("letters", "draw", "--count", "many"), "Invalid value for '--count'"),
        (("nonsense",), "No such command"),
    ],
)
def test_usage_errors_exit_2_with_the_usage_line(
    args: tuple[str, ...], fragment: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, *args) == 2
    captured = capsys.readouterr()
    text = " ".join((captured.out + captured.err).split())
    assert fragment in text
    assert "Usage: klero" in text
    assert "Traceback" not in text
