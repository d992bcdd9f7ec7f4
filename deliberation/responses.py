"""Survey files as researchers have them: wide or long, one wave or several, ids as given, arms,
declared variables (demographics) and design-weight columns (DataFrame in, tidy frames out).

A file's columns are the instrument's items plus *declared* columns (id, wave, arm, variables,
weights); any other column is an error unless ``ignore_extra`` is set, and is listed either way.
A respondent whose item cells are all blank at a wave is *absent* at that wave (wave non-response),
never a respondent who answered everything wrong (``drop_absent``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from deliberation.instrument import Instrument, Item
from deliberation.waves import ID_COLUMN, canonical_ranking, cell_problems
from sortition.errors import KleroError, ProblemCollector

#: Arms as stored; ``invited`` is an invited non-participant.
ARMS = ("participant", "invited", "control")
#: Arm values a file may hold (case-insensitive), beyond those given with ``arm_values``.
ARM_ALIASES = {
    "participant": "participant",
    "participants": "participant",
    "treatment": "participant",
    "treated": "participant",
    "invited": "invited",
    "non-participant": "invited",
    "nonparticipant": "invited",
    "non_participant": "invited",
    "control": "control",
}
ANSWER_COLUMNS = ("participant_id", "wave", "item_code", "raw")
WEIGHT_COLUMNS = ("participant_id", "wave", "name", "weight")
EXCLUSION_COLUMNS = ("wave", "item", "reason", "n_excluded")


@dataclass(frozen=True)
class WaveLayout:
    """How a survey file is laid out (each field is a CLI option of ``klero survey import``).

    Exactly one of ``wave`` (a wide file of one wave), ``wave_column`` (long: one row per person and
    wave) or ``wave_suffixes`` (wide with every wave: item column = item code + the wave's suffix).
    Ids come from ``id_column`` or, with ``row_ids``, the file row number. Respondents are created or
    updated from ``arm_column`` (values via ``arm_values`` or ``ARM_ALIASES``) or the fixed ``arm``;
    with neither, every id must be a known respondent.
    """

    id_column: str | None = ID_COLUMN
    row_ids: bool = False
    wave: str | None = None
    wave_column: str | None = None
    wave_values: Mapping[str, str] = field(default_factory=dict)
    wave_suffixes: Mapping[str, str] = field(default_factory=dict)
    arm_column: str | None = None
    arm: str | None = None
    arm_values: Mapping[str, str] = field(default_factory=dict)
    variables: tuple[str, ...] = ()
    weights: tuple[str, ...] = ()
    ignore_extra: bool = False
    #: From an SPSS file: value labels (column -> code -> label), applied to declared variables and the
    #: arm and wave columns, and
    #: user-missing ranges (column -> (low, high)), read as no answer in item columns unless the
    #: instrument declares the code as don't-know or missing itself.
    value_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    user_missing: Mapping[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)


#: Layouts a data deliverer documents, as the options of ``klero survey import --preset NAME``.
#: ``ddl``: the Stanford Deliberative Democracy Lab's SPSS .sav deliverable of a Deliberative Poll, long
#: format: ``ID`` (the respondent), ``Time`` (the wave: T1 before, T2 after, as value labels of 1 and 2)
#: and ``Group`` (Treatment / Control, value labels of 1 and 2; read by ``ARM_ALIASES``). Weights and
#: demographics differ per poll and are still declared (``--weights``, ``--variables``).
PRESETS: dict[str, dict[str, str]] = {
    "ddl": {"id_column": "ID", "wave_column": "Time", "arm_column": "Group"},
}


def preset_options(name: str, given: Mapping[str, str | None]) -> dict[str, str]:
    """The options of preset ``name`` merged with those ``given`` (option field → value or None): a given
    option equal to the preset's is fine, a different one is an error naming both (nothing is silently
    overridden). Returns the merged fields."""
    if name not in PRESETS:
        raise KleroError(f"--preset {name!r}: use one of {', '.join(PRESETS)}.", code="bad_option")
    merged = {k: v for k, v in given.items() if v is not None}
    for field_name, value in PRESETS[name].items():
        mine = given.get(field_name)
        if mine is not None and mine != value:
            option = "--" + field_name.replace("_", "-")
            raise KleroError(
                f"{option} {mine} and --preset {name} ({option} {value}) disagree; give one of them.",
                code="conflicting_options",
            )
        merged[field_name] = value
    return merged


@dataclass(frozen=True)
class ShapedSurvey:
    """``answers`` (``participant_id, wave, item_code, raw``; blank rows kept: ``drop_absent`` decides),
    ``respondents`` (``participant_id, arm`` + variables; None when the file creates none),
    ``weights`` (``participant_id, wave, name, weight``), the ``ignored`` columns and per wave the
    number of respondents and of those ``absent`` (every item blank)."""

    answers: pd.DataFrame
    respondents: pd.DataFrame | None
    weights: pd.DataFrame
    ignored: tuple[str, ...]
    waves: pd.DataFrame  # wave, respondents, absent
    user_missing: dict[str, int] = field(default_factory=dict)  # item column -> cells read as no answer


def _check_layout(layout: WaveLayout, instrument: Instrument) -> None:
    modes = [layout.wave is not None, layout.wave_column is not None, bool(layout.wave_suffixes)]
    if sum(modes) != 1:
        raise KleroError(
            "Say which wave the answers belong to, in one way: --wave CODE (a file of one wave), "
            "--wave-column COLUMN (long: one row per person and wave) or --wave-suffix CODE=SUFFIX "
            "(wide: item columns end with the wave's suffix).",
            code="bad_layout",
        )
    if (layout.id_column is None) == (not layout.row_ids):
        raise KleroError(
            "Say where the respondent ids are: --id-column COLUMN, or --row-ids (the file row number).",
            code="bad_layout",
        )
    if layout.arm_column is not None and layout.arm is not None:
        raise KleroError("Give --arm-column or --arm, not both.", code="bad_layout")
    codes = {w.code for w in instrument.waves}
    named = [layout.wave] if layout.wave is not None else []
    named += list(layout.wave_values.values()) + list(layout.wave_suffixes)
    unknown = sorted({w for w in named if w not in codes})
    if unknown:
        raise KleroError(
            f"Wave {', '.join(unknown)} is not in the instrument (waves: {', '.join(sorted(codes))}).",
            code="unknown_wave",
        )
    for value, arm in layout.arm_values.items():
        if arm not in ARMS:
            raise KleroError(f"--arm-value {value}={arm}: the arm must be one of {', '.join(ARMS)}.", code="bad_arm")
    if layout.arm is not None and _arm_of(layout.arm, {}) is None:
        raise KleroError(f"--arm {layout.arm}: use one of {', '.join(ARMS)}.", code="bad_arm")


def _arm_of(value: str, arm_values: Mapping[str, str]) -> str | None:
    if value in arm_values:
        return arm_values[value]
    return ARM_ALIASES.get(value.strip().lower())


def _item_columns(columns: list[str], instrument: Instrument, layout: WaveLayout) -> dict[str, tuple[str | None, Item]]:
    """Column -> (wave or None for the row's wave, item)."""
    out: dict[str, tuple[str | None, Item]] = {}
    items = {i.code: i for i in instrument.items}
    for column in columns:
        if layout.wave_suffixes:
            for wave, suffix in layout.wave_suffixes.items():
                code = column[: -len(suffix)] if suffix and column.endswith(suffix) else None
                if code in items:
                    out[column] = (wave, items[code])
        elif column in items:
            out[column] = (None, items[column])
    return out


def shape_survey(
    frame: pd.DataFrame,
    instrument: Instrument,
    layout: WaveLayout,
    *,
    known_ids: frozenset[str],
    source: str,
) -> ShapedSurvey:
    """Check a survey file against the instrument and its declared layout; return tidy frames.

    Every problem (undeclared column, bad id, unknown wave or arm value, duplicate person-wave row,
    conflicting arm or variable across a person's rows, non-positive or missing weight where the
    person answered, an answer outside the item's scale) is collected with row, column and value and
    raised once. The frame's index is the file row number.
    """
    _check_layout(layout, instrument)
    problems = ProblemCollector(source)
    columns = [str(c) for c in frame.columns]
    declared = [
        c for c in (layout.id_column, layout.wave_column, layout.arm_column, *layout.variables, *layout.weights) if c
    ]
    for column in sorted(set(declared) - set(columns)):
        problems.add("declared column not in the file", column=column)
    items = _item_columns(columns, instrument, layout)
    extra = [c for c in columns if c not in items and c not in declared]
    if extra and not layout.ignore_extra:
        for column in extra:
            problems.add("column is neither an item of the instrument nor declared", column=column)
    problems.raise_if_any(
        "declare demographic columns with --variables, weight columns with --weights, or pass --ignore-extra "
        "to leave the listed columns out"
    )
    if not items:
        raise KleroError(f"{source}: no column is an item of the instrument.", code="no_items")
    text = frame.astype(str).apply(lambda col: col.str.strip()).replace({"nan": "", "<NA>": "", "None": ""})
    text, user_missing = _spss_codes(text, items, layout)
    ids = pd.Series(text.index.astype(str), index=text.index) if layout.row_ids else text[str(layout.id_column)]
    id_column = layout.id_column or "(row)"
    problems.add_rows("empty respondent id", ids.index[ids == ""], column=id_column, values=ids)
    waves = _row_waves(text, layout, frozenset(w.code for w in instrument.waves), problems)
    rows = _expand_waves(text, ids, waves, items, layout)
    dup = rows.duplicated(["participant_id", "wave"], keep="first")
    problems.add_rows(
        "the same respondent appears twice at this wave",
        rows.loc[dup, "row"].tolist(),
        column=id_column,
        values=dict(zip(rows["row"], rows["participant_id"], strict=False)),
    )
    for column in (c for c in items if items[c][0] is None or layout.wave_suffixes):
        item = items[column][1]
        for message, bad in cell_problems(item, text[column]).items():
            problems.add_rows(message, bad, column=column, values=text[column])
    respondents = _respondents(text, ids, layout, known_ids, problems)
    weights = _weights(text, rows, layout, problems)
    problems.raise_if_any("correct these cells and import the file again; nothing was stored")
    answers = _answers(text, rows, items)
    return ShapedSurvey(
        answers=answers,
        respondents=respondents,
        weights=weights,
        ignored=tuple(extra),
        waves=_wave_counts(answers),
        user_missing=user_missing,
    )


def _spss_codes(
    text: pd.DataFrame, items: Mapping[str, tuple[str | None, Item]], layout: WaveLayout
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply an SPSS file's metadata: user-missing codes in item columns become no answer (counted per
    column) unless the item declares them; declared variables and the arm and wave columns get their
    value labels (a code without a label stays the code)."""
    text = text.copy()
    counts: dict[str, int] = {}
    for column, ranges in layout.user_missing.items():
        if column not in items:
            continue
        item = items[column][1]
        number = pd.to_numeric(text[column], errors="coerce")
        hit = pd.Series(False, index=text.index)
        for low, high in ranges:
            hit |= (number >= low) & (number <= high)
        hit &= ~text[column].isin([*item.dont_know, *item.missing])
        if hit.any():
            text.loc[hit, column] = ""
            counts[column] = int(hit.sum())
    for column in (*layout.variables, *(c for c in (layout.arm_column, layout.wave_column) if c)):
        labels = layout.value_labels.get(column)
        if labels:
            text[column] = text[column].map(lambda v, labels=labels: labels.get(v, v))
    return text, counts


def _row_waves(text: pd.DataFrame, layout: WaveLayout, codes: frozenset[str], problems: ProblemCollector) -> pd.Series:
    """The wave of each row (long files) or the fixed wave; '' for wide-with-suffix files."""
    if layout.wave_column is None:
        return pd.Series(layout.wave or "", index=text.index)
    raw = text[layout.wave_column]
    waves = raw.map(lambda v: layout.wave_values.get(v, v))
    bad = waves.index[~waves.isin(codes)]
    problems.add_rows(
        "not a wave of the instrument: map it with --wave-value VALUE=CODE",
        bad.tolist(),
        column=layout.wave_column,
        values=raw,
    )
    return waves


def _expand_waves(
    text: pd.DataFrame,
    ids: pd.Series,
    waves: pd.Series,
    items: Mapping[str, tuple[str | None, Item]],
    layout: WaveLayout,
) -> pd.DataFrame:
    """One record per (file row, wave): ``row, participant_id, wave``."""
    if layout.wave_suffixes:
        present = sorted({w for w, _ in items.values() if w is not None})
        parts = [pd.DataFrame({"row": text.index, "participant_id": ids.to_numpy(), "wave": w}) for w in present]
        return pd.concat(parts, ignore_index=True)
    return pd.DataFrame({"row": text.index, "participant_id": ids.to_numpy(), "wave": waves.to_numpy()})


def _respondents(
    text: pd.DataFrame,
    ids: pd.Series,
    layout: WaveLayout,
    known_ids: frozenset[str],
    problems: ProblemCollector,
) -> pd.DataFrame | None:
    """One row per respondent (``participant_id, arm`` + variables), or None when the file creates none."""
    if layout.arm_column is None and layout.arm is None:
        unknown = ids.index[~ids.isin(known_ids) & (ids != "")]
        problems.add_rows(
            "unknown respondent id: give --arm-column or --arm so the file creates its respondents",
            unknown.tolist(),
            column=layout.id_column or "(row)",
            values=ids,
        )
        if layout.variables:
            problems.add("--variables needs --arm-column or --arm (the file then creates its respondents)")
        return None
    if layout.arm_column is not None:
        raw = text[layout.arm_column]
        arms = raw.map(lambda v: _arm_of(v, layout.arm_values))
        problems.add_rows(
            f"unknown arm: map it with --arm-value VALUE=ARM ({', '.join(ARMS)})",
            arms.index[arms.isna()].tolist(),
            column=layout.arm_column,
            values=raw,
        )
    else:
        arms = pd.Series(_arm_of(str(layout.arm), {}), index=text.index)
    people = pd.DataFrame({"participant_id": ids, "arm": arms})
    for variable in layout.variables:
        people[variable] = text[variable]
    for column in ("arm", *layout.variables):
        filled = people[people[column].fillna("") != ""]
        distinct = filled.groupby("participant_id")[column].nunique()
        clash = filled.index[filled["participant_id"].isin(distinct.index[distinct > 1])]
        problems.add_rows(
            "differs between rows of the same respondent",
            clash.tolist(),
            column=layout.arm_column if column == "arm" else column,
            values=text[layout.arm_column] if column == "arm" and layout.arm_column else people[column],
        )
    first = people.replace({"": np.nan}).groupby("participant_id", sort=True).first().fillna("")
    return first.reset_index()


def _weights(text: pd.DataFrame, rows: pd.DataFrame, layout: WaveLayout, problems: ProblemCollector) -> pd.DataFrame:
    """Design weights per respondent and wave; blank only where the person is absent at the wave."""
    out = []
    for name in layout.weights:
        raw = text[name]
        number = pd.to_numeric(raw.str.replace(",", ".", regex=False), errors="coerce")
        bad = raw.index[(raw != "") & ~(number > 0) | (raw != "") & ~np.isfinite(number.fillna(0))]
        problems.add_rows("a weight must be a positive number", bad.tolist(), column=name, values=raw)
        values = number.reindex(rows["row"]).to_numpy()
        out.append(rows.assign(name=name, weight=values)[list(WEIGHT_COLUMNS)])
    if not out:
        return pd.DataFrame(columns=list(WEIGHT_COLUMNS))
    return pd.concat(out, ignore_index=True)


def _answers(text: pd.DataFrame, rows: pd.DataFrame, items: Mapping[str, tuple[str | None, Item]]) -> pd.DataFrame:
    parts = []
    for column, (wave, item) in items.items():
        where = rows if wave is None else rows[rows["wave"] == wave]
        raw = text[column].reindex(where["row"]).str.replace(",", ".", regex=False)
        if item.is_ranking:
            raw = raw.map(canonical_ranking)
        parts.append(
            pd.DataFrame(
                {
                    "participant_id": where["participant_id"].to_numpy(),
                    "wave": where["wave"].to_numpy(),
                    "item_code": item.code,
                    "raw": raw.to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[list(ANSWER_COLUMNS)]


def _wave_counts(answers: pd.DataFrame) -> pd.DataFrame:
    answered = (answers["raw"] != "").groupby([answers["wave"], answers["participant_id"]]).any()
    table = answered.groupby(level="wave").agg(respondents="size", answered="sum")
    table["absent"] = table["respondents"] - table["answered"]
    return table.reset_index()[["wave", "respondents", "absent"]].astype({"respondents": int, "absent": int})


def drop_absent(answers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave out, per wave, respondents whose every stored answer at that wave is blank: they did not
    answer the wave (wave non-response), so their knowledge items are not scored as wrong and their
    attitudes not paired. Declared don't-know and missing codes are answers, not blanks.

    Returns the remaining answers and a table ``wave, item, reason, n_excluded`` (one row per wave;
    ``item`` empty).
    """
    raw = answers["raw"].astype(str).str.strip()
    blank = raw.isin(["", "nan", "None", "<NA>"]) | answers["raw"].isna()
    answered = (~blank).groupby([answers["wave"], answers["participant_id"]]).transform("any")
    kept = answers[answered.to_numpy()]
    counts = answers.loc[~answered.to_numpy(), ["wave", "participant_id"]].drop_duplicates().groupby("wave").size()
    waves = sorted(set(answers["wave"]))
    table = pd.DataFrame(
        {
            "wave": waves,
            "item": "",
            "reason": "absent at the wave: every answer blank (wave non-response), left out",
            "n_excluded": [int(counts.get(w, 0)) for w in waves],
        },
        columns=list(EXCLUSION_COLUMNS),
    )
    return kept.reset_index(drop=True), table


def unanswered_items(answers: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Items of the instrument without a single non-blank answer at any wave (named, so an empty
    result row is never mistaken for an analysis): ``wave, item, reason, n_excluded`` with ``wave``
    ``all`` and ``n_excluded`` the respondents with a blank row for the item."""
    raw = answers["raw"].astype(str).str.strip()
    answered = set(answers.loc[~raw.isin(["", "nan", "None", "<NA>"]), "item_code"])
    rows = [
        {
            "wave": "all",
            "item": item.code,
            "reason": "item never answered (every answer blank): no analysis of this item",
            "n_excluded": int(answers.loc[answers["item_code"] == item.code, "participant_id"].nunique()),
        }
        for item in instrument.items
        if item.code not in answered
    ]
    return pd.DataFrame(rows, columns=list(EXCLUSION_COLUMNS))


def shape_respondents(frame: pd.DataFrame, layout: WaveLayout, *, source: str) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """A respondents file without answers (ids, arm, declared variables): ``participant_id, arm`` +
    variables, one row per respondent, and the columns left out with ``ignore_extra``. A person may
    have several rows only if they agree; every problem is collected and raised once."""
    if layout.arm_column is None and layout.arm is None:
        raise KleroError("Say each respondent's arm: --arm-column COLUMN or --arm ARM.", code="bad_layout")
    if (layout.id_column is None) == (not layout.row_ids):
        raise KleroError("Say where the respondent ids are: --id-column COLUMN or --row-ids.", code="bad_layout")
    problems = ProblemCollector(source)
    columns = [str(c) for c in frame.columns]
    declared = [c for c in (layout.id_column, layout.arm_column, *layout.variables) if c]
    for column in sorted(set(declared) - set(columns)):
        problems.add("declared column not in the file", column=column)
    extra = [c for c in columns if c not in declared]
    if extra and not layout.ignore_extra:
        for column in extra:
            problems.add("column is not declared", column=column)
    problems.raise_if_any("declare demographic columns with --variables, or pass --ignore-extra to leave them out")
    text = frame.astype(str).apply(lambda col: col.str.strip()).replace({"nan": "", "<NA>": "", "None": ""})
    text, _ = _spss_codes(text, {}, layout)
    ids = pd.Series(text.index.astype(str), index=text.index) if layout.row_ids else text[str(layout.id_column)]
    problems.add_rows("empty respondent id", ids.index[ids == ""], column=layout.id_column or "(row)", values=ids)
    respondents = _respondents(text, ids, layout, frozenset(), problems)
    problems.raise_if_any("correct these cells and import the file again; nothing was stored")
    if respondents is None:  # cannot happen: an arm is given (checked above)
        raise KleroError("No arm for the respondents.", code="bad_layout")
    return respondents, tuple(extra)
