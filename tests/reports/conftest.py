"""One demo workspace with its rendered reports for the report tests that need real output (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kleroterion.demo import run_demo


@pytest.fixture(scope="session")
def report_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of ``klero demo``: the workspace and every report (nl, en; HTML, PDF, DOCX)."""
    out = tmp_path_factory.mktemp("report-demo")
    run_demo(out)
    return out
