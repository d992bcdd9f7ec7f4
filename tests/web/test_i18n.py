"""Dutch first, English by a switch; babel formats numbers and times; every key in both languages."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources

import pytest
from starlette.applications import Starlette

from kleroterion.web import i18n
from kleroterion.web.messages import MESSAGES
from tests.web.conftest import PROCESS, TestClient


def test_every_message_has_dutch_and_english_text() -> None:
    assert all(len(texts) == 2 and all(t.strip() for t in texts) for texts in MESSAGES.values())
    for key, (nl, en) in MESSAGES.items():  # the same {fields} in both languages
        assert set(re.findall(r"{(\w+)}", nl)) == set(re.findall(r"{(\w+)}", en)), key


def test_every_key_the_templates_use_exists() -> None:
    folder = resources.files("kleroterion.web") / "templates"
    used = set()
    entries = list(folder.iterdir())
    while entries:  # the templates and those of the subfolders (deliberation/)
        entry = entries.pop()
        if entry.is_dir():
            entries.extend(entry.iterdir())
            continue
        used |= set(re.findall(r"""\bt\(["']([a-z_.]+)["']""", entry.read_text(encoding="utf-8")))
    prefixes = {key for key in used if key.endswith(".")}  # t("role." ~ role): a family of keys
    assert used - prefixes - set(MESSAGES) == set()
    assert all(any(k.startswith(prefix) for k in MESSAGES) for prefix in prefixes)


@pytest.mark.parametrize(
    ("family", "members"),
    [
        ("role", ("beheerder", "medewerker", "auditor", "none")),
        ("state", ("queued", "running", "done", "failed", "cancelled")),
        ("table", ("residents", "letters", "pool_members", "selection_draws", "answers", "audit_log")),
    ],
)
def test_every_member_of_a_key_family_exists(family: str, members: tuple[str, ...]) -> None:
    assert all(f"{family}.{member}" in MESSAGES for member in members)


@pytest.mark.parametrize(
    ("lang", "value", "text"),
    [("nl", 45534, "45.534"), ("en", 45534, "45,534"), ("nl", 0.5, "0,5"), ("en", None, "")],
)
def test_numbers_as_in_the_reports(lang: str, value: float | None, text: str) -> None:
    assert i18n.number(value, lang) == text


@pytest.mark.parametrize(
    ("lang", "text"),
    # 13:05 UTC is 14:05 in Amsterdam in winter (CET, UTC+1)
    [("nl", "4 dec 2026, 14:05:00"), ("en", "4 Dec 2026, 14:05:00")],
)
def test_times_in_the_netherlands_zone(lang: str, text: str) -> None:
    assert i18n.moment("2026-12-04T13:05:00+00:00", lang).replace(".", "") == text


def test_the_switch_changes_the_language_and_returns_to_the_page(
    app: Starlette, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    assert '<html lang="nl">' in client.get(f"/p/{PROCESS}").text
    response = client.get(f"/lang/en?next=/p/{PROCESS}", follow_redirects=False)
    assert response.headers["location"] == f"/p/{PROCESS}"
    page = client.get(f"/p/{PROCESS}").text
    assert '<html lang="en">' in page
    assert "What the process holds" in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/p/x?y=1", "javascript:alert(1)"])
def test_the_switch_only_returns_to_a_local_page(app: Starlette, target: str) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    response = client.get("/lang/en", params={"next": target}, follow_redirects=False)
    assert response.headers["location"] == "/"
