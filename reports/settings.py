"""Report settings of a process: the remit, the council's commitment, the participation form, sessions.

They live in the workspace's ``process.toml`` next to ``[process]``::

    [report]
    remit = "Hoe zorgen we ...?"          # the question word for word (``remit_en``: a translation)
    commitment = "De raad bespreekt ..."  # what the council will do with the outcome (``commitment_en``)
    response_due = 2027-12-31             # by when the council responds
    participation_rung = "adviseren"      # rung on the participatieladder
    participation_model = "citizens_assembly"  # OECD model (see MODELS)
    participation_reason = "..."          # why this form (``participation_reason_en``)
    limitations = ["...", "..."]          # (``limitations_en``)
    sources = ["..."]                     # data sources of the population figures (``sources_en``)
    areas = "wijken.csv"                  # names of the wijk/buurt codes: CSV code,name[,name_en]

    [[session]]
    date = 2027-03-06
    hours = 3.5
    title = "Kennismaking en informatie"  # (``title_en``)
    format = "plenary"                    # plenary, small_groups, online or mixed

Every key is optional; a report section without its settings says so. Parsing is pure (a mapping in,
a dataclass out) and collects every problem before raising once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reports.labels import in_language
from sortition.errors import ProblemCollector

#: The participatieladder (e.g. gmb-2021-240024), lowest rung first.
RUNGS = ("informeren", "raadplegen", "adviseren", "coproduceren", "meebeslissen")
#: OECD models of representative deliberative processes (Catching the Deliberative Wave, 2020, ch. 3).
MODELS = (
    "citizens_assembly",
    "citizens_jury",
    "consensus_conference",
    "planning_cell",
    "g1000",
    "citizens_council",
    "citizens_dialogue",
    "deliberative_poll",
    "citizens_initiative_review",
    "permanent_body",
)
SESSION_FORMATS = ("plenary", "small_groups", "online", "mixed")
TEXT_KEYS = ("remit", "commitment", "participation_reason")
LIST_KEYS = ("limitations", "sources")
REPORT_KEYS = (
    *TEXT_KEYS,
    *(f"{k}_en" for k in TEXT_KEYS),
    *LIST_KEYS,
    *(f"{k}_en" for k in LIST_KEYS),
    "response_due",
    "participation_rung",
    "participation_model",
    "areas",
)
SESSION_KEYS = ("date", "hours", "title", "title_en", "format")


@dataclass(frozen=True)
class Session:
    """One meeting of the panel: its date, length in hours, title (per language) and format."""

    held_on: str
    hours: float
    title: Mapping[str, str] = field(default_factory=dict)
    format: str = "plenary"

    def title_in(self, lang: str) -> str:
        """The title in ``lang``; in English without a translation, the Dutch title marked as such."""
        return in_language(self.title.get("nl", ""), self.title.get("en", ""), lang)


@dataclass(frozen=True)
class ReportSettings:
    """The ``[report]`` table and the ``[[session]]`` list of ``process.toml`` (texts per language)."""

    texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # key -> lang -> text
    lists: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)  # key -> lang -> lines
    response_due: str = ""
    participation_rung: str = ""
    participation_model: str = ""
    areas: str = ""  # the areas file, relative to the workspace
    sessions: tuple[Session, ...] = ()

    def text(self, key: str, lang: str) -> str:
        """A text setting in ``lang``; without a translation the Dutch text, marked as such in English
        (``reports.labels.in_language``); "" when unset."""
        by_lang = self.texts.get(key, {})
        return in_language(by_lang.get("nl", ""), by_lang.get("en", ""), lang)

    def lines(self, key: str, lang: str) -> list[str]:
        """A list setting in ``lang``; without a translation the Dutch lines, each marked in English."""
        by_lang = self.lists.get(key, {})
        if lang != "nl" and by_lang.get(lang):
            return list(by_lang[lang])
        return [in_language(line, "", lang) for line in by_lang.get("nl", ())]


def _iso_date(value: Any) -> str | None:
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return None


def _languages(
    data: Mapping[str, Any], keys: Sequence[str], problems: ProblemCollector, *, lists: bool
) -> dict[str, Any]:
    """Text (or list-of-text) settings per language: ``key`` is Dutch, ``key_en`` English."""
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        for lang, name in (("nl", key), ("en", f"{key}_en")):
            if name not in data:
                continue
            value = data[name]
            if lists:
                if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                    problems.add('[report] must be a list of texts, e.g. ["...", "..."]', column=name, value=value)
                    continue
                out.setdefault(key, {})[lang] = tuple(v.strip() for v in value)
            elif not isinstance(value, str) or not value.strip():
                problems.add("[report] must be a non-empty text", column=name, value=value)
            else:
                out.setdefault(key, {})[lang] = " ".join(value.split())
    return out


def _report_table(data: Mapping[str, Any], problems: ProblemCollector) -> dict[str, Any]:
    for key in sorted(set(data) - set(REPORT_KEYS)):
        problems.add(f"[report] has an unknown key; known keys: {', '.join(REPORT_KEYS)}", column=key)
    out: dict[str, Any] = {
        "texts": _languages(data, TEXT_KEYS, problems, lists=False),
        "lists": _languages(data, LIST_KEYS, problems, lists=True),
    }
    if "response_due" in data:
        due = _iso_date(data["response_due"])
        if due is None:
            problems.add("[report] must be a date (YYYY-MM-DD)", column="response_due", value=data["response_due"])
        out["response_due"] = due or ""
    if "areas" in data:
        if not isinstance(data["areas"], str) or not data["areas"].strip():
            problems.add('[report] must be a file name, e.g. "wijken.csv"', column="areas", value=data["areas"])
        else:
            out["areas"] = data["areas"].strip()
    for key, allowed in (("participation_rung", RUNGS), ("participation_model", MODELS)):
        if key in data:
            if data[key] not in allowed:
                problems.add(f"[report] must be one of {', '.join(allowed)}", column=key, value=data[key])
            else:
                out[key] = data[key]
    return out


def _session(number: int, data: Any, problems: ProblemCollector) -> Session | None:
    where = f"[[session]] number {number}"
    if not isinstance(data, Mapping):
        problems.add(f"{where} must be a table with date and hours")
        return None
    for key in sorted(set(data) - set(SESSION_KEYS)):
        problems.add(f"{where} has an unknown key; known keys: {', '.join(SESSION_KEYS)}", column=key)
    held_on = _iso_date(data.get("date", ""))
    if held_on is None:
        problems.add(f"{where} needs a date (YYYY-MM-DD)", column="date", value=data.get("date"))
    hours = data.get("hours")
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24:
        problems.add(f"{where} needs hours, a number above 0 and at most 24", column="hours", value=hours)
    fmt = data.get("format", "plenary")
    if fmt not in SESSION_FORMATS:
        problems.add(f"{where}: format must be one of {', '.join(SESSION_FORMATS)}", column="format", value=fmt)
    titles = {lang: data[k] for lang, k in (("nl", "title"), ("en", "title_en")) if k in data}
    for lang, title in titles.items():
        if not isinstance(title, str):
            problems.add(f"{where}: the title must be a text", column="title" if lang == "nl" else "title_en")
    if held_on is None or isinstance(hours, bool) or not isinstance(hours, int | float):
        return None
    return Session(held_on=held_on, hours=float(hours), title={k: str(v) for k, v in titles.items()}, format=str(fmt))


def report_settings(report: Any, sessions: Any, *, source: str) -> ReportSettings:
    """Parse the ``[report]`` table and ``[[session]]`` array of ``source``; raise ``InputError`` listing
    every problem (key, value, what is allowed)."""
    problems = ProblemCollector(source)
    if not isinstance(report, Mapping):
        problems.add("[report] must be a table")
        report = {}
    if not isinstance(sessions, Sequence) or isinstance(sessions, str):
        problems.add("session must be an array of tables: write each one as [[session]]")
        sessions = []
    fields = _report_table(report, problems)
    parsed = [_session(n, s, problems) for n, s in enumerate(sessions, start=1)]
    problems.raise_if_any(
        hint="correct the [report] / [[session]] settings in process.toml (README.md, section Reports)"
    )
    ordered = sorted((s for s in parsed if s is not None), key=lambda s: s.held_on)
    return ReportSettings(**fields, sessions=tuple(ordered))


#: Settings a council version needs, in the order of the report; each with where it is set.
REQUIRED = (
    ("remit", "[report] remit"),
    ("commitment", "[report] commitment"),
    ("response_due", "[report] response_due"),
    ("participation_rung", "[report] participation_rung"),
    ("participation_model", "[report] participation_model"),
    ("participation_reason", "[report] participation_reason"),
    ("sessions", "[[session]]"),
    ("sources", "[report] sources"),
)


@dataclass(frozen=True)
class Missing:
    """One thing a council version needs that is not set: its key and where to set it."""

    key: str
    where: str


def missing_settings(settings: ReportSettings, *, lang: str) -> list[Missing]:
    """What a council report in ``lang`` lacks: every unset entry of ``REQUIRED`` and, in an English report,
    every Dutch text without its ``_en`` translation. Empty: the report can go to the council as it is."""
    missing = []
    for key, where in REQUIRED:
        if key in TEXT_KEYS:
            present = bool(settings.texts.get(key, {}).get("nl") or settings.texts.get(key, {}).get(lang))
            translated = not present or lang == "nl" or bool(settings.texts.get(key, {}).get(lang))
        elif key in LIST_KEYS:
            present = bool(settings.lists.get(key, {}))
            translated = not present or lang == "nl" or bool(settings.lists.get(key, {}).get(lang))
        elif key == "sessions":
            present = bool(settings.sessions)
            translated = lang == "nl" or all(s.title.get(lang) or not s.title for s in settings.sessions)
        else:
            present, translated = bool(getattr(settings, key)), True
        if not present:
            missing.append(Missing(key=key, where=where))
        elif not translated:
            missing.append(Missing(key=f"{key}_{lang}", where=f"{where}_{lang}"))
    return missing


#: A commented ``[report]`` template ``klero init`` appends to ``process.toml``: remove the ``#`` and fill in.
REPORT_TEMPLATE = """
# Report settings: a council report without them is a draft (CONCEPT) with a checklist of what is missing.
# Remove the "#" in front of a line and fill it in. Texts ending in _en are the English translations.
#
# [report]
# remit = "De vraag aan het panel, woord voor woord"
# remit_en = "The question to the panel, word for word"
# commitment = "Wat de raad met de uitkomst doet"
# commitment_en = "What the council will do with the outcome"
# response_due = 2027-12-31                 # by when the council responds
# participation_rung = "adviseren"          # informeren, raadplegen, adviseren, coproduceren, meebeslissen
# participation_model = "citizens_assembly" # citizens_assembly, citizens_jury, citizens_council, deliberative_poll, ...
# participation_reason = "Waarom deze vorm"
# participation_reason_en = "Why this form"
# sources = ["Bron: CBS, Kerncijfers wijken en buurten 2024 (85984NED), CC BY 4.0"]
# sources_en = ["Source: CBS, Kerncijfers wijken en buurten 2024 (85984NED), CC BY 4.0"]
# limitations = ["Wat de lezer moet weten over de grenzen van de uitkomst"]
# limitations_en = ["What the reader should know about the limits of the outcome"]
# areas = "wijken.csv"                      # names of the wijk codes: CSV with code,name,name_en
#
# [[session]]                               # one table per meeting of the panel
# date = 2027-03-06
# hours = 3.5
# title = "Kennismaking en informatie"
# title_en = "Introduction and information"
# format = "plenary"                        # plenary, small_groups, online or mixed
"""
