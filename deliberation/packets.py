"""Briefing materials: balance checks on the pro and con arguments per option (DOMAIN.md §1b step 4).

Input is one row per argument: ``option, side, text`` and optionally ``source`` (several sources in
one cell separated by ``;``). ``side`` is ``pro`` or ``con``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sortition.errors import InputError, Problem, ProblemCollector

SIDES = ("pro", "con")
BALANCE_COLUMNS = (
    "option",
    "n_pro",
    "n_con",
    "words_pro",
    "words_con",
    "word_ratio",
    "missing_side",
    "balanced_count",
)
SOURCE_COLUMNS = ("source", "n_pro", "n_con", "options", "one_sided")


def _checked(arguments: pd.DataFrame) -> pd.DataFrame:
    problems = [Problem("missing column", column=c) for c in ("option", "side", "text") if c not in arguments.columns]
    if problems:
        raise InputError("briefing arguments", problems, hint="give option, side (pro/con) and text per argument")
    side = arguments["side"].astype(str).str.strip().str.lower()
    bad = [
        Problem("side must be pro or con", row=int(i), column="side", value=v)
        for i, v in side[~side.isin(SIDES)].items()
    ]
    if bad:
        raise InputError("briefing arguments", bad, hint="mark every argument as pro or con")
    return arguments.assign(side=side, words=arguments["text"].fillna("").astype(str).str.split().str.len())


def validate_arguments(arguments: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Check a table of briefing arguments (one per row; the index is the file row) and normalise it.

    Needs ``option``, ``side`` (pro/con, any case), ``text``; ``source`` is optional (several sources
    separated by ``;``). Every problem (missing column, empty option or text, bad side) is collected
    and raised once as an ``InputError`` naming row and column. Returns ``option, side, text, source``
    with cells stripped, in file order.
    """
    problems = ProblemCollector(source)
    for column in ("option", "side", "text"):
        if column not in arguments.columns:
            problems.add("missing column", column=column)
    problems.raise_if_any("give one argument per row with columns option, side (pro or con), text and source")
    if arguments.empty:
        problems.add("no arguments in the file")
    cells = arguments.reindex(columns=["option", "side", "text", "source"]).fillna("").astype(str)
    cells = cells.apply(lambda c: c.str.strip())
    cells["side"] = cells["side"].str.lower()
    for column in ("option", "text"):
        empty = cells.index[cells[column] == ""]
        problems.add_rows(f"the {column} is empty", list(empty), column=column)
    bad = cells.index[~cells["side"].isin(SIDES)]
    problems.add_rows("side must be pro or con", list(bad), column="side", values=arguments["side"].to_dict())
    problems.raise_if_any("fill in every option and text and mark every argument as pro or con")
    return cells.reset_index(drop=True)


def packet_balance(arguments: pd.DataFrame) -> pd.DataFrame:
    """Per option: number and total length (words, split on whitespace) of pro and con arguments.

    Columns: ``option, n_pro, n_con, words_pro, words_con, word_ratio`` (shorter side / longer side,
    1 = equal length, 0 when a side is missing), ``missing_side`` (``pro``, ``con``, ``both`` or
    empty) and ``balanced_count`` (n_pro == n_con).
    """
    frame = _checked(arguments)
    counts = frame.pivot_table(index="option", columns="side", values="words", aggfunc=["count", "sum"], fill_value=0)
    rows = []
    for option in pd.unique(frame["option"]):
        n = {s: int(counts.loc[option].get(("count", s), 0)) for s in SIDES}
        w = {s: int(counts.loc[option].get(("sum", s), 0)) for s in SIDES}
        missing = [s for s in SIDES if n[s] == 0]
        longest = max(w.values())
        rows.append(
            {
                "option": option,
                "n_pro": n["pro"],
                "n_con": n["con"],
                "words_pro": w["pro"],
                "words_con": w["con"],
                "word_ratio": min(w.values()) / longest if longest else np.nan,
                "missing_side": "both" if len(missing) == 2 else (missing[0] if missing else ""),
                "balanced_count": n["pro"] == n["con"],
            }
        )
    return pd.DataFrame(rows, columns=list(BALANCE_COLUMNS))


def source_sides(arguments: pd.DataFrame) -> pd.DataFrame:
    """Per cited source: how often it backs a pro and a con argument, and whether only one side uses it.

    Columns: ``source, n_pro, n_con, options`` (the options it is cited for, ``;``-joined) and
    ``one_sided``. Arguments without a source are not listed here (``packet_balance`` counts them).
    """
    frame = _checked(arguments)
    if "source" not in frame:
        return pd.DataFrame(columns=list(SOURCE_COLUMNS))
    cited = frame.assign(source=frame["source"].fillna("").astype(str).str.split(";")).explode("source")
    cited["source"] = cited["source"].str.strip()
    cited = cited[cited["source"] != ""]
    rows = []
    for source, part in cited.groupby("source", sort=True):
        n_pro, n_con = int((part["side"] == "pro").sum()), int((part["side"] == "con").sum())
        rows.append(
            {
                "source": source,
                "n_pro": n_pro,
                "n_con": n_con,
                "options": "; ".join(str(o) for o in pd.unique(part["option"])),
                "one_sided": (n_pro == 0) != (n_con == 0),
            }
        )
    return pd.DataFrame(rows, columns=list(SOURCE_COLUMNS))


def validate_receipts(receipts: pd.DataFrame, *, known_ids: frozenset[str], source: str) -> pd.DataFrame:
    """Check a table of who received a packet version: ``participant_id`` and ``received_on`` (YYYY-MM-DD).

    Unknown participants, repeated participants, empty or malformed dates are collected per row and
    column and raised once. Returns ``participant_id, received_on`` (ISO dates as text).
    """
    problems = ProblemCollector(source)
    for column in ("participant_id", "received_on"):
        if column not in receipts.columns:
            problems.add("missing column", column=column)
    problems.raise_if_any("give one row per participant with participant_id and received_on (YYYY-MM-DD)")
    if receipts.empty:
        problems.add("no receipts in the file")
    ids = receipts["participant_id"].fillna("").astype(str).str.strip()
    dates = pd.to_datetime(
        receipts["received_on"].fillna("").astype(str).str.strip(), format="%Y-%m-%d", errors="coerce"
    )
    problems.add_rows("participant_id is empty", list(ids.index[ids == ""]), column="participant_id")
    unknown = ids.index[(ids != "") & ~ids.isin(known_ids)]
    problems.add_rows("not a participant of this poll", list(unknown), column="participant_id", values=ids.to_dict())
    repeated = ids.index[(ids != "") & ids.duplicated(keep="first")]
    problems.add_rows("participant listed twice", list(repeated), column="participant_id", values=ids.to_dict())
    problems.add_rows(
        "not a date (use YYYY-MM-DD)",
        list(dates.index[dates.isna()]),
        column="received_on",
        values=receipts["received_on"].to_dict(),
    )
    problems.raise_if_any("correct these rows; participant ids are those of the survey files")
    return pd.DataFrame({"participant_id": ids.to_numpy(), "received_on": dates.dt.strftime("%Y-%m-%d").to_numpy()})
