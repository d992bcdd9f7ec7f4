"""``klero select``: one fair selection from two files, without a workspace.

Reads the ``category,feature,min,max`` quota file and the respondents file of the published
replication data (pgoelz/citizensassemblies-replication): one column per category, an optional
``id`` column (otherwise the data row number, 1..n, is the id) and an optional address column.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from kleroterion.commands.common import console
from kleroterion.errors import ProblemCollector
from kleroterion.io import read_table
from kleroterion.seeds import fresh_seed, generator
from sortition.quotas import check_quota_bounds
from sortition.selection import ALGORITHMS, ENGINES, fairness_summary, select_panel

QUOTA_FILE_COLUMNS = ("category", "feature", "min", "max")


def read_categories(path: Path) -> pd.DataFrame:
    """The ``category,feature,min,max`` file as a quota table (min/max as int); every bad cell reported."""
    frame = read_table(path)
    problems = ProblemCollector(path.name)
    for col in QUOTA_FILE_COLUMNS:
        if col not in frame.columns:
            problems.add("missing column", column=col)
    problems.raise_if_any("use the columns category,feature,min,max")
    if frame.empty:
        problems.add("the file has no quota rows")
    bounds: dict[str, list[int]] = {"min": [], "max": []}
    for row, rec in frame.iterrows():
        for col in ("min", "max"):
            text = str(rec[col]).strip()
            if not text.isdigit():
                problems.add("not a whole number ≥ 0", row=int(row), column=col, value=text)
                bounds[col].append(0)
            else:
                bounds[col].append(int(text))
        if str(rec["category"]).strip() == "" or str(rec["feature"]).strip() == "":
            problems.add("empty category or feature", row=int(row), column="category", value=rec["category"])
    quotas = pd.DataFrame(
        {
            "category": frame["category"].astype(str).str.strip().to_numpy(),
            "feature": frame["feature"].astype(str).str.strip().to_numpy(),
            "min": bounds["min"],
            "max": bounds["max"],
        },
        index=frame.index,
    )
    for row in quotas.index[quotas["min"] > quotas["max"]]:
        problems.add("min is larger than max", row=int(row), column="min", value=int(quotas.at[row, "min"]))
    for row in quotas.index[quotas.duplicated(["category", "feature"])]:
        problems.add(
            "this category and feature appear twice", row=int(row), column="feature", value=quotas.at[row, "feature"]
        )
    problems.raise_if_any("correct the quota file")
    return quotas.reset_index(drop=True)


def read_respondents(path: Path, quotas: pd.DataFrame, *, address_column: str | None = None) -> pd.DataFrame:
    """Respondents with a string ``id`` (the ``id`` column, else the data row number 1..n).

    Every category of the quota file must be a column, and every value one of its features.
    """
    frame = read_table(path)
    problems = ProblemCollector(path.name)
    categories = list(dict.fromkeys(quotas["category"]))
    for col in [*categories, *([address_column] if address_column else [])]:
        if col not in frame.columns:
            problems.add("missing column (it is a category of the quota file)", column=col)
    problems.raise_if_any("give the respondents file one column per quota category")
    if frame.empty:
        problems.add("the file has no respondents")
    pool = frame.copy()
    if "id" in pool.columns:
        pool["id"] = pool["id"].astype(str).str.strip()
        for row in pool.index[pool["id"].duplicated(keep="first")]:
            problems.add("duplicate id", row=int(row), column="id", value=pool.at[row, "id"])
        for row in pool.index[pool["id"] == ""]:
            problems.add("empty id", row=int(row), column="id", value="")
    else:
        pool.insert(0, "id", [str(i) for i in range(1, len(pool) + 1)])
    for category in categories:
        allowed = set(quotas.loc[quotas["category"] == category, "feature"])
        values = pool[category].astype(str).str.strip()
        pool[category] = values
        for row in values.index[~values.isin(allowed)][:200]:
            problems.add(f"not one of {', '.join(sorted(allowed))}", row=int(row), column=category, value=values[row])
    problems.raise_if_any("correct the respondents file; every value must be a feature of the quota file")
    return pool


def select_cmd(
    categories: Annotated[Path, typer.Option(help="Quota file with columns category,feature,min,max.")],
    respondents: Annotated[Path, typer.Option(help="Respondents: one column per category, optional id.")],
    size: Annotated[int, typer.Option(help="Panel size k.")],
    algorithm: Annotated[str, typer.Option(help=f"One of {', '.join(ALGORITHMS)}.")] = "maximin",
    engine: Annotated[str, typer.Option(help=f"One of {', '.join(ENGINES)}.")] = "sortition-algorithms",
    seed: Annotated[int | None, typer.Option(help="Seed (default: a fresh secure one, printed).")] = None,
    address_column: Annotated[
        str | None, typer.Option(help="Column holding a household key: at most one person per value.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the panel's rows to this CSV.")] = None,
    probabilities: Annotated[Path | None, typer.Option(help="Write id,probability for everyone to this CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
) -> None:
    """Select a panel of SIZE from RESPONDENTS within the quotas of CATEGORIES (no workspace)."""
    quotas = read_categories(categories)
    pool = read_respondents(respondents, quotas, address_column=address_column)
    check_quota_bounds(quotas, size)
    seed = fresh_seed() if seed is None else seed
    started = time.perf_counter()
    result = select_panel(
        pool, quotas, size=size, rng=generator(seed), algorithm=algorithm, engine=engine, address_column=address_column
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
