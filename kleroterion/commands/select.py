"""``klero select``: one fair selection from two files, without a workspace (``kleroterion.app.select``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from kleroterion.app.select import SelectRequest, select_from_files
from kleroterion.commands.common import console, progress_bars
from kleroterion.commands.options import refuse_repeated
from sortition.selection import ALGORITHMS, ENGINES

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
    households = [
        c.strip() for v in [*(address_columns or []), *(address_column or [])] for c in v.split(",") if c.strip()
    ]
    request = SelectRequest(
        categories=categories,
        respondents=respondents,
        size=size,
        algorithm=algorithm,
        engine=engine,
        seed=seed,
        id_column=id_column,
        address_columns=tuple(households),
        settings=settings,
        exclude=exclude,
        out=out,
        probabilities=probabilities,
    )
    with progress_bars(as_json=as_json) as bars:
        result = select_from_files(request, progress=bars)
    if as_json:
        typer.echo(json.dumps(result.record(), default=int))
        return
    console.print(
        f"Selected {len(result.panel)} of {result.pool_size} with {result.algorithm} ({result.engine}) in "
        f"{result.seconds:.1f} s; seed {result.seed}. Selection probability min {result.min_probability:.4f}, "
        f"mean {result.mean_probability:.4f}, max {result.max_probability:.4f}, Gini {result.gini:.3f}."
    )
    relaxed = [
        f"{r.category}={r.feature}: min {r.min} -> {r.min_used}, max {r.max} -> {r.max_used} "
        f"(flex {r.min_flex}..{r.max_flex})"
        for r in result.relaxation.itertuples(index=False)
    ]
    if relaxed:
        console.print("The quotas were infeasible; relaxed within min_flex/max_flex: " + "; ".join(relaxed) + ".")
    for note in result.notes:
        console.print(f"Note: {note}")
    if out is not None:
        console.print(f"Panel written to {out}.")
    if probabilities is not None:
        console.print(f"Probabilities written to {probabilities}.")
