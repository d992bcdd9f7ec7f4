"""Alternates: an ordered reserve drawn the same way as the panel, from those not selected."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sortition.errors import InfeasibleQuotaError, KleroError
from sortition.progress import Cancel
from sortition.quotas import derive_quotas, quota_breaks
from sortition.selection import SelectionResult, select_panel


def alternate_quotas(quotas: pd.DataFrame, *, count: int, tolerance: float = 1.0) -> pd.DataFrame:
    """Quotas for a reserve of ``count``, proportional to the panel's population shares."""
    missing = quotas["population_share"].isna() if "population_share" in quotas else pd.Series([True])
    if missing.any():
        raise KleroError(
            "Alternates are drawn to the population shares, and these quotas have none "
            "(give population_share in the quota file, or use `klero quotas derive`).",
            code="no_population_shares",
        )
    shares: dict[str, dict[str, float]] = {}
    for row in quotas.itertuples(index=False):
        shares.setdefault(str(row.category), {})[str(row.feature)] = float(row.population_share)
    return derive_quotas(shares, size=count, tolerance=tolerance)


def select_alternates(
    pool: pd.DataFrame,
    panel: tuple[str, ...],
    quotas: pd.DataFrame,
    *,
    count: int,
    rng: np.random.Generator,
    algorithm: str = "maximin",
    engine: str = "native",
    address_column: str | None = "address_key",
    tolerance: float = 1.0,
    exclude: Sequence[str] = (),
    cancel: Cancel | None = None,
) -> tuple[list[str], SelectionResult]:
    """Draw ``count`` ordered alternates from the pool members not on the panel nor at a panel address.

    The reserve meets proportional quotas of its own (``alternate_quotas``); its order (who is asked
    first) is a uniform random permutation. ``exclude`` and ``cancel`` as in ``select_panel`` (rotation,
    ``sortition.progress``). The engine defaults to ``native``, as ``select_panel``'s. Returns the ordered
    ids and the selection result.
    """
    rest = pool[~pool["id"].isin(panel)]
    if address_column:
        taken = set(pool.loc[pool["id"].isin(panel), address_column])
        rest = rest[~rest[address_column].isin(taken)]
    reserve_quotas = alternate_quotas(quotas, count=count, tolerance=tolerance)
    result = select_panel(
        rest.reset_index(drop=True),
        reserve_quotas,
        size=count,
        rng=rng,
        algorithm=algorithm,
        engine=engine,
        address_column=address_column,
        cancel=cancel,
        exclude=exclude,
    )
    order = list(result.panel)
    rng.shuffle(order)
    return order, result


@dataclass(frozen=True)
class Replacement:
    """The outcome of replacing one panel member.

    ``person_in`` is the chosen alternate; ``skipped`` lists the alternates passed over, each with
    the reason; ``broken`` the quotas the new panel breaks (empty unless a break was accepted).
    """

    person_out: str
    person_in: str
    skipped: tuple[tuple[str, str], ...]
    broken: tuple[str, ...]


def _leaving(
    pool: pd.DataFrame, panel: Sequence[str], person_out: str, address_column: str | None
) -> tuple[pd.DataFrame, list[str], set[str]]:
    """(pool indexed by id, the panel without ``person_out``, the addresses those members hold)."""
    if person_out not in panel:
        raise KleroError(f"{person_out} is not on the current panel.", code="not_on_panel", person=person_out)
    rows = pool.set_index("id", drop=False)
    remaining = [p for p in panel if p != person_out]
    taken = set(rows.loc[remaining, address_column]) if address_column else set()
    return rows, remaining, taken


def _fitting(
    rows: pd.DataFrame,
    remaining: list[str],
    taken: set[str],
    quotas: pd.DataFrame,
    *,
    exclude: Sequence[str],
    address_column: str | None,
) -> list[str]:
    """Pool members (sorted by id) outside ``exclude`` and the taken addresses who keep every quota."""
    others = rows[~rows["id"].isin(exclude)]
    if address_column:
        others = others[~others[address_column].isin(taken)]
    return sorted(p for p in others["id"] if not quota_breaks(rows.loc[[*remaining, p]], quotas))


def choose_replacement(
    pool: pd.DataFrame,
    panel: Sequence[str],
    person_out: str,
    alternates: Sequence[str],
    quotas: pd.DataFrame,
    *,
    address_column: str | None = "address_key",
    accept_break: bool = False,
) -> Replacement:
    """The first alternate, in order, whose entry keeps the panel inside every quota band.

    An alternate at the address of a remaining panel member is skipped. When no alternate keeps the
    quotas, ``InfeasibleQuotaError`` names the quotas each would break and how many other pool members
    would keep them; with ``accept_break`` the first address-compatible alternate is taken instead and
    the broken quotas are returned in ``broken``.
    """
    rows, remaining, taken = _leaving(pool, panel, person_out, address_column)
    skipped: list[tuple[str, str]] = []
    fallback: tuple[str, list[str]] | None = None
    for alt in alternates:
        if address_column and rows.at[alt, address_column] in taken:
            skipped.append((alt, "lives at the address of a panel member"))
            continue
        breaks = quota_breaks(rows.loc[[*remaining, alt]], quotas)
        if not breaks:
            return Replacement(person_out, alt, tuple(skipped), ())
        skipped.append((alt, "; ".join(breaks)))
        if fallback is None:
            fallback = (alt, breaks)
    if accept_break and fallback is not None:
        return Replacement(
            person_out, fallback[0], tuple(s for s in skipped if s[0] != fallback[0]), tuple(fallback[1])
        )
    fitting = _fitting(rows, remaining, taken, quotas, exclude=[*panel, *alternates], address_column=address_column)
    conflicts = [f"{alt}: {why}" for alt, why in skipped] or ["there are no alternates left"]
    raise InfeasibleQuotaError(
        f"No alternate can replace {person_out} inside the quotas ({len(fitting)} other pool members would"
        " keep them; --from-pool draws one):\n  " + "\n  ".join(conflicts),
        conflicts=conflicts,
        relaxation={
            "pool_members_who_fit": len(fitting),
            "suggestion": "draw among pool members who fit (--from-pool), or accept the break (--accept-quota-break)",
        },
    )


def draw_pool_replacement(
    pool: pd.DataFrame,
    panel: Sequence[str],
    person_out: str,
    quotas: pd.DataFrame,
    *,
    rng: np.random.Generator,
    exclude: Sequence[str] = (),
    address_column: str | None = "address_key",
) -> tuple[str, list[str]]:
    """A uniform draw among pool members who keep the panel inside every quota when ``person_out`` leaves.

    Candidates are off the panel, not in ``exclude`` (e.g. alternates already passed over) and not at the
    address of a remaining member; they are sorted by id before the draw so a stored seed replays.
    Returns (chosen id, all candidates). Raises ``InfeasibleQuotaError`` when nobody fits.
    """
    rows, remaining, taken = _leaving(pool, panel, person_out, address_column)
    fitting = _fitting(rows, remaining, taken, quotas, exclude=[*panel, *exclude], address_column=address_column)
    if not fitting:
        breaks = quota_breaks(rows.loc[remaining], quotas)
        raise InfeasibleQuotaError(
            f"Nobody in the pool can replace {person_out} inside the quotas; without a replacement: "
            + ("; ".join(breaks) or "no quota breaks"),
            conflicts=breaks,
            relaxation={"suggestion": "relax the quotas named, or accept the break"},
        )
    return fitting[int(rng.integers(0, len(fitting)))], fitting
