"""``klero registry|letters|pool|quotas|panel``: the citizen lottery's edges around ``sortition``."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from kleroterion.commands.common import EncodingOption, WorkspaceOption, console, hint, open_workspace, progress_bars
from kleroterion.errors import InputError, KleroError, Problem, ProblemCollector
from kleroterion.example import check_synthetic_bsns
from kleroterion.exports import DEFAULT_ENCODING, ExportResult, describe, neutralise_frame
from kleroterion.io import IrregularCsvError, iter_csv, read_table, scan_csv, sha256_file
from kleroterion.lists import export_list
from kleroterion.pool_files import quotas_from_frame, read_shares
from kleroterion.seeds import generator
from kleroterion.store.residents import CATEGORIES, ResidentColumns
from kleroterion.workspace import Workspace
from sortition.letters import UNKNOWN_STRATUM, draw_letter_rows, make_codes
from sortition.pool import build_pool
from sortition.progress import Cancel, Progress, Tracker
from sortition.quotas import check_panel_size, check_quota_bounds, derive_quotas
from sortition.registry import (
    RegistryValidator,
    age_bands,
    ages_on,
    assign_areas,
    latest_birth,
    map_columns,
    validate_areas,
)

#: Residents read and stored per chunk of this many rows.
CHUNK_ROWS = 250_000
IMPORT_STAGE = "registry import"
WHOLE_FILE_SUFFIXES = (".xlsx", ".xlsm", ".parquet")


# -- actions -------------------------------------------------------------------------------------
def import_registry(
    ws: Workspace,
    path: Path,
    *,
    mapping: Path | None = None,
    areas: Path | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Validate and store a registry extract; nothing is stored when any cell is bad (or when cancelled).

    A CSV is read and stored in chunks of ``CHUNK_ROWS`` (a national extract never sits whole in
    memory), all in one transaction; XLSX and Parquet are read whole. With ``areas`` (a postcode,
    huisnummer, wijk[, buurt] table) the wijk of every resident comes from that table; addresses it
    does not cover are reported (and stored with an unknown wijk).

    ``progress`` (``sortition.progress``) hears the rows read after each chunk, stage
    ``IMPORT_STAGE``, out of the file's line count (a CSV) and a final event with the rows stored;
    ``cancel`` is asked between chunks.
    """
    tracker = Tracker(progress, cancel)
    colmap = _read_mapping(mapping)
    area_table = validate_areas(read_table(areas), source=areas.name) if areas is not None else None
    if path.suffix.lower() in WHOLE_FILE_SUFFIXES:
        frame = read_table(path)
        digest = sha256_file(path)
        expected = len(frame)

        def chunks(exact: bool) -> Iterator[pd.DataFrame]:
            yield frame
    else:
        layout = scan_csv(path)
        digest = layout.sha256
        expected = max(layout.lines - 1, 0)  # at least the rows: a quoted cell may span lines

        def chunks(exact: bool) -> Iterator[pd.DataFrame]:
            return iter_csv(layout, chunk_rows=CHUNK_ROWS, exact=exact)

    placed: dict[str, Any] = {"unplaced": set(), "changed": 0}

    def validated(exact: bool) -> Iterator[pd.DataFrame]:
        placed.update(unplaced=set(), changed=0)
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
                    placed["unplaced"].update(assignment.unplaced)
                    placed["changed"] += assignment.changed
                yield residents
        validator.finish()

    saving = {
        "source": path.name,
        "sha256": digest,
        "reference_date": ws.reference_date.isoformat(),
        "legal_basis": ws.settings.legal_basis,
    }
    try:
        ws.store.save_registry_chunks(validated(exact=False), **saving)
    except IrregularCsvError:  # blank lines or bad rows: read again, numbering every record exactly
        ws.store.save_registry_chunks(validated(exact=True), **saving)
    info = ws.store.registry_info() or {}
    stored = int(info.get("row_count", 0))
    tracker.step(IMPORT_STAGE, stored, stored, f"{stored:,} residents stored")
    extra: dict[str, Any] = {}
    if areas is not None:
        extra = {
            "areas_file": areas.name,
            "unplaced_addresses": sorted(placed["unplaced"]),
            "wijk_changed": placed["changed"],
        }
        ws.store.audit(
            "registry.areas",
            parameters={"source": areas.name},
            input_hashes={areas.name: sha256_file(areas)},
            result={k: v for k, v in extra.items() if k != "areas_file"},
        )
    return {
        "residents": stored,
        "restricted": int(info.get("restricted_count", 0)),
        "sha256": digest,
        "addresses": len(ws.store.resident_columns().address_keys),
        **extra,
    }


def _check_synthetic(ws: Workspace, frame: pd.DataFrame, colmap: dict[str, str] | None, *, source: str) -> None:
    """An example workspace takes only its example's synthetic extract (never a real one)."""
    mapped, _ = map_columns(list(frame.columns), colmap)
    ids = [column for column, canonical in mapped.items() if canonical == "registry_id"]
    if ids:  # without an id column the validator names the missing column
        check_synthetic_bsns(ws.settings.example, frame[ids[0]], source=source)


def _read_mapping(mapping: Path | None) -> dict[str, str] | None:
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


def draw_letters_action(
    ws: Workspace,
    *,
    count: int,
    seed: int | None = None,
    stratify_by: str | None = None,
    min_age: int = 16,
    oversample: dict[str, float] | None = None,
    code_seed: int | None = None,
    allocation: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Draw letters (stage 1). Invitation codes come from ``secrets`` so nobody can guess one;
    ``code_seed`` fixes them (tests); in a workspace of a shipped example both seeds are the example's.
    ``allocation`` gives the letters per stratum (a top-up planned from the sign-up model)."""
    if ws.store.registry_info() is None:
        raise KleroError("No registry extract yet: run `klero registry import FILE` first.", code="no_registry")
    if stratify_by is not None and stratify_by not in CATEGORIES:
        raise KleroError(
            f"Cannot allocate letters over {stratify_by!r}: use one of {', '.join(CATEGORIES)}.",
            code="bad_stratum_column",
            column=stratify_by,
        )
    seed = ws.draw_seed("letters") if seed is None else seed
    columns = ws.store.resident_columns()
    mask, excluded = eligible_mask(ws, columns, min_age=min_age)
    stratum, labels = _strata(columns, stratify_by)
    earlier = ws.store.letter_addresses()
    picks = draw_letter_rows(
        columns.address,
        stratum,
        labels,
        eligible=mask,
        n_addresses=len(columns.address_keys),
        excluded=columns.address_mask(earlier["address_key"]),
        count=count,
        rng=generator(seed),
        oversample=oversample,
        allocation=allocation,
    )
    eligible = int(mask.sum())
    letters = pd.DataFrame(
        {
            "resident_id": columns.pseudonyms_of(picks.rows),
            "address_key": columns.keys_of(picks.addresses),
            "stratum": picks.strata,
            "inclusion_probability": picks.inclusion_probability,
        }
    )
    letters["code"] = make_codes(
        len(letters),
        generator(ws.draw_seed("codes") if code_seed is None else code_seed),
        taken=frozenset(earlier["code"]),
    )
    params = {
        "count": count,
        "stratify_by": stratify_by,
        "min_age": min_age,
        "oversample": oversample or {},
        **({"allocation": allocation} if allocation is not None else {}),
        "one_per_address": True,
        "eligible": eligible,
        "restricted_excluded": excluded,
    }
    draw_id = ws.store.save_letters(letters, seed=str(seed), parameters=params)
    return {
        "draw_id": draw_id,
        "letters": len(letters),
        "eligible": eligible,
        "restricted_excluded": excluded,
        "addresses": int(letters["address_key"].nunique()),
        "seed": seed,
    }


def _strata(columns: ResidentColumns, stratify_by: str | None) -> tuple[np.ndarray, list[str]]:
    """Stratum codes of every resident and their labels; code -1 (an empty cell) is ``(onbekend)``."""
    if stratify_by is None:
        return np.zeros(len(columns), dtype=np.int32), ["all"]
    codes, names = columns.categories[stratify_by]
    return codes, [*names, UNKNOWN_STRATUM]


def parse_oversample(specs: list[str]) -> tuple[str | None, dict[str, float]]:
    """Parse ``COLUMN=VALUE:FACTOR`` options into (column, {value: factor}); all must share one column."""
    problems = []
    columns: set[str] = set()
    factors: dict[str, float] = {}
    for spec in specs:
        column, _, rest = spec.partition("=")
        value, _, factor_text = rest.rpartition(":")
        try:
            factor = float(factor_text)
        except ValueError:
            factor = -1.0
        if not column.strip() or not value.strip() or factor <= 0:
            problems.append(
                Problem("write COLUMN=VALUE:FACTOR with a factor above 0", column="--oversample", value=spec)
            )
            continue
        columns.add(column.strip())
        factors[value.strip()] = factor
    if len(columns) > 1:
        problems.append(
            Problem("oversample one column at a time", column="--oversample", value=", ".join(sorted(columns)))
        )
    if problems:
        raise InputError("the command line", problems, hint="for example --oversample wijk=WK01:2")
    return (columns.pop() if columns else None), factors


def export_letters(ws: Workspace, path: Path, *, encoding: str = DEFAULT_ENCODING) -> ExportResult:
    """Write the mail-merge list (code, name, address with huisletter and toevoeging) as CSV or XLSX;
    audited without personal data."""
    return export_list(ws, "letters", path, encoding=encoding)


def import_pool(ws: Workspace, path: Path, *, keep_stored: bool = False, use_sheet: bool = False) -> dict[str, Any]:
    """Add the new rows of a sign-up sheet to the pool, in one transaction.

    The sheet may be the same file grown since the last import: rows whose code is already in the pool
    with the same answers are counted and skipped. A row whose code is in the pool with *other* answers
    is a conflict, and conflicts block the import (nothing is stored) unless the organiser says which
    side is right: ``keep_stored`` adds the new rows and keeps the pool's answers for those codes;
    ``use_sheet`` adds them and replaces the pool's answers by the sheet's, which is refused once a panel
    or lottery has been drawn from the pool. Blocking is the default because a conflict means the sheet or
    the pool is wrong about a person's category, and a lottery stratified on a wrong category draws an
    unrepresentative panel that cannot be redone once drawn; the organiser must look before anything is
    added. Conflicts and corrections (old and new answers) are listed in the audit log.
    """
    if keep_stored and use_sheet:
        raise KleroError("Choose --keep-stored or --use-sheet, not both.", code="bad_options")
    if use_sheet and ws.store.selection_draws():
        raise KleroError(
            "The pool has been drawn from, so its answers cannot change any more: import with --keep-stored, "
            "or leave the conflicting rows as they are in the pool.",
            code="pool_frozen",
        )
    categories = ws.signup_categories
    frame = read_table(path)
    if frame.empty:  # a sheet with only a header is an export gone wrong, never "0 new sign-ups"
        raise InputError(
            path.name,
            [Problem("the sheet has no sign-ups (only a header, or nothing at all)")],
            hint="export the sign-up sheet again with its rows; nothing was stored",
        )
    existing = ws.store.pool()
    stored = {str(rec["letter_code"]): rec for rec in existing.fillna("").to_dict("records")}
    pooled = {code: {c.name: str(rec.get(c.name, "")) for c in categories} for code, rec in stored.items()}
    sheet = build_pool(frame, ws.store.letters(), source=path.name, categories=categories, pooled=pooled)
    counts = f"{len(sheet.new):,} new, {sheet.already:,} already in the pool, {_conflicts(len(sheet.conflicts))}"
    if sheet.conflicts and not (keep_stored or use_sheet):
        raise InputError(
            path.name,
            [
                Problem(f"code {c.code} is already in the pool with other answers: {c.changes()}", row=c.row)
                for c in sheet.conflicts
            ],
            hint=f"{counts}; nothing was stored. Check each person's answers, then import again with "
            "--keep-stored (the pool is right) or --use-sheet (the sheet is right; only before any draw).",
        )
    features = ["wijk", *(c.name for c in categories)]
    corrections = {
        c.code: {
            **{k: str(stored[c.code].get(k, "")) for k in features},
            **{k: new for k, (_, new) in c.differences.items()},
        }
        for c in sheet.conflicts
        if use_sheet
    }
    summary = {
        "already": sheet.already,
        "conflicts": [{"row": c.row, "code": c.code, "differences": c.differences} for c in sheet.conflicts],
        "conflicts_resolved_by": "sheet" if use_sheet else "pool",
        "ignored_columns": list(sheet.ignored_columns),
    }
    ws.store.save_pool(
        sheet.new,
        feature_columns=features,
        source=path.name,
        sha256=sha256_file(path),
        summary=summary,
        corrections=corrections,
    )
    return {
        "members": len(sheet.new),
        "already": sheet.already,
        "conflicts": [c.describe() for c in sheet.conflicts],
        "corrected": len(corrections),
        "ignored_columns": list(sheet.ignored_columns),
        "summary": counts,
        "pool_size": len(existing) + len(sheet.new),
    }


def _conflicts(count: int) -> str:
    return f"{count} conflict{'' if count == 1 else 's'}"


def registry_shares(ws: Workspace, *, min_age: int = 16) -> dict[str, dict[str, float]]:
    """Population shares of gender, age band and wijk among eligible residents (from the BRP extract)."""
    columns = ws.store.resident_columns()
    mask, _ = eligible_mask(ws, columns, min_age=min_age)
    ref = ws.reference_date
    ages = pd.Series((ref.year * 10000 + ref.month * 100 + ref.day - columns.birth[mask]) // 10000)
    shares = {
        "gender": _category(columns, "gender", mask).value_counts(normalize=True).sort_index().to_dict(),
        "age_band": age_bands(ages).value_counts(normalize=True).sort_index().to_dict(),
        "wijk": _category(columns, "wijk", mask).value_counts(normalize=True).sort_index().to_dict(),
    }
    return {k: {str(a): float(b) for a, b in v.items()} for k, v in shares.items()}


def _category(columns: ResidentColumns, name: str, mask: np.ndarray) -> pd.Series:
    """One category column of the masked residents as labels (``(onbekend)`` for an empty cell)."""
    codes, labels = columns.categories[name]
    return pd.Series(pd.Categorical.from_codes(codes[mask], categories=labels)).astype(object).fillna(UNKNOWN_STRATUM)


def derive_quotas_action(
    ws: Workspace, *, size: int, tolerance: float = 1.0, extra: list[Path] | None = None, min_age: int = 16
) -> dict[str, Any]:
    """Quotas for every sign-up category of the process plus wijk, proportional to the population.

    Shares come from the registry (wijk, and gender and age band when their ``source`` is registry), from
    ``population_shares`` in ``process.toml``, and from ``extra`` ``category,feature,share`` files (which
    take precedence). A category with no shares from any of these gets no quotas; it is named in
    ``without_shares`` so the command can say so.
    """
    categories = ws.signup_categories
    registry = registry_shares(ws, min_age=min_age)
    registry["gender"] = {k: v for k, v in registry["gender"].items() if v > 0}
    from_files: dict[str, dict[str, float]] = {}
    for path in extra or []:
        from_files.update(read_shares(path, categories))
        if "wijk" in from_files:
            _check_wijk_shares(from_files["wijk"], known=registry["wijk"], source=path.name)
    first = [c for c in categories if c.source == "registry"]
    order = [*(c.name for c in first), "wijk", *(c.name for c in categories if c not in first)]
    declared = {c.name: c for c in categories}
    shares: dict[str, dict[str, float]] = {}
    for name in order:
        if name in from_files:
            shares[name] = from_files[name]
        elif name == "wijk" or declared[name].source == "registry":
            shares[name] = registry[name]
        elif declared[name].population_shares:
            shares[name] = dict(declared[name].population_shares)
    sources = ["registry"]
    if any(c.source == "settings" and c.name not in from_files for c in categories):
        sources.append("process.toml")
    sources.extend(path.name for path in extra or [])
    _check_size_against_pool(ws, size)
    quotas = derive_quotas(shares, size=size, tolerance=tolerance)
    set_id = ws.store.save_quotas(quotas, panel_size=size, source="+".join(sources), tolerance=tolerance)
    return {
        "quota_set_id": set_id,
        "rows": len(quotas),
        "categories": sorted(shares),
        "without_shares": [c.name for c in categories if c.name not in shares],
        "quotas": quotas,
    }


def _check_size_against_pool(ws: Workspace, size: int) -> None:
    """Quotas for a panel larger than the pool are refused before they are stored (an empty pool: quotas
    may come first; the draw checks the size again)."""
    pool_size = len(ws.store.pool())
    check_panel_size(size, max(pool_size, size) if pool_size == 0 else pool_size)


def _check_wijk_shares(shares: dict[str, float], *, known: dict[str, float], source: str) -> None:
    """Wijk shares of a file name exactly the registry's wijken: an unknown one would be a quota no
    resident can fill, a missing one a wijk with no seat."""
    problems = ProblemCollector(source)
    for wijk in sorted(set(shares) - set(known)):
        problems.add(
            f"not a wijk of the registry extract; use one of {', '.join(sorted(known))}", column="feature", value=wijk
        )
    for wijk in sorted(set(known) - set(shares)):
        problems.add(f"no share for the wijk {wijk} of the registry extract (write 0 if it has none)", column="feature")
    problems.raise_if_any("list every wijk of the registry extract once, shares as decimals summing to 1")


def import_quotas_action(ws: Workspace, path: Path, *, size: int) -> dict[str, Any]:
    """Store a ``category,feature,min,max`` file (optionally with population_share, target) as the quotas."""
    frame = read_table(path)
    quotas = quotas_from_frame(frame, source=path.name)
    problems = []
    for col in ("population_share", "target"):
        values: list[float | None] = []
        for row, text in (frame[col] if col in frame.columns else pd.Series(dtype=str)).items():
            try:
                values.append(float(str(text).replace(",", ".")) if str(text).strip() else None)
            except ValueError:
                problems.append(Problem("not a number", row=int(row), column=col, value=text))
                values.append(None)
        quotas[col] = values if col in frame.columns else None
    if problems:
        raise InputError(path.name, problems, hint="write shares and targets as decimals, or leave them empty")
    check_quota_bounds(quotas, size)
    _check_size_against_pool(ws, size)
    set_id = ws.store.save_quotas(quotas, panel_size=size, source=f"file:{path.name}", tolerance=0.0)
    ws.store.audit(
        "quotas.import", parameters={"file": path.name, "size": size}, input_hashes={path.name: sha256_file(path)}
    )
    return {"quota_set_id": set_id, "rows": len(quotas), "quotas": quotas}


def write_quotas(quotas: pd.DataFrame, path: Path) -> None:
    """Write an editable quota file: category,feature,min,max then population_share,target."""
    columns = ["category", "feature", "min", "max", "population_share", "target"]
    neutralise_frame(quotas.reindex(columns=columns)).to_csv(path, index=False, float_format="%.6g")


# -- CLI -----------------------------------------------------------------------------------------
registry_app = typer.Typer(help="Import the registry (BRP) extract.", no_args_is_help=True)
letters_app = typer.Typer(help="Stage 1: draw and export invitation letters.", no_args_is_help=True)
pool_app = typer.Typer(help="Import sign-ups into the pool.", no_args_is_help=True)
quotas_app = typer.Typer(help="Derive and show the quotas.", no_args_is_help=True)


@registry_app.command("import")
def registry_import_cmd(
    file: Path,
    workspace: WorkspaceOption = Path("."),
    mapping: Annotated[Path | None, typer.Option(help="TOML file mapping your column names to ours.")] = None,
    areas: Annotated[
        Path | None, typer.Option(help="Table postcode,huisnummer,wijk[,buurt] giving each address its wijk.")
    ] = None,
) -> None:
    """Import a BRP extract (CSV UTF-8/Windows-1252 with , or ;, XLSX or Parquet)."""
    with open_workspace(workspace) as ws, progress_bars() as bars:
        out = import_registry(ws, file, mapping=mapping, areas=areas, progress=bars)
    console.print(
        f"Imported {out['residents']:,} residents at {out['addresses']:,} addresses "
        f"({out['restricted']} with the restricted-data flag). SHA-256 {out['sha256'][:16]}…"
    )
    if areas is not None:
        unplaced = out["unplaced_addresses"]
        console.print(
            f"Areas from {areas.name}: {out['addresses'] - len(unplaced):,} addresses placed, "
            f"{len(unplaced):,} not placed (wijk unknown); "
            f"{out['wijk_changed']} residents had another wijk in the extract."
        )
        for key in unplaced[:20]:
            console.print(f"  not placed: {key.replace('|', ' ').strip()}")
        if len(unplaced) > 20:
            console.print(f"  ... and {len(unplaced) - 20} more (all listed in the audit log)")
    hint("klero letters draw --count N", workspace=workspace)


@letters_app.command("draw")
def letters_draw_cmd(
    count: Annotated[int, typer.Option(help="Number of letters.")],
    workspace: WorkspaceOption = Path("."),
    stratify_by: Annotated[str | None, typer.Option(help="Allocate letters proportionally over this column.")] = None,
    min_age: Annotated[int, typer.Option(help="Minimum age on the reference date.")] = 16,
    seed: Annotated[int | None, typer.Option(help="Seed (default: a fresh secure one, stored).")] = None,
    oversample: Annotated[
        list[str] | None,
        typer.Option(help="COLUMN=VALUE:FACTOR, e.g. wijk=WK01:2 (repeatable); multiplies that stratum's share."),
    ] = None,
    topup: Annotated[
        bool,
        typer.Option(
            help="A second wave: spread the letters over the first wave's strata so that the expected pool "
            "comes closest to the population (from a sign-up model of the first wave)."
        ),
    ] = False,
    plan_only: Annotated[bool, typer.Option(help="With --topup: show the plan, draw nothing.")] = False,
) -> None:
    """Draw letters, one per address, with exact inclusion probabilities; never an address drawn before."""
    if topup:
        if oversample or stratify_by:
            raise KleroError(
                "--topup plans the letters per stratum itself (over the first wave's strata); "
                "leave out --oversample and --stratify-by.",
                code="bad_option",
            )
        _letters_topup(workspace, count=count, seed=seed, min_age=min_age, plan_only=plan_only)
        return
    if plan_only:
        raise KleroError("--plan-only goes with --topup.", code="bad_option")
    column, factors = parse_oversample(oversample or [])
    if column is not None and stratify_by not in (None, column):
        raise KleroError(
            f"--oversample uses the column {column!r} but --stratify-by is {stratify_by!r}; use one column.",
            code="bad_oversample",
        )
    stratify_by = stratify_by or column
    with open_workspace(workspace) as ws:
        out = draw_letters_action(
            ws, count=count, seed=seed, stratify_by=stratify_by, min_age=min_age, oversample=factors or None
        )
    console.print(
        f"Drew {out['letters']:,} letters from {out['eligible']:,} eligible residents "
        f"({out['restricted_excluded']} restricted excluded), one per address. Seed {out['seed']}."
    )
    hint("klero letters export letters.xlsx", workspace=workspace)


def _letters_topup(workspace: Path, *, count: int, seed: int | None, min_age: int, plan_only: bool) -> None:
    from kleroterion.commands.fairness import topup_strata
    from sortition.topup import plan_topup

    with open_workspace(workspace) as ws:
        stratify_by, strata = topup_strata(ws, min_age=min_age)
        plan = plan_topup(strata, count=count)
        console.print(f"Top-up of {count:,} letters over {stratify_by} (expected pool vs population):")
        for r in plan.itertuples(index=False):
            console.print(
                f"  {r.stratum}: +{r.extra_letters:,} letters (sign-up rate {r.rate:.1%}); pool share "
                f"{r.share_now:.1%} now, {r.expected_share:.1%} expected; population {r.population_share:.1%}"
            )
        if plan_only:
            console.print("Nothing drawn (--plan-only).")
            return
        allocation = {str(r.stratum): int(r.extra_letters) for r in plan.itertuples(index=False) if r.extra_letters}
        out = draw_letters_action(
            ws, count=count, seed=seed, stratify_by=stratify_by, min_age=min_age, allocation=allocation
        )
    console.print(
        f"Drew {out['letters']:,} top-up letters, one per address, none to an earlier address. Seed {out['seed']}."
    )


@letters_app.command("export")
def letters_export_cmd(
    file: Path, workspace: WorkspaceOption = Path("."), encoding: EncodingOption = DEFAULT_ENCODING
) -> None:
    """Write the mail-merge list (code, name, address) to FILE (.csv or .xlsx)."""
    with open_workspace(workspace) as ws:
        result = export_letters(ws, file, encoding=encoding)
    for line in describe(result, what="letters"):
        console.print(line, soft_wrap=True)
    hint("klero pool import signups.csv (when the sign-ups are in)", workspace=workspace)


@pool_app.command("import")
def pool_import_cmd(
    file: Path,
    workspace: WorkspaceOption = Path("."),
    keep_stored: Annotated[
        bool, typer.Option(help="Codes already in the pool with other answers: keep the pool's answers.")
    ] = False,
    use_sheet: Annotated[
        bool,
        typer.Option(help="Codes already in the pool with other answers: take the sheet's (only before any draw)."),
    ] = False,
) -> None:
    """Import a sign-up sheet: code plus one column per sign-up category (Dutch or English names).

    Import the same sheet again when it has grown: only the new codes are added. A code already in the
    pool with other answers stops the import until you choose --keep-stored or --use-sheet."""
    with open_workspace(workspace) as ws:
        out = import_pool(ws, file, keep_stored=keep_stored, use_sheet=use_sheet)
    conflicts = out["conflicts"]
    console.print(f"{file.name}: {out['summary']}{':' if conflicts else '.'}")
    kept = "changed to the sheet's answers" if out["corrected"] else "kept as in the pool"
    for line in conflicts[:20]:
        console.print(f"  {line} ({kept})")
    if len(conflicts) > 20:
        console.print(f"  ... and {len(conflicts) - 20} more (all listed in the audit log)")
    if out["ignored_columns"]:
        console.print(f"Columns not used: {', '.join(out['ignored_columns'])}.")
    console.print(f"Added {out['members']:,} sign-ups; the pool now has {out['pool_size']:,} people.")
    hint("klero quotas derive --size N", workspace=workspace)


@quotas_app.command("derive")
def quotas_derive_cmd(
    size: Annotated[int, typer.Option(help="Panel size.")],
    workspace: WorkspaceOption = Path("."),
    tolerance: Annotated[float, typer.Option(help="Band around each target.")] = 1.0,
    shares: Annotated[list[Path] | None, typer.Option("--shares", help="Extra category,feature,share file.")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Also write the quotas to this CSV, to edit and `quotas import`.")
    ] = None,
) -> None:
    """Derive quotas proportional to the registry (plus extra shares, e.g. CBS education)."""
    with open_workspace(workspace) as ws:
        out = derive_quotas_action(ws, size=size, tolerance=tolerance, extra=shares)
    console.print(out["quotas"][["category", "feature", "target", "min", "max"]].to_string(index=False))
    for name in out["without_shares"]:
        console.print(
            f"No quotas for {name}: no population shares. Pass --shares FILE (category,feature,share) "
            "or set population_shares for it in process.toml."
        )
    if out_file is not None:
        write_quotas(out["quotas"], out_file)
        console.print(
            f"Written to {out_file}; edit min/max there and run `klero quotas import {out_file} --size {size}`."
        )
    else:
        hint("klero panel select --alternates N", workspace=workspace)


@quotas_app.command("import")
def quotas_import_cmd(
    file: Path,
    size: Annotated[int, typer.Option(help="Panel size.")],
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Use a category,feature,min,max file (e.g. an edited `quotas derive --out` file) as the quotas."""
    with open_workspace(workspace) as ws:
        out = import_quotas_action(ws, file, size=size)
    console.print(f"Imported {out['rows']} quota rows (set {out['quota_set_id']}) for a panel of {size}.")
    hint("klero panel select --alternates N", workspace=workspace)
