"""Example workspaces (``klero init --example``): fixed key and seeds, synthetic data only, clearly labelled;
a real workspace keeps drawing from ``secrets``. And ``klero init --settings``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kleroterion.example import EXAMPLES, example_seed
from kleroterion.workspace import Workspace
from sortition.synthetic import generate_registry
from tests.conftest import DATA, run_cli

INIT = ("init", "--name", "Raad", "--municipality", "Peel en Maas", "--reference-date", "2024-01-01")


def init(monkeypatch: pytest.MonkeyPatch, root: Path, *extra: str) -> int:
    return run_cli(monkeypatch, INIT[0], str(root), *INIT[1:], *extra)


@pytest.fixture(scope="module")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic extract (BSNs numbered from 100000001, as the demo's)."""
    wijken = pd.DataFrame({"regiocode": ["WK189401"], "AantalInwoners": [300], "Mannen": [150]})
    frame, _ = generate_registry(
        wijken, total=300, men=150, rng=np.random.default_rng(5), reference_date=date(2024, 1, 1)
    )
    path = tmp_path_factory.mktemp("brp") / "brp.csv"
    frame.to_csv(path, sep=";", index=False)
    return path


def test_example_workspaces_draw_the_same_letters_and_codes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, extract: Path
) -> None:
    letters = []
    for name in ("a", "b"):
        assert init(monkeypatch, tmp_path / name, "--example", "peel-en-maas") == 0
        assert run_cli(monkeypatch, "registry", "import", str(extract), "-w", str(tmp_path / name)) == 0
        assert run_cli(monkeypatch, "letters", "draw", "--count", "40", "-w", str(tmp_path / name)) == 0
        with Workspace.open(tmp_path / name) as ws:
            letters.append(ws.store.letters().sort_values("code").reset_index(drop=True))
            seeds = [row["seed"] for row in ws.store._query("SELECT seed FROM letter_draws")]
            assert seeds == [str(example_seed("peel-en-maas", "letters"))]
    pd.testing.assert_frame_equal(letters[0], letters[1])
    assert (tmp_path / "a" / ".klero-key").read_text().strip() == EXAMPLES["peel-en-maas"].key.hex()


def test_a_real_workspace_draws_fresh_seeds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert init(monkeypatch, tmp_path / "real") == 0
    with Workspace.open(tmp_path / "real") as ws:
        assert not ws.is_example and ws.example_label("nl") == ""
        seeds = {ws.draw_seed(purpose) for purpose in ("letters", "codes", "panel", "control", "groups")}
    fixed = set(EXAMPLES["peel-en-maas"].seeds.values())
    assert len(seeds) == 5 and not seeds & fixed
    assert (tmp_path / "real" / ".klero-key").read_text().strip() != EXAMPLES["peel-en-maas"].key.hex()


def test_an_example_workspace_refuses_a_real_extract(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, extract: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = pd.read_csv(extract, sep=";", dtype=str)
    real.loc[7, "bsn"] = "123456782"
    path = tmp_path / "echt.csv"
    real.to_csv(path, sep=";", index=False)
    root = tmp_path / "ex"
    assert init(monkeypatch, root, "--example", "peel-en-maas") == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "registry", "import", str(path), "-w", str(root)) == 1
    message = " ".join(capsys.readouterr().out.split())
    assert "example workspace" in message and "123456782" in message and "Traceback" not in message
    with Workspace.open(root) as ws:
        assert ws.store.registry_info() is None


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (("--example", "utrecht"), "Unknown example 'utrecht'"),
        (("--settings", "missing.toml"), "Cannot read the settings file"),
        (("--settings", "{bad}"), "not valid TOML"),
        (("--settings", "{process}"), "may not set the process itself"),
    ],
)
def test_init_refuses_bad_options_and_creates_nothing(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    fragment: str,
) -> None:
    (tmp_path / "bad.toml").write_text("[report\nremit = 1\n", encoding="utf-8")
    (tmp_path / "process.toml").write_text('[process]\nname = "x"\n', encoding="utf-8")
    files = {"{bad}": str(tmp_path / "bad.toml"), "{process}": str(tmp_path / "process.toml")}
    args = [files.get(a, a) for a in extra]
    assert init(monkeypatch, tmp_path / "ws", *args) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert fragment in out and "Traceback" not in out
    assert not (tmp_path / "ws").exists()


def test_init_settings_and_status_label(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    settings = DATA / "peel_en_maas" / "report.toml"
    assert init(monkeypatch, root, "--example", "peel-en-maas", "--settings", str(settings)) == 0
    with Workspace.open(root) as ws:
        assert ws.report_settings.text("remit", "nl").startswith("Hoe")
        assert ws.example_label("en") == "example, synthetic data"
    capsys.readouterr()
    assert run_cli(monkeypatch, "status", "-w", str(root)) == 0
    assert "EXAMPLE, SYNTHETIC DATA" in capsys.readouterr().out
    assert run_cli(monkeypatch, "status", "--json", "-w", str(root)) == 0
    assert json.loads(capsys.readouterr().out)["example"] == "peel-en-maas"
