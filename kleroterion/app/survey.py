"""Survey files into the workspace: ``klero survey import`` and ``klero survey respondents``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deliberation.analysis import score_answers
from deliberation.responses import WaveLayout, shape_respondents, shape_survey
from kleroterion.app.participants import sync_participants
from kleroterion.app.poll import load_instrument
from kleroterion.errors import KleroError
from kleroterion.io import read_spss_metadata, read_table, sha256_file
from kleroterion.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class SurveyImport:
    """What a survey import stored: the waves, respondents with answers, respondents the file created
    (it had an arm), answers, per wave the respondents absent (every answer blank), the columns left
    out (``--ignore-extra``), the design-weight columns, how many earlier answers were replaced and
    the SPSS user-missing cells read as no answer (column -> count)."""

    waves: tuple[str, ...]
    respondents: int
    created: int
    answers: int
    absent: Mapping[str, int]
    ignored: tuple[str, ...]
    weights: tuple[str, ...]
    replaced: int
    user_missing: Mapping[str, int]

    @property
    def wave(self) -> str:
        """The wave codes as one label (``T1`` or ``T1, T2``)."""
        return ", ".join(self.waves)


@dataclass(frozen=True)
class RespondentsImport:
    """Respondents created or updated from a file, per arm, and the columns left out."""

    respondents: int
    arms: Mapping[str, int]
    ignored: tuple[str, ...]


def import_wave(ws: Workspace, wave: str, path: Path, *, replace: bool = False) -> SurveyImport:
    """Import a wide file of one wave (``participant_id`` + item columns) for known respondents."""
    return import_survey(ws, path, WaveLayout(wave=wave), replace=replace)


def import_survey(
    ws: Workspace, path: Path, layout: WaveLayout, *, replace: bool = False, allow_empty: bool = False
) -> SurveyImport:
    """Validate and store a survey file laid out as ``layout`` (see ``deliberation.responses``): its
    respondents (when it has an arm), every wave's answers and design weights, in one transaction.
    A wave that already has answers is replaced only with ``replace``; a file without a single answer
    for a wave (no rows, or every cell blank) is refused unless ``allow_empty``, so an empty export can
    never wipe a wave; every import stays in the audit log. Respondents from letters and from files
    meet in the same tables."""
    instrument = load_instrument(ws)
    spss = read_spss_metadata(path)
    if spss is not None:  # SPSS value labels and user-missing codes, as the file declares them
        layout = dataclasses.replace(layout, value_labels=spss.value_labels, user_missing=spss.user_missing)
    frame = read_table(path)
    digest = sha256_file(path)
    with ws.store.transaction():
        sync_participants(ws)
        known = frozenset(ws.store.participants()["participant_id"])
        shaped = shape_survey(frame, instrument, layout, known_ids=known, source=path.name)
        waves = list(shaped.waves["wave"])
        if not allow_empty:
            _refuse_empty_waves(shaped.waves, layout, path)
        stored = {w: ws.store.wave_answer_count(w) for w in waves}
        if any(stored.values()) and not replace:
            listed = ", ".join(f"Wave {w} already has {n:,} stored answers" for w, n in stored.items() if n)
            raise KleroError(
                f"{listed}. To replace them with {path.name}, run the import again with --replace "
                "(the earlier import stays in the audit log).",
                code="wave_exists",
            )
        if shaped.respondents is not None:
            ws.store.save_participants(shaped.respondents.assign(letter_code=None))
            ws.store.audit(
                "survey.respondents",
                parameters={"source": path.name, "variables": list(layout.variables)},
                input_hashes={path.name: digest},
                result={"respondents": len(shaped.respondents)},
            )
        for wave in waves:
            part = shaped.answers[shaped.answers["wave"] == wave].drop(columns="wave")
            scored = score_answers(part.assign(wave=wave), instrument)
            ws.store.save_wave(wave, scored, source=path.name, sha256=digest, replaced=stored[wave])
            if layout.weights:
                ws.store.save_weights(wave, shaped.weights[shaped.weights["wave"] == wave])
    counts = shaped.waves.set_index("wave")
    return SurveyImport(
        waves=tuple(waves),
        respondents=int(shaped.answers["participant_id"].nunique()),
        created=0 if shaped.respondents is None else len(shaped.respondents),
        answers=len(shaped.answers),
        absent={w: int(counts.at[w, "absent"]) for w in waves},
        ignored=tuple(shaped.ignored),
        weights=tuple(layout.weights),
        replaced=sum(stored.values()),
        user_missing=dict(shaped.user_missing),
    )


def import_respondents(ws: Workspace, path: Path, layout: WaveLayout) -> RespondentsImport:
    """Create or update respondents from a file without answers (ids as given, arm, declared
    variables with SPSS value labels applied), in one transaction, audited with the file's hash."""
    spss = read_spss_metadata(path)
    if spss is not None:
        layout = dataclasses.replace(layout, value_labels=spss.value_labels)
    respondents, ignored = shape_respondents(read_table(path), layout, source=path.name)
    with ws.store.transaction():
        ws.store.save_participants(respondents.assign(letter_code=None))
        ws.store.audit(
            "survey.respondents",
            parameters={"source": path.name, "variables": list(layout.variables)},
            input_hashes={path.name: sha256_file(path)},
            result={"respondents": len(respondents)},
        )
    return RespondentsImport(
        respondents=len(respondents),
        arms={str(a): int(n) for a, n in respondents["arm"].value_counts().items()},
        ignored=tuple(ignored),
    )


def _refuse_empty_waves(counts: pd.DataFrame, layout: WaveLayout, path: Path) -> None:
    """A wave of the file (or the one ``--wave`` names) without a single answer stops the import."""
    answered = {
        str(w): int(r) - int(a) for w, r, a in counts[["wave", "respondents", "absent"]].itertuples(index=False)
    }
    if layout.wave is not None:
        answered.setdefault(layout.wave, 0)
    empty = [w for w, n in answered.items() if n == 0]
    if not answered or empty:
        which = ", ".join(empty) or "any wave"
        raise KleroError(
            f"{path.name}: no answers for {which} (the file has no rows, or every answer is blank); nothing "
            "was stored. Export the survey again; to store a wave without answers on purpose, add --allow-empty.",
            code="empty_wave",
            source=path.name,
        )
