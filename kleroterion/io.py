"""Reading tables users hand us: CSV (UTF-8, BOM, Windows-1252; ',' or ';'), XLSX, Parquet.

Every cell is read as text; the cores parse and validate. Problems become ``InputError``s that name
the file and what to do.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pandas as pd

from kleroterion.errors import InputError, Problem

ENCODINGS = ("utf-8-sig", "cp1252")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _decode(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError(
        str(path), [Problem("cannot decode the file as UTF-8 or Windows-1252")], hint="save the file as CSV UTF-8"
    )


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV, XLSX or Parquet file with every cell as a string ('' for empty).

    The frame's index is the file row number of each record (the header is row 1), so messages can
    name rows as the user sees them in a spreadsheet; blank lines are skipped.
    """
    if not path.is_file():
        raise InputError(str(path), [Problem("file not found")], hint="check the path")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype=str, keep_default_na=False)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path).astype("string").fillna("")
        else:
            frame = _read_csv(path)
    except InputError:
        raise
    except (ValueError, OSError, KeyError) as exc:
        raise InputError(
            str(path), [Problem(f"cannot read the file: {exc}")], hint="export it again as CSV, XLSX or Parquet"
        ) from exc
    if suffix in (".xlsx", ".xlsm", ".parquet"):
        frame.index = range(2, len(frame) + 2)
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
    text, _encoding = _decode(path)
    if not text.strip():
        raise InputError(str(path), [Problem("the file is empty")], hint="export the data again")
    first = text.splitlines()[0]
    separator = ";" if first.count(";") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=separator))
    header = rows[0]
    numbered = [(i, r) for i, r in enumerate(rows[1:], start=2) if any(cell.strip() for cell in r)]
    body, index = [r for _, r in numbered], [i for i, _ in numbered]
    problems = [
        _cell_count_problem(i, r, header, separator)
        for i, r in enumerate(rows[1:], start=2)
        if any(cell.strip() for cell in r) and len(r) != len(header)
    ]
    if problems:
        raise InputError(str(path), problems, hint=f"check the separator ('{separator}') and quoting of these rows")
    return pd.DataFrame(body, columns=header, index=index, dtype="string").fillna("")


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
