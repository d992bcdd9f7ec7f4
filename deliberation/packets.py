"""Briefing materials: balance checks on the pro and con arguments per option (DOMAIN.md §1b step 4).

Input is one row per argument: ``option, side, text`` and optionally ``source`` (several sources in
one cell separated by ``;``). ``side`` is ``pro`` or ``con``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kleroterion.errors import InputError, Problem

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
