"""Every panel draw in the reports: the history builder and the council report's method section."""

from __future__ import annotations

import pytest

from reports.render import load_strings, render_html
from reports.selection import DrawRow, draw_history
from tests.reports.test_council_sections import _context, sections


def _draw(draw_id: int, *, reason: str | None = None, number: int | None = None) -> dict[str, object]:
    parameters: dict[str, object] = {"size": 3}
    if reason:
        parameters["redraw"] = {"reason": reason, "replaces_draw": draw_id - 1, "number": 2}
    if number is not None:
        parameters["number"] = number
    return {
        "id": draw_id,
        "kind": "panel",
        "drawn_at": f"2027-01-0{draw_id}T10:00:00+00:00",
        "algorithm": "maximin",
        "engine": "native",
        "seed": str(100 + draw_id),
        "parameters": parameters,
        "result": {"panel": ["a", "b", "c"], "alternates": ["d"]},
    }


def test_draw_history_numbers_draws_counts_replacements_and_marks_the_current() -> None:
    lottery = {**_draw(2), "kind": "lottery"}  # a lottery is not a panel draw
    draws = [_draw(1), lottery, _draw(3, reason="fout in het quotabestand", number=7)]
    replacements = [{"draw_id": 1}, {"draw_id": 1}, {"draw_id": 3}]
    rows = draw_history(draws, replacements)
    assert rows == [
        DrawRow(1, "2027-01-01", "maximin", "native", "101", None, 3, 1, 2, "", False),
        DrawRow(2, "2027-01-03", "maximin", "native", "103", 7, 3, 1, 1, "fout in het quotabestand", True),
    ]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_council_method_names_every_redraw_and_its_reason(lang: str) -> None:
    t = load_strings(lang)
    rows = draw_history([_draw(1), _draw(2, reason="fout in het quotabestand")], [{"draw_id": 1}])
    text = sections(render_html("council.html.j2", _context(lang=lang, draws=rows), lang=lang))
    assert t["sel_redrawn"].replace("{n}", "2") in text["method"]
    assert "fout in het quotabestand" in text["method"]
    assert t["sel_superseded"] in text["method"] and t["sel_current"] in text["method"]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_council_method_says_the_panel_was_drawn_once(lang: str) -> None:
    t = load_strings(lang)
    once = draw_history([_draw(1)], [])
    html = render_html("council.html.j2", _context(lang=lang, draws=once), lang=lang)
    assert t["sel_drawn_once"] in sections(html)["method"]
    assert 'id="draws-table"' not in html
