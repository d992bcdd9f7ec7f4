"""Writing the lists an organiser needs (letters, panel, groups, control group) to CSV or XLSX.

One writer for every export, so every list gets the same safety:

- **Format by suffix.** ``.csv`` (``;``-separated, for Dutch Excel) or ``.xlsx``; any other suffix,
  or a folder that does not exist, is a ``KleroError`` before anything is written.
- **Encoding.** CSV defaults to Windows-1252 (``cp1252``), what Dutch Excel opens without an import
  dialog. A character Windows-1252 cannot hold (``Ł``, ``ő``, ``ễ``, emoji) does not crash the export:
  it is written as its closest Windows-1252 letter (``Ł`` -> ``L``, ``ễ`` -> ``ê``; ``?`` when there is
  none) and the result names every cell changed, so the command can tell the user to rerun with
  ``--encoding utf-8`` (UTF-8 with a byte-order mark, which Excel also recognises) to keep them exact.
- **Formula injection.** A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is prefixed with ``'`` (the OWASP CSV-injection rule), in CSV and XLSX alike, so a sign-up
  named ``=HYPERLINK(...)`` stays text.
- **Atomic, owner-only.** The file is written to a temporary file in the same folder, created with
  mode 0600, and renamed over the target (``os.replace``): a failure leaves no half-written list.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kleroterion.errors import KleroError
from kleroterion.store.core import StoreCore

FORMATS = {".csv": "csv", ".xlsx": "xlsx"}
ENCODINGS = {"cp1252": "cp1252", "windows-1252": "cp1252", "utf-8": "utf-8-sig", "utf8": "utf-8-sig"}
DEFAULT_ENCODING = "cp1252"
#: Leading characters a spreadsheet may read as the start of a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Letters without a Unicode decomposition and their usual transliteration.
UNDECOMPOSED = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ħ": "H", "ħ": "h", "ŉ": "n"}


@dataclass(frozen=True)
class ExportResult:
    """What was written: the file, its format and encoding, the rows, and every cell changed to fit
    Windows-1252 as ``(row, column, original value)`` (row 1 = the first data row)."""

    path: Path
    format: str
    encoding: str
    rows: int
    neutralised: int = 0
    approximated: list[tuple[int, str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def export_format(path: Path, *, encoding: str = DEFAULT_ENCODING) -> tuple[str, str]:
    """(format, Python codec) for ``path``; a ``KleroError`` naming what to change when either is wrong."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise KleroError(
            f"Cannot write {path.name}: use a file name ending in .csv or .xlsx.", code="bad_suffix", path=str(path)
        )
    if not path.parent.is_dir():
        raise KleroError(
            f"Cannot write {path}: the folder {path.parent} does not exist; create it or choose another.",
            code="bad_path",
            path=str(path),
        )
    codec = ENCODINGS.get(encoding.strip().lower())
    if codec is None:
        raise KleroError(f"Unknown encoding {encoding!r}: use cp1252 (the default) or utf-8.", code="bad_encoding")
    return fmt, codec


def neutralise(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet could read it as a formula (OWASP rule)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def restore(value: str) -> str:
    """The value ``neutralise`` was given: a leading ``'`` before a formula character taken off (for files
    the product writes and reads back itself, e.g. the publish kit)."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def restore_frame(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as it was before ``neutralise_frame`` (text cells and column names)."""
    out = table.rename(columns=lambda c: restore(c) if isinstance(c, str) else c)
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: restore(v) if isinstance(v, str) else v)
    return out


def neutralise_frame(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell and column name that a spreadsheet could read as a formula
    neutralised (``neutralise``); numbers stay numbers. For every CSV the product writes beyond the
    organiser's lists (analysis tables, quota files, ``klero select`` output, lottery lists)."""
    out = table.rename(columns=lambda c: neutralise(c) if isinstance(c, str) else c)
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    return out


def closest_cp1252(value: str) -> str:
    """``value`` with every character Windows-1252 cannot hold replaced by its closest one that it can:
    the character itself composed (NFC), else its base letter with the first accent Windows-1252 has or
    without accents (NFKD; ``Ł`` and a few others by ``UNDECOMPOSED``), else ``?``."""
    out = []
    for char in unicodedata.normalize("NFC", value):
        if _fits(char):
            out.append(char)
            continue
        if char in UNDECOMPOSED:
            out.append(UNDECOMPOSED[char])
            continue
        parts = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in parts if not unicodedata.combining(c))
        accented = unicodedata.normalize("NFC", parts[:2]) if len(parts) > 2 else ""
        if accented and _fits(accented):
            out.append(accented)  # e.g. ễ -> ê: keep the accent Windows-1252 has
        elif base and _fits(base):
            out.append(base)
        else:
            out.append("?")
    return "".join(out)


def _fits(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _cell(value: Any) -> Any:
    """A frame value as a cell: empty for missing, numbers kept, text as ``str``."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    return str(value)


def prepare_cells(table: pd.DataFrame, *, cp1252: bool) -> tuple[list[list[Any]], int, list[tuple[int, str, str]]]:
    """The table's cells, neutralised against formulas and (``cp1252``) fitted to Windows-1252:
    (rows, neutralised cell count, approximated cells)."""
    rows: list[list[Any]] = []
    neutralised = 0
    approximated: list[tuple[int, str, str]] = []
    columns = [str(c) for c in table.columns]
    for number, record in enumerate(table.itertuples(index=False, name=None), start=1):
        row: list[Any] = []
        for column, raw in zip(columns, record, strict=True):
            value = _cell(raw)
            if isinstance(value, str):
                if cp1252 and not _fits(value):
                    approximated.append((number, column, value))
                    value = closest_cp1252(value)
                safe = neutralise(value)
                neutralised += safe != value
                value = safe
            row.append(value)
        rows.append(row)
    return rows, neutralised, approximated


def write_table(table: pd.DataFrame, path: Path, *, encoding: str = DEFAULT_ENCODING) -> ExportResult:
    """Write ``table`` (header = its columns) to ``path`` as CSV or XLSX; see the module docstring."""
    fmt, codec = export_format(path, encoding=encoding)
    header = [neutralise(str(c)) for c in table.columns]
    if fmt == "csv":
        rows, neutralised, approximated = prepare_cells(table, cp1252=codec == "cp1252")
        text = io.StringIO(newline="")
        writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        payload = text.getvalue().encode(codec)
    else:
        rows, neutralised, approximated = prepare_cells(table, cp1252=False)
        payload = _xlsx_bytes(header, rows)
    _write_atomically(path, payload)
    return ExportResult(
        path=path,
        format=fmt,
        encoding=("utf-8" if codec.startswith("utf") else "cp1252") if fmt == "csv" else "xlsx",
        rows=len(rows),
        neutralised=neutralised,
        approximated=approximated,
    )


def _xlsx_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    """One worksheet; every text cell stored as a string (never a formula)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("lijst")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write_atomically(path: Path, payload: bytes) -> None:
    """Write to a 0600 temporary file in ``path``'s folder, then rename it over ``path``; an operating
    system refusal (no permission, the file open in Excel, a folder of that name) is a ``KleroError``."""
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise KleroError(
            f"Cannot write in the folder {path.parent}: {exc.strerror}.", code="write_failed", path=str(path)
        ) from exc
    try:
        with os.fdopen(handle, "wb") as sink:
            sink.write(payload)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise KleroError(
            f"Cannot write {path}: {exc.strerror}. Is it open in another program (close it there), or is it a "
            "folder? Nothing was changed.",
            code="write_failed",
            path=str(path),
        ) from exc
    finally:
        Path(temporary).unlink(missing_ok=True)


def record_export(store: StoreCore, kind: str, result: ExportResult) -> None:
    """One audit row for an export: kind, file name, format, encoding and counts; never its contents."""
    store.audit(
        f"export.{kind}",
        parameters={"file": result.path.name, "format": result.format, "encoding": result.encoding},
        result={
            "rows": result.rows,
            "cells_neutralised": result.neutralised,
            "cells_approximated": len(result.approximated),
        },
    )


def describe(result: ExportResult, *, what: str) -> list[str]:
    """Lines for the terminal: what was written, and any cells changed to fit Windows-1252."""
    counts = ", ".join(f"{n} {label}" for label, n in result.counts.items())
    lines = [f"Wrote {result.rows:,} {what}{f' ({counts})' if counts else ''} to {result.path} ({result.encoding})."]
    if result.neutralised:
        lines.append(
            f"  {result.neutralised} cell(s) began with =, +, -, @ or a tab and got a leading ' so a "
            "spreadsheet shows them as text."
        )
    if result.approximated:
        row, column, value = result.approximated[0]
        lines.append(
            f"  {len(result.approximated)} cell(s) hold characters Windows-1252 cannot (first: row {row}, "
            f"{column}, {value!r}); written as the closest letters. Use --encoding utf-8 to keep them exactly."
        )
    return lines
