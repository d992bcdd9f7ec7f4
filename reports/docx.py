"""HTML report -> DOCX (python-docx): the rendered HTML is the single source; headings stay headings,
tables stay tables (with a repeating header row), lists stay lists.

Only the tags our templates use are mapped: h1-h4, p, blockquote, li, table/caption/tr/th/td, code, strong,
img (a PNG data URI becomes a picture with its alt text as description) and figcaption; nav (the table of
contents with PDF page numbers) is left out.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

BLOCKS = {
    "h1": "Title",
    "h2": "Heading 1",
    "h3": "Heading 2",
    "h4": "Heading 3",
    "p": "Normal",
    "blockquote": "Quote",
    "figcaption": "Caption",
}
SKIP = {"style", "title", "script", "head", "nav"}
PNG_URI = "data:image/png;base64,"


@dataclass
class _Table:
    caption: str = ""
    rows: list[list[tuple[str, bool]]] = field(default_factory=list)


class _Collector(HTMLParser):
    """Collects the body as a list of ('block', style, text) and ('table', _Table) items."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[Any, ...]] = []
        self._skip = 0
        self._block: str | None = None
        self._text: list[str] = []
        self._table: _Table | None = None
        self._row: list[tuple[str, bool]] | None = None
        self._cell_header = False
        self._in_cell = False
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP:
            self._skip += 1
        elif tag == "img" and not self._skip:
            self._flush()
            a = dict(attrs)
            src = a.get("src") or ""
            if src.startswith(PNG_URI):
                self.items.append(("image", base64.b64decode(src[len(PNG_URI) :]), a.get("alt") or ""))
        elif self._skip:
            return
        elif tag == "table":
            self._flush()
            self._table = _Table()
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("th", "td") and self._row is not None:
            self._in_cell, self._cell_header, self._text = True, tag == "th", []
        elif tag == "caption":
            self._in_caption, self._text = True, []
        elif tag == "li":
            self._flush()
            self._block = "List Bullet"
        elif tag in BLOCKS and not self._in_cell:
            self._flush()
            self._block = BLOCKS[tag]

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP:
            self._skip -= 1
        elif self._skip:
            return
        elif tag in ("th", "td") and self._row is not None and self._in_cell:
            self._row.append((_clean(self._text), self._cell_header))
            self._in_cell, self._text = False, []
        elif tag == "caption" and self._table is not None:
            self._table.caption, self._in_caption, self._text = _clean(self._text), False, []
        elif tag == "tr" and self._table is not None and self._row is not None:
            self._table.rows.append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            self.items.append(("table", self._table))
            self._table = None
        elif (tag in BLOCKS or tag == "li") and not self._in_cell:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_cell or self._in_caption or self._block is not None:
            self._text.append(data)

    def _flush(self) -> None:
        if self._block is not None:
            text = _clean(self._text)
            if text:
                self.items.append(("block", self._block, text))
        self._block, self._text = None, []


def _clean(parts: list[str]) -> str:
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def _add_picture(doc: Any, png: bytes, alt: str) -> None:
    """A picture 16 cm wide whose alt text (``descr``) a screen reader reads out."""
    from docx.shared import Cm

    doc.add_picture(io.BytesIO(png), width=Cm(16))
    doc_pr = doc.inline_shapes[-1]._inline.docPr
    doc_pr.set("descr", alt)
    doc_pr.set("title", alt[:120])


#: A4 with the margins of the PDF stylesheet (``_style.css.j2``): text width 17.4 cm.
PAGE_CM = (21.0, 29.7)
MARGIN_CM = {"top": 2.0, "bottom": 2.0, "left": 1.8, "right": 1.8}
TEXT_WIDTH_CM = PAGE_CM[0] - MARGIN_CM["left"] - MARGIN_CM["right"]
#: Width of one character of DejaVu Sans/Arial at 1 pt, in cm (average of a-z, measured ~0.55 em), and
#: the cell padding Word adds left and right.
CHAR_CM_PER_PT = 0.55 * 2.54 / 72
CELL_PADDING_CM = 0.25


def column_widths(rows: list[list[str]], *, width_cm: float = TEXT_WIDTH_CM) -> tuple[list[float], float]:
    """Column widths (cm) and font size (pt) for a table of ``rows`` that fit ``width_cm``.

    Each column gets at least the width of its longest word (so Word never breaks a word in the middle)
    at 9 pt; when those minimums do not fit, the font goes down to 8 and then 7 pt. What is left is
    shared in proportion to how much longer each column's longest cell is than its longest word.
    """
    n = max((len(r) for r in rows), default=0)
    cells = [[r[i] if i < len(r) else "" for r in rows] for i in range(n)]
    longest_word = [max((len(w) for c in col for w in c.split()), default=1) for col in cells]
    longest_cell = [max((len(c) for c in col), default=1) for col in cells]
    for size in (9.0, 8.0, 7.0):
        char = CHAR_CM_PER_PT * size
        minimum = [w * char + CELL_PADDING_CM for w in longest_word]
        if sum(minimum) <= width_cm or size == 7.0:
            break
    spare = max(width_cm - sum(minimum), 0.0)
    wish = [max(c * char + CELL_PADDING_CM - m, 0.0) for c, m in zip(longest_cell, minimum, strict=True)]
    total_wish = sum(wish)
    if total_wish <= spare:  # everything fits on one line: share the rest equally
        extra = [w + (spare - total_wish) / n for w in wish]
    else:
        extra = [spare * w / total_wish for w in wish]
    widths = [m + e for m, e in zip(minimum, extra, strict=True)]
    scale = min(1.0, width_cm / sum(widths)) if widths else 1.0
    return [w * scale for w in widths], size


def _page_setup(doc: Any) -> None:
    """A4 portrait with the report's margins; the report's fonts in the built-in styles."""
    from docx.shared import Cm, Pt, RGBColor

    for section in doc.sections:
        section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
        section.top_margin, section.bottom_margin = Cm(MARGIN_CM["top"]), Cm(MARGIN_CM["bottom"])
        section.left_margin, section.right_margin = Cm(MARGIN_CM["left"]), Cm(MARGIN_CM["right"])
    for name, size in (("Normal", 10.5), ("Title", 20), ("Heading 1", 14), ("Heading 2", 12), ("Caption", 9)):
        style = doc.styles[name]
        style.font.name = "DejaVu Sans"
        style.font.size = Pt(size)
        if name != "Normal":
            style.font.color.rgb = RGBColor(0x1B, 0x1B, 0x1B)
    doc.styles["Caption"].font.bold = True
    doc.styles["Caption"].font.italic = False


def _row_flag(row: Any, tag: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    flag = OxmlElement(tag)
    flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(flag)


def _add_table(doc: Any, table: _Table) -> None:
    """A table with fixed column widths that fit the text width, rows that never split over two pages,
    and a header row that repeats on each page."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Emu, Pt

    width = max((len(r) for r in table.rows), default=0)
    if not width:
        return
    if table.caption:
        caption = doc.add_paragraph(table.caption, style="Caption")
        caption.paragraph_format.keep_with_next = True
    widths, size = column_widths([[text for text, _ in row] for row in table.rows])
    grid = doc.add_table(rows=0, cols=width)
    grid.style = "Table Grid"
    grid.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    grid._tbl.tblPr.append(layout)
    emus = [Emu(int(w * 360_000)) for w in widths]  # rounded down, so the sum stays within the text width
    for column, emu in zip(grid.columns, emus, strict=True):
        column.width = emu
    for r_index, row in enumerate(table.rows):
        added = grid.add_row()
        _row_flag(added, "w:cantSplit")
        for c_index, cell in enumerate(added.cells):
            cell.width = emus[c_index]
            if c_index >= len(row):
                continue
            text, header = row[c_index]
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            run = paragraph.add_run(text)
            run.bold = header
            run.font.size = Pt(size)
        if r_index == 0 and all(header for _, header in row):
            _row_flag(added, "w:tblHeader")


def html_to_docx(html: str, *, lang: str, title: str) -> bytes:
    """DOCX bytes of a rendered report page: A4, real heading styles and tables that fit the page."""
    from docx import Document

    parser = _Collector()
    parser.feed(html)
    parser.close()
    doc = Document()
    _page_setup(doc)
    doc.core_properties.title = title
    doc.core_properties.language = lang
    for item in parser.items:
        if item[0] == "image":
            _add_picture(doc, item[1], item[2])
        elif item[0] == "block":
            _, style, text = item
            if style == "Title":
                doc.add_heading(text, level=0)
            elif style.startswith("Heading"):
                doc.add_heading(text, level=int(style.split()[-1]))
            else:
                doc.add_paragraph(text, style=style)
        else:
            _add_table(doc, item[1])
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
