"""One language at a time: an English report uses the English texts it has and shows every Dutch text it
only has in Dutch marked as the Dutch original, never silently mixed in."""

from __future__ import annotations

import html as html_lib
import re
import tomllib
from pathlib import Path

import pytest

from kleroterion.app.reports import write_report
from kleroterion.commands.common import open_workspace
from reports.labels import DUTCH_ORIGINAL, in_language
from reports.settings import report_settings
from tests.conftest import RawConnection, copy_workspace, run_cli

DATA = Path(__file__).resolve().parents[2] / "data" / "peel_en_maas"
MARK = f"{DUTCH_ORIGINAL}: "


@pytest.mark.parametrize(
    ("dutch", "english", "lang", "shown"),
    [
        ("Vraag?", "Question?", "en", "Question?"),
        ("Vraag?", "", "en", "Dutch original: Vraag?"),
        ("Vraag?", "Question?", "nl", "Vraag?"),
        ("", "Question?", "en", "Question?"),
        ("", "", "en", ""),
    ],
)
def test_in_language(dutch: str, english: str, lang: str, shown: str) -> None:
    assert in_language(dutch, english, lang) == shown


def test_settings_mark_dutch_texts_without_a_translation() -> None:
    settings = report_settings(
        {"remit": "Vraag?", "commitment": "De raad", "commitment_en": "The council", "sources": ["CBS-cijfers"]},
        [{"date": "2027-03-06", "hours": 2, "title": "Start"}],
        source="p.toml",
    )
    assert settings.text("remit", "en") == "Dutch original: Vraag?"
    assert settings.text("commitment", "en") == "The council"
    assert settings.text("remit", "nl") == "Vraag?"
    assert settings.lines("sources", "en") == ["Dutch original: CBS-cijfers"]
    assert settings.sessions[0].title_in("en") == "Dutch original: Start"


def dutch_texts(demo: Path) -> set[str]:
    """Every Dutch text of the demo that could reach a report: instrument items, recommendations and the
    council's reasons, packet titles and options, the Dutch report settings."""
    instrument = tomllib.loads((DATA / "instrument.toml").read_text(encoding="utf-8"))
    texts = {i["text"] for i in instrument["items"]}
    con = RawConnection(demo / "workspace")
    texts |= {r[0] for r in con.execute("SELECT text FROM recommendations")}
    texts |= {r[0] for r in con.execute("SELECT reason FROM council_responses") if r[0]}
    texts |= {r[0] for r in con.execute("SELECT title FROM packets")}
    texts |= {r[0] for r in con.execute("SELECT option_code FROM packet_arguments")}
    con.close()
    report = tomllib.loads((DATA / "report.toml").read_text(encoding="utf-8"))["report"]
    texts |= {v for k, v in report.items() if isinstance(v, str) and not k.endswith("_en") and " " in v}
    return {t for t in texts if len(t) > 8}


def visible_text(page: str) -> str:
    body = re.sub(r"<(style|script|title)[^>]*>.*?</\1>|<[^>]+>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html_lib.unescape(body))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["council", "selection", "feedback", "public"])
def test_no_unmarked_dutch_in_the_english_body(report_demo: Path, kind: str) -> None:
    text = visible_text((report_demo / f"{kind}-report.en.html").read_text(encoding="utf-8"))
    unmarked = []
    for dutch in dutch_texts(report_demo):
        for hit in re.finditer(re.escape(dutch), text):
            if text[max(0, hit.start() - len(MARK)) : hit.start()] != MARK:
                unmarked.append(dutch)
    assert unmarked == []


@pytest.mark.slow
def test_the_english_report_uses_the_english_item_texts(report_demo: Path) -> None:
    text = visible_text((report_demo / "council-report.en.html").read_text(encoding="utf-8"))
    instrument = tomllib.loads((DATA / "instrument.toml").read_text(encoding="utf-8"))
    opinion = [i for i in instrument["items"] if i["kind"] in ("likert", "scale")]
    assert opinion and all(i["text_en"] in text for i in opinion)
    assert MARK in text  # the recommendations exist only in Dutch: marked, not hidden


@pytest.mark.slow
def test_a_recommendation_with_an_english_wording_shows_it_in_english(
    report_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ws"
    copy_workspace(report_demo / "workspace", root)
    dutch, english = "Maak een woningloket in elke kern.", "Open a housing desk in every village."
    args = ("recommendation", "add", dutch, "--text-en", english, "--support", "70", "-w", str(root))
    assert run_cli(monkeypatch, *args) == 0
    with open_workspace(root) as ws:
        en = write_report(ws, kind="council", lang="en", fmt="html", out=tmp_path / "en.html").read_text()
        nl = write_report(ws, kind="council", lang="nl", fmt="html", out=tmp_path / "nl.html").read_text()
    assert english in visible_text(en) and dutch not in visible_text(en)
    assert dutch in visible_text(nl) and english not in visible_text(nl)
