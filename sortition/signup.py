"""Sign-up categories: what a sign-up sheet asks (gender, age band, education, or a process's own).

A sign-up sheet is kept by organisers, in Dutch or English, in whatever case they type. Headers and
values are matched after ``normalise`` (case, accents, spaces, ``_`` and ``-`` ignored) against the
category's name, labels and aliases; a value is stored as its canonical ``value``. A sheet has a
``code`` column (the invitation code) and one column per category of the process: the built-in
``DEFAULT_CATEGORIES`` unless ``process.toml`` declares its own (``categories_from_settings``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sortition.bands import AGE_BANDS
from sortition.errors import KleroError

#: Where the population shares of a category come from when quotas are derived.
SHARE_SOURCES = ("registry", "shares-file", "settings")
#: Categories whose population shares the registry (BRP) extract itself gives.
REGISTRY_CATEGORIES = ("gender", "age_band")
#: Header names of the invitation-code column.
CODE_ALIASES = ("code", "uitnodigingscode", "invitation code", "toegangscode", "access code")


def normalise(text: object) -> str:
    """``text`` folded for matching: accents removed, case folded, runs of space, ``_``, ``-``, ``–`` one space.

    ``" Leeftijds_Groep "`` → ``"leeftijds groep"``; ``"Ééntje"`` → ``"eentje"``; soft hyphens are dropped;
    ``"16 – 24"`` → ``"16 24"`` (so ``16-24`` matches it).
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch) and ch != "\u00ad")
    return re.sub(r"[\s_\-\u2010-\u2015]+", " ", bare.casefold()).strip()


@dataclass(frozen=True)
class CategoryValue:
    """One allowed answer: the canonical ``value`` stored in the pool, its labels and its aliases."""

    value: str
    label_nl: str = ""
    label_en: str = ""
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.value, self.label_nl, self.label_en, *self.aliases) if n)

    def label(self, lang: str) -> str:
        """The label in ``lang`` (``nl`` or ``en``), or '' when none is declared."""
        return self.label_en if lang == "en" else self.label_nl


@dataclass(frozen=True)
class SignupCategory:
    """One question of the sign-up sheet and a stratification category of the lottery.

    ``source`` says where quotas get the population shares: ``registry`` (gender and age band, from the
    BRP extract), ``settings`` (``population_shares`` in ``process.toml``) or ``shares-file``
    (``klero quotas derive --shares FILE``).
    """

    name: str
    label_nl: str
    label_en: str
    values: tuple[CategoryValue, ...]
    aliases: tuple[str, ...] = ()
    source: str = "shares-file"
    population_shares: Mapping[str, float] = field(default_factory=dict)

    @property
    def allowed(self) -> tuple[str, ...]:
        """The canonical values, in the declared order."""
        return tuple(v.value for v in self.values)

    def label(self, lang: str) -> str:
        return (self.label_en if lang == "en" else self.label_nl) or self.name

    def headers(self) -> tuple[str, ...]:
        """Every header name this category's column may have (matched after ``normalise``)."""
        return tuple(n for n in (self.name, self.label_nl, self.label_en, *self.aliases) if n)

    def lookup(self) -> dict[str, str]:
        """Normalised name, label or alias → canonical value."""
        return {normalise(name): v.value for v in self.values for name in v.names()}

    def canonical(self, answer: object) -> str | None:
        """The canonical value of ``answer`` (any case, accents, alias), or None when it is not allowed."""
        return self.lookup().get(normalise(answer))


def _values(*specs: tuple[str, str, str, tuple[str, ...]]) -> tuple[CategoryValue, ...]:
    return tuple(CategoryValue(v, nl, en, aliases) for v, nl, en, aliases in specs)


#: The built-in sign-up categories; area (wijk) always comes from the letter, never from the sheet.
DEFAULT_CATEGORIES: tuple[SignupCategory, ...] = (
    SignupCategory(
        "gender",
        "Geslacht",
        "Gender",
        _values(
            ("M", "Man", "Male", ("mannelijk", "man", "men", "mannen")),
            ("V", "Vrouw", "Female", ("vrouwelijk", "woman", "women", "vrouwen", "F")),
            ("O", "Anders", "Other", ("overig", "X", "non-binair", "non-binary", "divers")),
        ),
        aliases=("sekse", "sex"),
        source="registry",
    ),
    SignupCategory(
        "age_band",
        "Leeftijdsgroep",
        "Age band",
        tuple(
            CategoryValue(label, aliases=(f"{low} tot en met {high}", f"{low} to {high}"))
            if high < 200
            else CategoryValue(label, aliases=(f"{low} en ouder", f"{low} and over", f"{low} plus"))
            for label, low, high in AGE_BANDS
        ),
        aliases=("leeftijdscategorie", "leeftijdsklasse", "leeftijd", "age group", "age"),
        source="registry",
    ),
    SignupCategory(
        "education",
        "Opleiding",
        "Education",
        _values(
            ("laag", "Laag", "Low", ("lager", "low")),
            ("middelbaar", "Middelbaar", "Middle", ("middel", "midden", "medium", "intermediate")),
            ("hoog", "Hoog", "High", ("hoger", "high")),
        ),
        aliases=("opleidingsniveau", "education level", "onderwijsniveau"),
        source="shares-file",
    ),
)
BUILT_IN = {c.name: c for c in DEFAULT_CATEGORIES}


def categories_from_settings(entries: Sequence[Mapping[str, Any]], *, source: str) -> tuple[SignupCategory, ...]:
    """The ``[[signup.category]]`` tables of ``process.toml`` as categories; none → ``DEFAULT_CATEGORIES``.

    Each table has ``name`` and ``values`` (strings, or tables ``{value, label_nl, label_en, aliases}``),
    optionally ``label_nl``, ``label_en``, ``aliases``, ``source`` and ``population_shares`` (value →
    share). A table naming a built-in category (gender, age_band, education) without ``values`` takes the
    built-in one, so ``name = "gender"`` alone keeps it. Every mistake is reported at once.
    """
    if not entries:
        return DEFAULT_CATEGORIES
    problems: list[str] = []
    categories = []
    for number, entry in enumerate(entries, start=1):
        where = f"[[signup.category]] number {number}"
        try:
            categories.append(_category(dict(entry), where=where))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    if not problems:
        problems.extend(_clashes(categories))
    if problems:
        raise KleroError(
            f"{source}: the sign-up categories cannot be used:\n  " + "\n  ".join(problems),
            code="bad_settings",
            problems=problems,
        )
    return tuple(categories)


_CATEGORY_KEYS = {"name", "label_nl", "label_en", "values", "aliases", "source", "population_shares"}
_VALUE_KEYS = {"value", "label_nl", "label_en", "aliases"}


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of texts")
    return tuple(value)


def _category(entry: dict[str, Any], *, where: str) -> SignupCategory:
    unknown = set(entry) - _CATEGORY_KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))} (use {', '.join(sorted(_CATEGORY_KEYS))})")
    name = entry.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"name {name!r} must be lower-case letters, digits and _ (e.g. climate_opinion)")
    if name in ("code", "wijk", "id"):
        raise ValueError(f"name {name!r} is taken (code and id are columns of every pool; wijk comes from the letter)")
    base = BUILT_IN.get(name)
    if "values" not in entry and base is None:
        raise ValueError(f'{name}: give its values, e.g. values = ["ja", "nee"]')
    values = base.values if "values" not in entry and base is not None else _value_list(entry["values"], name)
    shares_in = entry.get("population_shares", {})
    if not isinstance(shares_in, dict):
        raise ValueError(f"{name}: population_shares must be a table value = share")
    default_source = "settings" if shares_in else (base.source if base is not None else "shares-file")
    source = entry.get("source", default_source)
    if source not in SHARE_SOURCES:
        raise ValueError(f"{name}: source {source!r} must be one of {', '.join(SHARE_SOURCES)}")
    if source == "settings" and not shares_in:
        raise ValueError(f'{name}: source "settings" needs population_shares = {{ value = share, ... }}')
    if source == "registry" and name not in REGISTRY_CATEGORIES:
        raise ValueError(f"{name}: the registry gives shares only for {', '.join(REGISTRY_CATEGORIES)}")
    category = SignupCategory(
        name=name,
        label_nl=str(entry.get("label_nl", base.label_nl if base else "")),
        label_en=str(entry.get("label_en", base.label_en if base else "")),
        values=values,
        aliases=_strings(entry["aliases"], f"{name}: aliases")
        if "aliases" in entry
        else (base.aliases if base else ()),
        source=source,
    )
    return replace(category, population_shares=_shares(category, shares_in))


def _value_list(raw: object, name: str) -> tuple[CategoryValue, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{name}: values must be a non-empty list")
    values = []
    for item in raw:
        if isinstance(item, str) and item.strip():
            values.append(CategoryValue(item.strip()))
        elif isinstance(item, dict) and isinstance(item.get("value"), str) and not set(item) - _VALUE_KEYS:
            aliases = _strings(item.get("aliases", []), f"{name}: aliases of {item['value']!r}")
            values.append(
                CategoryValue(
                    item["value"].strip(), str(item.get("label_nl", "")), str(item.get("label_en", "")), aliases
                )
            )
        else:
            raise ValueError(
                f"{name}: value {item!r} must be a text or a table with value, label_nl, label_en, aliases"
            )
    return tuple(values)


def _shares(category: SignupCategory, raw: Mapping[str, Any]) -> dict[str, float]:
    shares: dict[str, float] = {}
    for key, share in raw.items():
        value = category.canonical(key)
        if value is None:
            raise ValueError(f"{category.name}: population share for {key!r}, which is not one of its values")
        if not isinstance(share, int | float) or isinstance(share, bool) or share < 0:
            raise ValueError(f"{category.name}: population share of {key!r} must be a number ≥ 0")
        shares[value] = float(share)
    if shares and sum(shares.values()) <= 0:
        raise ValueError(f"{category.name}: population shares add up to 0")
    return shares


def _clashes(categories: Iterable[SignupCategory]) -> list[str]:
    """Two categories sharing a header, or one value's alias meaning two values."""
    problems = []
    headers: dict[str, str] = {normalise(a): "code" for a in CODE_ALIASES}
    for category in categories:
        for header in category.headers():
            owner = headers.setdefault(normalise(header), category.name)
            if owner != category.name:
                problems.append(f"{category.name}: the column name {header!r} also belongs to {owner}")
        meaning: dict[str, str] = {}
        for value in category.values:
            for alias in value.names():
                first = meaning.setdefault(normalise(alias), value.value)
                if first != value.value:
                    problems.append(f"{category.name}: {alias!r} would mean both {first!r} and {value.value!r}")
    return problems
