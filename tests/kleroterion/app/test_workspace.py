"""``kleroterion.app.workspace``: creating a process workspace, and the codes of its refusals."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kleroterion.app.workspace import InitRequest, init_workspace
from kleroterion.errors import KleroError, StoreError
from kleroterion.workspace import KEY_FILE, PROCESS_FILE, Workspace


def request(root: Path, **changes: object) -> InitRequest:
    fields: dict[str, object] = {"directory": root, "name": "Raad", "municipality": "Peel en Maas"} | changes
    return InitRequest(**fields)  # type: ignore[arg-type]


def test_init_creates_a_workspace_dated_today_unless_told(tmp_path: Path) -> None:
    made = init_workspace(request(tmp_path / "a"), today=date(2026, 3, 4))
    assert (made.root, made.example_label) == (tmp_path / "a", "")
    with Workspace.open(tmp_path / "a") as ws:
        assert (ws.settings.reference_date, ws.settings.language) == ("2026-03-04", "nl")
        assert [r["action"] for r in ws.store.audit_records()] == ["workspace.init"]
    init_workspace(request(tmp_path / "b", reference_date="2024-01-01", language="en"))
    with Workspace.open(tmp_path / "b") as ws:
        assert (ws.settings.reference_date, ws.settings.language) == ("2024-01-01", "en")


def test_init_of_the_example_takes_its_label(tmp_path: Path) -> None:
    made = init_workspace(request(tmp_path / "x", example="peel-en-maas", reference_date="2024-01-01"))
    assert made.example_label == "example, synthetic data"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"reference_date": "2024-02-30"}, "bad_date"),
        ({"retention_date": "31-12-2027"}, "bad_date"),
        ({"language": "fr"}, "unsupported_language"),
        ({"language": "NL"}, "unsupported_language"),
        ({"example": "utrecht"}, "unknown_example"),
    ],
)
def test_init_refuses_a_bad_request_and_writes_nothing(tmp_path: Path, changes: dict[str, object], code: str) -> None:
    with pytest.raises(KleroError) as caught:
        init_workspace(request(tmp_path / "w", **changes))
    assert caught.value.code == code
    assert not (tmp_path / "w" / PROCESS_FILE).exists()
    assert not (tmp_path / "w" / KEY_FILE).exists()


def test_init_refuses_a_settings_file_that_sets_the_process(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[process]\nname = "X"\n', encoding="utf-8")
    with pytest.raises(KleroError) as caught:
        init_workspace(request(tmp_path / "w", settings_file=settings))
    assert caught.value.code == "bad_settings"
    assert not (tmp_path / "w" / PROCESS_FILE).exists()


def damage_key(root: Path) -> None:
    (root / KEY_FILE).write_text("not hex\n", encoding="utf-8")


def damage_settings(root: Path) -> None:
    (root / PROCESS_FILE).write_text("[process\n", encoding="utf-8")


def remove_settings(root: Path) -> None:
    (root / PROCESS_FILE).unlink()


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (damage_key, "bad_key"),
        (damage_settings, "bad_process_file"),
        (remove_settings, "no_workspace"),
    ],
)
def test_opening_a_damaged_workspace_names_the_damage_by_code(tmp_path: Path, damage: object, code: str) -> None:
    init_workspace(request(tmp_path / "w"))
    damage(tmp_path / "w")  # type: ignore[operator]
    with pytest.raises(StoreError) as caught:
        Workspace.open(tmp_path / "w")
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("leftover", "code"),
    [(PROCESS_FILE, "workspace_exists"), (KEY_FILE, "key_exists")],
)
def test_init_refuses_a_folder_with_a_workspace_or_its_key(tmp_path: Path, leftover: str, code: str) -> None:
    root = tmp_path / "w"
    root.mkdir()
    (root / leftover).write_text("x\n", encoding="utf-8")
    with pytest.raises(StoreError) as caught:
        init_workspace(request(root))
    assert caught.value.code == code
    assert (root / leftover).read_text(encoding="utf-8") == "x\n"
