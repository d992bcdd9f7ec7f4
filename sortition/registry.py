"""Registry extracts (BRP): canonical columns, validation and pseudonymisation.

A BRP extract arrives with Dutch column names. ``validate_registry`` maps them to the canonical
column set, checks every cell (collecting all problems before raising one ``InputError``), replaces
the registry id (BSN / A-nummer) by a keyed hash and keeps only what the draw and the letters need.
``RegistryValidator`` does the same chunk by chunk, for extracts too large to hold whole (a repeated id
in another chunk is found on the keyed hash).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from sortition.bands import AGE_BANDS  # re-exported: the bands live where sortition.signup reads them
from sortition.errors import ProblemCollector

# canonical name -> accepted source names (lower case), first is the BRP name
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "registry_id": ("bsn", "anummer", "a_nummer", "id", "registry_id", "persoon_id"),
    "given_names": ("voornamen", "voornaam", "given_names"),
    "name_prefix": ("voorvoegsel", "voorvoegsel_geslachtsnaam", "name_prefix"),
    "surname": ("geslachtsnaam", "achternaam", "surname"),
    "birth_date": ("geboortedatum", "birth_date"),
    "gender": ("geslacht", "geslachtsaanduiding", "gender"),
    "street": ("straatnaam", "straat", "street"),
    "house_number": ("huisnummer", "house_number"),
    "house_letter": ("huisletter", "house_letter"),
    "house_suffix": ("huisnummertoevoeging", "toevoeging", "house_suffix"),
    "postcode": ("postcode",),
    "city": ("woonplaats", "woonplaatsnaam", "city"),
    "wijk": ("wijkcode", "wijk"),
    "buurt": ("buurtcode", "buurt"),
    "restricted": ("geheimhouding", "indicatiegeheim", "indicatie_geheim", "restricted"),
}
REQUIRED = ("registry_id", "birth_date", "gender", "house_number", "postcode")
OPTIONAL = tuple(c for c in COLUMN_ALIASES if c not in REQUIRED)
GENDER_CODES = {"M": "M", "V": "V", "O": "O", "MAN": "M", "VROUW": "V", "ONBEKEND": "O", "F": "V", "X": "O"}
POSTCODE_RE = re.compile(r"^[1-9][0-9]{3}\s?[A-Za-z]{2}$")
DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%d-%m-%Y")
TRUE_VALUES = {"1", "j", "ja", "y", "yes", "true", "waar"}
FALSE_VALUES = {"", "0", "n", "nee", "no", "false", "onwaar"}
DUPLICATE_ID = "duplicate id (each resident must appear once)"
BAD_BSN = "not a valid BSN: 9 digits that pass the elfproef (11-proef)"
#: Source column names that hold a BSN (checked with the elfproef); an A-nummer or own id is not.
BSN_COLUMNS = frozenset({"bsn", "burgerservicenummer", "bsn_nummer"})
#: The synthetic BSN block of ``sortition.synthetic.generate_registry`` (the shipped Peel en Maas example
#: and the tests number residents 100000001, 100000002, ... and most of those fail the elfproef).
#: Ids in this block are exempt from the elfproef; ``kleroterion.example`` refuses a real extract in an
#: example workspace by the same block.
SYNTHETIC_BSN_BLOCK = (100_000_001, 100_999_999)
#: Text cells are held as Arrow-backed strings: vectorised string checks on millions of rows.
TEXT = pd.StringDtype("pyarrow")

#: The columns a validated registry frame carries, in order (data minimisation: no BSN, no age).
REGISTRY_COLUMNS = (
    "id",
    "birth_date",
    "gender",
    "address_key",
    "postcode",
    "house_number",
    "house_letter",
    "house_suffix",
    "wijk",
    "buurt",
    "restricted",
    "given_names",
    "name_prefix",
    "surname",
    "street",
    "city",
)


@dataclass(frozen=True)
class RegistryExtract:
    """A validated, pseudonymised registry extract."""

    residents: pd.DataFrame  # columns REGISTRY_COLUMNS
    restricted_count: int
    source: str


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Keyed hash (HMAC-SHA256, first 16 hex digits) of each registry id; the BSN is never stored."""
    digest = hmac.digest
    digests = b"".join([digest(key, str(v).encode("utf-8"), "sha256")[:8] for v in values.tolist()])
    text = digests.hex()
    return pd.Series([text[i : i + 16] for i in range(0, len(text), 16)], index=values.index, dtype=object)


def pseudonym_numbers(pseudonyms: pd.Series) -> np.ndarray:
    """The 16-hex-digit pseudonyms as unsigned 64-bit integers (for compact storage and sorting)."""
    return np.frombuffer(bytes.fromhex("".join(pseudonyms)), dtype=">u8").astype(np.uint64)


def map_columns(columns: list[str], mapping: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Map source columns to canonical names; returns (source -> canonical, unknown source columns)."""
    explicit = {src.strip().lower(): canon for src, canon in (mapping or {}).items()}
    result: dict[str, str] = {}
    unknown = []
    for col in columns:
        key = col.strip().lower()
        if key in explicit:
            result[col] = explicit[key]
            continue
        for canon, aliases in COLUMN_ALIASES.items():
            if key in aliases and canon not in result.values():
                result[col] = canon
                break
        else:
            unknown.append(col)
    return result, unknown


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse YYYYMMDD, YYYY-MM-DD or DD-MM-YYYY into datetime64 (NaT where none fits)."""
    text = values.astype(TEXT).str.strip()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS:
        missing = parsed.isna()
        if not missing.any():
            break
        got = pd.to_datetime(text[missing], format=fmt, errors="coerce")
        # a date pandas cannot hold in nanoseconds (e.g. 29990101) is no birth date: NaT, reported as such
        representable = got.notna() & (got >= pd.Timestamp.min) & (got <= pd.Timestamp.max)
        parsed[missing] = got.where(representable).astype("datetime64[ns]")
    return parsed


def bsn_valid(ids: pd.Series) -> pd.Series:
    """True where a BSN passes the elfproef: 9 digits d1..d9 (8 digits get a leading 0, as a spreadsheet
    drops it) with 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 divisible by 11 and not all zero (Logius, "Burgerservicenummer
    (BSN)", the 11-proef; e.g. 111222333: 9+8+7+12+10+8+9+6-3 = 66 = 6*11). Ids in
    ``SYNTHETIC_BSN_BLOCK`` count as valid."""
    text = ids.astype(TEXT).fillna("").str.strip().str.zfill(9)
    digits_ok = text.str.fullmatch(r"[0-9]{9}").fillna(False).astype(bool)
    valid = pd.Series(False, index=ids.index)
    if not digits_ok.any():
        return valid
    good = text[digits_ok].to_numpy(dtype=str)
    matrix = np.frombuffer("".join(good).encode("ascii"), dtype=np.uint8).reshape(len(good), 9) - ord("0")
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int64)
    total = matrix.astype(np.int64) @ weights
    number = matrix.astype(np.int64) @ (10 ** np.arange(8, -1, -1, dtype=np.int64))
    low, high = SYNTHETIC_BSN_BLOCK
    synthetic = (number >= low) & (number <= high)
    valid[digits_ok] = ((total % 11 == 0) & (number > 0)) | synthetic
    return valid


def address_keys(postcode: pd.Series, number: pd.Series, letter: pd.Series, suffix: pd.Series) -> pd.Series:
    """The household key: postcode + huisnummer + huisletter + toevoeging (normalised)."""
    pc = postcode.str.replace(" ", "", regex=False).str.upper()
    parts = pc + "|" + number.astype(TEXT) + "|" + letter.str.upper() + "|" + suffix.str.upper()
    return parts


def validate_registry(
    frame: pd.DataFrame,
    *,
    source: str,
    reference_date: date,
    key: bytes,
    mapping: Mapping[str, str] | None = None,
) -> RegistryExtract:
    """Validate a raw extract (all cells as text) and return the minimised, pseudonymised residents.

    The frame's index holds the file row number of each record (as ``kleroterion.io.read_table``
    gives). Every problem is collected; one ``InputError`` names file, row, column and value. This is
    ``RegistryValidator`` on a single chunk.
    """
    validator = RegistryValidator(source=source, reference_date=reference_date, key=key, mapping=mapping)
    residents = validator.check(frame)
    validator.finish()
    return RegistryExtract(residents=residents, restricted_count=validator.restricted, source=source)


class RegistryValidator:
    """Validates an extract chunk by chunk (each chunk a frame of text cells indexed by file row).

    ``check`` collects the problems of one chunk and returns its minimised, pseudonymised residents;
    ``finish`` adds what only the whole file shows (no residents at all, an id repeated in another
    chunk, found on the keyed hash) and raises one ``InputError`` when anything was wrong. A caller
    stores chunks only while ``ok`` holds and lets ``finish`` decide; per problem and column at most
    ``ROW_LIMIT`` rows are listed over the whole file.
    """

    def __init__(
        self, *, source: str, reference_date: date, key: bytes, mapping: Mapping[str, str] | None = None
    ) -> None:
        self.problems = ProblemCollector(source)
        self.reference_date = reference_date
        self.key = key
        self.mapping = mapping
        self.rows = 0
        self.restricted = 0
        self._colmap: dict[str, str] | None = None
        self._numbers: list[np.ndarray] = []
        self._file_rows: list[np.ndarray] = []
        self._flagged: set[int] = set()

    @property
    def ok(self) -> bool:
        """No problem found so far."""
        return not self.problems

    def _columns(self, frame: pd.DataFrame) -> dict[str, str]:
        if self._colmap is not None:
            return self._colmap
        if frame.shape[0] == 0:
            self.problems.add("the file has no residents (only a header, or nothing at all)")
            self.problems.raise_if_any("export the extract again with at least one resident")
        colmap, unknown = map_columns(list(frame.columns), self.mapping)
        for name in unknown:
            self.problems.add("unknown column; map it in a mapping file or remove it", column=name)
        present = set(colmap.values())
        for canon in REQUIRED:
            if canon not in present:
                names = "/".join(COLUMN_ALIASES[canon][:2])
                self.problems.add(f"missing required column '{names}'", column=COLUMN_ALIASES[canon][0])
        self.problems.raise_if_any("use the BRP column names (see README) or give --mapping mapping.toml")
        self._colmap = colmap
        return colmap

    def check(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Validate one chunk; returns its residents (columns ``REGISTRY_COLUMNS``)."""
        colmap = self._columns(frame)
        raw = frame.rename(columns=colmap)
        blank = pd.Series("", index=raw.index, dtype=TEXT)
        cells = {c: raw[c].astype(TEXT).fillna("").str.strip() if c in raw else blank for c in COLUMN_ALIASES}
        src_name = {canon: src for src, canon in colmap.items()}

        def flag(mask: pd.Series, canon: str, message: str) -> None:
            rows = mask[mask.fillna(False).astype(bool)].index
            self.problems.add_rows(message, rows, column=src_name.get(canon, canon), values=cells[canon])

        ids = cells["registry_id"]
        flag(ids == "", "registry_id", "empty id")
        if src_name.get("registry_id", "").strip().lower() in BSN_COLUMNS:
            flag((ids != "") & ~bsn_valid(ids), "registry_id", BAD_BSN)
        dup = ids.duplicated(keep=False) & (ids != "")
        flag(dup, "registry_id", DUPLICATE_ID)
        self._flagged.update(int(r) for r in dup[dup].index)

        births = parse_dates(cells["birth_date"])
        flag(births.isna(), "birth_date", "not a date (use YYYYMMDD, YYYY-MM-DD or DD-MM-YYYY)")
        ref = pd.Timestamp(self.reference_date)
        flag(births > ref, "birth_date", f"birth date after the reference date {self.reference_date}")
        flag(births < ref - pd.DateOffset(years=125), "birth_date", "impossible birth date")

        genders = cells["gender"].str.upper().map(GENDER_CODES)
        flag(genders.isna(), "gender", "unknown gender code (use M, V or O)")

        postcodes = cells["postcode"]
        flag(~postcodes.str.match(POSTCODE_RE.pattern), "postcode", "malformed postcode (use 1234 AB)")
        numbers = cells["house_number"]
        flag(~numbers.str.fullmatch(r"[1-9][0-9]{0,4}"), "house_number", "house number must be a whole number")

        restricted_text = cells["restricted"].str.lower()
        bad_flag = ~restricted_text.isin(TRUE_VALUES | FALSE_VALUES)
        flag(bad_flag, "restricted", "restricted-data flag must be J/N, 1/0 or empty")

        restricted = restricted_text.isin(TRUE_VALUES)
        pseudonyms = pseudonymise(ids, self.key)
        self._numbers.append(pseudonym_numbers(pseudonyms))
        self._file_rows.append(np.asarray(raw.index, dtype=np.int32))
        self.rows += len(raw)
        self.restricted += int(restricted.sum())
        postcode_clean = postcodes.str.replace(" ", "", regex=False).str.upper()
        return pd.DataFrame(
            {
                "id": pseudonyms,
                "birth_date": pd.Series(
                    np.datetime_as_string(births.to_numpy(dtype="datetime64[D]"), unit="D"), index=raw.index
                ).where(births.notna(), None),
                "gender": genders,
                "address_key": address_keys(postcodes, numbers, cells["house_letter"], cells["house_suffix"]),
                "postcode": postcode_clean,
                "house_number": numbers,
                "house_letter": cells["house_letter"],
                "house_suffix": cells["house_suffix"],
                "wijk": cells["wijk"].replace("", pd.NA),
                "buurt": cells["buurt"].replace("", pd.NA),
                "restricted": restricted.astype(int),
                "given_names": cells["given_names"],
                "name_prefix": cells["name_prefix"],
                "surname": cells["surname"],
                "street": cells["street"],
                "city": cells["city"],
            }
        ).reset_index(drop=True)

    def finish(self) -> None:
        """Check what spans chunks (an id repeated in another chunk) and raise if anything was wrong."""
        if self._colmap is None:
            self.problems.add("the file has no residents (only a header, or nothing at all)")
            self.problems.raise_if_any("export the extract again with at least one resident")
        numbers = np.concatenate(self._numbers) if self._numbers else np.zeros(0, dtype=np.uint64)
        file_rows = np.concatenate(self._file_rows) if self._file_rows else np.zeros(0, dtype=np.int64)
        order = np.argsort(numbers, kind="stable")
        ordered = numbers[order]
        same = ordered[1:] == ordered[:-1]
        if same.any():
            in_group = np.zeros(len(ordered), dtype=bool)
            in_group[1:] |= same
            in_group[:-1] |= same
            starts = np.r_[True, ~same]
            group_start = np.maximum.accumulate(np.where(starts, np.arange(len(ordered)), 0))
            rows = file_rows[order]
            partner = rows[group_start]  # the first row of the group; the first row points to the second
            partner[starts] = rows[np.minimum(np.flatnonzero(starts) + 1, len(rows) - 1)]
            extra = {
                int(r): f"same id as row {int(p)}"
                for r, p, g in zip(rows, partner, in_group, strict=True)
                if g and int(r) not in self._flagged
            }
            column = next((s for s, c in (self._colmap or {}).items() if c == "registry_id"), "registry_id")
            self.problems.add_rows(DUPLICATE_ID, sorted(extra), column=column, values=extra)
        self.problems.raise_if_any("correct these cells in the extract and import it again; nothing was stored")


@dataclass(frozen=True)
class AreaAssignment:
    """Residents with wijk/buurt taken from an area table, and the addresses it could not place."""

    residents: pd.DataFrame
    unplaced: tuple[str, ...]  # address keys (postcode|huisnummer|letter|toevoeging) not in the table
    changed: int  # residents whose wijk in the extract differed from the area table


AREA_ALIASES: dict[str, tuple[str, ...]] = {
    "postcode": ("postcode",),
    "house_number": ("huisnummer", "house_number"),
    "wijk": ("wijkcode", "wijk"),
    "buurt": ("buurtcode", "buurt"),
}


def validate_areas(frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Validate an area table (``postcode, huisnummer, wijk[, buurt]``; all cells text).

    An empty ``huisnummer`` makes the row cover the whole postcode. Returns columns ``postcode``
    (normalised, no space), ``house_number``, ``wijk``, ``buurt``; every bad cell is collected into
    one ``InputError``, and a (postcode, huisnummer) listed twice with different areas is an error.
    """
    problems = ProblemCollector(source)
    lower = {c.strip().lower(): c for c in frame.columns}
    found = {canon: next((lower[a] for a in aliases if a in lower), None) for canon, aliases in AREA_ALIASES.items()}
    for canon in ("postcode", "house_number", "wijk"):
        if found[canon] is None:
            problems.add(f"missing required column '{AREA_ALIASES[canon][0]}'", column=AREA_ALIASES[canon][0])
    problems.raise_if_any("the area table needs the columns postcode, huisnummer, wijk (and optionally buurt)")
    blank = pd.Series("", index=frame.index, dtype="string")

    def cells(canon: str) -> pd.Series:
        col = found[canon]
        return blank if col is None else frame[col].astype("string").fillna("").str.strip()

    postcodes, numbers, wijk, buurt = cells("postcode"), cells("house_number"), cells("wijk"), cells("buurt")
    for idx in postcodes.index[~postcodes.str.match(POSTCODE_RE)]:
        problems.add("malformed postcode (use 1234 AB)", row=int(idx), column=found["postcode"], value=postcodes[idx])
    bad_numbers = ~(numbers.str.fullmatch(r"[1-9][0-9]{0,4}") | (numbers == ""))
    for idx in numbers.index[bad_numbers]:
        problems.add(
            "house number must be a whole number or empty",
            row=int(idx),
            column=found["house_number"],
            value=numbers[idx],
        )
    for idx in wijk.index[wijk == ""]:
        problems.add("empty wijk", row=int(idx), column=found["wijk"], value="")
    table = pd.DataFrame(
        {
            "postcode": postcodes.str.replace(" ", "", regex=False).str.upper(),
            "house_number": numbers,
            "wijk": wijk,
            "buurt": buurt.replace("", pd.NA),
        }
    )
    clash = table.duplicated(["postcode", "house_number"], keep=False) & ~table.duplicated(keep=False)
    for idx in table.index[clash]:
        problems.add(
            "this postcode and house number appear more than once with different areas",
            row=int(idx),
            column=found["postcode"],
            value=f"{postcodes[idx]} {numbers[idx]}".strip(),
        )
    problems.raise_if_any("correct the area table and import again; nothing was stored")
    return table.drop_duplicates(["postcode", "house_number"]).reset_index(drop=True)


def assign_areas(residents: pd.DataFrame, areas: pd.DataFrame) -> AreaAssignment:
    """Set ``wijk``/``buurt`` of validated residents from an area table (see ``validate_areas``).

    A row for (postcode, huisnummer) wins over a row for the whole postcode. Residents at an address
    the table does not cover keep ``wijk`` = NA and their address keys are listed in ``unplaced``.
    """
    exact = areas[areas["house_number"] != ""].set_index(["postcode", "house_number"])
    whole = areas[areas["house_number"] == ""].set_index("postcode")
    keys = pd.MultiIndex.from_arrays([residents["postcode"], residents["house_number"].astype(str)])
    wijk = pd.Series(exact["wijk"].reindex(keys).to_numpy(), index=residents.index, dtype="string")
    buurt = pd.Series(exact["buurt"].reindex(keys).to_numpy(), index=residents.index, dtype="string")
    fallback = wijk.isna()
    wijk[fallback] = whole["wijk"].reindex(residents.loc[fallback, "postcode"]).to_numpy()
    buurt[fallback] = whole["buurt"].reindex(residents.loc[fallback, "postcode"]).to_numpy()
    before = residents["wijk"].astype("string")
    changed = int((before.notna() & wijk.notna() & (before != wijk)).fillna(False).sum())
    unplaced = tuple(sorted(residents.loc[wijk.isna(), "address_key"].unique()))
    out = residents.assign(wijk=wijk, buurt=buurt)
    return AreaAssignment(residents=out, unplaced=unplaced, changed=changed)


def ages_on(birth_dates: pd.Series, on: date) -> pd.Series:
    """Whole years of age on a date, from ISO birth dates."""
    born = pd.to_datetime(birth_dates)
    years = on.year - born.dt.year
    before_birthday = (born.dt.month > on.month) | ((born.dt.month == on.month) & (born.dt.day > on.day))
    return (years - before_birthday.astype(int)).astype(int)


def latest_birth(on: date, min_age: int) -> int:
    """The latest birth date (as the integer YYYYMMDD) of someone ``min_age`` or older on ``on``.

    Whole years of age are ``(YYYYMMDD_on − YYYYMMDD_birth) // 10000``, so ``age ≥ min_age`` exactly
    when ``birth ≤ (year_on − min_age)·10000 + MMDD_on`` (a 29 February birthday counts from 1 March
    in other years, as in ``ages_on``).
    """
    return (on.year - min_age) * 10000 + on.month * 100 + on.day


def age_bands(ages: pd.Series, bands: tuple[tuple[str, int, int], ...] = AGE_BANDS) -> pd.Series:
    """Label each age with its band (``pd.NA`` below the youngest band)."""
    out = pd.Series(pd.NA, index=ages.index, dtype="string")
    for label, low, high in bands:
        out[(ages >= low) & (ages <= high)] = label
    return out


def whole_years(birth: np.ndarray, on: date) -> np.ndarray:
    """Whole years of age on ``on`` of integer YYYYMMDD birth dates: ``(YYYYMMDD_on − birth) // 10000``.

    The MMDD part of the difference is negative exactly when the birthday is still to come that year,
    so the floor division subtracts that year (as ``ages_on`` does from ISO dates)."""
    return (on.year * 10000 + on.month * 100 + on.day - np.asarray(birth, dtype=np.int64)) // 10000


def category_labels(codes: np.ndarray, labels: Sequence[str], *, unknown: str) -> pd.Series:
    """Codes into ``labels`` as a Series of labels; code -1 (an empty cell) becomes ``unknown``."""
    return pd.Series(pd.Categorical.from_codes(codes, categories=list(labels))).astype(object).fillna(unknown)


def population_shares(
    birth: np.ndarray,
    categories: Mapping[str, tuple[np.ndarray, Sequence[str]]],
    *,
    on: date,
    unknown: str,
) -> dict[str, dict[str, float]]:
    """Shares of gender, age band (``AGE_BANDS``, from ``whole_years`` on ``on``) and wijk among residents.

    ``birth`` holds the residents' YYYYMMDD birth dates and ``categories`` maps ``gender`` and ``wijk``
    to (codes, labels) of the same residents (code -1: ``unknown``). Each share is count / residents;
    for the age band, count / residents in some band (one younger than the youngest band is left out).
    Keys are sorted within each of ``gender``, ``age_band``, ``wijk``."""
    ages = pd.Series(whole_years(birth, on))

    def shares(values: pd.Series) -> dict[str, float]:
        counts = values.value_counts(normalize=True).sort_index()
        return {str(k): float(v) for k, v in counts.items()}

    return {
        "gender": shares(category_labels(*categories["gender"], unknown=unknown)),
        "age_band": shares(age_bands(ages)),
        "wijk": shares(category_labels(*categories["wijk"], unknown=unknown)),
    }


def generalise_birth_dates(birth_dates: pd.Series, on: date) -> pd.Series:
    """Each ISO birth date replaced by the day its holder reached their age on ``on`` (``on`` minus that
    many years; 28 February for 29 February in a common year): ``ages_on`` and so every age band stay
    exactly as they were on ``on``, while day and month of birth are gone."""
    ages = ages_on(birth_dates, on)

    def birthday(age: int) -> str:
        year = on.year - int(age)
        day = on.day if not (on.month == 2 and on.day == 29 and not _leap(year)) else 28
        return date(year, on.month, day).isoformat()

    return ages.map(birthday)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
