"""``kleroterion.app.reports``: rendering reports and the recommendations, without the CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kleroterion.app.reports import (
    ReportRequest,
    add_recommendation,
    list_recommendations,
    record_response,
    render_reports,
    write_report,
)
from kleroterion.errors import Cancelled, KleroError
from kleroterion.workspace import Workspace


def rendered(ws: Workspace) -> list[dict[str, object]]:
    return [r["parameters"] for r in ws.store.audit_records("report.render")]


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (ReportRequest(kinds=("council",), languages=("fr",)), "unsupported_language"),
        (ReportRequest(kinds=("council",), languages=("nl", "de")), "unsupported_language"),
        (ReportRequest(kinds=("council",), formats=("odt",)), "unsupported_format"),
        (ReportRequest(kinds=("annual",)), "unknown_report"),
        (ReportRequest(kinds=()), "no_report_asked"),
        (ReportRequest(kinds=("council", "selection"), out=Path("one.html")), "out_needs_one_report"),
        (ReportRequest(kinds=("public",), formats=("html", "pdf"), out=Path("one.html")), "out_needs_one_report"),
    ],
)
def test_a_bad_request_is_refused_before_anything_is_rendered(
    named_chain_master: Path, tmp_path: Path, request_: ReportRequest, code: str
) -> None:
    with Workspace.open(named_chain_master) as ws:
        before = rendered(ws)
        with pytest.raises(KleroError) as caught:
            render_reports(ws, ReportRequest(**{**request_.__dict__, "folder": tmp_path}))
        assert caught.value.code == code
        assert rendered(ws) == before
    assert list(tmp_path.iterdir()) == []


def test_write_report_checks_the_language_with_the_same_code(named_chain_master: Path, tmp_path: Path) -> None:
    with Workspace.open(named_chain_master) as ws, pytest.raises(KleroError) as caught:
        write_report(ws, kind="selection", lang="fr", fmt="html", out=tmp_path / "s.html")
    assert caught.value.code == "unsupported_language"
    assert "Unknown language 'fr'" in caught.value.message


def test_every_kind_language_and_format_asked_is_written_and_recorded(chain_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    asked = ReportRequest(kinds=("council", "selection"), languages=("nl", "en"), formats=("html",), folder=out)
    with Workspace.open(chain_copy) as ws:
        result = render_reports(ws, asked)
        records = rendered(ws)
    names = [p.name for p in result.paths]
    assert names == [
        "council-report.nl.html",
        "council-report.en.html",
        "selection-report.nl.html",
        "selection-report.en.html",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no .part file left
    for written in result.reports:
        assert written.sha256 == hashlib.sha256(written.path.read_bytes()).hexdigest()
    assert [(r["kind"], r["lang"], r["format"]) for r in records[-4:]] == [
        (w.kind, w.lang, w.fmt) for w in result.reports
    ]
    council_nl = (out / "council-report.nl.html").read_text(encoding="utf-8")
    assert 'lang="nl"' in council_nl
    assert "chart-composition-gender" in council_nl  # the charts reports.charts.council_charts built


def test_one_report_goes_to_the_file_named_and_progress_is_heard(chain_copy: Path, tmp_path: Path) -> None:
    heard: list[tuple[str, int, int | None]] = []
    target = tmp_path / "verantwoording.html"
    with Workspace.open(chain_copy) as ws:
        result = render_reports(
            ws,
            ReportRequest(kinds=("selection",), out=target),
            progress=lambda stage, done, total, _message: heard.append((stage, done, total)),
        )
    assert result.paths == (target,)
    assert target.read_bytes().startswith(b"<!DOCTYPE html>")
    assert heard == [("rendering", 0, 1), ("rendering", 1, 1)]  # HTML: one step, reported at start and end


def test_a_cancelled_render_writes_and_records_nothing(chain_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with Workspace.open(chain_copy) as ws:
        before = rendered(ws)
        with pytest.raises(Cancelled):
            render_reports(ws, ReportRequest(kinds=("selection",), folder=out), cancel=lambda: True)
        assert rendered(ws) == before
    assert list(out.iterdir()) == []


def test_recommendations_and_responses_are_listed_in_order(chain_copy: Path) -> None:
    with Workspace.open(chain_copy) as ws:
        with pytest.raises(KleroError) as caught:
            render_reports(ws, ReportRequest(kinds=("feedback",), folder=chain_copy))
        assert caught.value.code == "no_recommendations"
        first = add_recommendation(ws, "Meer woningen", support_pct=80)
        second = add_recommendation(ws, "Minder auto's", support_pct=None, minority="Liever niet")
        record_response(ws, second, status="rejected", reason="Geen geld", due=None)
        listed = list_recommendations(ws)
    assert [(i, r.text, r.status) for i, r in listed] == [
        (first, "Meer woningen", "pending"),
        (second, "Minder auto's", "rejected"),
    ]
