"""``kleroterion.app.status``: what ``klero status`` shows, without the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kleroterion.app.status import SHOWN_TABLES, workspace_status
from kleroterion.workspace import ProcessSettings, Workspace


def test_a_new_workspace_holds_only_its_init_record(workspace: Workspace) -> None:
    status = workspace_status(workspace)
    assert (status.name, status.municipality, status.reference_date) == ("Test", "Peel en Maas", "2024-01-01")
    assert (status.example, status.example_label) == ("", "")
    assert status.panel is None
    assert status.shown_counts() == [(t, 1 if t == "audit_log" else 0) for t in SHOWN_TABLES]


@pytest.mark.parametrize(
    ("example", "label"),
    [("", ""), ("peel-en-maas", "example, synthetic data")],
)
def test_an_example_workspace_says_so(tmp_path: Path, example: str, label: str) -> None:
    settings = ProcessSettings(name="V", municipality="Peel en Maas", reference_date="2024-01-01", example=example)
    with Workspace.create(tmp_path / "ws", settings) as ws:
        status = workspace_status(ws)
    assert (status.example, status.example_label) == (example, label)


def test_the_chain_shows_its_counts_and_panel(named_chain_master: Path) -> None:
    # build_chain: 600 residents, 150 letters, 70 sign-ups, a panel of 10 with 3 alternates, nobody replaced
    with Workspace.open(named_chain_master) as ws:
        status = workspace_status(ws)
    shown = dict(status.shown_counts())
    assert (shown["residents"], shown["letters"], shown["pool_members"], shown["selection_draws"]) == (600, 150, 70, 1)
    assert status.panel is not None
    panel = {k: status.panel[k] for k in ("members", "alternates", "replaced", "draws", "redraws")}
    assert panel == {"members": 10, "alternates": 3, "replaced": 0, "draws": 1, "redraws": 0}
    record = status.to_record()
    assert set(record) == {"name", "municipality", "reference_date", "example", "counts", "panel"}
    assert record["counts"] == status.counts


def test_the_status_use_case_imports_neither_pandas_nor_numpy() -> None:
    code = (
        "import sys\nimport kleroterion.app.status\n"
        "print([m for m in ('pandas', 'numpy', 'pyarrow') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
