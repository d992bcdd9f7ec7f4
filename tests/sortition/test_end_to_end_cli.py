"""``klero panel select --algorithm end-to-end``: the sign-up model from the workspace, replay and lottery."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kleroterion.app.fairness import end_to_end_record, pool_for_algorithm
from kleroterion.errors import KleroError
from kleroterion.workspace import Workspace
from reports.selection import end_to_end_summary
from sortition.engine import END_TO_END
from tests.conftest import make_pool, make_quotas
from tests.conftest import run_cli as run
from tests.sortition.test_panel import pooled  # noqa: F401  (fixture)


def test_end_to_end_draw_records_pool_probabilities_reports_groups_and_replays(
    pooled: Workspace,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws = str(pooled.root)
    args = ["panel", "select", "--algorithm", END_TO_END, "--seed", "7", "--alternates", "3", "-w", ws]
    assert run(monkeypatch, *args) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "End-to-end chance of a seat, highest group / lowest group: gender" in text
    draw = pooled.store.latest_panel_draw()
    assert draw["algorithm"] == END_TO_END
    q = draw["parameters"]["pool_probabilities"]
    pool = pooled.store.pool()
    assert set(q) == set(pool["id"]) and all(0 < v <= 1 for v in q.values())
    # 40 of 60 letters signed up: the pool probability is the letter probability times about 2/3
    letters = pooled.store.letters().set_index("code")["inclusion_probability"]
    ratio = [q[pid] / letters[code] for pid, code in zip(pool["id"], pool["letter_code"], strict=True)]
    assert min(ratio) > 0.4 and max(ratio) < 0.95
    groups = {(g["category"], g["feature"]): g for g in draw["result"]["end_to_end"]["groups"]}
    assert {c for c, _ in groups} == {"gender", "education"}
    for g in groups.values():
        assert g["ci_low"] <= g["end_to_end"] <= g["ci_high"]
    assert run(monkeypatch, "panel", "verify", "-w", ws) == 0
    assert "replays identically" in capsys.readouterr().out


def test_end_to_end_transparent_lottery_replays(
    pooled: Workspace,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ws = str(pooled.root)
    args = ["panel", "select", "--algorithm", END_TO_END, "--seed", "5", "--lottery-size", "100", "-w", ws]
    assert run(monkeypatch, *args) == 0, capsys.readouterr().out
    assert run(monkeypatch, "panel", "draw-from-lottery", "--number", "17", "-w", ws) == 0, capsys.readouterr().out
    draw = pooled.store.latest_panel_draw()
    assert draw["algorithm"] == END_TO_END and draw["parameters"]["number"] == 17
    assert "groups" in draw["result"]["end_to_end"]
    assert run(monkeypatch, "panel", "verify", "-w", ws) == 0, capsys.readouterr().out


def test_without_letters_end_to_end_is_refused_and_reports_say_why(workspace: Workspace) -> None:
    pool = make_pool([{"gender": "M"}, {"gender": "V"}]).assign(letter_code=["A", "B"])
    quotas = make_quotas([("gender", "M", 0, 1), ("gender", "V", 0, 1)])
    with pytest.raises(KleroError, match="No letters in this workspace"):
        pool_for_algorithm(workspace, pool, quotas, END_TO_END)
    record = end_to_end_record(workspace, pool, quotas, pd.Series({"p0": 0.5, "p1": 0.5}), rng=np.random.default_rng(0))
    assert record == {
        "unavailable": "No letters in this workspace: end-to-end chances need the letters (`klero letters draw`)."
    }
    assert pool_for_algorithm(workspace, pool, quotas, "leximin") == (pool, None)


def test_selection_report_shows_each_groups_end_to_end_chance(pooled: Workspace, tmp_path: Path) -> None:  # noqa: F811
    from kleroterion.app import reports as report
    from kleroterion.app.panel import SelectRequest, select_panel

    select_panel(pooled, SelectRequest(algorithm="leximin", seed=3))
    record = pooled.store.latest_panel_draw()["result"]["end_to_end"]
    html = report.write_report(pooled, kind="selection", lang="en", fmt="html", out=tmp_path / "s.html").read_text()
    table = html[html.index('<table id="end-to-end-table">') :]
    table = table[: table.index("</table>")]
    cells = [  # a cell showing a label carries its code in data-code
        code.group(1) if (code := re.search(r'data-code="([^"]*)"', attrs)) else re.sub(r"<[^>]+>", "", c).strip()
        for attrs, c in re.findall(r"<t[hd]([^>]*)>(.*?)</t[hd]>", table, re.S)
    ]
    by_group = {(g["category"], g["feature"]): g for g in record["groups"]}
    for (category, feature), group in by_group.items():
        i = cells.index(feature, cells.index(category))
        assert cells[i + 1] == str(group["n"])
        assert cells[i + 5] == f"{group['end_to_end'] * 10000:,.2f}"
    assert "Chance of a seat from letter to panel" in html
    nl = report.write_report(pooled, kind="selection", lang="nl", fmt="html", out=tmp_path / "s.nl.html").read_text()
    assert "Kans op een plaats, van brief tot panel" in nl


def test_small_groups_are_suppressed_with_a_complementary_cell() -> None:
    group = {"letter_probability": 0.1, "signup_probability": 0.2, "selection_probability": 0.3}
    record = {
        "groups": [
            {"category": "age", "feature": f, "n": n, **group, "end_to_end": 0.006, "ci_low": 0.005, "ci_high": 0.007}
            for f, n in (("young", 3), ("mid", 10), ("old", 12))
        ]
        + [
            {"category": "sex", "feature": f, "n": 20, **group, "end_to_end": e, "ci_low": e, "ci_high": e}
            for f, e in (("f", 0.004), ("m", 0.006))
        ],
        "ratio": {"age": 2.0, "sex": 1.5},
        "notes": ["wijk: WK09 pooled"],
    }
    summary = end_to_end_summary(record, threshold=5)
    assert summary is not None
    assert [r.n for r in summary.rows] == [-1, -1, 12, 20, 20]  # 3 hidden, and 10 so the total cannot give it back
    assert math.isnan(summary.rows[0].end_to_end) and summary.rows[2].end_to_end == 0.006
    assert summary.notes == ["wijk: WK09 pooled"]
    assert summary.ratio == {"age": 1.0, "sex": pytest.approx(1.5)}  # age: over the one group shown
    assert end_to_end_summary(None, threshold=5) is None
    assert end_to_end_summary({"unavailable": "no letters"}, threshold=5).unavailable == "no letters"  # type: ignore[union-attr]
