"""A second wave of letters aimed at the strata that sign up least (sortition/topup.py, letters draw --topup)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kleroterion.app.fairness import signup_frames
from kleroterion.errors import KleroError
from kleroterion.workspace import Workspace
from sortition.topup import combined_letter_probability, plan_topup
from tests.conftest import lottery_workspace, run_cli
from tests.kleroterion.test_pool_import import dutch_sheet


def strata(signups: list[int], rates: list[float], available: list[int] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stratum": [f"W{i}" for i in range(len(rates))],
            "population": [1000] * len(rates),
            "signups": signups,
            "rate": rates,
            "available": available or [10_000] * len(rates),
        }
    )


@pytest.mark.parametrize(
    ("signups", "rates", "count", "expected"),
    [
        # equal populations, W0 already has 10 sign-ups, W1 none, both sign up at 10 %: all 100 letters
        # to W1 give 10 + 0 = 10 and 0 + 100·0.1 = 10, equal shares (distance 0)
        ([10, 0], [0.1, 0.1], 100, [0, 100]),
        # no sign-ups yet, rates 5 % and 20 %: equal expected pools need 0.05·E0 = 0.2·E1 with
        # E0 + E1 = 100, so E0 = 80 and E1 = 20 (4 expected sign-ups each)
        ([0, 0], [0.05, 0.2], 100, [80, 20]),
    ],
)
def test_plan_hand_worked(signups: list[int], rates: list[float], count: int, expected: list[int]) -> None:
    plan = plan_topup(strata(signups, rates), count=count)
    assert plan["extra_letters"].tolist() == expected
    assert plan["expected_share"].tolist() == pytest.approx([0.5, 0.5])


def test_plan_never_exceeds_the_addresses_left() -> None:
    plan = plan_topup(strata([10, 0], [0.1, 0.1], available=[1000, 30]), count=100)
    assert plan["extra_letters"].tolist() == [70, 30]


@pytest.mark.parametrize(
    ("table", "count", "message"),
    [
        (strata([1, 1], [0.1, 0.0]), 10, "rate above 0"),
        (strata([1, 1], [0.1, 0.1], available=[3, 3]), 10, "Only 6 addresses"),
        (strata([1, 1], [0.1, 0.1]).drop(columns="rate"), 10, "lacks column"),
        (strata([1, 1], [0.1, 0.1]), 0, "must be positive"),
    ],
)
def test_bad_plans_are_refused(table: pd.DataFrame, count: int, message: str) -> None:
    with pytest.raises(KleroError, match=message):
        plan_topup(table, count=count)


def test_topup_letters_go_where_sign_ups_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = lottery_workspace(tmp_path, monkeypatch, letters=80)
    with Workspace.open(root) as ws:
        letters = ws.store.letters()
    # 20 of WK189401's letters sign up, 3 of WK189403's
    first = letters.index[letters["stratum"] == "WK189401"][:20].tolist()
    second = letters.index[letters["stratum"] == "WK189403"][:3].tolist()
    sheet = pd.concat([dutch_sheet(root, slice(i, i + 1)) for i in first + second])
    sheet_path = tmp_path / "aanmeldingen.csv"
    sheet.to_csv(sheet_path, index=False)
    assert run_cli(monkeypatch, "pool", "import", str(sheet_path), "-w", str(root)) == 0
    capsys.readouterr()
    args = ["letters", "draw", "--count", "40", "--topup", "-w", str(root)]
    assert run_cli(monkeypatch, *args, "--plan-only") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Nothing drawn" in out and "WK189403: +" in out
    assert run_cli(monkeypatch, *args, "--seed", "3") == 0
    with Workspace.open(root) as ws:
        after = ws.store.letters()
        planned = ws.store.audit_records("letters.draw")[-1]["parameters"]["allocation"]
    new = after[~after["code"].isin(letters["code"])]
    assert len(new) == 40 and not new["address_key"].isin(letters["address_key"]).any()
    assert new["stratum"].value_counts().to_dict() == planned
    assert planned.get("WK189403", 0) > planned.get("WK189401", 0)
    # end-to-end chances now use the chance of a letter in either wave: for a first-wave letter
    # (Σ_w L_wh / A_h) / (L_1h / A_h) = (L_1h + L_2h) / L_1h times what its wave stored
    with Workspace.open(root) as ws:
        pool = ws.store.pool()
        invitees, _, _ = signup_frames(ws, pool, pd.DataFrame(columns=["category", "feature", "min", "max"]))
    stored = after.set_index("code")
    for stratum in ("WK189401", "WK189403"):
        wave_one = stored[(stored["stratum"] == stratum) & (stored["draw_id"] == stored["draw_id"].min())]
        total = int((stored["stratum"] == stratum).sum())
        code = wave_one.index[0]
        combined = float(invitees.set_index("code").loc[code, "letter_probability"])
        assert combined == pytest.approx(wave_one.loc[code, "inclusion_probability"] * total / len(wave_one))


def test_topup_refuses_other_stratification_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = lottery_workspace(tmp_path, monkeypatch, letters=20)
    capsys.readouterr()
    args = ["letters", "draw", "--count", "5", "--topup", "--stratify-by", "wijk", "-w", str(root)]
    assert run_cli(monkeypatch, *args) == 1
    assert "leave out --oversample and --stratify-by" in " ".join(capsys.readouterr().out.split())
    assert run_cli(monkeypatch, "letters", "draw", "--count", "5", "--topup", "-w", str(root)) == 1
    assert "No sign-ups yet" in " ".join(capsys.readouterr().out.split())


def test_combined_letter_probability_hand_worked() -> None:
    # Stratum W: 100 addresses, wave 1 sends 10 letters, wave 2 20 of the 90 left. An address's chance
    # over both waves is 10/100 + (90/100)·(20/90) = 30/100. A wave-1 letter to a two-resident address
    # stored p = (10/100)/2 = 0.05 and becomes 0.30/2 = 0.15; a wave-2 letter to a one-resident address
    # stored (20/90)/1 and becomes 0.30. Stratum V (one wave, 5 of 50) keeps its p = 0.1.
    letters = pd.DataFrame(
        {
            "draw_id": [1] * 10 + [2] * 20 + [1] * 5,
            "stratum": ["W"] * 30 + ["V"] * 5,
            "inclusion_probability": [0.05] * 10 + [20 / 90] * 20 + [0.1] * 5,
        }
    )
    combined = combined_letter_probability(letters, pd.Series({"W": 100, "V": 50}))
    assert combined.iloc[0] == pytest.approx(0.15)
    assert combined.iloc[10] == pytest.approx(0.30)
    assert combined.iloc[30] == pytest.approx(0.1)
