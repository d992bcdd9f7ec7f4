"""Stage 1: invitation letters, one per address, with exact inclusion probabilities.

Addresses are sampled within strata (largest-remainder allocation ``L_h = L·N_h/N``, with N_h the
eligible addresses), then one eligible resident at random per address, so each resident's inclusion
probability is exactly ``p_i = (L_h/A_h)·(1/E_a)`` (DOMAIN.md §1a step 3).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from kleroterion.errors import KleroError
from sortition.quotas import largest_remainder

#: Look-alike-free alphabet (no 0/O, 1/I/L, U): 30 symbols, ~4.9 bits each.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 30**10 ~ 2**49 codes


def check_character(body: str) -> str:
    """Weighted mod-30 check character (catches every single substitution and adjacent swap)."""
    total = sum((i + 1) * CODE_ALPHABET.index(ch) for i, ch in enumerate(body))
    return CODE_ALPHABET[total % len(CODE_ALPHABET)]


def make_codes(count: int, rng: np.random.Generator, *, taken: frozenset[str] = frozenset()) -> list[str]:
    """Random, non-sequential invitation codes ``XXXXX-XXXXX-C`` (C a check character), unique."""
    codes: list[str] = []
    seen = set(taken)
    while len(codes) < count:
        symbols = rng.integers(0, len(CODE_ALPHABET), size=CODE_LENGTH)
        body = "".join(CODE_ALPHABET[s] for s in symbols)
        code = f"{body[:5]}-{body[5:]}-{check_character(body)}"
        if code not in seen:
            seen.add(code)
            codes.append(code)
    return codes


def is_valid_code(code: str) -> bool:
    """True when a typed code has the right shape and check character."""
    parts = code.strip().upper().split("-")
    if len(parts) != 3 or len(parts[0]) != 5 or len(parts[1]) != 5 or len(parts[2]) != 1:
        return False
    body = parts[0] + parts[1]
    if any(ch not in CODE_ALPHABET for ch in body):
        return False
    return check_character(body) == parts[2]


def draw_letters(
    eligible: pd.DataFrame,
    *,
    count: int,
    rng: np.random.Generator,
    stratify_by: str | None = None,
    exclude_addresses: frozenset[str] = frozenset(),
    oversample: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Draw ``count`` letters from eligible residents, at most one per address.

    ``eligible`` has columns ``id``, ``address_key`` and the stratum column (if any). Addresses in
    ``exclude_addresses`` (earlier rounds) are not drawn again. ``oversample`` maps a stratum value
    to a factor multiplying its share (``L_h ∝ N_h·factor``, rescaled to L).

    Returns one row per letter: ``resident_id``, ``address_key``, ``stratum``,
    ``inclusion_probability`` (exact, ``(L_h/A_h)·(1/E_a)``), ``addresses_in_stratum``,
    ``eligible_at_address``.
    """
    if count <= 0:
        raise KleroError("The number of letters must be positive.", code="bad_letter_count", count=count)
    frame = eligible[~eligible["address_key"].isin(exclude_addresses)]
    strata = frame[stratify_by].astype("string").fillna("(onbekend)") if stratify_by else "all"
    frame = frame.assign(stratum=strata)
    addresses = frame.groupby("address_key", sort=True).agg(stratum=("stratum", "first"), eligible=("id", "size"))
    if len(addresses) < count:
        raise KleroError(
            f"Only {len(addresses)} addresses with eligible residents are left; cannot send {count} letters.",
            code="too_few_addresses",
            available=len(addresses),
            count=count,
        )
    sizes = addresses.groupby("stratum").size().sort_index()
    weights = sizes.astype(float)
    for value, factor in (oversample or {}).items():
        if value not in weights.index:
            raise KleroError(f"Oversampled stratum {value!r} does not exist.", code="unknown_stratum", stratum=value)
        weights[value] *= factor
    allocation = largest_remainder(weights / weights.sum(), count)
    allocation = np.minimum(allocation, sizes)  # cap at available addresses
    shortfall = count - int(allocation.sum())
    while shortfall > 0:  # give capped letters to strata with room, largest remaining first
        room = (sizes - allocation).sort_values(ascending=False)
        for stratum in room.index[:shortfall]:
            allocation[stratum] += 1
        shortfall = count - int(allocation.sum())

    chosen: list[tuple[str, str, int, int]] = []
    for stratum, letters in allocation.items():
        pool = addresses.index[addresses["stratum"] == stratum].to_numpy()
        picked: list[str] = list(rng.choice(pool, size=int(letters), replace=False)) if letters > 0 else []
        chosen.extend((addr, stratum, int(letters), len(pool)) for addr in picked)
    picks = pd.DataFrame(chosen, columns=["address_key", "stratum", "letters_in_stratum", "addresses_in_stratum"])
    by_address = frame.groupby("address_key")["id"].apply(list)
    residents = []
    for addr in picks["address_key"]:
        people = sorted(by_address[addr])
        residents.append((people[int(rng.integers(0, len(people)))], len(people)))
    picks["resident_id"] = [r[0] for r in residents]
    picks["eligible_at_address"] = [r[1] for r in residents]
    picks["inclusion_probability"] = (
        picks["letters_in_stratum"] / picks["addresses_in_stratum"] / picks["eligible_at_address"]
    )
    return picks[
        [
            "resident_id",
            "address_key",
            "stratum",
            "inclusion_probability",
            "addresses_in_stratum",
            "eligible_at_address",
        ]
    ].reset_index(drop=True)
