"""``klero select``: one fair selection from two files, without a workspace.

Reads the published pool format (see ``kleroterion.pool_files``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from kleroterion.commands.common import console
from kleroterion.pool_files import read_categories, read_excluded_ids, read_respondents
from kleroterion.seeds import fresh_seed, generator
from sortition.quotas import check_quota_bounds
from sortition.selection import ALGORITHMS, ENGINES, fairness_summary, select_panel


def select_cmd(
    categories: Annotated[Path, typer.Option(help="Quota file with columns category,feature,min,max.")],
    respondents: Annotated[Path, typer.Option(help="Respondents: one column per category, optional id.")],
    size: Annotated[int, typer.Option(help="Panel size k.")],
    algorithm: Annotated[str, typer.Option(help=f"One of {', '.join(ALGORITHMS)}.")] = "maximin",
    engine: Annotated[str, typer.Option(help=f"One of {', '.join(ENGINES)}.")] = "native",
    seed: Annotated[int | None, typer.Option(help="Seed (default: a fresh secure one, printed).")] = None,
    address_column: Annotated[
        str | None, typer.Option(help="Column holding a household key: at most one person per value.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the panel's rows to this CSV.")] = None,
    probabilities: Annotated[Path | None, typer.Option(help="Write id,probability for everyone to this CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    exclude: Annotated[
        Path | None,
        typer.Option(help="Ids to leave out (rotation; an 'id' column or one column), with their households."),
    ] = None,
) -> None:
    """Select a panel of SIZE from RESPONDENTS within the quotas of CATEGORIES (no workspace)."""
    quotas = read_categories(categories)
    pool = read_respondents(respondents, quotas, address_column=address_column)
    check_quota_bounds(quotas, size)
    excluded = read_excluded_ids(exclude) if exclude is not None else []
    seed = fresh_seed() if seed is None else seed
    started = time.perf_counter()
    result = select_panel(
        pool,
        quotas,
        size=size,
        rng=generator(seed),
        algorithm=algorithm,
        engine=engine,
        address_column=address_column,
        exclude=excluded,
    )
    seconds = time.perf_counter() - started
    summary = fairness_summary(result.probabilities, size=size)
    if out is not None:
        pool[pool["id"].isin(result.panel)].to_csv(out, index=False)
    if probabilities is not None:
        result.probabilities.rename_axis("id").reset_index().to_csv(probabilities, index=False)
    report: dict[str, Any] = {
        "algorithm": result.algorithm,
        "engine": result.engine,
        "panel_size": len(result.panel),
        "min_probability": summary["min_probability"],
        "mean_probability": summary["mean_probability"],
        "max_probability": summary["max_probability"],
        "gini": summary["gini"],
        "seconds": round(seconds, 3),
        "panel": list(result.panel),
        "excluded": list(result.excluded),
    }
    if as_json:
        typer.echo(json.dumps(report))
        return
    console.print(
        f"Selected {len(result.panel)} of {len(pool)} with {result.algorithm} ({result.engine}) in {seconds:.1f} s; "
        f"seed {seed}. Selection probability min {summary['min_probability']:.4f}, "
        f"mean {summary['mean_probability']:.4f}, max {summary['max_probability']:.4f}, Gini {summary['gini']:.3f}."
    )
    for note in result.notes:
        console.print(f"Note: {note}")
    if out is not None:
        console.print(f"Panel written to {out}.")
    if probabilities is not None:
        console.print(f"Probabilities written to {probabilities}.")
