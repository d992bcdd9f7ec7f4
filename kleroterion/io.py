"""Reading tables users hand us: CSV (UTF-8, BOM, Windows-1252; ',' or ';'), XLSX, Parquet; and an
XLSX poll instrument (``read_instrument_workbook``).

Every cell is read as text; the cores parse and validate. Problems become ``InputError``s that name
the file and what to do.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from kleroterion.errors import ROW_LIMIT, InputError, Problem

ENCODINGS = ("utf-8-sig", "cp1252")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_spss(path: Path) -> pd.DataFrame:
    """An SPSS ``.sav``/``.zsav`` export (pyreadstat) as strings: the stored codes, not their value
    labels (so declared missing codes such as 9 or 99 stay visible to the instrument), whole numbers
    without a decimal point, system-missing as ''."""
    import pyreadstat  # lazy: only SPSS files need it

    try:
        data, _ = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=True)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        raise ValueError(f"not a readable SPSS file ({exc})") from exc

    def text(value: object) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    return pd.DataFrame({column: [text(v) for v in data[column]] for column in data.columns}, dtype=object)


@dataclass(frozen=True)
class SpssMetadata:
    """What an SPSS file says about its codes: value labels per column (code text -> label) and
    user-missing ranges per column (``(low, high)``, a single code as ``(c, c)``)."""

    value_labels: dict[str, dict[str, str]]
    user_missing: dict[str, tuple[tuple[float, float], ...]]


def read_spss_metadata(path: Path) -> SpssMetadata | None:
    """The value labels and user-missing codes of a ``.sav``/``.zsav`` file (None for other files)."""
    if path.suffix.lower() not in (".sav", ".zsav"):
        return None
    import pyreadstat  # lazy: only SPSS files need it

    try:
        _, meta = pyreadstat.read_sav(str(path), metadataonly=True, user_missing=True)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        raise InputError(str(path), [Problem(f"not a readable SPSS file ({exc})")], hint="export it again") from exc

    def code(value: object) -> str:
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()

    labels = {
        str(col): {code(v): str(label) for v, label in mapping.items()}
        for col, mapping in (meta.variable_value_labels or {}).items()
    }
    missing: dict[str, tuple[tuple[float, float], ...]] = {}
    for col, ranges in (meta.missing_ranges or {}).items():
        bounds = [(r.get("lo"), r.get("hi")) for r in ranges if isinstance(r, dict)]
        missing[str(col)] = tuple((float(lo), float(hi)) for lo, hi in bounds if _is_number(lo) and _is_number(hi))
    return SpssMetadata(labels, {c: r for c, r in missing.items() if r})


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, XLSX, Parquet or SPSS (``.sav``) file with every cell as a string ('' for empty).

    The frame's index is the file row number of each record (the header is row 1), so messages can
    name rows as the user sees them in a spreadsheet; blank lines are skipped. For SPSS files it is
    the case number (from 1).
    """
    if not path.is_file():
        raise InputError(str(path), [Problem("file not found")], hint="check the path")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path).astype("string").fillna("")
        elif suffix in (".sav", ".zsav"):
            frame = _read_spss(path)
        else:
            frame = _read_csv(path)
    except InputError:
        raise
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:  # a damaged XLSX is a bad zip
        raise InputError(
            str(path),
            [Problem(f"cannot read the file: {exc}")],
            hint="export it again as CSV, XLSX, Parquet or SPSS .sav",
        ) from exc
    if suffix in (".xlsx", ".xlsm", ".parquet"):
        frame.index = range(2, len(frame) + 2)
    elif suffix in (".sav", ".zsav"):
        frame.index = range(1, len(frame) + 1)  # SPSS shows case numbers from 1: messages name those
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = [c for c in frame.columns if list(frame.columns).count(c) > 1]
    if duplicated:
        raise InputError(
            str(path),
            [Problem("column appears more than once", column=c) for c in set(duplicated)],
            hint="give every column a unique name",
        )
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    layout = scan_csv(path)
    (frame,) = _iter_csv_exact(layout, chunk_rows=1 << 62)
    return frame.astype("string")


def _cell_count_problem(row: int, cells: list[str], header: list[str], separator: str) -> Problem:
    """A row with too few or too many cells: names the first missing column (or the first extra cell)
    and gives the row's text as its value."""
    if len(cells) < len(header):
        column = header[len(cells)]
        message = f"has {len(cells)} cells, the header has {len(header)}: no cell for this column"
    else:
        column = f"(extra cell {len(header) + 1})"
        message = f"has {len(cells)} cells, the header has {len(header)}: cells beyond the last column"
    return Problem(message, row=row, column=column, value=separator.join(cells)[:80])


# -- streaming CSV ---------------------------------------------------------------------------------
#: Cells of streamed tables are Arrow-backed strings ('' for empty).
TEXT = pd.StringDtype("pyarrow")
BLOCK = 1 << 22


class IrregularCsvError(Exception):
    """The fast reader met a row it cannot number exactly (blank line, wrong cell count, a line break
    inside a cell); read the file again with ``exact=True``. Never shown to a user."""


@dataclass(frozen=True)
class CsvLayout:
    """What one pass over a CSV's bytes tells: encoding, separator, header, line count and digest."""

    path: Path
    encoding: str
    separator: str
    header: list[str]
    lines: int
    sha256: str


def scan_csv(path: Path) -> CsvLayout:
    """Read a CSV once, in blocks: its encoding (UTF-8 or Windows-1252), separator, header, the number
    of lines and its SHA-256. The file is never held whole in memory."""
    if not path.is_file():
        raise InputError(str(path), [Problem("file not found")], hint="check the path")
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8-sig")()
    encoding = "utf-8-sig"
    lines = 0
    content = False
    first = b""
    last = b"\n"
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
            lines += block.count(b"\n")
            content = content or bool(block.strip())
            if len(first) < BLOCK and b"\n" not in first:
                first += block
            last = block
            if encoding == "utf-8-sig":
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    encoding = "cp1252"
        if encoding == "utf-8-sig":
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                encoding = "cp1252"
    if encoding == "cp1252":
        _check_cp1252(path)
    if not content:
        raise InputError(str(path), [Problem("the file is empty")], hint="export the data again")
    trailing = len(last) - len(last.rstrip(b"\r\n"))  # empty lines at the very end are not rows
    lines = lines + 1 - last[len(last) - trailing :].count(b"\n")
    text = first.split(b"\n", 1)[0].decode(encoding, errors="replace")
    separator = ";" if text.count(";") > text.count(",") else ","
    header = [c.strip() for c in next(csv.reader([text.rstrip("\r")], delimiter=separator))]
    _check_header(path, header)
    return CsvLayout(path, encoding, separator, header, lines, digest.hexdigest())


def _check_cp1252(path: Path) -> None:
    decoder = codecs.getincrementaldecoder("cp1252")()
    with path.open("rb") as handle:
        try:
            for block in iter(lambda: handle.read(BLOCK), b""):
                decoder.decode(block)
        except UnicodeDecodeError:
            raise InputError(
                str(path),
                [Problem("cannot decode the file as UTF-8 or Windows-1252")],
                hint="save the file as CSV UTF-8",
            ) from None


def _check_header(path: Path, header: list[str]) -> None:
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise InputError(
            str(path),
            [Problem("column appears more than once", column=c) for c in duplicated],
            hint="give every column a unique name",
        )


def iter_csv(layout: CsvLayout, *, chunk_rows: int = 500_000, exact: bool = False) -> Iterator[pd.DataFrame]:
    """The records of a scanned CSV in chunks of text cells, each indexed by file row number.

    Rows whose cells are all blank are skipped (their numbers too). The fast path (Arrow's streaming
    reader) raises ``IrregularCsvError`` at the end when the file had rows it could not number (blank
    lines, wrong cell counts, line breaks inside cells); ``exact=True`` reads with Python's csv module
    instead, numbering every record as a spreadsheet does and reporting every row with a wrong number
    of cells before yielding anything.
    """
    if exact:
        yield from _iter_csv_exact(layout, chunk_rows=chunk_rows)
        return
    irregular: list[int] = []

    def note(_row: object) -> str:
        irregular.append(1)
        return "skip"

    names = [f"c{i}" for i in range(len(layout.header))]
    try:
        reader = pacsv.open_csv(
            layout.path,
            read_options=pacsv.ReadOptions(
                encoding="utf8" if layout.encoding == "utf-8-sig" else layout.encoding,
                column_names=names,
                skip_rows=1,
                block_size=BLOCK,
            ),
            parse_options=pacsv.ParseOptions(delimiter=layout.separator, invalid_row_handler=note),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:  # e.g. a header longer than a block
        raise IrregularCsvError(str(layout.path)) from exc
    row = 2
    pending: list[pa.RecordBatch] = []
    size = 0
    batches = iter(reader)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            break
        except pa.ArrowInvalid as exc:  # e.g. an unclosed quote: the exact reader names the row
            raise IrregularCsvError(str(layout.path)) from exc
        pending.append(batch)
        size += batch.num_rows
        if size >= chunk_rows:
            yield _frame(pending, layout.header, row)
            row, pending, size = row + size, [], 0
    if pending or row == 2:
        yield _frame(pending, layout.header, row, schema=reader.schema)
    if irregular or row + size - 1 != layout.lines:
        raise IrregularCsvError(str(layout.path))


def _frame(
    batches: list[pa.RecordBatch], header: list[str], first_row: int, schema: pa.Schema | None = None
) -> pd.DataFrame:
    table = pa.Table.from_batches(batches, schema=schema if not batches else None)
    frame = table.to_pandas(types_mapper={pa.string(): TEXT}.get)
    frame.columns = header
    frame.index = pd.RangeIndex(first_row, first_row + len(frame))
    maybe = frame.index[frame.iloc[:, 0].str.strip() == ""] if len(frame.columns) else frame.index
    if len(maybe) == 0:
        return frame
    blank = (frame.loc[maybe].apply(lambda col: col.str.strip()) == "").all(axis=1)
    return frame.drop(index=blank.index[blank])


def _iter_csv_exact(layout: CsvLayout, *, chunk_rows: int) -> Iterator[pd.DataFrame]:
    width = len(layout.header)
    problems: list[Problem] = []
    more = 0
    for row, cells in _records(layout):
        if len(cells) != width:
            if len(problems) < ROW_LIMIT:
                problems.append(_cell_count_problem(row, cells, layout.header, layout.separator))
            else:
                more += 1
    if more:
        problems.append(Problem(f"{more:,} more rows with the wrong number of cells beyond those listed"))
    if problems:
        raise InputError(
            str(layout.path), problems, hint=f"check the separator ('{layout.separator}') and quoting of these rows"
        )
    body: list[list[str]] = []
    index: list[int] = []
    yielded = False
    for row, cells in _records(layout):
        body.append(cells)
        index.append(row)
        if len(body) >= chunk_rows:
            yield pd.DataFrame(body, columns=layout.header, index=index, dtype=TEXT)
            body, index, yielded = [], [], True
    if body or not yielded:
        yield pd.DataFrame(body, columns=layout.header, index=index, dtype=TEXT)


def _records(layout: CsvLayout) -> Iterator[tuple[int, list[str]]]:
    """(file row number, cells) of every non-blank record after the header."""
    with layout.path.open(encoding=layout.encoding, newline="") as handle:
        records = csv.reader(handle, delimiter=layout.separator)
        try:
            next(records, None)
            for row, cells in enumerate(records, start=2):
                if any(cell.strip() for cell in cells):
                    yield row, cells
        except csv.Error as exc:
            raise InputError(
                str(layout.path),
                [Problem(f"cannot read the file: {exc}", row=records.line_num)],
                hint="export it again as CSV, XLSX, Parquet or SPSS .sav",
            ) from exc


#: Columns of an XLSX instrument (see ``read_instrument_workbook``); the first two of each are required.
INSTRUMENT_SHEETS = {
    "items": (
        "code",
        "kind",
        "text",
        "text_en",
        "min",
        "max",
        "options",
        "correct",
        "dont_know",
        "missing",
        "reverse",
        "section",
    ),
    "waves": ("code", "kind", "label"),
}
WORKBOOK_HINT = "fix the workbook (sheets 'items' and 'waves') and define the poll again"
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "ja", "waar"), ("", "0", "false", "no", "nee", "onwaar")


def read_instrument_workbook(path: Path) -> tuple[dict[str, Any], dict[str, list[int]], list[Problem]]:
    """An instrument from an XLSX workbook, as the dict a TOML instrument parses to; the sheet row of
    each entry of ``items`` and ``waves`` (blank rows and rows with a bad cell are left out), for
    messages; and the bad cells, so the caller reports them with the instrument's own problems.

    Sheet ``items``: one row per item with ``code, kind`` and optionally ``text, text_en, min, max, options``
    (``a=label; b=label``, in order), ``correct``, ``dont_know`` and ``missing`` (codes separated by
    ``;``), ``reverse`` (yes/no), ``section``. Sheet ``waves``: ``code, kind`` and optionally ``label``.
    The instrument's name is the file name without extension. Bad cells are reported by sheet, row and
    column. A missing sheet or column is raised at once.
    """
    if not path.is_file():
        raise InputError(str(path), [Problem("file not found")], hint="check the path")
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
    except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
        raise InputError(
            path.name, [Problem(f"not a readable XLSX workbook: {exc}")], hint="save it again as .xlsx"
        ) from exc
    problems: list[Problem] = []
    cell_problems: list[Problem] = []
    data: dict[str, Any] = {"name": path.stem}
    rows: dict[str, list[int]] = {}
    for sheet, columns in INSTRUMENT_SHEETS.items():
        if sheet not in sheets:
            problems.append(Problem(f"missing sheet '{sheet}' (sheets: {', '.join(map(str, sheets))})"))
            continue
        frame = sheets[sheet].rename(columns=lambda c: str(c).strip().lower())
        missing = [c for c in columns[:2] if c not in frame.columns]
        unknown = [c for c in frame.columns if c not in columns]
        problems += [Problem(f"sheet '{sheet}': missing column", column=c) for c in missing]
        problems += [Problem(f"sheet '{sheet}': unknown column (use {', '.join(columns)})", column=c) for c in unknown]
        if missing or unknown:
            continue
        cells = [{str(k): str(v).strip() for k, v in r.items()} for r in frame.to_dict("records")]
        rows[sheet], data[sheet] = [], []
        for row, record in enumerate(cells, start=2):
            if any(record.values()):
                bad: list[Problem] = []
                entry = _instrument_row(sheet, row, record, bad)
                cell_problems += bad
                if not bad:
                    rows[sheet].append(row)
                    data[sheet].append(entry)
    if problems:
        raise InputError(path.name, problems, hint=WORKBOOK_HINT)
    return data, rows, cell_problems


def _instrument_row(sheet: str, row: int, cells: dict[str, str], problems: list[Problem]) -> dict[str, Any]:
    """One row of the ``items`` or ``waves`` sheet as a TOML-shaped table; bad cells go to ``problems``."""
    out: dict[str, Any] = {k: v for k, v in cells.items() if v and k not in ("min", "max", "options", "reverse")}
    for key in ("dont_know", "missing"):
        if key in out:
            out[key] = [code.strip() for code in out[key].split(";") if code.strip()]
    for key in ("min", "max"):
        if cells.get(key):
            try:
                out[key] = float(cells[key].replace(",", "."))
            except ValueError:
                problems.append(Problem(f"sheet '{sheet}': not a number", row=row, column=key, value=cells[key]))
    if cells.get("options"):
        pairs = [part.split("=", 1) for part in cells["options"].split(";") if part.strip()]
        if any(len(pair) != 2 or not pair[0].strip() for pair in pairs):
            message = f"sheet '{sheet}': options must read 'a=label; b=label'"
            problems.append(Problem(message, row=row, column="options", value=cells["options"]))
        out["options"] = {pair[0].strip(): pair[-1].strip() for pair in pairs}
    flag = cells.get("reverse", "").lower()
    if flag not in TRUE_WORDS + FALSE_WORDS:
        problems.append(Problem(f"sheet '{sheet}': use yes or no", row=row, column="reverse", value=cells["reverse"]))
    if sheet == "items":
        out["reverse"] = flag in TRUE_WORDS
    return out
