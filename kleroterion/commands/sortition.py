"""``klero registry|letters|pool|quotas|panel``: the citizen lottery's edges around ``sortition``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from kleroterion.commands.common import WorkspaceOption, console, open_workspace, versions
from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.io import read_table, sha256_file
from kleroterion.seeds import fresh_seed, generator, public_seed
from kleroterion.workspace import Workspace
from sortition.alternates import select_alternates
from sortition.letters import draw_letters, make_codes
from sortition.pool import build_pool
from sortition.quotas import check_pool_against_quotas, derive_quotas, quotas_met
from sortition.registry import age_bands, ages_on, assign_areas, read_areas, validate_registry
from sortition.selection import fairness_summary, select_panel

QUOTA_CATEGORIES = ("gender", "age_band", "wijk", "education")


# -- actions -------------------------------------------------------------------------------------
def import_registry(
    ws: Workspace, path: Path, *, mapping: Path | None = None, areas: Path | None = None
) -> dict[str, Any]:
    """Validate and store a registry extract; nothing is stored when any cell is bad.

    With ``areas`` (a postcode, huisnummer, wijk[, buurt] table) the wijk of every resident comes from
    that table; addresses it does not cover are reported (and stored with an unknown wijk).
    """
    colmap = None
    if mapping is not None:
        try:
            colmap = {str(k): str(v) for k, v in tomllib.loads(mapping.read_text(encoding="utf-8")).items()}
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputError(
                str(mapping),
                [Problem(f"not a readable TOML mapping: {exc}")],
                hint='write lines like  bsn_nummer = "registry_id"',
            ) from exc
    frame = read_table(path)
    extract = validate_registry(frame, source=path.name, reference_date=ws.reference_date, key=ws.key, mapping=colmap)
    placed: dict[str, Any] = {}
    if areas is not None:
        assignment = assign_areas(extract.residents, read_areas(read_table(areas), source=areas.name))
        extract = dataclasses.replace(extract, residents=assignment.residents)
        placed = {
            "areas_file": areas.name,
            "unplaced_addresses": list(assignment.unplaced),
            "wijk_changed": assignment.changed,
        }
    digest = sha256_file(path)
    ws.store.save_registry(
        extract, sha256=digest, reference_date=ws.reference_date.isoformat(), legal_basis=ws.settings.legal_basis
    )
    if placed:
        ws.store.audit(
            "registry.areas",
            parameters={"source": placed["areas_file"]},
            input_hashes={placed["areas_file"]: sha256_file(areas)} if areas else {},
            result={k: v for k, v in placed.items() if k != "areas_file"},
        )
    return {
        "residents": len(extract.residents),
        "restricted": extract.restricted_count,
        "sha256": digest,
        "addresses": int(extract.residents["address_key"].nunique()),
        **placed,
    }


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


def draw_letters_action(
    ws: Workspace,
    *,
    count: int,
    seed: int | None = None,
    stratify_by: str | None = None,
    min_age: int = 16,
    oversample: dict[str, float] | None = None,
) -> dict[str, Any]:
    if ws.store.registry_info() is None:
        raise KleroError("No registry extract yet: run `klero registry import FILE` first.", code="no_registry")
    seed = fresh_seed() if seed is None else seed
    eligible, excluded = eligible_residents(ws, min_age=min_age)
    earlier = ws.store.letters()
    letters = draw_letters(
        eligible,
        count=count,
        rng=generator(seed),
        stratify_by=stratify_by,
        exclude_addresses=frozenset(earlier["address_key"]),
        oversample=oversample,
    )
    letters["code"] = make_codes(len(letters), generator(fresh_seed()), taken=frozenset(earlier["code"]))
    params = {
        "count": count,
        "stratify_by": stratify_by,
        "min_age": min_age,
        "oversample": oversample or {},
        "one_per_address": True,
        "eligible": len(eligible),
        "restricted_excluded": excluded,
    }
    draw_id = ws.store.save_letters(letters, seed=str(seed), parameters=params)
    return {
        "draw_id": draw_id,
        "letters": len(letters),
        "eligible": len(eligible),
        "restricted_excluded": excluded,
        "addresses": int(letters["address_key"].nunique()),
        "seed": seed,
    }


def export_letters(ws: Workspace, path: Path) -> int:
    """Write the mail-merge list (code, name, address) as CSV or XLSX."""
    rows = ws.store.query(
        "SELECT l.code, r.given_names, r.name_prefix, r.surname, r.street, r.house_number, r.postcode, r.city"
        " FROM letters l JOIN residents r ON r.id = l.resident_id ORDER BY r.postcode, r.house_number"
    )
    frame = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=[
            "code",
            "voornamen",
            "voorvoegsel",
            "geslachtsnaam",
            "straatnaam",
            "huisnummer",
            "postcode",
            "woonplaats",
        ],
    )
    if path.suffix.lower() == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False, sep=";", encoding="utf-8-sig")
    ws.store.audit("letters.export", parameters={"file": path.name}, result={"rows": len(frame)})
    return len(frame)


def import_pool(ws: Workspace, path: Path) -> dict[str, Any]:
    frame = read_table(path)
    existing = ws.store.pool()
    used = frozenset(existing["letter_code"]) if len(existing) else frozenset()
    pool = build_pool(frame, ws.store.letters(), source=path.name, used_codes=used)
    features = [c for c in pool.columns if c not in ("id", "letter_code", "address_key", "contact")]
    ws.store.save_pool(pool, feature_columns=features, source=path.name, sha256=sha256_file(path))
    return {"members": len(pool), "pool_size": len(existing) + len(pool)}


def registry_shares(ws: Workspace, *, min_age: int = 16) -> dict[str, dict[str, float]]:
    """Population shares of gender, age band and wijk among eligible residents (from the BRP extract)."""
    eligible, _ = eligible_residents(ws, min_age=min_age)
    bands = age_bands(eligible["age"])
    shares = {
        "gender": eligible["gender"].value_counts(normalize=True).sort_index().to_dict(),
        "age_band": bands.value_counts(normalize=True).sort_index().to_dict(),
        "wijk": eligible["wijk"].fillna("(onbekend)").value_counts(normalize=True).sort_index().to_dict(),
    }
    return {k: {str(a): float(b) for a, b in v.items()} for k, v in shares.items()}


def read_shares(path: Path) -> dict[str, dict[str, float]]:
    """Extra population shares from a ``category,feature,share`` file (e.g. CBS education)."""
    frame = read_table(path)
    problems = []
    for col in ("category", "feature", "share"):
        if col not in frame.columns:
            problems.append(Problem("missing column", column=col))
    if problems:
        raise InputError(path.name, problems, hint="use the columns category,feature,share")
    out: dict[str, dict[str, float]] = {}
    for row, rec in frame.iterrows():
        try:
            share = float(str(rec["share"]).replace(",", "."))
        except ValueError:
            raise InputError(
                path.name,
                [Problem("not a number", row=int(row), column="share", value=rec["share"])],
                hint="write shares as decimals",
            ) from None
        out.setdefault(str(rec["category"]), {})[str(rec["feature"])] = share
    return out


def derive_quotas_action(
    ws: Workspace, *, size: int, tolerance: float = 1.0, extra: list[Path] | None = None, min_age: int = 16
) -> dict[str, Any]:
    shares = registry_shares(ws, min_age=min_age)
    shares["gender"] = {k: v for k, v in shares["gender"].items() if v > 0}
    sources = ["registry"]
    for path in extra or []:
        shares.update(read_shares(path))
        sources.append(path.name)
    quotas = derive_quotas(shares, size=size, tolerance=tolerance)
    set_id = ws.store.save_quotas(quotas, panel_size=size, source="+".join(sources), tolerance=tolerance)
    return {"quota_set_id": set_id, "rows": len(quotas), "categories": sorted(shares), "quotas": quotas}


def pool_hash(pool: pd.DataFrame, categories: list[str]) -> str:
    """SHA-256 of the frozen pool: ids, addresses and quota features, sorted, as canonical JSON."""
    cols = ["id", "address_key", *categories]
    records = pool[cols].astype(str).sort_values("id").to_dict("records")
    return hashlib.sha256(json.dumps(records, sort_keys=True).encode("utf-8")).hexdigest()


def select_panel_action(
    ws: Workspace,
    *,
    algorithm: str = "maximin",
    seed: int | None = None,
    public_value: str | None = None,
    alternates: int = 0,
) -> dict[str, Any]:
    set_id, size, quotas = ws.store.quotas()
    pool = ws.store.pool()
    if pool.empty:
        raise KleroError("The pool is empty: import sign-ups with `klero pool import FILE` first.", code="no_pool")
    categories = list(dict.fromkeys(quotas["category"]))
    check_pool_against_quotas(pool, quotas, size)
    digest = pool_hash(pool, categories)
    if seed is None:
        seed = public_seed(digest, public_value) if public_value else fresh_seed()
    rng = generator(seed)
    result = select_panel(pool, quotas, size=size, rng=rng, algorithm=algorithm)
    panel = pool[pool["id"].isin(result.panel)]
    if not quotas_met(panel, quotas):
        raise KleroError("The drawn panel does not meet the quotas (engine error).", code="quota_violation")
    summary = fairness_summary(result.probabilities, size=size)
    record: dict[str, Any] = {
        "algorithm": algorithm,
        "engine": result.engine,
        "seed": str(seed),
        "pool_hash": digest,
        "parameters": {
            "size": size,
            "public_value": public_value,
            "alternates": alternates,
            "exact": result.exact,
            "probability_se": result.probability_se,
        },
        "versions": versions(),
        "result": {**summary, "panel": list(result.panel), "panels_in_distribution": len(result.panels)},
    }
    members = [(pid, "panel", rank) for rank, pid in enumerate(result.panel, start=1)]
    order: list[str] = []
    if alternates > 0:
        order, _reserve = select_alternates(pool, result.panel, quotas, count=alternates, rng=rng, algorithm=algorithm)
        members += [(pid, "alternate", rank) for rank, pid in enumerate(order, start=1)]
        record["result"]["alternates"] = order
    draw_id = ws.store.save_selection(
        quota_set_id=set_id, kind="panel", record=record, probabilities=result.probabilities, members=members
    )
    return {
        "draw_id": draw_id,
        "panel": list(result.panel),
        "alternates": order,
        "seed": seed,
        "pool_hash": digest,
        "fairness": summary,
        "pool_size": len(pool),
        "size": size,
    }


# -- CLI -----------------------------------------------------------------------------------------
registry_app = typer.Typer(help="Import the registry (BRP) extract.", no_args_is_help=True)
letters_app = typer.Typer(help="Stage 1: draw and export invitation letters.", no_args_is_help=True)
pool_app = typer.Typer(help="Import sign-ups into the pool.", no_args_is_help=True)
quotas_app = typer.Typer(help="Derive and show the quotas.", no_args_is_help=True)
panel_app = typer.Typer(help="Stage 2: select the panel and its alternates.", no_args_is_help=True)


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
    with open_workspace(workspace) as ws:
        out = import_registry(ws, file, mapping=mapping, areas=areas)
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


@letters_app.command("draw")
def letters_draw_cmd(
    count: Annotated[int, typer.Option(help="Number of letters.")],
    workspace: WorkspaceOption = Path("."),
    stratify_by: Annotated[str | None, typer.Option(help="Allocate letters proportionally over this column.")] = None,
    min_age: Annotated[int, typer.Option(help="Minimum age on the reference date.")] = 16,
    seed: Annotated[int | None, typer.Option(help="Seed (default: a fresh secure one, stored).")] = None,
) -> None:
    """Draw letters, one per address, with exact inclusion probabilities."""
    with open_workspace(workspace) as ws:
        out = draw_letters_action(ws, count=count, seed=seed, stratify_by=stratify_by, min_age=min_age)
    console.print(
        f"Drew {out['letters']:,} letters from {out['eligible']:,} eligible residents "
        f"({out['restricted_excluded']} restricted excluded), one per address. Seed {out['seed']}."
    )


@letters_app.command("export")
def letters_export_cmd(file: Path, workspace: WorkspaceOption = Path(".")) -> None:
    """Write the mail-merge list (code, name, address) to FILE (.csv or .xlsx)."""
    with open_workspace(workspace) as ws:
        rows = export_letters(ws, file)
    console.print(f"Wrote {rows:,} letters to {file}.")


@pool_app.command("import")
def pool_import_cmd(file: Path, workspace: WorkspaceOption = Path(".")) -> None:
    """Import sign-ups: invitation code plus gender, age_band and education."""
    with open_workspace(workspace) as ws:
        out = import_pool(ws, file)
    console.print(f"Added {out['members']:,} sign-ups; the pool now has {out['pool_size']:,} people.")


@quotas_app.command("derive")
def quotas_derive_cmd(
    size: Annotated[int, typer.Option(help="Panel size.")],
    workspace: WorkspaceOption = Path("."),
    tolerance: Annotated[float, typer.Option(help="Band around each target.")] = 1.0,
    shares: Annotated[list[Path] | None, typer.Option("--shares", help="Extra category,feature,share file.")] = None,
) -> None:
    """Derive quotas proportional to the registry (plus extra shares, e.g. CBS education)."""
    with open_workspace(workspace) as ws:
        out = derive_quotas_action(ws, size=size, tolerance=tolerance, extra=shares)
    console.print(out["quotas"][["category", "feature", "target", "min", "max"]].to_string(index=False))


@panel_app.command("select")
def panel_select_cmd(
    workspace: WorkspaceOption = Path("."),
    algorithm: Annotated[str, typer.Option(help="maximin, leximin, nash or legacy.")] = "maximin",
    seed: Annotated[int | None, typer.Option(help="Seed (default: a fresh secure one, stored).")] = None,
    public_seed_value: Annotated[str | None, typer.Option("--public-seed", help="Publicly announced value.")] = None,
    alternates: Annotated[int, typer.Option(help="Number of ordered alternates.")] = 0,
) -> None:
    """Select the panel (and alternates) from the pool within the quotas."""
    with open_workspace(workspace) as ws:
        out = select_panel_action(
            ws, algorithm=algorithm, seed=seed, public_value=public_seed_value, alternates=alternates
        )
    f = out["fairness"]
    console.print(
        f"Selected {len(out['panel'])} of {out['pool_size']} (draw {out['draw_id']}); "
        f"{len(out['alternates'])} alternates. Selection probability min {f['min_probability']:.3f}, "
        f"max {f['max_probability']:.3f}, Gini {f['gini']:.3f}."
    )
