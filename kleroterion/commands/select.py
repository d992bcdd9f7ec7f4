"""``klero select``: one fair selection from two files, without a workspace.

Reads the published pool format (see ``kleroterion.pool_files``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from kleroterion.commands.common import console, progress_bars
from kleroterion.commands.options import refuse_repeated
from kleroterion.errors import KleroError
from kleroterion.exports import neutralise_frame
from kleroterion.pool_files import read_categories, read_excluded_ids, read_people, read_select_settings
from kleroterion.seeds import fresh_seed, generator
from sortition.flex import select_within_flex
from sortition.quotas import check_panel_size, check_quota_bounds
from sortition.selection import ALGORITHMS, ENGINES, fairness_summary

#: Options that take one value: given twice, typer would keep the last silently; we refuse.
SINGLE_OPTIONS = (
    "--categories",
    "--respondents",
    "--size",
    "--algorithm",
    "--engine",
    "--seed",
    "--id-column",
    "--settings",
    "--out",
    "--probabilities",
)


def _one(option: str, cli: Any, setting: str, settings_value: Any) -> Any:
    """The CLI value or the settings file's; both and different is an error."""
    if cli is not None and settings_value is not None and cli != settings_value:
        raise KleroError(
            f"{option} {cli} and {setting} = {settings_value!r} in --settings disagree; give one of them.",
            code="conflicting_options",
        )
    return cli if cli is not None else settings_value


def select_cmd(
    categories: Annotated[
        Path, typer.Option(help="Quotas: category,feature,min,max or the Sortition Foundation's features.csv.")
    ],
    respondents: Annotated[Path, typer.Option(help="People: one column per category, and an id column.")],
    size: Annotated[int, typer.Option(help="Panel size k.")],
    algorithm: Annotated[str | None, typer.Option(help=f"One of {', '.join(ALGORITHMS)} (default maximin).")] = None,
    engine: Annotated[str, typer.Option(help=f"One of {', '.join(ENGINES)}.")] = "native",
    seed: Annotated[int | None, typer.Option(help="Seed (default: a fresh secure one, printed).")] = None,
    id_column: Annotated[str | None, typer.Option(help="Column with the person ids (default: a column id).")] = None,
    address_columns: Annotated[
        list[str] | None,
        typer.Option(help="Columns that together key a household (at most one person per household; comma or repeat)."),
    ] = None,
    address_column: Annotated[
        list[str] | None, typer.Option(help="One column holding a household key (several: --address-columns).")
    ] = None,
    settings: Annotated[
        Path | None, typer.Option(help="A sortition-algorithms settings.toml (id column, addresses, columns to keep).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the panel's rows to this CSV.")] = None,
    probabilities: Annotated[Path | None, typer.Option(help="Write id,probability for everyone to this CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    exclude: Annotated[
        Path | None,
        typer.Option(help="Ids to leave out (rotation; an 'id' column or one column), with their households."),
    ] = None,
) -> None:
    """Select a panel of SIZE from RESPONDENTS within the quotas of CATEGORIES (no workspace).

    Reads the Sortition Foundation's files as they are: features.csv (feature,value,min,max,min_flex,
    max_flex; the flex bounds are the relaxation allowed when the quotas are infeasible) and its
    people file with --id-column, --address-columns or --settings settings.toml."""
    refuse_repeated(
        sys.argv[1:],
        (*SINGLE_OPTIONS, "--address-column"),
        instead={"--address-column": "to key households on several columns write --address-columns COLUMN1,COLUMN2"},
    )
    chosen = read_select_settings(settings) if settings is not None else None
    households = [
        c.strip() for v in [*(address_columns or []), *(address_column or [])] for c in v.split(",") if c.strip()
    ]
    id_col = _one("--id-column", id_column, "id_column", chosen.id_column if chosen else None)
    addresses = _one(
        "--address-columns",
        tuple(households) or None,
        "check_same_address_columns",
        (chosen.address_columns or None) if chosen else None,
    )
    algo = _one("--algorithm", algorithm, "selection_algorithm", chosen.algorithm if chosen else None) or "maximin"
    seed = _one("--seed", seed, "random_number_seed", chosen.seed if chosen else None)
    quotas = read_categories(categories)
    people = read_people(
        respondents,
        quotas,
        id_column=id_col,
        address_columns=tuple(addresses or ()),
        keep_columns=chosen.keep_columns if chosen else (),
    )
    pool = people.pool
    check_panel_size(size, len(pool))
    address_key = "address_key" if addresses else None
    if "min_flex" not in quotas.columns:
        check_quota_bounds(quotas, size)  # with flex bounds, the engine finds the smallest relaxation instead
    excluded = read_excluded_ids(exclude) if exclude is not None else []
    seed = fresh_seed() if seed is None else seed
    started = time.perf_counter()
    with progress_bars(as_json=as_json) as bars:
        result, relaxation = select_within_flex(
            pool,
            quotas,
            size=size,
            rng=generator(seed),
            algorithm=algo,
            engine=engine,
            address_column=address_key,
            progress=bars,
            exclude=excluded,
        )
    seconds = time.perf_counter() - started
    summary = fairness_summary(result.probabilities, size=size)
    if out is not None:
        neutralise_frame(pool[pool["id"].isin(result.panel)]).to_csv(out, index=False)
    if probabilities is not None:
        neutralise_frame(result.probabilities.rename_axis("id").reset_index()).to_csv(probabilities, index=False)
    notes = [*people.notes, *(chosen.notes if chosen else ()), *result.notes]
    relaxed = [
        f"{r.category}={r.feature}: min {r.min} -> {r.min_used}, max {r.max} -> {r.max_used} "
        f"(flex {r.min_flex}..{r.max_flex})"
        for r in relaxation.itertuples(index=False)
    ]
    report: dict[str, Any] = {
        "algorithm": result.algorithm,
        "engine": result.engine,
        "panel_size": len(result.panel),
        "seed": seed,
        "min_probability": summary["min_probability"],
        "mean_probability": summary["mean_probability"],
        "max_probability": summary["max_probability"],
        "gini": summary["gini"],
        "seconds": round(seconds, 3),
        "relaxation": relaxation.to_dict("records"),
        "notes": notes,
        "panel": list(result.panel),
        "excluded": list(result.excluded),
    }
    if as_json:
        typer.echo(json.dumps(report, default=int))
        return
    console.print(
        f"Selected {len(result.panel)} of {len(pool)} with {result.algorithm} ({result.engine}) in {seconds:.1f} s; "
        f"seed {seed}. Selection probability min {summary['min_probability']:.4f}, "
        f"mean {summary['mean_probability']:.4f}, max {summary['max_probability']:.4f}, Gini {summary['gini']:.3f}."
    )
    if relaxed:
        console.print("The quotas were infeasible; relaxed within min_flex/max_flex: " + "; ".join(relaxed) + ".")
    for note in notes:
        console.print(f"Note: {note}")
    if out is not None:
        console.print(f"Panel written to {out}.")
    if probabilities is not None:
        console.print(f"Probabilities written to {probabilities}.")
