"""Participants' evaluation of the event (DOMAIN.md §3.10): balance of the materials, the chance to
speak, moderator fairness, the value of the event — full distributions with n and DK, and the mean
of the substantive answers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from deliberation.change import distributions
from deliberation.instrument import Instrument

EVALUATION_COLUMNS = ("item", "text", "n", "n_dk_na", "n_substantive", "mean", "sd", "share_top_two", "scale")


def _as_opinion_items(instrument: Instrument) -> Instrument:
    """The evaluation items as plain items, so the opinion-distribution code can count them."""
    items = tuple(dataclasses.replace(i, section="") for i in instrument.evaluation_items)
    return dataclasses.replace(instrument, items=items)


def evaluation_distributions(scored: pd.DataFrame, instrument: Instrument, *, wave: str) -> pd.DataFrame:
    """Full answer distribution of every evaluation item at ``wave`` (columns as
    ``deliberation.change.distributions``: DK/NA rows in the denominator). Unweighted."""
    return distributions(scored, _as_opinion_items(instrument), waves=[wave])


def summarise_evaluation(scored: pd.DataFrame, instrument: Instrument, *, wave: str) -> pd.DataFrame:
    """One row per evaluation item answered at ``wave``.

    Columns: ``item, text, n`` (everyone who got the item, DK/NA included), ``n_dk_na``,
    ``n_substantive``, ``mean`` and ``sd`` (ddof 1) of the substantive answers, ``share_top_two``
    (the two highest scale points over ``n``; for yes/no the share answering yes) and ``scale``
    (``min–max``). Unweighted.
    """
    rows = []
    for item in instrument.evaluation_items:
        part = scored[(scored["item_code"] == item.code) & (scored["wave"] == wave)]
        if part.empty:
            continue
        values = part["value"].dropna().to_numpy(dtype=float)
        low, high = item.scale_min or 0.0, item.scale_max if item.scale_max is not None else 1.0
        top = values >= (high if item.kind == "yesno" else high - 1)
        rows.append(
            {
                "item": item.code,
                "text": item.text,
                "n": len(part),
                "n_dk_na": len(part) - len(values),
                "n_substantive": len(values),
                "mean": float(values.mean()) if len(values) else np.nan,
                "sd": float(values.std(ddof=1)) if len(values) > 1 else np.nan,
                "share_top_two": float(top.sum() / len(part)),
                "scale": f"{low:g}–{high:g}",
            }
        )
    return pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS))
