"""Layout of the rendered reports: every word inside the A4 text area, no table row split over two pages,
header rows that repeat, and a DOCX on A4 with the report's margins and tables that fit."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Cm

from kleroterion.app.reports import BUILDERS
from kleroterion.commands.common import open_workspace
from reports.docx import MARGIN_CM, TEXT_WIDTH_CM, column_widths
from reports.render import render_html

pytestmark = pytest.mark.slow
KINDS, LANGS = tuple(BUILDERS), ("nl", "en")
PT_PER_CM = 72 / 2.54
#: The stylesheet's page: A4, margins 2 cm top and bottom, 1.8 cm left and right.
TEXT_LEFT, TEXT_RIGHT = 1.8 * PT_PER_CM, (21.0 - 1.8) * PT_PER_CM
TOLERANCE = 0.5  # points: rounding in the PDF's glyph positions


def words_outside_text_area(pdf: Path) -> list[str]:
    """Words (``pdftotext -bbox``, poppler) whose box leaves the text area left or right, with their page."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    outside = []
    for number, page in enumerate(xml.split("<page ")[1:], start=1):
        for x_min, x_max, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>([^<]*)<', page
        ):
            if float(x_min) < TEXT_LEFT - TOLERANCE or float(x_max) > TEXT_RIGHT + TOLERANCE:
                outside.append(f"page {number}: {word} ({float(x_min):.1f}–{float(x_max):.1f} pt)")
    return outside


def test_the_word_check_sees_a_word_off_the_page(tmp_path: Path) -> None:
    from reports.render import html_to_pdf

    html = "<html><body style='margin:0'><p style='margin-left:18cm;white-space:nowrap'>afgesneden</p></body></html>"
    (tmp_path / "x.pdf").write_bytes(html_to_pdf(html))
    assert words_outside_text_area(tmp_path / "x.pdf")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed (make sysdeps)")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", LANGS)
def test_every_word_is_inside_the_text_area(report_demo: Path, kind: str, lang: str) -> None:
    assert words_outside_text_area(report_demo / f"{kind}-report.{lang}.pdf") == []


def split_rows(html: str) -> list[str]:
    """Body rows that WeasyPrint laid out on more than one page (by their text); header rows repeat by design."""
    from weasyprint import HTML

    pages_of: dict[int, set[int]] = {}
    text_of: dict[int, str] = {}
    for number, page in enumerate(HTML(string=html).render().pages):
        for group in page._page_box.descendants():
            if type(group).__name__ != "TableRowGroupBox" or group.is_header:
                continue
            for row in group.children:
                pages_of.setdefault(id(row.element), set()).add(number)
                text_of[id(row.element)] = " ".join(row.element.itertext())[:60]
    return [text_of[key] for key, pages in pages_of.items() if len(pages) > 1]


def test_the_row_check_sees_a_split_row() -> None:
    cell = "<td>" + "<br>".join(["regel"] * 80) + "</td>"
    html = f"<html><body><table><tr>{cell}</tr></table></body></html>"
    assert split_rows(html) != []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", LANGS)
def test_no_table_row_is_split_over_two_pages(report_demo: Path, kind: str, lang: str) -> None:
    with open_workspace(report_demo / "workspace") as ws:
        context = BUILDERS[kind](ws, lang=lang, today="2027-05-01")
    html = render_html(f"{kind}.html.j2", context, lang=lang)
    assert split_rows(html) == []
    # every table has its header row in <thead>, which the stylesheet repeats on each page
    for table in re.findall(r"<table.*?</table>", html, flags=re.S):
        assert "<thead>" in table


@pytest.mark.parametrize("kind", KINDS)
def test_docx_is_a4_with_fitting_tables(report_demo: Path, kind: str) -> None:
    doc = Document(str(report_demo / f"{kind}-report.nl.docx"))
    section = doc.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert round(section.left_margin.cm, 2) == MARGIN_CM["left"]
    assert round(section.right_margin.cm, 2) == MARGIN_CM["right"]
    assert doc.tables
    for table in doc.tables:
        assert sum(c.width for c in table.columns) <= Cm(TEXT_WIDTH_CM) + 635 * len(
            table.columns
        )  # stored in twips (635 EMU)
        header = table.rows[0]._tr.trPr
        assert (
            header is not None
            and header.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader") is not None
        )
        for row in table.rows:
            assert (
                row._tr.trPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}cantSplit") is not None
            )


@pytest.mark.parametrize(
    "rows",
    [
        [["#", "Advies", "Steun", "Besluit", "Reden", "Eigenaar", "Uiterlijk", "Bijgewerkt"]] * 2,
        [["Informatiebrochure", "woningdelen", "x"], ["a", "b", "c"]],
        [["kort", "kort"]],
    ],
)
def test_docx_columns_fit_and_hold_their_longest_word(rows: list[list[str]]) -> None:
    widths, size = column_widths(rows)
    assert sum(widths) <= TEXT_WIDTH_CM + 1e-9
    char = 0.55 * 2.54 / 72 * size
    for i, width in enumerate(widths):
        longest = max(len(w) for r in rows for w in r[i].split())
        assert width >= longest * char  # the longest word fits, so Word does not break it
