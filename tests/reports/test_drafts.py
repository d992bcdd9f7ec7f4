"""Drafts look like drafts: a council report whose settings are incomplete carries a CONCEPT/DRAFT mark
and a checklist of what is missing and where to set it; its body never says "not recorded"."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pypdf import PdfReader

from kleroterion.app.reports import write_report
from kleroterion.commands.common import open_workspace
from kleroterion.workspace import PROCESS_FILE, ProcessSettings, Workspace
from reports.settings import REPORT_TEMPLATE, missing_settings, report_settings
from tests.conftest import RawConnection, copy_workspace

NOT_RECORDED = ("Niet vastgelegd", "Not recorded", "not recorded", "elk van de 0 adviezen", "each of the 0")


def test_missing_settings_lists_each_gap_and_each_missing_translation() -> None:
    empty = report_settings({}, [], source="p.toml")
    assert [m.key for m in missing_settings(empty, lang="nl")] == [
        "remit",
        "commitment",
        "response_due",
        "participation_rung",
        "participation_model",
        "participation_reason",
        "sessions",
        "sources",
    ]
    dutch_only = report_settings(
        {
            "remit": "Vraag?",
            "commitment": "De raad ...",
            "response_due": "2027-12-31",
            "participation_rung": "adviseren",
            "participation_model": "citizens_jury",
            "participation_reason": "Omdat.",
            "sources": ["CBS"],
        },
        [{"date": "2027-03-06", "hours": 3, "title": "Start"}],
        source="p.toml",
    )
    assert missing_settings(dutch_only, lang="nl") == []
    assert [m.where for m in missing_settings(dutch_only, lang="en")] == [
        "[report] remit_en",
        "[report] commitment_en",
        "[report] participation_reason_en",
        "[[session]]_en",
        "[report] sources_en",
    ]


def test_init_writes_a_commented_report_template_that_parses_when_uncommented(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "ws", ProcessSettings(name="P", municipality="M")) as ws:
        assert ws.report_settings == report_settings({}, [], source="x")  # comments only: nothing set yet
    text = (tmp_path / "ws" / PROCESS_FILE).read_text(encoding="utf-8")
    assert "# [report]" in text and "# remit = " in text
    lines = [line.split("  #")[0] for line in REPORT_TEMPLATE.splitlines()]
    uncommented = "\n".join(
        line[2:] for line in lines if line.startswith("# ") and ("=" in line or line.startswith("# ["))
    )
    data = tomllib.loads(uncommented)
    settings = report_settings(data["report"], data["session"], source="template")
    assert missing_settings(settings, lang="en") == []


@pytest.fixture(scope="module")
def hand_made(report_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace without [report], [[session]] and recommendations, as a hand-made workspace is."""
    root = tmp_path_factory.mktemp("hand") / "ws"
    copy_workspace(report_demo / "workspace", root)
    process = root / PROCESS_FILE
    text = process.read_text(encoding="utf-8")
    process.write_text(text[: text.index("\n[report]")], encoding="utf-8")
    con = RawConnection(root)
    con.execute("DELETE FROM council_responses")
    con.execute("DELETE FROM recommendations")
    con.commit()
    con.close()
    return root


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "mark"), [("nl", "CONCEPT"), ("en", "DRAFT")])
def test_an_incomplete_report_is_a_draft_with_a_checklist(
    hand_made: Path, tmp_path: Path, lang: str, mark: str
) -> None:
    with open_workspace(hand_made) as ws:
        html = write_report(ws, kind="council", lang=lang, fmt="html", out=tmp_path / "c.html").read_text()
        pdf = write_report(ws, kind="council", lang=lang, fmt="pdf", out=tmp_path / "c.pdf")
    assert 'id="checklist"' in html and html.count('<tr><th scope="row">') >= 9
    assert "[report] remit" in html and "klero recommendation add" in html
    assert 'id="council-asked"' not in html
    pages = [page.extract_text() for page in PdfReader(pdf).pages]
    assert all(mark in page for page in pages)  # the mark on every page
    assert [s for s in NOT_RECORDED if s in "\n".join(pages)] == []


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_complete_demo_report_is_no_draft(report_demo: Path, lang: str) -> None:
    html = (report_demo / f"council-report.{lang}.html").read_text(encoding="utf-8")
    assert 'id="checklist"' not in html
    assert "CONCEPT" not in html and "DRAFT" not in html
    assert [s for s in NOT_RECORDED if s in html] == []
