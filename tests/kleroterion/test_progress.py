"""Progress and cancel through the application: registry import, analysis, rendering, the CLI bars."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from rich.console import Console

from kleroterion.app import registry as registry_cmds
from kleroterion.app.analysis import ANALYSIS_STAGE, ANALYSIS_STEPS, analyse
from kleroterion.errors import Cancelled
from kleroterion.progress import RichProgress
from kleroterion.workspace import Workspace
from reports.render import RENDER_STAGE, render_report
from sortition.progress import Progress
from sortition.signup import DEFAULT_CATEGORIES
from tests.conftest import run_cli
from tests.deliberation.test_analyse_command import MemoryStore
from tests.reports.test_council_sections import _context as council_context
from tests.sortition.test_cli_sortition import HEADER, select_args, tiny_files, write

Event = tuple[str, int, int | None, str]
#: characters rich draws for bars and spinners
PROGRESS_CHARACTERS = ("━", "╸", "⠋", "⠙", "⠹", "⠸")


def record(events: list[Event]) -> Progress:
    """A progress callback appending every event to ``events``."""

    def progress(stage: str, done: int, total: int | None, message: str) -> None:
        events.append((stage, done, total, message))

    return progress


def assert_monotone(events: list[Event]) -> None:
    for stage in {e[0] for e in events}:
        done = [e[1] for e in events if e[0] == stage]
        assert done == sorted(done), (stage, done)


def registry_file(tmp_path: Path, rows: int) -> Path:
    lines = [
        f"{100_001_000 + i};Naam{i};Achternaam{i};{1950 + i % 50}0101;{'MV'[i % 2]};Straat;{i + 1};5981 AB;Panningen"
        for i in range(rows)
    ]
    return write(tmp_path / "brp.csv", [HEADER, *lines])


def test_registry_import_reports_rows_per_chunk_and_the_rows_stored(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_cmds, "CHUNK_ROWS", 10)
    monkeypatch.setattr("kleroterion.io.BLOCK", 256)
    events: list[Event] = []
    out = registry_cmds.import_registry(workspace, registry_file(tmp_path, 45), progress=record(events))
    assert out.residents == 45
    assert_monotone(events)
    stage = registry_cmds.IMPORT_STAGE
    reads = [e for e in events if e[0] == stage]
    assert len(reads) >= 4  # the start, several chunks and the end
    assert reads[0][1] == 0
    assert events[-1][:3] == (stage, 45, 45)


def test_a_cancelled_registry_import_stores_nothing(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_cmds, "CHUNK_ROWS", 10)
    monkeypatch.setattr("kleroterion.io.BLOCK", 256)
    before = workspace.store.table_counts()
    asked = []

    def cancel() -> bool:
        asked.append(True)
        return len(asked) > 2  # after the start and the first chunk

    with pytest.raises(Cancelled):
        registry_cmds.import_registry(workspace, registry_file(tmp_path, 45), cancel=cancel)
    assert workspace.store.table_counts()["residents"] == before["residents"] == 0


def analysis_store() -> MemoryStore:
    """Ten participants answering one item at two waves."""
    ids = [f"p{i}" for i in range(10)]
    participants = pd.DataFrame({"participant_id": ids, "arm": ["participant"] * 10, "gender": ["M", "V"] * 5})
    rows = [(pid, wave, "A", str(1 + (i + w) % 5)) for i, pid in enumerate(ids) for w, wave in enumerate(("T1", "T2"))]
    rows += [(pid, wave, code, "1") for pid in ids for wave in ("T1", "T2") for code in ("Y", "K")]
    return MemoryStore(participants, pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "raw"]))


def test_analyse_reports_each_group_of_tables() -> None:
    store = analysis_store()
    events: list[Event] = []
    out = analyse(SimpleNamespace(store=store, signup_categories=DEFAULT_CATEGORIES), progress=record(events)).tables  # type: ignore[arg-type]
    assert [e[1] for e in events] == list(range(ANALYSIS_STEPS + 1))
    assert {e[0] for e in events} == {ANALYSIS_STAGE}
    assert events[-1][:3] == (ANALYSIS_STAGE, ANALYSIS_STEPS, ANALYSIS_STEPS)
    assert events[-1][3] == f"{len(out)} tables analysed"


def test_a_cancelled_analysis_stops_between_groups() -> None:
    store = analysis_store()
    asked = []

    def cancel() -> bool:
        asked.append(True)
        return len(asked) > 1  # the start passes; asked again after the first group of tables

    with pytest.raises(Cancelled):
        analyse(SimpleNamespace(store=store, signup_categories=DEFAULT_CATEGORIES), cancel=cancel)  # type: ignore[arg-type]
    assert len(asked) == 2  # stopped before the second group
    # One run is stored whole or not at all: a cancelled run stores no table (before analysis runs
    # were one transaction, the first group's tables stayed stored beside the previous run's).
    assert "opinion_change" not in store.saved
    assert "representativeness_nominal" not in store.saved


@pytest.mark.parametrize(("fmt", "steps"), [("html", 1), ("docx", 2)])
def test_rendering_reports_start_and_end_per_format(fmt: str, steps: int) -> None:
    events: list[Event] = []
    context = council_context(lang="en")
    data = render_report("council.html.j2", context, lang="en", fmt=fmt, title="Council", progress=record(events))
    assert data
    assert [e[1] for e in events] == list(range(steps + 1))
    assert events[-1][:3] == (RENDER_STAGE, steps, steps)


def test_the_bars_draw_on_a_terminal_and_vanish() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with RichProgress(enabled=True, console=console) as bars:
        bars("column generation", 3, None, "pricing")
        bars("selection", 1, 3, "optimising")
    assert any(c in screen.getvalue() for c in PROGRESS_CHARACTERS)
    quiet = io.StringIO()
    with RichProgress(enabled=False, console=Console(file=quiet, force_terminal=True)) as bars:
        bars("selection", 1, 3, "optimising")
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("options", [(), ("--json",)])
def test_the_cli_shows_no_progress_when_output_is_not_a_terminal(
    options: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    categories, respondents = tiny_files(tmp_path)
    assert run_cli(monkeypatch, *select_args(categories, respondents, 2, "--engine", "native", *options)) == 0
    captured = capsys.readouterr()
    assert "Selected 2" in captured.out or '"panel_size": 2' in captured.out
    assert not any(c in captured.out + captured.err for c in PROGRESS_CHARACTERS)


@pytest.mark.parametrize(("options", "shown"), [((), True), (("--quiet",), False)])
def test_bars_follow_the_terminal_and_quiet(
    options: tuple[str, ...], shown: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the bars are on unless --quiet (what ``progress_bars`` decides is recorded here)."""
    decided: list[bool] = []

    class Recording(RichProgress):
        def __init__(self, *, enabled: bool, console: Console | None = None) -> None:
            decided.append(enabled)
            super().__init__(enabled=False, console=console)

    monkeypatch.setattr("kleroterion.progress.RichProgress", Recording)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    categories, respondents = tiny_files(tmp_path)
    assert run_cli(monkeypatch, *options, *select_args(categories, respondents, 2, "--engine", "native")) == 0
    assert decided == [shown]
