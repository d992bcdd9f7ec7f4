"""Stored distributions (migration 0011): panels as compressed bitmaps, read back exactly; older JSON rows too."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from kleroterion.workspace import Workspace
from tests.conftest import drop_append_only_triggers, make_quotas


def save_draw(
    workspace: Workspace, distribution: list[tuple[frozenset[str], float]], tickets: tuple[int, ...] = ()
) -> int:
    quotas = make_quotas([("gender", "M", 0, 175), ("gender", "V", 0, 175)])
    set_id = workspace.store.save_quotas(quotas, panel_size=175, source="test", tolerance=0.0)
    record = {"algorithm": "leximin", "engine": "native", "seed": "1", "pool_hash": "x", "parameters": {}}
    record |= {"versions": {}, "result": {}}
    probabilities = pd.Series(dtype=float)
    return workspace.store.save_selection(
        quota_set_id=set_id,
        kind="lottery",
        record=record,
        probabilities=probabilities,
        members=[],
        distribution=distribution,
        tickets=tickets,
    )


def test_packed_panels_round_trip_in_order_and_stay_small(workspace: Workspace) -> None:
    rng = np.random.default_rng(0)
    ids = [f"P{i:010d}" for i in range(4000)]
    panels = [frozenset(rng.choice(ids, size=175, replace=False).tolist()) for _ in range(500)]
    weights = rng.dirichlet(np.ones(len(panels)))
    distribution = list(zip(panels, weights.tolist(), strict=True))
    draw_id = save_draw(workspace, distribution, tickets=(3, 1, 2))
    assert workspace.store.draw_distribution(draw_id) == distribution
    assert [panel for _, panel in workspace.store.lottery_tickets(draw_id)] == [panels[2], panels[0], panels[1]]
    stored = workspace.store._scalar("SELECT SUM(LENGTH(packed)) FROM draw_panels WHERE draw_id = ?", (draw_id,))
    assert stored / len(panels) < 600  # bytes per panel of 175 out of 4,000 (JSON: ~2,300)


def test_panels_stored_as_json_before_0011_still_read(workspace: Workspace) -> None:
    draw_id = save_draw(workspace, [(frozenset({"a", "b"}), 0.5), (frozenset({"a", "c"}), 0.25)])
    with workspace.store.transaction() as conn:
        drop_append_only_triggers(conn)  # fake a draw stored before migration 0011
        conn.execute("DELETE FROM draw_people WHERE draw_id = ?", (draw_id,))
        conn.execute(
            "UPDATE draw_panels SET members = ?, packed = NULL WHERE draw_id = ? AND position = 1",
            (json.dumps(["a", "b"]), draw_id),
        )
        conn.execute(
            "UPDATE draw_panels SET members = ?, packed = NULL WHERE draw_id = ? AND position = 2",
            (json.dumps(["a", "c"]), draw_id),
        )
    assert workspace.store.draw_distribution(draw_id) == [(frozenset({"a", "b"}), 0.5), (frozenset({"a", "c"}), 0.25)]
