"""Reading the published pool formats (a ``category,feature,min,max`` quota file and a respondents file) and
population shares (a ``category,feature,share`` file).

The format of pgoelz/citizensassemblies-replication: one respondents column per category, an optional
``id`` column (otherwise the data row number, 1..n, is the id) and an optional address column. Every bad
cell is reported with its file, row and column.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from kleroterion.errors import InputError, KleroError, Problem, ProblemCollector
from kleroterion.io import read_table
from sortition.signup import DEFAULT_CATEGORIES, SignupCategory, normalise

QUOTA_FILE_COLUMNS = ("category", "feature", "min", "max")


def read_categories(path: Path) -> pd.DataFrame:
    """The ``category,feature,min,max`` file as a quota table (min/max as int); every bad cell reported."""
    return quotas_from_frame(read_table(path), source=path.name)


def quotas_from_frame(frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Parse a ``category,feature,min,max`` table read by ``read_table`` (index = file row numbers).

    The Sortition Foundation's ``feature,value,min,max[,min_flex,max_flex]`` layout (sortition-algorithms'
    ``features.csv``: its ``feature`` is our ``category``, its ``value`` our ``feature``) is read as it
    is; ``min_flex``/``max_flex`` (how far a bound may be relaxed when the quotas are infeasible) are
    kept as columns, checked ``min_flex ≤ min`` and ``max_flex ≥ max``.
    """
    problems = ProblemCollector(source)
    frame = _quota_header(frame, problems)
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
    if "min_flex" in frame.columns:
        _flex_columns(frame, quotas, problems)
    problems.raise_if_any("correct the quota file")
    return quotas.reset_index(drop=True)


def _quota_header(frame: pd.DataFrame, problems: ProblemCollector) -> pd.DataFrame:
    """The quota table with our column names (the Sortition Foundation's renamed); header problems raised."""
    columns = set(frame.columns)
    if "category" not in columns and {"feature", "value"} <= columns:
        frame = frame.rename(columns={"feature": "category", "value": "feature"})
    for col in QUOTA_FILE_COLUMNS:
        if col not in frame.columns:
            problems.add("missing column", column=col)
    if ("min_flex" in frame.columns) != ("max_flex" in frame.columns):
        problems.add("give min_flex and max_flex together", column="min_flex" if "min_flex" in frame else "max_flex")
    problems.raise_if_any(
        "use the columns category,feature,min,max (or the Sortition Foundation's feature,value,min,max"
        "[,min_flex,max_flex])"
    )
    return frame


def _flex_columns(frame: pd.DataFrame, quotas: pd.DataFrame, problems: ProblemCollector) -> None:
    """Add ``min_flex``/``max_flex`` to ``quotas`` (whole numbers, ``min_flex ≤ min``, ``max_flex ≥ max``)."""
    for col in ("min_flex", "max_flex"):
        text = frame[col].astype(str).str.strip()
        problems.add_rows(
            "not a whole number ≥ 0", text.index[~text.str.fullmatch(r"\d+")].tolist(), column=col, values=text
        )
        quotas[col] = pd.to_numeric(text.where(text.str.fullmatch(r"\d+"), "0")).astype(int)
    problems.add_rows(
        "min_flex is larger than min (it is the lowest the minimum may be relaxed to)",
        quotas.index[quotas["min_flex"] > quotas["min"]].tolist(),
        column="min_flex",
        values=quotas["min_flex"],
    )
    problems.add_rows(
        "max_flex is smaller than max (it is the highest the maximum may be relaxed to)",
        quotas.index[quotas["max_flex"] < quotas["max"]].tolist(),
        column="max_flex",
        values=quotas["max_flex"],
    )


#: How far a category's shares may sum from 1 (rounded published figures) before the file is refused.
SHARE_TOLERANCE = 0.01


def read_shares(path: Path, categories: Sequence[SignupCategory] = DEFAULT_CATEGORIES) -> dict[str, dict[str, float]]:
    """Population shares from a ``category,feature,share`` file (e.g. CBS education, a survey's opinion).

    ``category`` is a sign-up category (its name, label or alias, any case) or ``wijk``; ``feature`` one
    of its values (stored as the canonical value). Every bad cell is reported at once.
    """
    frame = read_table(path)
    problems = ProblemCollector(path.name)
    for col in ("category", "feature", "share"):
        if col not in frame.columns:
            problems.add("missing column", column=col)
    problems.raise_if_any("use the columns category,feature,share")
    names = {normalise(h): c for c in categories for h in c.headers()}
    out: dict[str, dict[str, float]] = {}
    for row, rec in frame.iterrows():
        try:
            share = float(str(rec["share"]).replace(",", "."))
        except ValueError:
            problems.add("not a number", row=int(row), column="share", value=rec["share"])
            continue
        if not math.isfinite(share) or not 0 <= share <= 1:
            problems.add("a share is a decimal from 0 to 1", row=int(row), column="share", value=rec["share"])
            continue
        if normalise(rec["category"]) == "wijk":
            out.setdefault("wijk", {})[str(rec["feature"]).strip()] = share
            continue
        category = names.get(normalise(rec["category"]))
        if category is None:
            allowed = ", ".join(["wijk", *(c.name for c in categories)])
            problems.add(
                f"not a sign-up category; use one of {allowed}", row=int(row), column="category", value=rec["category"]
            )
            continue
        value = category.canonical(rec["feature"])
        if value is None:
            problems.add(
                f"not a value of {category.name}; use one of {', '.join(category.allowed)}",
                row=int(row),
                column="feature",
                value=rec["feature"],
            )
            continue
        out.setdefault(category.name, {})[value] = share
    declared = {c.name: c for c in categories}
    for name, shares in out.items():  # never renormalised silently
        total = sum(shares.values())
        if abs(total - 1) > SHARE_TOLERANCE:
            problems.add(f"the shares of {name} sum to {total:g}, not 1", column="share")
        missing = [v for v in declared[name].allowed if v not in shares] if name in declared else []
        if missing:  # a value left out would get no quota at all: write 0 when it truly has none
            problems.add(
                f"no share for {', '.join(missing)} of {name} (write 0 for a value that has no one)",
                column="feature",
            )
    problems.raise_if_any("write one row per category and value, shares as decimals")
    return out


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


#: Column names that are ids in other tools' people files (sortition-algorithms, panel companies).
ID_HINTS = ("nationbuilder_id", "pool_member_identifier", "participant_id", "respondent_id", "person_id")


class People(NamedTuple):
    """A checked people file: ``pool`` (``id``, categories, ``address_key`` when households are
    checked, kept columns) and ``notes`` the user must see (e.g. ids taken from row numbers)."""

    pool: pd.DataFrame
    notes: list[str]


def read_people(
    path: Path,
    quotas: pd.DataFrame,
    *,
    id_column: str | None = None,
    address_columns: Sequence[str] = (),
    keep_columns: Sequence[str] = (),
) -> People:
    """A people file in our or the Sortition Foundation's layout, with nothing guessed silently.

    Ids: ``id_column``, else a column named ``id``; a file with neither gets the data row numbers 1..n
    as ids (said in ``notes``) unless it has a column that looks like an id (``ID_HINTS``, or a name
    ending in ``_id``), which is then an error telling the user to write ``--id-column NAME``. Households:
    ``address_columns`` joined into ``address_key`` (people with every address cell empty share no
    address). ``keep_columns`` must exist and are kept for the output. Every problem is reported at once.
    """
    frame = read_table(path)
    problems = ProblemCollector(path.name)
    notes: list[str] = []
    for column in [*(c for c in (id_column,) if c), *address_columns, *keep_columns]:
        if column not in frame.columns:
            problems.add(
                "column not in the file (named by --id-column, --address-columns or the settings)", column=column
            )
    if id_column is None and "id" not in frame.columns:
        looks = [c for c in frame.columns if c.lower() in ID_HINTS or c.lower().endswith("_id")]
        if looks:
            problems.add(
                f"no column named id: write --id-column {looks[0]} (or id_column in --settings) to use it",
                column=looks[0],
            )
        else:
            notes.append(f"{path.name} has no id column: the ids are the data row numbers 1..{len(frame)}.")
    problems.raise_if_any("name the columns as they are in the file")
    if id_column is not None and id_column != "id":
        if "id" in frame.columns:
            frame = frame.rename(columns={"id": "id (file)"})
        frame = frame.rename(columns={id_column: "id"})
    address = None
    if address_columns:
        cells = frame[list(address_columns)].astype(str).apply(lambda c: c.str.strip())
        joined = cells.agg("|".join, axis=1)
        frame = frame.assign(address_key=joined.where((cells != "").any(axis=1)))
        address = "address_key"
    pool = respondents_from_frame(frame, quotas, source=path.name, address_column=address)
    categories = list(dict.fromkeys(quotas["category"]))
    kept = [c if c != id_column else "id" for c in keep_columns]
    columns = list(dict.fromkeys(["id", *categories, *([address] if address else []), *kept]))
    return People(pool[columns], notes)


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


#: The keys of sortition-algorithms' ``settings.toml`` (``Settings.load_from_file``).
SA_SETTINGS = (
    "id_column",
    "columns_to_keep",
    "check_same_address",
    "check_same_address_columns",
    "max_attempts",
    "selection_algorithm",
    "solver_backend",
    "random_number_seed",
)


class SelectSettings(NamedTuple):
    """What ``klero select`` takes from a sortition-algorithms ``settings.toml``; ``notes`` say what
    was read differently from the file's face value (so nothing is dropped silently)."""

    id_column: str | None
    address_columns: tuple[str, ...]
    keep_columns: tuple[str, ...]
    algorithm: str | None
    seed: int | None
    notes: tuple[str, ...]


def read_select_settings(path: Path) -> SelectSettings:
    """Read a sortition-algorithms ``settings.toml`` as it is: ``id_column``, ``check_same_address`` +
    ``check_same_address_columns`` (the household key), ``columns_to_keep``, ``selection_algorithm``,
    ``random_number_seed`` (0 means unseeded there: a fresh secure seed here). ``max_attempts`` (legacy
    retries) and ``solver_backend`` do not apply to Kleroterion's engine and are named in ``notes``;
    an unknown key is an error."""
    problems = ProblemCollector(path.name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(str(path), [Problem(f"not a readable TOML file: {exc}")], hint="check the file") from exc
    for key in sorted(set(data) - set(SA_SETTINGS)):
        problems.add(f"unknown setting; the settings are {', '.join(SA_SETTINGS)}", column=key, value=data[key])
    text_keys = ("id_column", "selection_algorithm")
    for key in text_keys:
        if key in data and not isinstance(data[key], str):
            problems.add("must be a text in quotes", column=key, value=data[key])
    for key in ("columns_to_keep", "check_same_address_columns"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.add("must be a list of column names in quotes", column=key, value=value)
    check = data.get("check_same_address", False)
    if not isinstance(check, bool):
        problems.add("must be true or false", column="check_same_address", value=check)
    seed = data.get("random_number_seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.add("must be a whole number ≥ 0", column="random_number_seed", value=seed)
    if check is True and not data.get("check_same_address_columns"):
        problems.add("check_same_address is true but no columns are listed", column="check_same_address_columns")
    problems.raise_if_any("write the settings as sortition-algorithms documents them")
    notes = [
        f"{key} = {data[key]!r} does not apply to Kleroterion's engine."
        for key in ("max_attempts", "solver_backend")
        if key in data
    ]
    address = tuple(data.get("check_same_address_columns", [])) if check else ()
    if not check and data.get("check_same_address_columns"):
        notes.append("check_same_address is false: the listed address columns are not checked.")
    if "random_number_seed" in data and seed == 0:
        notes.append("random_number_seed = 0 means unseeded: a fresh secure seed is drawn and printed.")
    return SelectSettings(
        id_column=data.get("id_column"),
        address_columns=address,
        keep_columns=tuple(data.get("columns_to_keep", [])),
        algorithm=data.get("selection_algorithm"),
        seed=int(seed) if seed else None,
        notes=tuple(notes),
    )


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
