"""``klero select`` on the Sortition Foundation's files as they are (features.csv, the people CSV,
settings.toml), through the real entry point; no silent defaults (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DATA, run_cli

FIXTURE = DATA / "sortition-algorithms-fixture"
FEATURES, PEOPLE = FIXTURE / "features.csv", FIXTURE / "candidates.csv"
HOUSEHOLDS = ("--id-column", "nationbuilder_id", "--address-columns", "primary_address1,primary_zip")


def flat(text: str) -> str:
    return " ".join(text.split())


def select_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    code = run_cli(monkeypatch, "select", "--categories", str(FEATURES), "--respondents", str(PEOPLE), *args, "--json")
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


@pytest.mark.parametrize("algorithm", ["maximin", "leximin"])
def test_fixture_unchanged_gives_the_published_minimum_probability(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], algorithm: str
) -> None:
    """PROVENANCE.md: sortition-algorithms 0.12.15, k = 22, households on primary_address1 +
    primary_zip: leximin and maximin minimum selection probability 0.0909091 (= 1/11)."""
    report = select_json(monkeypatch, capsys, "--size", "22", *HOUSEHOLDS, "--algorithm", algorithm, "--seed", "7")
    assert report["min_probability"] == pytest.approx(0.0909091, abs=5e-7)
    assert report["panel_size"] == 22 and report["relaxation"] == []
    assert all(str(p).startswith("p") for p in report["panel"])  # the file's ids, not row numbers


def test_settings_toml_as_sortition_algorithms_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        'id_column = "nationbuilder_id"\ncheck_same_address = true\n'
        'check_same_address_columns = ["primary_address1", "primary_zip"]\nmax_attempts = 100\n'
        'columns_to_keep = ["first_name", "primary_city"]\nselection_algorithm = "maximin"\n'
        'solver_backend = "highspy"\nrandom_number_seed = 42\n',
        encoding="utf-8",
    )
    out = tmp_path / "panel.csv"
    report = select_json(monkeypatch, capsys, "--size", "22", "--settings", str(settings), "--out", str(out))
    assert report["seed"] == 42 and report["algorithm"] == "maximin"
    assert report["min_probability"] == pytest.approx(0.0909091, abs=5e-7)
    assert any("solver_backend" in note for note in report["notes"])  # type: ignore[union-attr]
    panel = pd.read_csv(out)
    assert {"first_name", "primary_city", "address_key"} <= set(panel.columns)
    assert not panel["address_key"].duplicated().any() and len(panel) == 22
    # the same selection again from the settings file: the seed is used, so the panel replays
    again = select_json(monkeypatch, capsys, "--size", "22", "--settings", str(settings))
    assert again["panel"] == report["panel"]
    settings.write_text('id_column = "nationbuilder_id"\nshuffle = true\n', encoding="utf-8")
    capsys.readouterr()
    assert run_cli(monkeypatch, "select", "--categories", str(FEATURES), "--respondents", str(PEOPLE),
                   "--size", "22", "--settings", str(settings)) == 1  # fmt: skip
    assert "unknown setting" in flat(capsys.readouterr().out)


def test_flex_bounds_relax_infeasible_quotas_and_the_relaxation_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Female exactly 13 (flex 13..13) plus Male 10..11 cannot make 22 with at most one non-binary
    member... unless Male's minimum moves to 9, which its min_flex 0 allows; with Male's min_flex 10
    no relaxation within the flex bounds exists: an error naming the quota."""
    features = pd.read_csv(FEATURES, dtype=str)
    female = (features["feature"] == "Gender") & (features["value"] == "Female")
    features.loc[female, ["min", "max", "min_flex", "max_flex"]] = ["13", "13", "13", "13"]
    path = tmp_path / "features.csv"
    features.to_csv(path, index=False)
    capsys.readouterr()
    args = ("select", "--categories", str(path), "--respondents", str(PEOPLE), "--size", "22", *HOUSEHOLDS)
    assert run_cli(monkeypatch, *args, "--seed", "3", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["relaxation"] == [
        {
            "category": "Gender",
            "feature": "Male",
            "min": 10,
            "max": 11,
            "min_used": 9,
            "max_used": 11,
            "min_flex": 0,
            "max_flex": 12,
        }
    ]
    assert run_cli(monkeypatch, *args, "--seed", "3") == 0
    assert "relaxed within min_flex/max_flex: Gender=Male: min 10 -> 9" in flat(capsys.readouterr().out)
    male = (features["feature"] == "Gender") & (features["value"] == "Male")
    features.loc[male, "min_flex"] = "10"
    features.to_csv(path, index=False)
    assert run_cli(monkeypatch, *args, "--seed", "3") == 1
    message = flat(capsys.readouterr().out)
    assert "beyond the allowed flexibility" in message and "Gender=Male" in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "no column named id: write --id-column nationbuilder_id"),
        (("--id-column", "pool_member_identifier"), "pool_member_identifier"),
        (
            (
                "--id-column",
                "nationbuilder_id",
                "--address-column",
                "primary_address1",
                "--address-column",
                "primary_zip",
            ),
            "write --address-columns COLUMN1,COLUMN2",
        ),
        (("--id-column", "nationbuilder_id", "--seed", "1", "--seed", "2"), "--seed is given 2 times"),
        (("--id-column", "nationbuilder_id", "--address-columns", "postcode"), "column 'postcode'"),
    ],
)
def test_no_silent_defaults(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: str
) -> None:
    capsys.readouterr()
    code = run_cli(
        monkeypatch, "select", "--categories", str(FEATURES), "--respondents", str(PEOPLE), "--size", "22", *args
    )
    out = flat(capsys.readouterr().out)
    assert code == 1 and expected in out and "Traceback" not in out


def test_a_pool_without_any_id_column_says_its_ids_are_row_numbers(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = DATA / "citizensassemblies-replication" / "data" / "example_small_20"
    capsys.readouterr()
    code = run_cli(
        monkeypatch, "select", "--categories", str(folder / "categories.csv"),
        "--respondents", str(folder / "respondents.csv"), "--size", "20", "--seed", "1",
    )  # fmt: skip
    assert code == 0
    assert "no id column: the ids are the data row numbers 1..200" in flat(capsys.readouterr().out)


def test_the_relaxation_is_searched_within_the_flex_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Female exactly 13 (min_flex 12) and Male min 10 (min_flex 10): the unconstrained smallest
    relaxation lowers Male's minimum (as the previous test shows), which its flex forbids; lowering
    Female's minimum to 12 is as small and allowed, and is the one used."""
    features = pd.read_csv(FEATURES, dtype=str)
    gender = features["feature"] == "Gender"
    features.loc[gender & (features["value"] == "Female"), ["min", "max", "min_flex", "max_flex"]] = [
        "13",
        "13",
        "12",
        "13",
    ]
    features.loc[gender & (features["value"] == "Male"), "min_flex"] = "10"
    path = tmp_path / "features.csv"
    features.to_csv(path, index=False)
    capsys.readouterr()
    args = ("select", "--categories", str(path), "--respondents", str(PEOPLE), "--size", "22", *HOUSEHOLDS)
    assert run_cli(monkeypatch, *args, "--seed", "3", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert [(r["feature"], r["min_used"], r["max_used"]) for r in report["relaxation"]] == [("Female", 12, 13)]
