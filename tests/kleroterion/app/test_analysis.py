"""``kleroterion.app.analysis`` without the CLI: one run is stored whole in one transaction, a failure
or cancel halfway leaves the previous complete run in force (and the council report reads it), and
the stored parameters are those the core used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

import kleroterion.store.deliberation as store_module
from deliberation.control import MIN_BOOTSTRAP
from kleroterion.app.analysis import AnalysisRequest, analyse
from kleroterion.app.reports import council_context
from kleroterion.app.survey import import_wave
from kleroterion.errors import Cancelled
from kleroterion.workspace import Workspace
from sortition.signup import DEFAULT_CATEGORIES
from tests.deliberation.test_analyse_command import MemoryStore
from tests.deliberation.test_plan import poll
from tests.kleroterion.test_cli_chain import answers, build_chain

TODAY = "2024-06-01"


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A workspace taken to one complete analysis run by the CLI (``test_cli_chain.build_chain``)."""
    yield build_chain(tmp_path_factory.mktemp("runs"))


def change_shown(ws: Workspace) -> list[tuple[str, float]]:
    """The opinion change rows the council report shows: (item, mean change)."""
    context = council_context(ws, lang="en", today=TODAY)
    return [(r.item, r.mean_change) for r in context.change]


def runs(ws: Workspace) -> int:
    return int(ws.store.table_counts()["analysis_runs"])


def new_t2(root: Path, ws: Workspace, *, shift: int) -> None:
    """Replace the panel's T2 answers with others, so a new run would change the tables."""
    panel = ws.store.panel_members("panel")["person_id"].tolist()
    path = root.parent / f"t2-shift{shift}.csv"
    answers(panel, shift=shift).to_csv(path, index=False)
    import_wave(ws, "T2", path, replace=True)


def failing_after(calls: int) -> Any:
    """A replacement for the store's table serialiser that fails on call ``calls + 1``."""
    real = store_module._integer_counts
    made: list[int] = []

    def serialise(table: pd.DataFrame) -> pd.DataFrame:
        made.append(1)
        if len(made) > calls:
            raise OSError("disk full (injected)")
        return real(table)

    return serialise


def test_a_failure_halfway_through_saving_leaves_the_previous_run_in_force(
    analysed: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Workspace.open(analysed["root"]) as ws:
        before = ws.store.latest_complete_run()
        assert before is not None and "opinion_change" in before["tables"]
        stored = ws.store.analysis("opinion_change")
        shown = change_shown(ws)
        count = runs(ws)
        new_t2(analysed["root"], ws, shift=3)
        with monkeypatch.context() as patch:
            patch.setattr(store_module, "_integer_counts", failing_after(5))
            with pytest.raises(OSError, match="injected"):
                analyse(ws)
        assert runs(ws) == count  # no half-written run, not even one marked running
        assert ws.store.latest_complete_run() == before
        pd.testing.assert_frame_equal(ws.store.analysis("opinion_change"), stored)
        assert change_shown(ws) == shown  # the report reads the previous complete run
        # the same analysis without the failure is stored whole and supersedes it
        result = analyse(ws)
        after = ws.store.latest_complete_run()
        assert after is not None and after["id"] == result.run_id > before["id"]
        assert set(after["tables"]) == set(result.tables)
        assert after["parameters"] == dict(result.parameters)
        assert change_shown(ws) != shown


def test_a_cancelled_run_stores_nothing(analysed: dict[str, Path]) -> None:
    with Workspace.open(analysed["root"]) as ws:
        before, count = ws.store.latest_complete_run(), runs(ws)
        asked: list[bool] = []
        with pytest.raises(Cancelled):
            analyse(ws, cancel=lambda: asked.append(True) or len(asked) > 3)
        assert runs(ws) == count and ws.store.latest_complete_run() == before


def test_a_table_the_latest_run_did_not_make_is_not_read_from_an_older_run(analysed: dict[str, Path]) -> None:
    with Workspace.open(analysed["root"]) as ws:
        assert ws.store.analysis("opinion_change_weighted") is not None  # raked: the chain has quotas
        analyse(ws, AnalysisRequest(weights="none"))
        table = ws.store.analysis("opinion_change_weighted")
        assert table is not None and table["item"].tolist() == ["(not weighted)"]
        assert ws.store.analysis("control_ancova") is None  # no control arm in any run
        assert ws.store.analysis("group_balance") is None  # made outside runs; none assigned here


def test_the_stored_parameters_are_those_the_core_used() -> None:
    data, _ = poll()
    store = MemoryStore(data.participants, data.answers)
    result = analyse(SimpleNamespace(store=store, signup_categories=DEFAULT_CATEGORIES))  # type: ignore[arg-type]
    gain, parameters = store.saved["control_gain_difference"]
    assert set(gain["n_bootstrap"].dropna()) == {MIN_BOOTSTRAP}  # what the core drew
    assert parameters["n_bootstrap"] == store.run_parameters["n_bootstrap"] == MIN_BOOTSTRAP
    assert store.run_parameters == dict(result.parameters)
    assert store.run_parameters["bootstrap_seeds"] == {"attended": parameters["bootstrap_seed"]}
    assert int(parameters["bootstrap_seed"]) > 0
    assert (store.run_parameters["pre"], store.run_parameters["post"]) == ("T1", "T2")
