"""Stage 1: invitation letters, one per address, with exact inclusion probabilities.

Addresses are sampled within strata (largest-remainder allocation ``L_h = L·N_h/N``, with N_h the
eligible addresses), then one eligible resident at random per address, so each resident's inclusion
probability is exactly ``p_i = (L_h/A_h)·(1/E_a)`` (DOMAIN.md §1a step 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sortition.errors import KleroError
from sortition.quotas import largest_remainder

#: Look-alike-free alphabet (no 0/O, 1/I/L, U): 30 symbols, ~4.9 bits each.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 30**10 ~ 2**49 codes
#: The stratum of residents whose stratum column is empty.
UNKNOWN_STRATUM = "(onbekend)"


def check_character(body: str) -> str:
    """Weighted mod-30 check character (catches every single substitution and adjacent swap)."""
    total = sum((i + 1) * CODE_ALPHABET.index(ch) for i, ch in enumerate(body))
    return CODE_ALPHABET[total % len(CODE_ALPHABET)]


def make_codes(count: int, rng: np.random.Generator, *, taken: frozenset[str] = frozenset()) -> list[str]:
    """Random, non-sequential invitation codes ``XXXXX-XXXXX-C`` (C a check character), unique."""
    codes: list[str] = []
    seen = set(taken)
    alphabet = np.frombuffer(CODE_ALPHABET.encode("ascii"), dtype="S1")
    weights = np.arange(1, CODE_LENGTH + 1)
    while len(codes) < count:
        symbols = rng.integers(0, len(CODE_ALPHABET), size=(count - len(codes), CODE_LENGTH))
        checks = alphabet[(symbols * weights).sum(axis=1) % len(CODE_ALPHABET)]  # as ``check_character``
        bodies = np.ascontiguousarray(alphabet[symbols]).view(f"S{CODE_LENGTH}").ravel()
        for body, check in zip(bodies.tolist(), checks.tolist(), strict=True):
            code = f"{body[:5].decode()}-{body[5:].decode()}-{check.decode()}"
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
    to a factor multiplying its share (``L_h ∝ N_h·factor``, rescaled to L). An address belongs to
    the stratum of its eligible resident with the smallest id.

    Returns one row per letter: ``resident_id``, ``address_key``, ``stratum``,
    ``inclusion_probability`` (exact, ``(L_h/A_h)·(1/E_a)``), ``addresses_in_stratum``,
    ``eligible_at_address``. The arrays behind it are those of ``draw_letter_rows``, so the same
    seed gives the same letters whether the residents come as this frame or as compact columns.
    """
    frame = eligible.sort_values(["address_key", "id"], kind="stable")
    address_codes, address_keys = pd.factorize(frame["address_key"], sort=True)
    labels = (
        frame[stratify_by].astype("string").fillna(UNKNOWN_STRATUM)
        if stratify_by
        else pd.Series("all", index=frame.index)
    )
    stratum_codes, stratum_labels = pd.factorize(labels, sort=True)
    excluded = np.asarray(pd.Index(address_keys).isin(list(exclude_addresses)), dtype=bool)
    picks = draw_letter_rows(
        address_codes,
        stratum_codes,
        [str(s) for s in stratum_labels],
        n_addresses=len(address_keys),
        excluded=excluded,
        count=count,
        rng=rng,
        oversample=oversample,
    )
    ids = frame["id"].to_numpy()
    return pd.DataFrame(
        {
            "resident_id": ids[picks.rows],
            "address_key": np.asarray(address_keys)[picks.addresses],
            "stratum": picks.strata,
            "inclusion_probability": picks.inclusion_probability,
            "addresses_in_stratum": picks.addresses_in_stratum,
            "eligible_at_address": picks.eligible_at_address,
        }
    )


@dataclass(frozen=True)
class LetterRows:
    """One letter per entry: the drawn resident's position, its address code and stratum, and the
    exact inclusion probability ``(L_h/A_h)·(1/E_a)`` with its parts."""

    rows: np.ndarray  # position of the resident in the arrays given to ``draw_letter_rows``
    addresses: np.ndarray  # address codes
    strata: list[str]
    addresses_in_stratum: np.ndarray
    eligible_at_address: np.ndarray
    inclusion_probability: np.ndarray


def draw_letter_rows(
    address: np.ndarray,
    stratum: np.ndarray,
    stratum_labels: Sequence[str],
    *,
    n_addresses: int,
    excluded: np.ndarray,
    count: int,
    rng: np.random.Generator,
    eligible: np.ndarray | None = None,
    oversample: Mapping[str, float] | None = None,
    allocation: Mapping[str, int] | None = None,
) -> LetterRows:
    """The letter draw on compact columns.

    ``address`` (address codes ``0..n_addresses-1``, numbered in address-key order) and ``stratum``
    (codes into ``stratum_labels``; -1 is the last label) give one entry per resident, sorted by
    address and then resident id; ``eligible`` (default: everyone) marks who may get a letter and
    ``excluded`` the address codes drawn in earlier rounds. Strata are taken in sorted label order
    (equal labels are one stratum). Letters are allocated to strata by largest remainder
    (``L_h = L·N_h·factor / Σ N·factor``, capped at the addresses a stratum has), addresses drawn
    without replacement within each stratum, then one eligible resident at random per drawn address.
    Nothing of resident length is copied beyond the eligible residents' address and stratum codes.
    ``allocation`` (stratum label -> letters, summing to ``count``) replaces the proportional allocation,
    e.g. a top-up planned by ``sortition.topup.plan_topup``; a stratum not named gets none.
    """
    if count <= 0:
        raise KleroError("The number of letters must be positive.", code="bad_letter_count", count=count)
    keep = eligible
    if excluded.any():
        kept_address = ~excluded[address]
        keep = kept_address if keep is None else keep & kept_address
        del kept_address
    left = address if keep is None else address[keep]
    eligible_at = np.bincount(left, minlength=n_addresses)
    firsts = np.flatnonzero(np.r_[True, left[1:] != left[:-1]]) if len(left) else np.zeros(0, np.int64)
    present = left[firsts]  # addresses in code order, each with its first (smallest-id) eligible resident
    del left
    labels = sorted(set(stratum_labels))
    rank = np.array([labels.index(label) for label in stratum_labels], dtype=np.int32)
    address_stratum = rank[(stratum if keep is None else stratum[keep])[firsts]]
    del firsts
    if len(present) < count:
        raise KleroError(
            f"Only {len(present)} addresses with eligible residents are left; cannot send {count} letters.",
            code="too_few_addresses",
            available=len(present),
            count=count,
        )
    if allocation is None:
        per_stratum = _allocate(address_stratum, labels, count=count, oversample=oversample)
    else:
        per_stratum = _given_allocation(address_stratum, labels, allocation, count=count)
    picked: list[np.ndarray] = []
    strata: list[str] = []
    letters_in: list[int] = []
    pool_sizes: list[int] = []
    by_stratum = np.argsort(address_stratum, kind="stable")  # within a stratum still in address order
    bounds = np.r_[0, np.cumsum(np.bincount(address_stratum, minlength=len(labels)))]
    for code, letters in per_stratum.items():
        pool = present[by_stratum[bounds[code] : bounds[code + 1]]]
        if letters > 0:
            picked.append(rng.choice(pool, size=int(letters), replace=False))
            strata.extend([labels[code]] * int(letters))
            letters_in.extend([int(letters)] * int(letters))
            pool_sizes.extend([len(pool)] * int(letters))
    chosen = np.concatenate(picked) if picked else np.zeros(0, dtype=np.int64)
    at_address = eligible_at[chosen]
    offsets = [int(rng.integers(0, n)) for n in at_address]
    starts = np.searchsorted(address, chosen)
    if keep is None:
        rows = starts + np.array(offsets, dtype=np.int64)
    else:  # the offset-th eligible resident within the address's block of residents
        ends = np.searchsorted(address, chosen, side="right")
        rows = np.array(
            [s + int(np.flatnonzero(keep[s:e])[k]) for s, e, k in zip(starts, ends, offsets, strict=True)],
            dtype=np.int64,
        )
    in_stratum = np.array(pool_sizes, dtype=np.int64)
    probability = np.array(letters_in, dtype=float) / in_stratum / at_address
    return LetterRows(
        rows=rows,
        addresses=chosen,
        strata=strata,
        addresses_in_stratum=in_stratum,
        eligible_at_address=at_address.astype(np.int64),
        inclusion_probability=probability,
    )


def _given_allocation(
    address_stratum: np.ndarray, labels: Sequence[str], allocation: Mapping[str, int], *, count: int
) -> pd.Series:
    """Letters per stratum code as given; refused when they do not add up or exceed a stratum's addresses."""
    counts = np.bincount(address_stratum, minlength=len(labels))
    index_of = {label: code for code, label in enumerate(labels)}
    unknown = sorted(set(allocation) - set(index_of))
    if unknown:
        raise KleroError(f"Stratum {unknown[0]!r} does not exist.", code="unknown_stratum", stratum=unknown[0])
    if sum(int(v) for v in allocation.values()) != count or any(int(v) < 0 for v in allocation.values()):
        raise KleroError(f"The letters per stratum must be at least 0 and add up to {count}.", code="bad_allocation")
    over = [label for label, v in allocation.items() if int(v) > counts[index_of[label]]]
    if over:
        raise KleroError(
            f"Stratum {over[0]!r} has only {counts[index_of[over[0]]]} addresses left for "
            f"{allocation[over[0]]} letters.",
            code="bad_allocation",
        )
    codes = np.flatnonzero(counts > 0)
    return pd.Series([int(allocation.get(labels[int(c)], 0)) for c in codes], index=codes)


def _allocate(
    address_stratum: np.ndarray, labels: Sequence[str], *, count: int, oversample: Mapping[str, float] | None
) -> pd.Series:
    """Letters per stratum code (largest remainder over ``N_h·factor``, capped at ``N_h``)."""
    counts = np.bincount(address_stratum, minlength=len(labels))
    sizes = pd.Series(counts[counts > 0], index=np.flatnonzero(counts > 0))
    weights = sizes.astype(float)
    index_of = {label: code for code, label in enumerate(labels)}
    for value, factor in (oversample or {}).items():
        if index_of.get(value) not in weights.index:
            raise KleroError(f"Oversampled stratum {value!r} does not exist.", code="unknown_stratum", stratum=value)
        weights[index_of[value]] *= factor
    allocation = largest_remainder(weights / weights.sum(), count)
    allocation = np.minimum(allocation, sizes)  # cap at available addresses
    shortfall = count - int(allocation.sum())
    while shortfall > 0:  # give capped letters to strata with room, largest remaining first
        room = (sizes - allocation).sort_values(ascending=False)
        for code in room.index[:shortfall]:
            allocation[code] += 1
        shortfall = count - int(allocation.sum())
    return allocation
