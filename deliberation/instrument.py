"""The poll instrument: items with their scales, missing codes and knowledge keys; waves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sortition.errors import ProblemCollector

ITEM_KINDS = ("likert", "scale", "yesno", "knowledge", "ranking")
WAVE_KINDS = ("recruit", "arrival", "post", "followup")
SECTIONS = ("", "evaluation")
EVALUATION = "evaluation"
RANKING_SEPARATOR = ">"  # a ranking answer lists option codes best first: "b>a>c"
RANKING_OPTIONS = (3, 7)  # fewest and most options of a ranking item (7 options: 2,520 axes to search)


@dataclass(frozen=True)
class Item:
    """One question. Attitude items have a numeric scale; knowledge items a correct answer; ranking
    items a set of options that a respondent puts in order of preference."""

    code: str
    text: str
    kind: str
    scale_min: float | None = None
    scale_max: float | None = None
    options: Mapping[str, str] = field(default_factory=dict)  # answer code -> label
    correct: str | None = None
    dont_know: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    reverse: bool = False
    section: str = ""  # "evaluation": asked after the event about the event, not an opinion item
    text_en: str = ""  # the English wording, for English reports ("" = none: the report marks the Dutch)

    @property
    def is_knowledge(self) -> bool:
        return self.kind == "knowledge"

    @property
    def is_ranking(self) -> bool:
        return self.kind == "ranking"


@dataclass(frozen=True)
class Wave:
    code: str
    kind: str
    label: str = ""


@dataclass(frozen=True)
class Instrument:
    """Items in questionnaire order, and the waves at which they are asked."""

    name: str
    items: tuple[Item, ...]
    waves: tuple[Wave, ...]

    def item(self, code: str) -> Item:
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(code)

    @property
    def attitude_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if not i.is_knowledge and not i.is_ranking and i.section != EVALUATION)

    @property
    def evaluation_items(self) -> tuple[Item, ...]:
        """Participants' evaluation of the event (DOMAIN.md §3.10), asked at the post wave only."""
        return tuple(i for i in self.items if i.section == EVALUATION)

    @property
    def knowledge_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.is_knowledge)

    @property
    def ranking_items(self) -> tuple[Item, ...]:
        """Items answered by ordering their options (List et al. 2013 single-peakedness)."""
        return tuple(i for i in self.items if i.is_ranking)


def _codes(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)


def _options_problem(kind: str, options: Mapping[str, str], correct: Any) -> str | None:
    """What is wrong with a knowledge item's key or a ranking item's options, or None."""
    if kind == "knowledge" and (correct is None or (options and str(correct) not in options)):
        return "a knowledge item needs a correct answer among its options"
    if kind == "ranking":
        low, high = RANKING_OPTIONS
        clean = all(c and c == c.strip() and RANKING_SEPARATOR not in c and "," not in c for c in options)
        if not clean or not low <= len(options) <= high:
            return f"a ranking item needs {low} to {high} options whose codes contain no '{RANKING_SEPARATOR}' or ','"
    return None


def _is_number(value: Any) -> bool:
    """True for an int/float, or a text that reads as one (a TOML "3" or a spreadsheet cell)."""
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _bounds_problem(kind: str, low: Any, high: Any) -> str:
    """What is wrong with an item's ``min``/``max`` ('' when nothing)."""
    if any(v is not None and not _is_number(v) for v in (low, high)):
        return "min and max must be numbers"
    if kind in ("likert", "scale") and (low is None or high is None or float(low) >= float(high)):
        return "a scale item needs min < max"
    return ""


def instrument_from_dict(data: Mapping[str, Any], *, source: str) -> Instrument:
    """Build an instrument from a parsed TOML document; every problem is reported at once.

    Expected shape: ``name``, ``[[items]]`` with ``code, text, kind`` (``text_en``: the English wording;
    + ``min, max`` for scales,
    ``options`` and ``correct`` for knowledge items, ``options`` (3 to 7) for ranking items,
    ``dont_know``/``missing`` codes), and
    ``[[waves]]`` with ``code, kind``.
    """
    problems = ProblemCollector(source)
    items: list[Item] = []
    seen: set[str] = set()
    for number, raw in enumerate(data.get("items", []), start=1):
        where = f"items[{number}]"
        code = str(raw.get("code", "")).strip()
        kind = str(raw.get("kind", "")).strip()
        if not code:
            problems.add("item without a code", column=where)
            continue
        if code in seen:
            problems.add("duplicate item code", column=where, value=code)
        seen.add(code)
        if kind not in ITEM_KINDS:
            problems.add(f"unknown kind (use {', '.join(ITEM_KINDS)})", column=where, value=kind)
            continue
        low, high = raw.get("min"), raw.get("max")
        if kind == "yesno":
            low, high = 0, 1
        bounds = _bounds_problem(kind, low, high)
        if bounds:
            problems.add(bounds, column=where, value=(low, high))
            continue
        section = str(raw.get("section", "")).strip()
        if section not in SECTIONS or (section == EVALUATION and kind in ("knowledge", "ranking")):
            problems.add(
                "section must be 'evaluation' (a likert, scale or yesno item) or absent", column=where, value=section
            )
            continue
        options = {str(k): str(v) for k, v in dict(raw.get("options", {})).items()}
        correct = raw.get("correct")
        wrong = _options_problem(kind, options, correct)
        if wrong:
            problems.add(wrong, column=where, value=list(options) if kind == "ranking" else correct)
            continue
        items.append(
            Item(
                code=code,
                text=str(raw.get("text", "")),
                kind=kind,
                scale_min=None if low is None else float(low),
                scale_max=None if high is None else float(high),
                options=options,
                correct=None if correct is None else str(correct),
                dont_know=_codes(raw.get("dont_know")),
                missing=_codes(raw.get("missing")),
                reverse=bool(raw.get("reverse", False)),
                section=section,
                text_en=str(raw.get("text_en") or ""),
            )
        )
    waves = _waves(data.get("waves", []), problems)
    if not items:
        problems.add("the instrument has no valid items")
    problems.raise_if_any("fix the instrument file and define it again")
    return Instrument(name=str(data.get("name", "")), items=tuple(items), waves=tuple(waves))


def _waves(raws: Any, problems: ProblemCollector) -> list[Wave]:
    """The ``[[waves]]`` of an instrument; none at all is a problem (nothing could be imported)."""
    if not raws:
        problems.add("the instrument has no waves (add [[waves]] with code and kind)")
    waves = []
    for number, raw in enumerate(raws or [], start=1):
        kind = str(raw.get("kind", ""))
        if kind not in WAVE_KINDS:
            problems.add(f"unknown wave kind (use {', '.join(WAVE_KINDS)})", column=f"waves[{number}]", value=kind)
            continue
        waves.append(Wave(code=str(raw.get("code", "")), kind=kind, label=str(raw.get("label", ""))))
    return waves
