"""Respondents of the Deliberative Poll from the lottery: every invitee, and the sitting panel."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kleroterion.workspace import Workspace
from sortition.pool import person_id


def sync_participants(ws: Workspace) -> int:
    """Every invitee is a respondent (pseudonymous id from the code); the sitting members of the latest
    panel draw (after replacements; a re-draw supersedes earlier draws) are participants. Returns how
    many respondents were stored (0 without letters or a pool: respondents then come from survey files).

    A pool from a people file (no letters): every pool member is a respondent under their pool id, a
    participant when sitting on the panel, else ``invited`` (in the pool, not drawn), with their answers."""
    letters = ws.store.letters()
    if letters.empty:
        return _sync_file_pool(ws)
    panel = set(current_panel_ids(ws))
    pool = ws.store.pool()
    features = pool.set_index("letter_code") if len(pool) else pd.DataFrame()
    characteristics = [c.name for c in ws.signup_categories]
    rows = []
    for code in letters["code"]:
        pid = person_id(code)
        rec: dict[str, Any] = {
            "participant_id": pid,
            "letter_code": code,
            "arm": "participant" if pid in panel else "invited",
        }
        if code in features.index:
            rec.update({c: features.at[code, c] for c in characteristics if c in features})
        rows.append(rec)
    frame = pd.DataFrame(rows).fillna("")
    if len(frame):  # the wijk of every invitee is known from the registry
        frame["wijk"] = letters["wijk"].fillna("").astype(str).to_numpy()
    return ws.store.save_participants(frame)


def current_panel_ids(ws: Workspace) -> list[str]:
    """The sitting members of the latest panel draw (none before the first draw)."""
    if not any(d["kind"] == "panel" for d in ws.store.selection_draws()):
        return []
    return ws.store.current_panel(int(ws.store.latest_panel_draw()["id"]))[0]


def _sync_file_pool(ws: Workspace) -> int:
    if ws.store.pool_sources() != {"file"}:
        return 0
    pool = ws.store.pool()
    panel = set(current_panel_ids(ws))
    characteristics = [c.name for c in ws.signup_categories if c.name in pool.columns]
    frame = pd.DataFrame(
        {
            "participant_id": pool["id"].astype(str),
            "letter_code": None,
            "arm": ["participant" if pid in panel else "invited" for pid in pool["id"].astype(str)],
            **{c: pool[c].fillna("").astype(str) for c in characteristics},
        }
    )
    return ws.store.save_participants(frame)
