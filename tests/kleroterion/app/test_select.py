"""``kleroterion.app.select`` without the CLI: a hand-worked selection, settings, cancel."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.app.select import SelectRequest, select_from_files
from kleroterion.errors import Cancelled, KleroError


def files(folder: Path) -> tuple[Path, Path]:
    """Two men and two women, one seat each: every panel is one man and one woman, so every person's
    selection probability is exactly 1/2 (min = mean = max = 0.5, Gini 0)."""
    categories, people = folder / "categories.csv", folder / "people.csv"
    categories.write_text("category,feature,min,max\ngender,M,1,1\ngender,V,1,1\n", encoding="utf-8")
    people.write_text("id,gender\na,M\nb,M\nc,V\nd,V\n", encoding="utf-8")
    return categories, people


@pytest.mark.parametrize("algorithm", ["maximin", "leximin"])
def test_a_hand_worked_selection(tmp_path: Path, algorithm: str) -> None:
    categories, people = files(tmp_path)
    request = SelectRequest(
        categories, people, size=2, algorithm=algorithm, seed=3, out=tmp_path / "panel.csv",
        probabilities=tmp_path / "p.csv",
    )  # fmt: skip
    out = select_from_files(request)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.seed = 0  # type: ignore[misc]
    assert (out.algorithm, out.seed, out.pool_size, len(out.panel)) == (algorithm, 3, 4, 2)
    assert (out.min_probability, out.mean_probability, out.max_probability) == pytest.approx((0.5, 0.5, 0.5))
    assert out.gini == pytest.approx(0.0, abs=1e-9)
    assert out.relaxation.empty
    panel = pd.read_csv(tmp_path / "panel.csv")
    assert sorted(panel["gender"]) == ["M", "V"] and sorted(panel["id"]) == sorted(out.panel)
    assert pd.read_csv(tmp_path / "p.csv")["probability"].tolist() == pytest.approx([0.5] * 4)
    assert select_from_files(request).panel == out.panel  # the same seed draws the same panel
    assert out.record()["panel_size"] == 2


def test_settings_and_request_must_agree(tmp_path: Path) -> None:
    categories, people = files(tmp_path)
    settings = tmp_path / "settings.toml"
    settings.write_text('id_column = "id"\nrandom_number_seed = 42\n', encoding="utf-8")
    assert select_from_files(SelectRequest(categories, people, size=2, settings=settings)).seed == 42
    with pytest.raises(KleroError) as info:
        select_from_files(SelectRequest(categories, people, size=2, settings=settings, seed=7))
    assert info.value.code == "conflicting_options"


def test_cancel_stops_with_cancelled(tmp_path: Path) -> None:
    categories, people = files(tmp_path)
    with pytest.raises(Cancelled):
        select_from_files(
            SelectRequest(categories, people, size=2, seed=1, out=tmp_path / "o.csv"), cancel=lambda: True
        )
    assert not (tmp_path / "o.csv").exists()
