"""Display labels for the report tables: a category's name and each value's label in the report's language,
and the names of wijken and buurten from an areas file the process supplies.

A report shows a code only where no label is known, and then says once which codes those are
(``Labels.unnamed_areas``). Pure: the areas file's text comes in, a mapping goes out.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sortition.errors import ProblemCollector
from sortition.signup import SignupCategory

#: Category names of the characteristics that are not sign-up categories.
AREA = "wijk"
_NAMES = {
    AREA: {"nl": "Wijk", "en": "Area (wijk)"},
    "buurt": {"nl": "Buurt", "en": "Neighbourhood (buurt)"},
}
_AREA_CODE = re.compile(r"^(WK|BU)\d{6}(\d{2})?$")


#: How an English report marks a text it only has in Dutch.
DUTCH_ORIGINAL = "Dutch original"


def in_language(dutch: str, english: str, lang: str) -> str:
    """A text in the report's language: Dutch for ``nl``; for ``en`` the English text, or, when there is
    none, the Dutch original marked as such ("Dutch original: …"), never silently mixed."""
    if lang == "nl" or not dutch:
        return dutch if lang == "nl" else english
    return english or f"{DUTCH_ORIGINAL}: {dutch}"


def age_band_label(value: str, lang: str) -> str:
    """'16-24' -> '16–24 jaar' / '16–24 years'; '70+' -> '70 jaar en ouder' / '70 and over'."""
    if value.endswith("+") and value[:-1].isdigit():
        return f"{value[:-1]} jaar en ouder" if lang == "nl" else f"{value[:-1]} and over"
    low, sep, high = value.partition("-")
    if sep and low.isdigit() and high.isdigit():
        return f"{low}–{high} jaar" if lang == "nl" else f"{low}–{high} years"
    return value


def parse_areas(text: str, *, source: str) -> dict[str, dict[str, str]]:
    """The areas file: CSV with ``code`` (CBS wijk or buurt code, e.g. WK189401) and ``name`` (Dutch),
    optionally ``name_en``. Returns ``{code: {"nl": name, "en": name_en}}`` (an empty name is left out,
    so the report shows the code and says so). Raises ``InputError`` listing every bad row."""
    problems = ProblemCollector(source)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = set(reader.fieldnames or [])
    if not {"code", "name"} <= columns:
        problems.add("the areas file needs the columns code and name (and optionally name_en)")
        problems.raise_if_any(hint="see data/peel_en_maas/wijken.csv for an example")
    areas: dict[str, dict[str, str]] = {}
    for number, row in enumerate(reader, start=2):
        code = (row.get("code") or "").strip()
        if not _AREA_CODE.match(code):
            problems.add("not a CBS wijk or buurt code (WK + 6 digits, BU + 8 digits)", row=number, value=code)
            continue
        if code in areas:
            problems.add("this code occurs twice", row=number, value=code)
        names = {lang: (row.get(col) or "").strip() for lang, col in (("nl", "name"), ("en", "name_en"))}
        areas[code] = {lang: name for lang, name in names.items() if name}
    problems.raise_if_any(hint="correct the areas file named by areas in [report] of process.toml")
    return areas


@dataclass(frozen=True)
class Labels:
    """Everything a template needs to show a label instead of a code, in one language."""

    lang: str
    categories: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    areas: Mapping[str, str] = field(default_factory=dict)
    #: Area codes the report shows for lack of a name (listed once in the report).
    unnamed_areas: tuple[str, ...] = ()

    def category(self, name: str) -> str:
        return self.categories.get(name) or _NAMES.get(name, {}).get(self.lang) or name.replace("_", " ")

    def value(self, category: str, value: str) -> str:
        if category in (AREA, "buurt") or _AREA_CODE.match(value):
            return self.areas.get(value, value)
        return self.values.get(category, {}).get(value, value)


def build_labels(
    categories: Iterable[SignupCategory],
    *,
    lang: str,
    areas: Mapping[str, Mapping[str, str]] | None = None,
    shown_areas: Iterable[str] = (),
) -> Labels:
    """Labels of every sign-up category (built-in ones too) and of the area codes in ``shown_areas``.

    A value without a label of its own shows itself, except age bands ('16-24' -> '16–24 jaar'); an
    area takes its name in ``lang``, else its Dutch name, else its code (then listed in ``unnamed_areas``).
    """
    names: dict[str, str] = {}
    values: dict[str, dict[str, str]] = {}
    for c in categories:
        names[c.name] = c.label(lang)
        labels = {v.value: v.label(lang) for v in c.values}
        if c.name == "age_band":
            labels = {v: label or age_band_label(v, lang) for v, label in labels.items()}
        values[c.name] = {k: v for k, v in labels.items() if v}
    area_names: dict[str, str] = {}
    unnamed: list[str] = []
    for code in dict.fromkeys(shown_areas):
        by_lang = (areas or {}).get(code, {})
        name = by_lang.get(lang) or by_lang.get("nl")
        if name:
            area_names[code] = name
        else:
            unnamed.append(code)
    for name, by_lang in _NAMES.items():
        names.setdefault(name, by_lang[lang])
    values[AREA] = dict(area_names)
    return Labels(lang=lang, categories=names, values=values, areas=area_names, unnamed_areas=tuple(sorted(unnamed)))
