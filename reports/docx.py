"""HTML report -> DOCX (python-docx): the rendered HTML is the single source; headings stay headings,
tables stay tables (with a repeating header row), lists stay lists.

Only the tags our templates use are mapped: h1-h3, p, blockquote, li, table/caption/tr/th/td, code, strong,
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


def html_to_docx(html: str, *, lang: str, title: str) -> bytes:
    """DOCX bytes of a rendered report page, with real heading styles and tables."""
    from docx import Document
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    parser = _Collector()
    parser.feed(html)
    parser.close()
    doc = Document()
    doc.core_properties.title = title
    doc.core_properties.language = lang
    for item in parser.items:
        if item[0] == "image":
            _add_picture(doc, item[1], item[2])
            continue
        if item[0] == "block":
            _, style, text = item
            if style == "Title":
                doc.add_heading(text, level=0)
            elif style.startswith("Heading"):
                doc.add_heading(text, level=int(style.split()[-1]))
            else:
                doc.add_paragraph(text, style=style)
            continue
        table: _Table = item[1]
        if table.caption:
            doc.add_paragraph(table.caption, style="Caption")
        width = max((len(r) for r in table.rows), default=0)
        if not width:
            continue
        grid = doc.add_table(rows=0, cols=width)
        grid.style = "Table Grid"
        for r_index, row in enumerate(table.rows):
            cells = grid.add_row().cells
            for c_index, (text, header) in enumerate(row):
                run = cells[c_index].paragraphs[0].add_run(text)
                run.bold = header
            if r_index == 0 and all(header for _, header in row):
                tr_pr = grid.rows[0]._tr.get_or_add_trPr()
                flag = OxmlElement("w:tblHeader")
                flag.set(qn("w:val"), "true")
                tr_pr.append(flag)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
