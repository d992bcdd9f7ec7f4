"""Registration: sign-ups matched to invitation letters, validated, turned into the pool."""

from __future__ import annotations

import hashlib
import hmac
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


def _row_values(
    categories: Sequence[SignupCategory],
    cells: Mapping[str, pd.Series],
    lookups: Mapping[str, Mapping[str, str]],
    columns: Mapping[str, str],
    row: int,
    problems: ProblemCollector,
) -> dict[str, str]:
    """One row's answer per category as the category's own value ("" and a problem when not one of them)."""
    values = {}
    for category in categories:
        answer = cells[category.name][row]
        value = lookups[category.name].get(normalise(answer))
        if value is None:
            problems.add(
                _allowed_text(category), row=int(row), column=columns[category.name], value=str(answer).strip()
            )
        values[category.name] = value or ""
    return values


def _differences(stored: Mapping[str, object], values: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Per category whose answer differs from the one in the pool: (stored, new)."""
    return {n: (str(stored.get(n, "")), v) for n, v in values.items() if str(stored.get(n, "")) != v}


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
        values = _row_values(categories, cells, lookups, columns, row, problems)
        if code in pooled:
            differences = _differences(pooled[code], values)
            if not differences:
                already += 1
            elif all(values.values()):  # a row with a bad answer is a problem, not a conflict
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


#: Column names that hold a person's id in other tools' people files (sortition-algorithms, panel companies).
PEOPLE_ID_HINTS = ("id", "nationbuilder_id", "pool_member_identifier", "participant_id", "respondent_id", "person_id")


def _keyed(text: str, key: bytes) -> str:
    """HMAC-SHA256 of ``text`` under the workspace key, first 16 hex digits (a pseudonym, not reversible)."""
    return hmac.digest(key, text.encode("utf-8"), "sha256")[:8].hex().upper()


def file_person_id(external_id: str, key: bytes) -> str:
    """Pseudonymous pool id of a person from a people file: ``F`` + a keyed hash of the file's id, so the
    published replay kit shows neither the file's id nor anything it could be matched to without the key."""
    return "F" + _keyed("pool-id|" + external_id, key)


@dataclass(frozen=True)
class PeopleFile:
    """What a people file (the Sortition Foundation's layout: one row per person, an id column, one column
    per category, address columns) adds to a pool without letters. ``new`` has the columns ``id,
    external_id, letter_code (None), address_key`` + categories + ``contact``; ``households`` is False
    when no address columns were given (every person is then their own household)."""

    new: pd.DataFrame
    already: int
    conflicts: tuple[Conflict, ...]
    ignored_columns: tuple[str, ...]
    households: bool


def build_people_pool(
    people: pd.DataFrame,
    *,
    source: str,
    key: bytes,
    id_column: str | None,
    address_columns: Sequence[str] = (),
    categories: Sequence[SignupCategory] = DEFAULT_CATEGORIES,
    pooled: Mapping[str, Mapping[str, str]] | None = None,
    keep_columns: Sequence[str] = (),
) -> PeopleFile:
    """Check a people file and turn it into pool members without invitation letters; every bad cell reported.

    Ids are the file's ``id_column`` (``id`` when none is named; a file with another id-like column must
    name it, and a file without ids is refused: a stored pool needs ids that stay the same when the file is
    imported again). Category columns are matched to ``categories`` as on a sign-up sheet (name, label or
    alias, any case) and their answers to the category's values. The household is the ``address_columns``
    joined (cells stripped, case folded) and hashed with ``key``: people at the same address share it; a
    person whose address cells are all empty, or every person when no columns are given, is a household of
    their own. The address itself is not kept; ``keep_columns`` (sortition-algorithms' ``columns_to_keep``,
    e.g. names for the panel list) are kept with the contact details. ``pooled`` maps the file ids already
    in the pool to their stored answers (``already`` when equal, a ``Conflict`` when not). The frame's index
    is the file row."""
    problems = ProblemCollector(source)
    id_column = _people_id_column(
        [str(c) for c in people.columns], id_column, [*address_columns, *keep_columns], problems
    )
    columns, ignored = _people_columns(
        [str(c) for c in people.columns], {id_column, *address_columns, *keep_columns}, categories, problems
    )
    if people.empty:
        problems.add("the file has no people (only a header, or nothing at all)")
    problems.raise_if_any(
        "the people file needs an id column and one column per category of the process: "
        + ", ".join(c.name for c in categories)
        + "; nothing was stored"
    )
    pooled = pooled or {}
    ids = people[id_column].astype(str).str.strip()
    ids = ids.where(people[id_column].notna(), "")
    duplicated = ids.duplicated(keep="first")
    lookups = {c.name: c.lookup() for c in categories}
    cells = {name: people[header].fillna("").astype(str) for name, header in columns.items()}
    households = _households(people, ids, address_columns)
    kept = {c: people[c].fillna("").astype(str) for c in keep_columns}
    records = []
    already = 0
    conflicts = []
    for row, external in ids.items():
        if external == "":
            problems.add("empty id", row=int(row), column=id_column, value="")
            continue
        if duplicated[row]:
            problems.add("this id was already used on an earlier row", row=int(row), column=id_column, value=external)
            continue
        values = _row_values(categories, cells, lookups, columns, row, problems)
        if external in pooled:
            differences = _differences(pooled[external], values)
            if not differences:
                already += 1
            elif all(values.values()):  # a row with a bad answer is a problem, not a conflict
                conflicts.append(Conflict(int(row), external, differences))
            continue
        records.append(
            {
                "id": file_person_id(external, key),
                "external_id": external,
                "letter_code": None,
                "address_key": "H" + _keyed("household|" + households[row], key),
                **values,
                "contact": {
                    **{c: cells[c][row].strip() for c in CONTACT_COLUMNS if c in columns},
                    **{c: kept[c][row].strip() for c in keep_columns},
                },
            }
        )
    problems.raise_if_any("correct these rows and import the file again; nothing was stored")
    new = pd.DataFrame.from_records(
        records,
        columns=["id", "external_id", "letter_code", "address_key", *(c.name for c in categories), "contact"],
    )
    return PeopleFile(new, already, tuple(conflicts), tuple(ignored), bool(address_columns))


def _people_id_column(
    headers: list[str], id_column: str | None, named: Sequence[str], problems: ProblemCollector
) -> str:
    """The id column: the one named (which must exist, as must the ``named`` columns), else ``id``; an
    id-like column not named, or no id column at all, is a problem (ids are never row numbers in a pool)."""
    for column in [*(c for c in (id_column,) if c), *named]:
        if column not in headers:
            problems.add(
                "column not in the file (named by --id-column, --address-columns or --settings)", column=column
            )
    if id_column is None and "id" not in headers:
        looks = [h for h in headers if h.lower() in PEOPLE_ID_HINTS or h.lower().endswith("_id")]
        problems.add(
            f"no column named id: write --id-column {looks[0]} to use it"
            if looks
            else "no id column: name the column with each person's id with --id-column",
            column=looks[0] if looks else "id",
        )
    problems.raise_if_any("name the columns as they are in the file; nothing was stored")
    return id_column or "id"


def _people_columns(
    headers: list[str], taken: set[str], categories: Sequence[SignupCategory], problems: ProblemCollector
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Category and contact name → the file's header (as on a sign-up sheet), and the headers not used."""
    wanted: dict[str, tuple[str, ...]] = {**{c.name: c.headers() for c in categories}, **CONTACT_ALIASES}
    names = {normalise(alias): name for name, aliases in wanted.items() for alias in aliases}
    columns: dict[str, str] = {}
    ignored = []
    for header in (h for h in headers if h not in taken):
        name = names.get(normalise(header))
        if name is None:
            ignored.append(header)
        elif name in columns:
            problems.add(f"both {columns[name]!r} and {header!r} are the column {name!r}", column=header)
        else:
            columns[name] = header
    for category in categories:
        if category.name not in columns:
            problems.add(
                f"missing column (give it one of the names {', '.join(category.headers())})", column=category.name
            )
    return columns, tuple(ignored)


def _households(people: pd.DataFrame, ids: pd.Series, address_columns: Sequence[str]) -> pd.Series:
    """Each row's household text: its address cells joined (stripped, case folded), or ``person|<id>``
    when it has no address (all cells empty, or no address columns)."""
    alone = "person|" + ids
    if not address_columns:
        return alone
    address = people[list(address_columns)].fillna("").astype(str).apply(lambda c: c.str.strip().str.casefold())
    return address.agg("|".join, axis=1).where((address != "").any(axis=1), alone)
