"""Registration: sign-ups matched to invitation letters, validated, turned into the pool."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import pandas as pd

from kleroterion.errors import ProblemCollector
from sortition.letters import is_valid_code
from sortition.registry import AGE_BANDS

#: Self-reported stage-2 features and their allowed values; area (wijk) comes from the letter.
POOL_FEATURES: dict[str, tuple[str, ...]] = {
    "gender": ("M", "V", "O"),
    "age_band": tuple(label for label, _, _ in AGE_BANDS),
    "education": ("laag", "middelbaar", "hoog"),
}
CONTACT_COLUMNS = ("email", "telefoon")


def pool_hash(pool: pd.DataFrame, quotas: pd.DataFrame) -> str:
    """SHA-256 of the frozen pool: ids, addresses and the quota categories' values, sorted, as canonical JSON."""
    cols = ["id", "address_key", *dict.fromkeys(quotas["category"])]
    records = pool[cols].astype(str).sort_values("id").to_dict("records")
    return hashlib.sha256(json.dumps(records, sort_keys=True).encode("utf-8")).hexdigest()


def person_id(code: str) -> str:
    """Pseudonymous pool id derived from the invitation code (no name, no registry id)."""
    return "P" + hashlib.sha256(code.encode("utf-8")).hexdigest()[:10].upper()


def build_pool(
    signups: pd.DataFrame,
    letters: pd.DataFrame,
    *,
    source: str,
    used_codes: frozenset[str] = frozenset(),
    features: Mapping[str, tuple[str, ...]] = POOL_FEATURES,
) -> pd.DataFrame:
    """Match sign-ups (``code`` + feature columns) to letters; every bad row is reported at once.

    Returns ``id, letter_code, address_key, wijk`` + feature columns + ``contact`` (dict).
    The frame's index is taken as the file row number.
    """
    problems = ProblemCollector(source)
    missing = [c for c in ("code", *features) if c not in signups.columns]
    for col in missing:
        problems.add("missing column", column=col)
    problems.raise_if_any(f"the sign-up file needs the columns code, {', '.join(features)}")
    by_code = letters.set_index("code")
    codes = signups["code"].astype(str).str.strip().str.upper()
    duplicated = codes.duplicated(keep="first")
    records = []
    for row, code in codes.items():
        if not is_valid_code(code):
            problems.add(
                "not a valid invitation code (check for typing errors)", row=int(row), column="code", value=code
            )
            continue
        if code not in by_code.index:
            problems.add("unknown invitation code", row=int(row), column="code", value=code)
            continue
        if duplicated[row]:
            problems.add("this code was already used on an earlier row", row=int(row), column="code", value=code)
            continue
        if code in used_codes:
            problems.add("this code is already in the pool", row=int(row), column="code", value=code)
            continue
        values = {}
        for feature, allowed in features.items():
            value = str(signups.at[row, feature]).strip()
            if value not in allowed:
                problems.add(f"not one of {', '.join(allowed)}", row=int(row), column=feature, value=value)
            values[feature] = value
        letter = by_code.loc[code]
        contact = {c: str(signups.at[row, c]) for c in CONTACT_COLUMNS if c in signups.columns}
        records.append(
            {
                "id": person_id(code),
                "letter_code": code,
                "address_key": letter["address_key"],
                "wijk": letter["wijk"],
                **values,
                "contact": contact,
            }
        )
    problems.raise_if_any("correct these rows and import the file again; nothing was stored")
    return pd.DataFrame.from_records(records)
