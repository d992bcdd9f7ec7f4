"""The poll's instrument and control group: ``klero poll define`` and ``klero poll control``."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from deliberation.control import draw_control_group
from deliberation.instrument import Instrument, instrument_from_dict
from kleroterion.app.participants import sync_participants
from kleroterion.app.registry import eligible_residents
from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.io import WORKBOOK_HINT, read_instrument_workbook, sha256_file
from kleroterion.lists import control_id
from kleroterion.seeds import generator
from kleroterion.workspace import Workspace
from sortition.registry import age_bands


@dataclass(frozen=True)
class InstrumentDefined:
    """What ``define_poll`` stored: item counts and the wave codes in order."""

    items: int
    knowledge_items: int
    evaluation_items: int
    waves: tuple[str, ...]


@dataclass(frozen=True)
class ControlDraw:
    """The drawn control group: its size, the seed used, the survey ids and the residents' ids."""

    control: int
    seed: int
    ids: tuple[str, ...]
    resident_ids: tuple[str, ...]


def load_instrument(ws: Workspace) -> Instrument:
    """The workspace's latest instrument; an error naming the command when none is defined."""
    definition = ws.store.instrument_definition()
    if definition is None:
        raise KleroError("No poll instrument yet: run `klero poll define FILE` first.", code="no_instrument")
    return instrument_from_dict(
        {
            "name": definition["name"],
            "items": [{**i, "min": i["scale_min"], "max": i["scale_max"]} for i in definition["items"]],
            "waves": definition["waves"],
        },
        source="stored instrument",
    )


def define_poll(ws: Workspace, path: Path) -> InstrumentDefined:
    """Define the instrument from a TOML file or an XLSX workbook (sheets ``items`` and ``waves``)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        instrument = _instrument_from_workbook(path)
    else:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(
                str(path),
                [Problem(f"not a readable TOML file: {exc}")],
                hint="check the file's syntax (see data/peel_en_maas/instrument.toml)",
            ) from exc
        instrument = instrument_from_dict(data, source=path.name)
    ws.store.save_instrument(instrument, source=path.name, sha256=sha256_file(path))
    return InstrumentDefined(
        items=len(instrument.items),
        knowledge_items=len(instrument.knowledge_items),
        evaluation_items=len(instrument.evaluation_items),
        waves=tuple(w.code for w in instrument.waves),
    )


def _instrument_from_workbook(path: Path) -> Instrument:
    """``instrument_from_dict`` on the workbook; its ``items[n]``/``waves[n]`` become sheet and row, and
    the workbook's bad cells are reported with them."""
    data, rows, problems = read_instrument_workbook(path)
    try:
        instrument = instrument_from_dict(data, source=path.name)
    except InputError as exc:
        for p in exc.problems:
            found = re.fullmatch(r"(items|waves)\[(\d+)\]", p.column or "")
            if found:
                sheet, number = found.group(1), int(found.group(2))
                p = Problem(f"sheet '{sheet}': {p.message}", row=rows[sheet][number - 1], value=p.value)
            problems.append(p)
    if problems:
        raise InputError(path.name, sorted(problems, key=lambda p: p.row or 0), hint=WORKBOOK_HINT)
    return instrument


def draw_control(ws: Workspace, *, count: int, seed: int | None = None, min_age: int = 16) -> ControlDraw:
    """Draw a control group from residents at addresses that got no letter and store them as
    respondents of arm ``control`` (pseudonymous id ``C`` + hash of the resident's pseudonym), with
    gender and age band, in one transaction. The seed comes from ``secrets`` unless given and is
    stored in the audit log."""
    if ws.store.registry_info() is None or ws.store.letters().empty:
        raise KleroError("Draw the letters before the control group (it excludes invited addresses).", code="order")
    participants = ws.store.participants()
    if len(participants) and (participants["arm"] == "control").any():
        raise KleroError("This workspace has a control group already.", code="control_exists")
    used = ws.draw_seed("control") if seed is None else seed
    eligible, _ = eligible_residents(ws, min_age=min_age)
    exclude = frozenset(ws.store.letters()["address_key"])
    drawn = draw_control_group(eligible, count=count, exclude_addresses=exclude, rng=generator(used))
    frame = pd.DataFrame(
        {
            "participant_id": [control_id(str(r)) for r in drawn["id"]],
            "letter_code": None,
            "arm": "control",
            "gender": drawn["gender"].to_numpy(),
            "age_band": age_bands(drawn["age"]).to_numpy(),
            "wijk": drawn["wijk"].fillna("").astype(str).to_numpy(),
        }
    )
    with ws.store.transaction():
        sync_participants(ws)
        ws.store.save_participants(frame)
        ws.store.audit(
            "control.draw",
            parameters={"count": count, "seed": str(used), "min_age": min_age},
            result={"drawn": len(frame), "addresses_excluded": len(exclude)},
        )
    return ControlDraw(
        control=len(frame),
        seed=used,
        ids=tuple(frame["participant_id"]),
        resident_ids=tuple(str(r) for r in drawn["id"]),
    )
