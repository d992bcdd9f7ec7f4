"""Packets and small groups through a real workspace store, and their analyses in ``analyse``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deliberation.analysis import score_answers
from deliberation.instrument import instrument_from_dict
from kleroterion.app.analysis import AnalysisRequest, analyse
from kleroterion.app.groups import assign_small_groups
from kleroterion.workspace import Workspace

INSTRUMENT = instrument_from_dict(
    {
        "name": "t",
        "items": [{"code": "A", "kind": "likert", "text": "a", "min": 1, "max": 5}],
        "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T2", "kind": "post"}],
    },
    source="test",
)


def test_packet_and_groups_round_trip_and_analyses(workspace: Workspace) -> None:
    ws = workspace
    ws.store.save_instrument(INSTRUMENT, source="t.toml", sha256="0" * 64)
    n = 32
    ids = [f"P{i:03d}" for i in range(n)]
    ws.store.save_participants(
        pd.DataFrame({"participant_id": ids, "arm": "participant", "gender": ["M", "V"] * (n // 2)})
    )
    rng = np.random.default_rng(2)
    a1 = rng.integers(1, 6, n)
    a2 = np.clip(a1 + rng.integers(-1, 2, n), 1, 5)
    for wave, vals in (("T1", a1), ("T2", a2)):
        long = pd.DataFrame({"participant_id": ids, "wave": wave, "item_code": "A", "raw": [str(v) for v in vals]})
        ws.store.save_wave(wave, score_answers(long, INSTRUMENT), source=f"{wave}.csv", sha256="0" * 64)
    args = pd.DataFrame(
        {"option": ["X", "X", "Y"], "side": ["pro", "con", "pro"], "text": ["a b", "c", "d"], "source": ["S", "S", ""]}
    )
    ws.store.save_packet("Brochure", args)
    ws.store.save_packet("Brochure", args.iloc[:2])  # version 2 replaces version 1 in analyses
    assignment = assign_small_groups(ws, size=8, balance=["gender"], seed=42).assignment
    assert sorted(ws.store.groups()["participant_id"]) == sorted(ids)
    assert assignment["group"].nunique() == 4

    out = analyse(ws, AnalysisRequest(pre="T1", post="T2")).tables
    balance = out["packet_balance"]
    assert balance["version"].tolist() == [2]
    assert balance[["option", "n_pro", "n_con", "words_pro", "words_con"]].values.tolist() == [["X", 1, 1, 2, 1]]
    assert out["packet_sources"]["one_sided"].tolist() == [False]
    changes = out["group_changes"]
    assert len(changes) == 4
    # Group means on the 0-1 rescale by hand: (y − 1)/4 averaged over each stored group.
    groups = ws.store.groups().set_index("participant_id")["group"]
    first = changes.iloc[0]
    members = [i for i, pid in enumerate(ids) if groups[pid] == first["group"]]
    assert first["m_pre"] == pytest.approx(((a1[members] - 1) / 4).mean())
    assert first["sd_post"] == pytest.approx(((a2[members] - 1) / 4).std(ddof=1))
    assert ws.store.analysis("group_distortions") is not None
    assert out["group_assignment_check"]["n"].item() == n
