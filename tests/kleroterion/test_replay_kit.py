"""Replay by anyone (issue 18, item 2): ``klero publish-kit DIR`` and ``klero replay DIR``, run in a clean
folder with nothing but the kit; a tampered kit does not match; a purge keeps the record verifiable."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kleroterion.app.lottery import LotteryRequest, draw_from_lottery, make_lottery_draw
from kleroterion.app.panel import SelectRequest
from kleroterion.app.replay import ReplayMismatch, replay_kit
from kleroterion.workspace import Workspace
from tests.conftest import copy_workspace, run_cli
from tests.kleroterion.test_audit_chain import _build, _rechain, _tamper, pooled_workspace


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A chained workspace with two panel draws and a replacement, and the kit of its latest draw."""
    base = tmp_path_factory.mktemp("kit-ws")
    _build(base / "ws", base)
    with Workspace.open(base / "ws") as ws:
        from kleroterion.app.replay import write_publish_kit

        write_publish_kit(ws, base / "kit")
    return base / "ws", base / "kit"


@pytest.fixture
def kit(published: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the kit alone in a clean folder, which is also the current folder (no workspace near)."""
    clean = tmp_path / "elsewhere"
    shutil.copytree(published[1], clean / "kit")
    monkeypatch.chdir(clean)
    return clean / "kit"


def test_replay_from_the_kit_alone_matches(
    kit: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sorted(p.name for p in kit.parent.iterdir()) == ["kit"]
    assert run_cli(monkeypatch, "replay", "kit") == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "The kit matches its replay: draw 2 gives the same 10 panel members, 6 alternates in order" in text
    record = json.loads((kit / "draw.json").read_text(encoding="utf-8"))
    assert f"{record['anchor']['entry']}:{record['anchor']['hash']}" in text


def test_the_kit_holds_no_personal_data_and_explains_itself(kit: Path, published: tuple[Path, Path]) -> None:
    assert sorted(p.name for p in kit.iterdir()) == [
        "README.txt",
        "draw.json",
        "pool.csv",
        "probabilities.csv",
        "quotas.csv",
    ]
    with (kit / "pool.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "household", "gender", "education"]  # the quota categories only
    assert len(rows) == 40 and all(r["household"].startswith("h") for r in rows)
    everything = " ".join(p.read_text(encoding="utf-8") for p in kit.iterdir())
    with Workspace.open(published[0]) as ws:
        letters = ws.store.letters()
    # Whole words only: a random pseudonym such as PC75981AADB may hold the digits of a postcode by chance.
    for personal in ("Naam", "Achternaam", "Straat", "Panningen", *letters["code"], *letters["resident_id"]):
        assert not re.search(rf"\b{re.escape(str(personal))}\b", everything), personal
    assert not re.search(r"\b5981\s?[A-Z]{2}\b", everything)  # the registry's postcodes
    readme = (kit / "README.txt").read_text(encoding="utf-8")
    for name in ("pool.csv", "quotas.csv", "probabilities.csv", "draw.json", "klero replay"):
        assert name in readme


def _edit_csv(path: Path, edit: Callable[[list[dict[str, str]]], None]) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    edit(rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _edit_json(path: Path, edit: Callable[[dict[str, object]], None]) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    edit(record)
    path.write_text(json.dumps(record), encoding="utf-8")


def _swap_first_panel_member(record: dict[str, Any]) -> None:
    record["panel"] = ["P0000000000", *record["panel"][1:]]


def _flip_gender(rows: list[dict[str, str]]) -> None:
    rows[0]["gender"] = "V" if rows[0]["gender"] == "M" else "M"


def _raise_probability(rows: list[dict[str, str]]) -> None:
    rows[0]["probability"] = str(float(rows[0]["probability"]) + 0.05)


TAMPERED_KITS: dict[str, tuple[str, Callable[..., None], str]] = {
    "a pool member's feature": ("pool.csv", _flip_gender, "pool.csv is not the pool the kit entry recorded"),
    "the stored panel": ("draw.json", _swap_first_panel_member, "the panel differs"),
    "the seed": ("draw.json", lambda r: r.update(seed="43"), "the seed or draw in draw.json is not the one"),
    "a probability": ("probabilities.csv", _raise_probability, "1 selection probabilities differ"),
    "the kit entry": (
        "draw.json",
        lambda r: r["kit_entry"].update(result=r["kit_entry"]["result"].replace("40", "41")),
        "the kit entry",
    ),
    "the quotas": ("quotas.csv", lambda rows: rows[0].update(min="4", max="4"), "quotas.csv is not the quota table"),
}


@pytest.mark.parametrize("case", list(TAMPERED_KITS))
def test_a_tampered_kit_does_not_match(
    case: str, kit: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name, edit, message = TAMPERED_KITS[case]
    (_edit_json if name.endswith(".json") else _edit_csv)(kit / name, edit)
    assert run_cli(monkeypatch, "replay", str(kit)) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert "does NOT match its replay" in text and message in text, text
    assert "Traceback" not in text


def test_a_folder_that_is_no_kit_gets_a_clear_message(
    kit: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (kit / "pool.csv").unlink()
    with pytest.raises(ReplayMismatch.__mro__[1]) as info:  # KleroError, not a mismatch
        replay_kit(kit)
    assert "pool.csv missing" in info.value.message
    assert run_cli(monkeypatch, "replay", str(kit)) == 1
    assert "is not a publish kit" in capsys.readouterr().out


def test_the_kit_is_chained_and_a_purge_keeps_everything_verifiable(
    published: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    copy_workspace(published[0], root)
    with Workspace.open(root) as ws:
        (entry,) = ws.store.audit_records("publish.kit")
        assert entry["parameters"]["draw_id"] == 2
    assert run_cli(monkeypatch, "purge", "--reason", "test", "--yes", "-w", str(root)) == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(root)) == 0
    assert "3 draws (letters and panels) checked, 2 replayed identically" in " ".join(capsys.readouterr().out.split())
    assert run_cli(monkeypatch, "publish-kit", str(tmp_path / "kit-after"), "-w", str(root)) == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "replay", str(tmp_path / "kit-after")) == 0


@pytest.mark.slow
def test_the_demo_workspace_verifies_clean_and_its_kit_replays_in_a_fresh_process(
    demo_output: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    copy_workspace(demo_output / "workspace", root)
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(root)) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "The audit record holds" in said and "replayed identically" in said
    assert run_cli(monkeypatch, "publish-kit", str(tmp_path / "kit"), "-w", str(root)) == 0
    capsys.readouterr()
    clean = tmp_path / "third-party"
    clean.mkdir()
    klero = Path(sys.executable).with_name("klero")
    done = subprocess.run(  # the package's own entry point, run where there is no workspace
        [str(klero), "replay", str(tmp_path / "kit")], cwd=clean, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "The kit matches its replay" in " ".join(done.stdout.split())
    assert list(clean.iterdir()) == []  # the replay wrote nothing


def test_a_panel_drawn_from_a_transparent_lottery_verifies_and_replays_from_its_kit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    ws = pooled_workspace(root, tmp_path)
    make_lottery_draw(ws, LotteryRequest(20, SelectRequest(seed=7, alternates=3)))
    drawn = draw_from_lottery(ws, "5")
    ws.store.close()
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(root)) == 0
    # the letter draw, the lottery and the panel picked from it
    assert "3 draws (letters and panels) checked, 3 replayed" in " ".join(capsys.readouterr().out.split())
    assert run_cli(monkeypatch, "publish-kit", str(tmp_path / "kit"), "-w", str(root)) == 0
    record = json.loads((tmp_path / "kit" / "draw.json").read_text(encoding="utf-8"))
    assert record["lottery"]["number"] == 5 and record["panel"] == list(drawn.record.panel)
    assert run_cli(monkeypatch, "replay", str(tmp_path / "kit")) == 0
    capsys.readouterr()
    # the published ticket list rewritten (two tickets swap panels) and everything re-chained
    _tamper(
        root,
        "UPDATE lottery_tickets SET position = (SELECT MAX(position) FROM draw_panels WHERE draw_id = 1)"
        " WHERE draw_id = 1 AND ticket = 1",
    )
    _rechain(root)
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(root)) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert "selection draw 1 does not replay: the replayed ticket list differs" in text, text
