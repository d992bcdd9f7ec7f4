"""Registration: sign-ups matched to invitation letters, validated, turned into the pool."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from sortition.errors import ProblemCollector
from sortition.letters import is_valid_code
from sortition.signup import CODE_ALIASES, DEFAULT_CATEGORIES, SignupCategory, normalise

#: Contact columns kept with a sign-up (never a quota category) and the header names they may have.
CONTACT_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "e-mailadres", "emailadres", "email address"),
    "telefoon": ("telefoon", "telefoonnummer", "phone", "phone number", "telephone"),
}
CONTACT_COLUMNS = tuple(CONTACT_ALIASES)


def pool_hash(pool: pd.DataFrame, quotas: pd.DataFrame) -> str:
    """SHA-256 of the frozen pool: ids, addresses and the quota categories' values, sorted, as canonical JSON."""
    cols = ["id", "address_key", *dict.fromkeys(quotas["category"])]
    records = pool[cols].astype(str).sort_values("id").to_dict("records")
    return hashlib.sha256(json.dumps(records, sort_keys=True).encode("utf-8")).hexdigest()


def person_id(code: str) -> str:
    """Pseudonymous pool id derived from the invitation code (no name, no registry id)."""
    return "P" + hashlib.sha256(code.encode("utf-8")).hexdigest()[:10].upper()


@dataclass(frozen=True)
class Conflict:
    """A sheet row whose code is already in the pool with other answers: ``{category: (stored, sheet)}``."""

    row: int
    code: str
    differences: dict[str, tuple[str, str]]

    def changes(self) -> str:
        """``education 'hoog' in the pool, 'laag' on the sheet``, one clause per category that differs."""
        return ", ".join(f"{c} {old!r} in the pool, {new!r} on the sheet" for c, (old, new) in self.differences.items())

    def describe(self) -> str:
        return f"row {self.row}, code {self.code}: {self.changes()}"


@dataclass(frozen=True)
class SignupSheet:
    """What a sign-up sheet adds to the pool.

    ``new``: the rows to store (``id, letter_code, address_key, wijk`` + category columns + ``contact``);
    ``already``: rows whose code is in the pool with the same answers (nothing to do); ``conflicts``:
    rows whose code is in the pool with other answers (never stored over the pool's answers);
    ``columns``: category or contact → the sheet's header; ``ignored_columns``: headers not used.
    """

    new: pd.DataFrame
    already: int
    conflicts: tuple[Conflict, ...]
    columns: dict[str, str]
    ignored_columns: tuple[str, ...]


def match_columns(
    headers: Sequence[str], categories: Sequence[SignupCategory], problems: ProblemCollector
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Which header holds the code, each category and each contact column (case, accents and spacing
    ignored); missing and doubly matched columns are added to ``problems``. Returns (name → header,
    the headers not used)."""
    wanted: dict[str, tuple[str, ...]] = {
        "code": CODE_ALIASES,
        **{c.name: c.headers() for c in categories},
        **CONTACT_ALIASES,
    }
    names = {normalise(alias): name for name, aliases in wanted.items() for alias in aliases}
    found: dict[str, str] = {}
    ignored = []
    for header in headers:
        name = names.get(normalise(header))
        if name is None:
            ignored.append(header)
        elif name in found:
            problems.add(f"both {found[name]!r} and {header!r} are the column {name!r}", column=header)
        else:
            found[name] = header
    for name in ["code", *(c.name for c in categories)]:
        if name not in found:
            problems.add(f"missing column (give it one of the names {', '.join(wanted[name])})", column=name)
    return found, tuple(ignored)


def _allowed_text(category: SignupCategory) -> str:
    labels = (
        f"{v.value} ({v.label_nl})" if v.label_nl and normalise(v.label_nl) != normalise(v.value) else v.value
        for v in category.values
    )
    return "not an allowed value; allowed: " + ", ".join(labels)


def build_pool(
    signups: pd.DataFrame,
    letters: pd.DataFrame,
    *,
    source: str,
    categories: Sequence[SignupCategory] = DEFAULT_CATEGORIES,
    pooled: Mapping[str, Mapping[str, str]] | None = None,
) -> SignupSheet:
    """Match a sign-up sheet (code + one column per category) to the letters; every bad cell is reported.

    Headers and answers are matched in any case, with or without accents, by name, label or alias
    (``Geslacht``/``gender``; ``Vrouw``/``vrouw``/``V``) and stored as the canonical value. ``pooled``
    maps each letter code already in the pool to its stored answers: a row with that code and the same
    answers is counted as ``already``, one with other answers is a ``Conflict``. The frame's index is
    taken as the file row number. Raises ``InputError`` listing every problem; nothing is returned then.
    """
    problems = ProblemCollector(source)
    columns, ignored = match_columns(list(signups.columns), categories, problems)
    problems.raise_if_any(
        "the sign-up sheet needs a column code and one per category: " + ", ".join(c.name for c in categories)
    )
    pooled = pooled or {}
    by_code = dict(zip(letters["code"], zip(letters["address_key"], letters["wijk"], strict=True), strict=True))
    cells = {
        name: dict(zip(signups.index, signups[header].astype(str), strict=True)) for name, header in columns.items()
    }
    codes = signups[columns["code"]].astype(str).str.strip().str.upper()
    duplicated = codes.duplicated(keep="first")
    lookups = {c.name: c.lookup() for c in categories}
    records = []
    already = 0
    conflicts = []
    for row, code in codes.items():
        if not is_valid_code(code):
            problems.add(
                "not a valid invitation code (check for typing errors)",
                row=int(row),
                column=columns["code"],
                value=code,
            )
            continue
        if code not in by_code:
            problems.add("unknown invitation code", row=int(row), column=columns["code"], value=code)
            continue
        if duplicated[row]:
            problems.add(
                "this code was already used on an earlier row", row=int(row), column=columns["code"], value=code
            )
            continue
        values = {}
        for category in categories:
            answer = cells[category.name][row]
            value = lookups[category.name].get(normalise(answer))
            if value is None:
                problems.add(
                    _allowed_text(category), row=int(row), column=columns[category.name], value=str(answer).strip()
                )
            values[category.name] = value or ""
        if code in pooled:
            stored = pooled[code]
            differences = {n: (str(stored.get(n, "")), v) for n, v in values.items() if str(stored.get(n, "")) != v}
            if not differences:
                already += 1
            elif all(values.values()):
                conflicts.append(Conflict(int(row), code, differences))
            continue
        address_key, wijk = by_code[code]
        contact = {c: cells[c][row].strip() for c in CONTACT_COLUMNS if c in columns}
        records.append(
            {
                "id": person_id(code),
                "letter_code": code,
                "address_key": address_key,
                "wijk": wijk,
                **values,
                "contact": contact,
            }
        )
    problems.raise_if_any("correct these rows and import the file again; nothing was stored")
    new = pd.DataFrame.from_records(
        records, columns=["id", "letter_code", "address_key", "wijk", *(c.name for c in categories), "contact"]
    )
    return SignupSheet(new, already, tuple(conflicts), columns, ignored)
