"""Survey waves: validating a wide answer file against the instrument and the known participants."""

from __future__ import annotations

import pandas as pd

from deliberation.instrument import RANKING_SEPARATOR, Instrument, Item
from sortition.errors import ProblemCollector

ID_COLUMN = "participant_id"


def _allowed(item: Item, value: str) -> bool:
    if value in item.dont_know or value in item.missing or value == "":
        return True
    if item.is_knowledge:
        return not item.options or value in item.options
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        return False
    low, high = item.scale_min, item.scale_max
    return low is not None and high is not None and low <= number <= high and number == int(number)


def ranking_problem(item: Item, value: str) -> str | None:
    """What is wrong with a ranking answer ``b>a>c`` (option codes best first), or None.

    Empty, don't-know and missing codes are allowed; otherwise every option must appear exactly once.
    """
    if value in item.dont_know or value in item.missing or value == "":
        return None
    ranked = [part.strip() for part in value.split(RANKING_SEPARATOR)]
    if any(part not in item.options for part in ranked):
        return f"unknown option in ranking (options: {', '.join(item.options)})"
    if len(set(ranked)) < len(ranked):
        return "option ranked more than once"
    if len(ranked) < len(item.options):
        return f"incomplete ranking: rank all {len(item.options)} options, best first, separated by '>'"
    return None


def canonical_ranking(value: str) -> str:
    return RANKING_SEPARATOR.join(part.strip() for part in value.split(RANKING_SEPARATOR))


def cell_problems(item: Item, cells: pd.Series) -> dict[str, list[object]]:
    """The rows (index labels) of ``cells`` (stripped text) that are not valid answers to ``item``, by message."""
    if item.is_ranking:
        found = pd.Series([ranking_problem(item, value) for value in cells], index=cells.index, dtype=object)
        return {message: found.index[found == message].tolist() for message in sorted(set(found.dropna()))}
    bad = cells.index[[not _allowed(item, value) for value in cells]].tolist()
    return {"value outside the item's scale or options": bad} if bad else {}


def validate_wave(
    frame: pd.DataFrame, instrument: Instrument, *, known_ids: frozenset[str], source: str
) -> pd.DataFrame:
    """Check a wide wave file (``participant_id`` + one column per item) and return long answers.

    Reports unknown or duplicate ids, columns not in the instrument and out-of-range values, each
    with row and column. The frame's index is the file row number. Returns
    ``participant_id, item_code, raw``.
    """
    problems = ProblemCollector(source)
    if ID_COLUMN not in frame.columns:
        problems.add("missing column", column=ID_COLUMN)
    codes = {i.code for i in instrument.items}
    for col in frame.columns:
        if col != ID_COLUMN and col not in codes:
            problems.add("column is not an item of the instrument", column=col)
    problems.raise_if_any("use participant_id plus the item codes of the instrument as column names")
    ids = frame[ID_COLUMN].astype(str).str.strip()
    problems.add_rows("duplicate participant id", ids.index[ids.duplicated(keep="first")], column=ID_COLUMN, values=ids)
    problems.add_rows("unknown participant id", ids.index[~ids.isin(known_ids)], column=ID_COLUMN, values=ids)
    items = [instrument.item(c) for c in frame.columns if c != ID_COLUMN]
    for item in items:
        cells = frame[item.code].astype(str).str.strip()
        for message, bad in cell_problems(item, cells).items():
            problems.add_rows(message, bad, column=item.code, values=cells)
    problems.raise_if_any("correct these cells and import the wave again; nothing was stored")
    long = frame.assign(**{ID_COLUMN: ids}).melt(id_vars=ID_COLUMN, var_name="item_code", value_name="raw")
    long["raw"] = long["raw"].astype(str).str.strip().str.replace(",", ".", regex=False)
    ranking = long["item_code"].isin([i.code for i in items if i.is_ranking])
    long.loc[ranking, "raw"] = long.loc[ranking, "raw"].map(canonical_ranking)  # "b > a > c" -> "b>a>c"
    return long.reset_index(drop=True)
