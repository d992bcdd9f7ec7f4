"""The stored distribution of a draw and the transparent lottery, through the `klero` CLI.

Flanigan, Kehne, Procaccia (NeurIPS 2021): the distribution is rounded to M numbered, equally likely
panels, the list is published, and a public number 1..M picks the panel.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.app.pool import import_pool
from kleroterion.workspace import Workspace
from sortition.quotas import quotas_met
from tests.conftest import drop_append_only_triggers
from tests.conftest import run_cli as run
from tests.sortition.test_panel import drawn, pooled  # noqa: F401  (fixtures)

M = 50


def text_of(capsys: pytest.CaptureFixture[str]) -> str:
    return " ".join(capsys.readouterr().out.split())


def make_lottery(ws: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str = "tickets.csv") -> Path:
    published = tmp_path / name
    args = ["panel", "select", "--lottery-size", str(M), "--seed", "3", "--alternates", "4"]
    assert run(monkeypatch, *args, "--lottery-out", str(published), "-w", str(ws.root)) == 0
    return published


def read_tickets(path: Path) -> dict[int, list[str]]:
    frame = pd.read_csv(path, dtype={"members": str})
    return {int(n): members.split() for n, members in zip(frame["number"], frame["members"], strict=True)}


def test_panel_select_defaults_to_the_native_engine_and_stores_its_distribution(
    pooled: Workspace,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(monkeypatch, "panel", "select", "--seed", "8", "--alternates", "2", "-w", str(pooled.root)) == 0
    draw = pooled.store.latest_panel_draw()
    assert draw["engine"] == "native"
    distribution = pooled.store.draw_distribution(int(draw["id"]))
    pool = pooled.store.pool()
    _, quotas = pooled.store.quota_set(int(draw["quota_set_id"]))
    assert sum(w for _, w in distribution) == pytest.approx(1.0, abs=1e-12)
    for panel, weight in distribution:
        members = pool[pool["id"].isin(panel)]
        assert weight > 0 and len(members) == 10 and quotas_met(members, quotas)
        assert members["address_key"].is_unique
    # π_i = Σ_{P∋i} λ_P from the stored panels equals the stored probabilities, and Σ π = k
    pi = Counter[str]()
    for panel, weight in distribution:
        for person in panel:
            pi[person] += weight
    stored = pooled.store.selection_probabilities(int(draw["id"]))
    assert sum(stored) == pytest.approx(10.0, abs=1e-9)
    assert {p: pi.get(p, 0.0) for p in stored.index} == pytest.approx(stored.to_dict(), abs=1e-12)
    assert frozenset(draw["result"]["panel"]) in {panel for panel, _ in distribution}


def test_lottery_publish_draw_and_verify(
    pooled: Workspace,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = str(pooled.root)
    published = make_lottery(pooled, monkeypatch, tmp_path)
    printed = text_of(capsys)
    assert f"{M} numbered tickets" in printed and "Fairness lost by rounding: minimum probability" in printed
    tickets = read_tickets(published)
    assert sorted(tickets) == list(range(1, M + 1))
    pool = pooled.store.pool()
    lottery = pooled.store.latest_lottery_draw()
    _, quotas = pooled.store.quota_set(int(lottery["quota_set_id"]))
    for members in tickets.values():
        frame = pool[pool["id"].isin(members)]
        assert len(frame) == 10 and quotas_met(frame, quotas) and frame["address_key"].is_unique
    # the lottery's probabilities are ticket counts / M, recomputed from the published file
    counts = Counter(person for members in tickets.values() for person in members)
    stored = pooled.store.selection_probabilities(int(lottery["id"]))
    assert {p: counts.get(p, 0) / M for p in stored.index} == pytest.approx(stored.to_dict(), abs=1e-12)
    # the fairness lost: old minimum from the stored distribution, new minimum from the published file
    before = Counter[str]()
    for panel, weight in pooled.store.draw_distribution(int(lottery["id"])):
        for person in panel:
            before[person] += weight
    lost = lottery["result"]["fairness_lost"]
    assert lost["old_min"] == pytest.approx(min(before.values()), abs=1e-12)
    assert lost["new_min"] == pytest.approx(min(counts[p] / M for p in before), abs=1e-12)
    assert f"{lost['old_min']:.4f} -> {lost['new_min']:.4f}" in printed
    # no panel is drawn yet; the export command republishes the same list
    with pytest.raises(Exception, match="No panel drawn yet"):
        pooled.store.latest_panel_draw()
    again = tmp_path / "again.csv"
    assert run(monkeypatch, "panel", "lottery", "export", str(again), "-w", root) == 0
    assert again.read_text(encoding="utf-8") == published.read_text(encoding="utf-8")

    assert run(monkeypatch, "panel", "draw-from-lottery", "--number", "17", "-w", root) == 0
    assert "Ticket 17 of 50" in text_of(capsys)
    draw = pooled.store.latest_panel_draw()
    panel, alternates = pooled.store.current_panel(int(draw["id"]))
    assert sorted(panel) == sorted(tickets[17])
    assert len(alternates) == 4 and not set(alternates) & set(panel)
    (audit,) = pooled.store.audit_records("selection.panel")
    assert audit["parameters"]["number"] == 17 and audit["parameters"]["lottery_draw_id"] == lottery["id"]
    assert audit["result"]["panel"] == sorted(tickets[17])

    assert run(monkeypatch, "panel", "verify", "-w", root) == 0
    assert "replays identically: 10 members and 4 alternates" in text_of(capsys)
    # a published list edited after the fact (two tickets' panels exchanged) no longer replays
    positions = dict(
        pooled.store._query("SELECT ticket, position FROM lottery_tickets WHERE draw_id = ?", (lottery["id"],))
    )
    a, b = next((t, u) for t in positions for u in positions if positions[t] != positions[u])
    with pooled.store.transaction() as conn:
        drop_append_only_triggers(conn)  # an edit the database would refuse (migration 0022)
        conn.execute("UPDATE lottery_tickets SET position = ? WHERE ticket = ?", (positions[b], a))
    assert run(monkeypatch, "panel", "verify", "-w", root) == 1
    assert "differs from the published one" in text_of(capsys)


def test_the_same_seed_gives_the_same_published_list(
    pooled: Workspace,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = read_tickets(make_lottery(pooled, monkeypatch, tmp_path))
    second = read_tickets(make_lottery(pooled, monkeypatch, tmp_path, "second.csv"))
    assert first == second


@pytest.mark.parametrize("number", ["0", str(M + 1), "-3", "2.5", "twelve", ""])
def test_a_bad_ticket_number_exits_1_and_changes_nothing(
    number: str,
    pooled: Workspace,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_lottery(pooled, monkeypatch, tmp_path)
    capsys.readouterr()
    before = pooled.store.table_counts()
    assert run(monkeypatch, "panel", "draw-from-lottery", "--number", number, "-w", str(pooled.root)) == 1
    assert f"give a whole number from 1 to {M}" in text_of(capsys)
    assert pooled.store.table_counts() == before


def test_a_lottery_is_drawn_once(
    pooled: Workspace,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_lottery(pooled, monkeypatch, tmp_path)
    assert run(monkeypatch, "panel", "draw-from-lottery", "--number", "5", "-w", str(pooled.root)) == 0
    capsys.readouterr()
    before = pooled.store.table_counts()
    assert run(monkeypatch, "panel", "draw-from-lottery", "--number", "6", "-w", str(pooled.root)) == 1
    assert "was already drawn (ticket 5" in text_of(capsys)
    assert pooled.store.table_counts() == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--engine", "sortition-algorithms", "--lottery-size", "10"], "--lottery-size needs the native engine"),
        (["--lottery-size", "0"], "--lottery-size must be at least 1"),
        (["--lottery-out", "x.csv"], "--lottery-out needs --lottery-size"),
        (["--lottery-size", "10", "--lottery-out", "/no/such/folder/x.csv"], "does not exist"),
    ],
)
def test_bad_lottery_options_exit_1_and_store_nothing(
    options: list[str],
    message: str,
    pooled: Workspace,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = pooled.store.table_counts()
    assert run(monkeypatch, "panel", "select", "--seed", "1", *options, "-w", str(pooled.root)) == 1
    assert message in text_of(capsys)
    assert pooled.store.table_counts() == before


def test_draw_from_lottery_without_a_lottery_or_after_the_pool_changed(
    pooled: Workspace,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = str(pooled.root)
    assert run(monkeypatch, "panel", "draw-from-lottery", "--number", "1", "-w", root) == 1
    assert "No lottery yet" in text_of(capsys)
    make_lottery(pooled, monkeypatch, tmp_path)
    letters = pooled.store.letters()
    late = letters[~letters["code"].isin(set(pooled.store.pool()["letter_code"]))].head(1)
    pd.DataFrame({"code": late["code"], "gender": ["V"], "age_band": ["70+"], "education": ["hoog"]}).to_csv(
        tmp_path / "late.csv", index=False
    )
    import_pool(pooled, tmp_path / "late.csv")
    capsys.readouterr()
    before = pooled.store.table_counts()
    assert run(monkeypatch, "panel", "draw-from-lottery", "--number", "1", "-w", root) == 1
    assert "The pool changed since lottery" in text_of(capsys)
    assert pooled.store.table_counts() == before


def test_klero_select_defaults_to_native(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    categories = tmp_path / "categories.csv"
    categories.write_text("category,feature,min,max\ngender,M,1,1\ngender,V,1,1\n", encoding="utf-8")
    respondents = tmp_path / "respondents.csv"
    respondents.write_text("id,gender\na,M\nb,M\nc,V\nd,V\n", encoding="utf-8")
    args = ["select", "--categories", str(categories), "--respondents", str(respondents), "--size", "2"]
    assert run(monkeypatch, *args, "--seed", "1", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["engine"] == "native"
    assert report["min_probability"] == pytest.approx(0.5) and report["max_probability"] == pytest.approx(0.5)


def test_selection_report_replays_a_lottery_draw(
    pooled: Workspace,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = str(pooled.root)
    make_lottery(pooled, monkeypatch, tmp_path)
    assert run(monkeypatch, "panel", "draw-from-lottery", "--number", "9", "-w", root) == 0
    report = tmp_path / "selection.html"
    assert run(monkeypatch, "report", "selection", "--lang", "en", "--out", str(report), "-w", root) == 0
    expected = (
        "klero panel select --algorithm maximin --seed 3 --engine native --alternates 4 --lottery-size 50 "
        "&amp;&amp; klero panel draw-from-lottery --number 9"
    )
    assert expected in " ".join(report.read_text(encoding="utf-8").split())


def test_rotating_lottery_leaves_out_earlier_members_and_replays(
    drawn: Workspace,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = str(drawn.root)
    first, _ = drawn.store.current_panel(int(drawn.store.latest_panel_draw()["id"]))
    published = tmp_path / "round2.csv"
    args = [
        "panel",
        "select",
        "--lottery-size",
        str(M),
        "--seed",
        "5",
        "--alternates",
        "3",
        "--exclude-previous",
        "--redraw",
        "--reason",
        "ronde 2",
    ]
    assert run(monkeypatch, *args, "--lottery-out", str(published), "-w", root) == 0
    assert all(not set(members) & set(first) for members in read_tickets(published).values())
    assert run(monkeypatch, "panel", "draw-from-lottery", "--number", "9", "-w", root) == 0
    panel, alternates = drawn.store.current_panel(int(drawn.store.latest_panel_draw()["id"]))
    assert not set(panel + alternates) & set(first)
    assert run(monkeypatch, "panel", "verify", "-w", root) == 0
