"""Labels, not codes: category names, value labels and wijk names in the rendered reports."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kleroterion.app.reports import write_report
from kleroterion.commands.common import open_workspace
from kleroterion.errors import InputError
from reports.labels import age_band_label, build_labels, parse_areas
from sortition.signup import DEFAULT_CATEGORIES
from tests.conftest import copy_workspace


class _Cells(HTMLParser):
    """The text of every table cell of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("td", "th"):
            self._depth += 1
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.cells[-1] += data


def cells(html: str) -> list[str]:
    parser = _Cells()
    parser.feed(html)
    return [c.strip() for c in parser.cells]


@pytest.mark.parametrize(
    ("value", "lang", "label"),
    [("16-24", "nl", "16–24 jaar"), ("70+", "en", "70 and over"), ("70+", "nl", "70 jaar en ouder"), ("x", "nl", "x")],
)
def test_age_band_label(value: str, lang: str, label: str) -> None:
    assert age_band_label(value, lang) == label


def test_build_labels_names_built_in_values_and_lists_unnamed_areas_once() -> None:
    labels = build_labels(
        DEFAULT_CATEGORIES,
        lang="nl",
        areas={"WK189401": {"nl": "Panningen-Noord"}},
        shown_areas=["WK189401", "WK189402", "WK189402"],
    )
    assert labels.value("gender", "V") == "Vrouw"
    assert labels.value("age_band", "25-39") == "25–39 jaar"
    assert labels.value("education", "hoog") == "Hoog"
    assert labels.value("wijk", "WK189401") == "Panningen-Noord"
    assert labels.category("age_band") == "Leeftijdsgroep"
    assert labels.category("wijk") == "Wijk"
    assert labels.unnamed_areas == ("WK189402",)


def test_parse_areas_reads_names_and_collects_every_bad_row() -> None:
    areas = parse_areas("code,name,name_en\nWK189401,Noord,North\nWK189402,,\n", source="a.csv")
    assert areas == {"WK189401": {"nl": "Noord", "en": "North"}, "WK189402": {}}
    with pytest.raises(InputError) as caught:
        parse_areas("code,name\nwijk 1,Noord\nWK189401,A\nWK189401,B\n", source="a.csv")
    text = str(caught.value)
    assert "wijk 1" in text and "twice" in text
    with pytest.raises(InputError):
        parse_areas("wijk;naam\n", source="a.csv")


RAW_CODES = {"M", "V", "O", "laag", "middelbaar", "hoog", "16-24", "25-39", "40-54", "55-69", "70+"}
RAW_NAMES = {"nl": ("age_band", "education", "gender"), "en": ("age_band",)}  # English words are fine in en


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["council", "selection"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_no_raw_code_where_a_label_exists(report_demo: Path, kind: str, lang: str) -> None:
    html = (report_demo / f"{kind}-report.{lang}.html").read_text(encoding="utf-8")
    text = re.sub(r"<(style|script)[^>]*>.*?</\1>|<[^>]+>", " ", html, flags=re.S)
    assert [name for name in RAW_NAMES[lang] if re.search(rf"\b{name}\b", text)] == []
    assert sorted(set(cells(html)) & RAW_CODES) == []
    assert "16–24" in text  # the labels are there, not just the codes gone


@pytest.mark.slow
def test_wijk_names_from_the_areas_file_replace_the_codes(report_demo: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    copy_workspace(report_demo / "workspace", root)
    names = "".join(f"WK1894{i:02d},Kern {i},Village {i}\n" for i in range(1, 12))
    (root / "wijken.csv").write_text("code,name,name_en\n" + names, encoding="utf-8")
    process = root / "process.toml"  # the demo's report settings name the areas file only in a comment
    process.write_text(
        process.read_text(encoding="utf-8").replace('# areas = "wijken.csv"', 'areas = "wijken.csv"', 1),
        encoding="utf-8",
    )
    with open_workspace(root) as ws:
        for lang, word in (("nl", "Kern"), ("en", "Village")):
            html = write_report(ws, kind="council", lang=lang, fmt="html", out=tmp_path / "c.html").read_text()
            assert [c for c in cells(html) if re.fullmatch(r"WK\d{6}", c)] == []
            assert f"{word} 3" in cells(html)
            assert 'id="unnamed-areas"' not in html


@pytest.mark.slow
def test_unnamed_wijk_codes_are_said_once(report_demo: Path) -> None:
    html = (report_demo / "council-report.nl.html").read_text(encoding="utf-8")
    assert html.count('id="unnamed-areas"') == 1
    assert html.count('id="education-note"') == 1
