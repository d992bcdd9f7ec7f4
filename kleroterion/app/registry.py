"""``klero registry``: import the registry (BRP) extract; who is eligible; population shares.

The use cases take a workspace, do their work in one store transaction and return frozen results.
The arithmetic on YYYYMMDD birth dates lives in ``sortition.registry`` (pure); this module reads the
store and the files and hands them to it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.example import check_synthetic_bsns
from kleroterion.io import IrregularCsvError, iter_csv, read_table, scan_csv, sha256_file
from kleroterion.store.registry import RegistryImport
from kleroterion.store.residents import ResidentColumns
from kleroterion.workspace import Workspace
from sortition.letters import UNKNOWN_STRATUM
from sortition.progress import Cancel, Progress, Tracker
from sortition.registry import (
    RegistryValidator,
    ages_on,
    assign_areas,
    latest_birth,
    map_columns,
    population_shares,
    validate_areas,
)

#: Residents read and stored per chunk of this many rows.
CHUNK_ROWS = 250_000
IMPORT_STAGE = "registry import"
WHOLE_FILE_SUFFIXES = (".xlsx", ".xlsm", ".parquet")


@dataclass(frozen=True)
class AreaPlacement:
    """What an areas table (postcode, huisnummer, wijk[, buurt]) did to the imported residents."""

    areas_file: str
    unplaced_addresses: tuple[str, ...]  # address keys the table does not cover (wijk unknown)
    wijk_changed: int  # residents whose wijk in the extract differed from the table's


@dataclass(frozen=True)
class ImportResult:
    """A stored registry extract: residents, restricted ones, the file's SHA-256, addresses."""

    residents: int
    restricted: int
    sha256: str
    addresses: int
    areas: AreaPlacement | None = None


def import_registry(
    ws: Workspace,
    path: Path,
    *,
    mapping: Path | None = None,
    areas: Path | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> ImportResult:
    """Validate and store a registry extract; nothing is stored when any cell is bad (or when cancelled).

    A CSV is read and stored in chunks of ``CHUNK_ROWS`` (a national extract never sits whole in
    memory), all in one transaction; XLSX and Parquet are read whole. With ``areas`` (a postcode,
    huisnummer, wijk[, buurt] table) the wijk of every resident comes from that table; addresses it
    does not cover are reported (and stored with an unknown wijk). The residents and the areas' audit
    record commit together.

    ``progress`` (``sortition.progress``) hears the rows read after each chunk, stage
    ``IMPORT_STAGE``, out of the file's line count (a CSV) and a final event with the rows stored;
    ``cancel`` is asked between chunks.
    """
    tracker = Tracker(progress, cancel)
    colmap = read_mapping(mapping)
    area_table = validate_areas(read_table(areas), source=areas.name) if areas is not None else None
    digest, expected, chunks = _chunk_source(path)
    unplaced: set[str] = set()
    changed = [0]

    def validated(exact: bool) -> Iterator[pd.DataFrame]:
        unplaced.clear()
        changed[0] = 0
        validator = RegistryValidator(source=path.name, reference_date=ws.reference_date, key=ws.key, mapping=colmap)
        stage = f"{IMPORT_STAGE} (numbering every row)" if exact else IMPORT_STAGE
        read = 0
        tracker.step(stage, read, expected, path.name)
        for frame in chunks(exact):
            read += len(frame)
            tracker.step(stage, read, expected, f"{read:,} rows read")
            if ws.is_example:
                _check_synthetic(ws, frame, colmap, source=path.name)
            residents = validator.check(frame)
            if validator.ok:
                if area_table is not None:
                    assignment = assign_areas(residents, area_table)
                    residents = assignment.residents
                    unplaced.update(assignment.unplaced)
                    changed[0] += assignment.changed
                yield residents
        validator.finish()

    placement: AreaPlacement | None = None
    info: RegistryImport | None = None
    stored = 0
    for exact in (False, True):  # irregular rows (blank lines, quoted breaks): read again, numbering each
        try:
            with ws.store.transaction():
                ws.store.save_registry_chunks(
                    validated(exact=exact),
                    source=path.name,
                    sha256=digest,
                    reference_date=ws.reference_date.isoformat(),
                    legal_basis=ws.settings.legal_basis,
                )
                if areas is not None:
                    placement = AreaPlacement(areas.name, tuple(sorted(unplaced)), changed[0])
                    ws.store.audit(
                        "registry.areas",
                        parameters={"source": areas.name},
                        input_hashes={areas.name: sha256_file(areas)},
                        result={"unplaced_addresses": list(placement.unplaced_addresses), "wijk_changed": changed[0]},
                    )
                info = ws.store.registry_import()
                stored = info.row_count if info is not None else 0
                tracker.step(IMPORT_STAGE, stored, stored, f"{stored:,} residents stored")  # cancelled: rolled back
            break
        except IrregularCsvError:
            if exact:
                raise
    return ImportResult(
        residents=stored,
        restricted=info.restricted_count if info is not None else 0,
        sha256=digest,
        addresses=len(ws.store.resident_columns().address_keys),
        areas=placement,
    )


def _chunk_source(path: Path) -> tuple[str, int, Callable[[bool], Iterator[pd.DataFrame]]]:
    """(SHA-256, rows expected, chunks(exact)) of an extract: a CSV in chunks of ``CHUNK_ROWS`` (``exact``
    numbers every record, for irregular files), XLSX and Parquet whole."""
    if path.suffix.lower() in WHOLE_FILE_SUFFIXES:
        frame = read_table(path)

        def whole(exact: bool) -> Iterator[pd.DataFrame]:
            yield frame

        return sha256_file(path), len(frame), whole
    layout = scan_csv(path)

    def chunks(exact: bool) -> Iterator[pd.DataFrame]:
        return iter_csv(layout, chunk_rows=CHUNK_ROWS, exact=exact)

    return layout.sha256, max(layout.lines - 1, 0), chunks  # at least the rows: a quoted cell may span lines


def _check_synthetic(ws: Workspace, frame: pd.DataFrame, colmap: dict[str, str] | None, *, source: str) -> None:
    """An example workspace takes only its example's synthetic extract (never a real one)."""
    mapped, _ = map_columns(list(frame.columns), colmap)
    ids = [column for column, canonical in mapped.items() if canonical == "registry_id"]
    if ids:  # without an id column the validator names the missing column
        check_synthetic_bsns(ws.settings.example, frame[ids[0]], source=source)


def read_mapping(mapping: Path | None) -> dict[str, str] | None:
    """A TOML file mapping the extract's column names to ours (``bsn_nummer = "registry_id"``)."""
    if mapping is None:
        return None
    try:
        return {str(k): str(v) for k, v in tomllib.loads(mapping.read_text(encoding="utf-8")).items()}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(
            str(mapping),
            [Problem(f"not a readable TOML mapping: {exc}")],
            hint='write lines like  bsn_nummer = "registry_id"',
        ) from exc


def require_registry(ws: Workspace) -> None:
    """Refuse work that needs residents before an extract is imported."""
    if ws.store.registry_import() is None:
        raise KleroError("No registry extract yet: run `klero registry import FILE` first.", code="no_registry")


def eligible_residents(ws: Workspace, *, min_age: int) -> tuple[pd.DataFrame, int]:
    """Residents of ``min_age`` or older on the reference date; restricted ones excluded if so set."""
    residents = ws.store.residents()
    residents["age"] = ages_on(residents["birth_date"], ws.reference_date)
    eligible = residents[residents["age"] >= min_age]
    excluded = 0
    if ws.settings.exclude_restricted:
        excluded = int(eligible["restricted"].sum())
        eligible = eligible[eligible["restricted"] == 0]
    return eligible, excluded


def eligible_mask(ws: Workspace, columns: ResidentColumns, *, min_age: int) -> tuple[np.ndarray, int]:
    """``eligible_residents`` on compact columns: (mask, restricted residents excluded)."""
    old_enough = columns.birth <= latest_birth(ws.reference_date, min_age)
    if not ws.settings.exclude_restricted:
        return old_enough, 0
    return old_enough & ~columns.restricted, int((old_enough & columns.restricted).sum())


def strata(columns: ResidentColumns, stratify_by: str | None) -> tuple[np.ndarray, list[str]]:
    """Stratum codes of every resident and their labels; code -1 (an empty cell) is ``(onbekend)``."""
    if stratify_by is None:
        return np.zeros(len(columns), dtype=np.int32), ["all"]
    codes, names = columns.categories[stratify_by]
    return codes, [*names, UNKNOWN_STRATUM]


def registry_shares(ws: Workspace, *, min_age: int = 16) -> dict[str, dict[str, float]]:
    """Population shares of gender, age band and wijk among eligible residents (from the BRP extract);
    see ``sortition.registry.population_shares``."""
    columns = ws.store.resident_columns()
    mask, _ = eligible_mask(ws, columns, min_age=min_age)
    masked = {name: (columns.categories[name][0][mask], columns.categories[name][1]) for name in ("gender", "wijk")}
    return population_shares(columns.birth[mask], masked, on=ws.reference_date, unknown=UNKNOWN_STRATUM)
