"""``klero analyse``: one analysis run of the poll (``deliberation.plan``), stored whole."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from deliberation.analysis import integer_counts
from deliberation.disclosure import suppress_table
from deliberation.plan import (
    ANALYSIS_STEPS,
    CONTRASTS,
    AnalysisData,
    AnalysisOptions,
    AnalysisRun,
    Table,
    analysis_steps,
)
from kleroterion.app.poll import load_instrument
from kleroterion.errors import KleroError, StoreError
from kleroterion.exports import neutralise_frame
from kleroterion.seeds import fresh_seed
from kleroterion.workspace import Workspace
from sortition.progress import Cancel, Progress, Tracker

ANALYSIS_STAGE = "analysis"

__all__ = ["ANALYSIS_STAGE", "ANALYSIS_STEPS", "AnalysisRequest", "AnalysisResult", "analyse", "write_tables"]


@dataclass(frozen=True)
class AnalysisRequest:
    """``pre``/``post`` wave codes and ``weights``: ``raking`` (to the quota population margins),
    ``none`` or an imported design-weight column (design-based SEs; never frequency weights)."""

    pre: str = "T1"
    post: str = "T2"
    weights: str = "raking"


@dataclass(frozen=True)
class AnalysisResult:
    """The stored run: its id, the parameters the core used and every table by name (the tables of
    ``deliberation.plan``)."""

    run_id: int
    parameters: Mapping[str, Any]
    tables: Mapping[str, pd.DataFrame]


def analysis_data(ws: Workspace, request: AnalysisRequest) -> AnalysisData:
    """What the plan reads, from the workspace's store (the design weights only when asked for)."""
    try:
        _, _, quotas = ws.store.quotas()
    except StoreError:
        quotas = None
    return AnalysisData(
        instrument=load_instrument(ws),
        answers=ws.store.answers(),
        participants=ws.store.participants(),
        signup=tuple(c.name for c in ws.signup_categories),
        quotas=quotas,
        weights=None if request.weights in ("raking", "none") else ws.store.weights(),
        packet_arguments=ws.store.packet_arguments(),
        groups=ws.store.groups(),
    )


def analyse(
    ws: Workspace,
    request: AnalysisRequest | None = None,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> AnalysisResult:
    """Run the analysis plan (``deliberation.plan``; its docstring lists the tables) and store it as
    one run in one transaction (``Store.save_analysis_run``): reports read the latest complete run,
    so a failure or a cancel halfway leaves the previous run in force.

    ``progress`` (stage ``ANALYSIS_STAGE``) hears each of the ``ANALYSIS_STEPS`` groups of tables as
    it is done, the tables so far in the message; ``cancel`` is asked between them. The control
    arm's bootstrap seeds come from ``secrets`` and are stored with the run so it can be replayed.
    """
    request = request or AnalysisRequest()
    tracker = Tracker(progress, cancel)
    tracker.step(ANALYSIS_STAGE, 0, ANALYSIS_STEPS, "0 tables analysed")
    options = AnalysisOptions(
        pre=request.pre,
        post=request.post,
        weights=request.weights,
        bootstrap_seeds={contrast: fresh_seed() for contrast in CONTRASTS},
    )
    tables: dict[str, Table] = {}
    for step, group in enumerate(analysis_steps(analysis_data(ws, request), options), start=1):
        tables.update(group)
        tracker.step(ANALYSIS_STAGE, step, ANALYSIS_STEPS, f"{len(tables)} tables analysed")
    run = AnalysisRun.of(options, tables)
    run_id = ws.store.save_analysis_run(run)
    return AnalysisResult(
        run_id=run_id, parameters=run.parameters, tables={name: t.frame for name, t in tables.items()}
    )


def write_tables(tables: Mapping[str, pd.DataFrame], folder: Path, *, threshold: int) -> list[Path]:
    """Each analysis table as ``folder/<name>.csv``, as it may be published: small counts suppressed
    (``suppress_table`` at the workspace's ``suppression_threshold``), formula-leading cells neutralised;
    a file is written whole or not at all (temp + rename)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KleroError(f"Cannot create the output folder {folder}: {exc.strerror}.", code="bad_output") from exc
    written = []
    for name, table in sorted(tables.items()):
        target = folder / f"{name}.csv"
        partial = target.with_suffix(".csv.partial")
        neutralise_frame(suppress_table(integer_counts(table), threshold)).to_csv(
            partial, index=False, encoding="utf-8"
        )
        partial.replace(target)
        written.append(target)
    return written
