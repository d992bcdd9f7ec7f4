"""``klero poll|survey|analyse``: the Deliberative Poll's edges around ``deliberation``."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from deliberation.analysis import knowledge_scores, score_answers, summarise_change, summarise_knowledge_gain
from deliberation.instrument import Instrument, instrument_from_dict
from deliberation.waves import validate_wave
from kleroterion.commands.common import WorkspaceOption, console, open_workspace
from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.io import read_table, sha256_file
from kleroterion.workspace import Workspace
from sortition.pool import person_id


def load_instrument(ws: Workspace) -> Instrument:
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


def define_poll(ws: Workspace, path: Path) -> dict[str, Any]:
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
    return {
        "items": len(instrument.items),
        "knowledge_items": len(instrument.knowledge_items),
        "waves": [w.code for w in instrument.waves],
    }


def sync_participants(ws: Workspace) -> int:
    """Every invitee is a respondent (pseudonymous id from the code); panel members are participants."""
    letters = ws.store.letters()
    panel = set(ws.store.panel_members("panel")["person_id"])
    pool = ws.store.pool()
    features = pool.set_index("letter_code") if len(pool) else pd.DataFrame()
    rows = []
    for code in letters["code"]:
        pid = person_id(code)
        rec: dict[str, Any] = {
            "participant_id": pid,
            "letter_code": code,
            "arm": "participant" if pid in panel else "invited",
        }
        if code in features.index:
            rec.update({c: features.at[code, c] for c in ("gender", "age_band", "education") if c in features})
        rows.append(rec)
    frame = pd.DataFrame(rows).fillna("")
    return ws.store.save_participants(frame)


def import_wave(ws: Workspace, wave: str, path: Path) -> dict[str, Any]:
    instrument = load_instrument(ws)
    if wave not in {w.code for w in instrument.waves}:
        raise KleroError(
            f"Wave {wave!r} is not in the instrument (waves: {', '.join(w.code for w in instrument.waves)}).",
            code="unknown_wave",
        )
    sync_participants(ws)
    known = frozenset(ws.store.participants()["participant_id"])
    long = validate_wave(read_table(path), instrument, known_ids=known, source=path.name)
    scored = score_answers(long.assign(wave=wave), instrument)
    ws.store.save_wave(wave, scored, source=path.name, sha256=sha256_file(path))
    return {"wave": wave, "respondents": int(long["participant_id"].nunique()), "answers": len(long)}


def analyse(ws: Workspace, *, pre: str = "T1", post: str = "T2") -> dict[str, pd.DataFrame]:
    """Opinion change and knowledge gain of the panel between two waves; stored as analyses."""
    instrument = load_instrument(ws)
    answers = ws.store.answers()
    participants = ws.store.participants()
    panel_ids = set(participants.loc[participants["arm"] == "participant", "participant_id"])
    scored = score_answers(answers[answers["participant_id"].isin(panel_ids)], instrument)
    change = summarise_change(scored, instrument, pre=pre, post=post)
    gain = summarise_knowledge_gain(
        knowledge_scores(scored, instrument, wave=pre), knowledge_scores(scored, instrument, wave=post)
    )
    params = {"pre": pre, "post": post, "group": "participants", "weighted": False}
    ws.store.save_analysis("opinion_change", change, parameters=params)
    ws.store.save_analysis("knowledge_gain", gain, parameters=params)
    return {"opinion_change": change, "knowledge_gain": gain}


poll_app = typer.Typer(help="Define the poll instrument.", no_args_is_help=True)
survey_app = typer.Typer(help="Import survey waves.", no_args_is_help=True)


@poll_app.command("define")
def poll_define_cmd(file: Path, workspace: WorkspaceOption = Path(".")) -> None:
    """Define the instrument from a TOML file (items, scales, knowledge keys, waves)."""
    with open_workspace(workspace) as ws:
        out = define_poll(ws, file)
    console.print(
        f"Instrument with {out['items']} items ({out['knowledge_items']} knowledge), waves {', '.join(out['waves'])}."
    )


@survey_app.command("import")
def survey_import_cmd(
    file: Path, wave: Annotated[str, typer.Option(help="Wave code, e.g. T1.")], workspace: WorkspaceOption = Path(".")
) -> None:
    """Import one wave's answers (participant_id + one column per item)."""
    with open_workspace(workspace) as ws:
        out = import_wave(ws, wave, file)
    console.print(f"Wave {out['wave']}: {out['respondents']:,} respondents, {out['answers']:,} answers.")


def analyse_cmd(
    workspace: WorkspaceOption = Path("."),
    pre: Annotated[str, typer.Option(help="Wave before.")] = "T1",
    post: Annotated[str, typer.Option(help="Wave after.")] = "T2",
) -> None:
    """Opinion change (paired t-test) and knowledge gain of the participants."""
    with open_workspace(workspace) as ws:
        out = analyse(ws, pre=pre, post=post)
    console.print(out["opinion_change"].round(3).to_string(index=False))
    console.print(out["knowledge_gain"].round(4).to_string(index=False))
