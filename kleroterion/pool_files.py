"""Reading the published pool formats: a ``category,feature,min,max`` quota file and a respondents file.

The format of pgoelz/citizensassemblies-replication: one respondents column per category, an optional
``id`` column (otherwise the data row number, 1..n, is the id) and an optional address column. Every bad
cell is reported with its file, row and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pandas as pd

from kleroterion.errors import KleroError, ProblemCollector
from kleroterion.io import read_table

QUOTA_FILE_COLUMNS = ("category", "feature", "min", "max")


def read_categories(path: Path) -> pd.DataFrame:
    """The ``category,feature,min,max`` file as a quota table (min/max as int); every bad cell reported."""
    return quotas_from_frame(read_table(path), source=path.name)


def quotas_from_frame(frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Parse a ``category,feature,min,max`` table read by ``read_table`` (index = file row numbers)."""
    problems = ProblemCollector(source)
    for col in QUOTA_FILE_COLUMNS:
        if col not in frame.columns:
            problems.add("missing column", column=col)
    problems.raise_if_any("use the columns category,feature,min,max")
    if frame.empty:
        problems.add("the file has no quota rows")
    bounds: dict[str, list[int]] = {"min": [], "max": []}
    unreadable: set[int] = set()  # rows with a bad bound: no min > max check on a placeholder
    for row, rec in frame.iterrows():
        for col in ("min", "max"):
            text = str(rec[col]).strip()
            if not text.isdigit():
                problems.add("not a whole number ≥ 0", row=int(row), column=col, value=text)
                unreadable.add(int(row))
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
        if int(row) in unreadable:
            continue
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
    return respondents_from_frame(read_table(path), quotas, source=path.name, address_column=address_column)


def respondents_from_frame(
    frame: pd.DataFrame, quotas: pd.DataFrame, *, source: str, address_column: str | None = None
) -> pd.DataFrame:
    """Check a respondents table read by ``read_table`` (index = file row numbers); see ``read_respondents``."""
    problems = ProblemCollector(source)
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
        problems.add_rows(
            f"not one of {', '.join(sorted(allowed))}",
            values.index[~values.isin(allowed)],
            column=category,
            values=values,
        )
    problems.raise_if_any("correct the respondents file; every value must be a feature of the quota file")
    return pool


class PoolFolder(NamedTuple):
    """A published pool: respondents (``id``, categories, address), quotas, panel size, address column."""

    pool: pd.DataFrame
    quotas: pd.DataFrame
    size: int
    address_column: str | None


def read_pool_folder(folder: Path, *, size: int | None = None) -> PoolFolder:
    """A pool folder in either published format, validated like ``klero select``'s files.

    - pgoelz/citizensassemblies-replication: ``categories.csv`` + ``respondents.csv``; the panel size is
      the folder name's suffix (``example_small_20`` → 20) unless ``size`` is given; no addresses.
    - sortition-algorithms' fixture: ``features.csv`` (``feature,value,min,max[,min_flex,max_flex]``) +
      ``candidates.csv`` (``nationbuilder_id``, one column per feature, ``primary_address1`` and
      ``primary_zip`` forming the household key ``address_key``); ``size`` is required.
    """
    if (folder / "categories.csv").is_file():
        quotas = read_categories(folder / "categories.csv")
        pool = read_respondents(folder / "respondents.csv", quotas)
        suffix = folder.name.rsplit("_", 1)[-1]
        if size is None and not suffix.isdigit():
            raise KleroError(f"{folder}: give the panel size (the folder name does not end in _<k>).", code="no_size")
        categories = list(dict.fromkeys(quotas["category"]))
        return PoolFolder(pool[["id", *categories]], quotas, size or int(suffix), None)
    if size is None:
        raise KleroError(f"{folder}: give the panel size of this sortition-algorithms pool.", code="no_size")
    features = read_table(folder / "features.csv").rename(columns={"feature": "category", "value": "feature"})
    quotas = quotas_from_frame(features[list(QUOTA_FILE_COLUMNS)], source="features.csv")
    candidates = read_table(folder / "candidates.csv").rename(columns={"nationbuilder_id": "id"})
    candidates["address_key"] = candidates["primary_address1"] + "|" + candidates["primary_zip"]
    pool = respondents_from_frame(candidates, quotas, source="candidates.csv", address_column="address_key")
    categories = list(dict.fromkeys(quotas["category"]))
    return PoolFolder(pool[["id", *categories, "address_key"]], quotas, size, "address_key")


def read_excluded_ids(path: Path) -> list[str]:
    """Ids a draw must leave out (a rotating council's earlier members): the ``id`` column, or the only column.

    Empty cells are skipped (a blank line is no id); any other layout is an error naming the columns.
    """
    frame = read_table(path)
    if "id" in frame.columns:
        column = "id"
    elif len(frame.columns) == 1:
        column = str(frame.columns[0])
    else:
        raise KleroError(
            f"{path.name}: an exclusion file needs an 'id' column or a single column; "
            f"it has {', '.join(frame.columns)}.",
            code="bad_exclusion_file",
        )
    ids = [str(value).strip() for value in frame[column]]
    return [person for person in ids if person]
