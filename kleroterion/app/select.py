"""``klero select``: one fair selection from two files, without a workspace.

Reads the published pool format (see ``kleroterion.pool_files``) and, optionally, a sortition-algorithms
``settings.toml``; writes the panel and the probabilities where asked. No store, so no transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kleroterion.errors import KleroError
from kleroterion.exports import neutralise_frame
from kleroterion.pool_files import read_categories, read_excluded_ids, read_people, read_select_settings
from kleroterion.seeds import fresh_seed, generator
from sortition.flex import select_within_flex
from sortition.progress import Cancel, Progress
from sortition.quotas import check_panel_size, check_quota_bounds
from sortition.selection import fairness_summary

DEFAULT_ALGORITHM = "maximin"


@dataclass(frozen=True)
class SelectRequest:
    """The files and choices of one ``klero select``; ``None`` leaves a choice to ``settings`` (then the
    default). ``address_columns`` key a household (at most one person per household)."""

    categories: Path
    respondents: Path
    size: int
    algorithm: str | None = None
    engine: str = "native"
    seed: int | None = None
    id_column: str | None = None
    address_columns: tuple[str, ...] = ()
    settings: Path | None = None
    exclude: Path | None = None
    out: Path | None = None
    probabilities: Path | None = None


@dataclass(frozen=True)
class Selection:
    """One selection: the panel, the fairness summary of everyone's selection probability, the
    relaxation of infeasible quotas within their flex bounds (``category, feature, min, max, min_used,
    max_used, min_flex, max_flex``; empty when none was needed) and notes the user must see."""

    algorithm: str
    engine: str
    seed: int
    pool_size: int
    panel: tuple[str, ...]
    excluded: tuple[str, ...]
    min_probability: float
    mean_probability: float
    max_probability: float
    gini: float
    seconds: float
    relaxation: pd.DataFrame
    notes: tuple[str, ...]

    def record(self) -> dict[str, Any]:
        """The selection as one JSON-ready object (``klero select --json``)."""
        return {
            "algorithm": self.algorithm,
            "engine": self.engine,
            "panel_size": len(self.panel),
            "seed": self.seed,
            "min_probability": self.min_probability,
            "mean_probability": self.mean_probability,
            "max_probability": self.max_probability,
            "gini": self.gini,
            "seconds": round(self.seconds, 3),
            "relaxation": self.relaxation.to_dict("records"),
            "notes": list(self.notes),
            "panel": list(self.panel),
            "excluded": list(self.excluded),
        }


def _one(option: str, given: Any, setting: str, settings_value: Any) -> Any:
    """The request's value or the settings file's; both and different is an error."""
    if given is not None and settings_value is not None and given != settings_value:
        raise KleroError(
            f"{option} {given} and {setting} = {settings_value!r} in --settings disagree; give one of them.",
            code="conflicting_options",
        )
    return given if given is not None else settings_value


def select_from_files(
    request: SelectRequest, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Selection:
    """Select a panel of ``request.size`` from the respondents within the quotas of the categories file.

    Reads the Sortition Foundation's files as they are: features.csv (feature,value,min,max,min_flex,
    max_flex; the flex bounds are the relaxation allowed when the quotas are infeasible) and its people
    file. A fresh secure seed is drawn unless one is given (here or in the settings)."""
    chosen = read_select_settings(request.settings) if request.settings is not None else None
    id_col = _one("--id-column", request.id_column, "id_column", chosen.id_column if chosen else None)
    addresses = _one(
        "--address-columns",
        request.address_columns or None,
        "check_same_address_columns",
        (chosen.address_columns or None) if chosen else None,
    )
    algo = _one("--algorithm", request.algorithm, "selection_algorithm", chosen.algorithm if chosen else None)
    seed = _one("--seed", request.seed, "random_number_seed", chosen.seed if chosen else None)
    quotas = read_categories(request.categories)
    people = read_people(
        request.respondents,
        quotas,
        id_column=id_col,
        address_columns=tuple(addresses or ()),
        keep_columns=chosen.keep_columns if chosen else (),
    )
    pool = people.pool
    check_panel_size(request.size, len(pool))
    if "min_flex" not in quotas.columns:
        check_quota_bounds(quotas, request.size)  # with flex bounds, the engine finds the smallest relaxation
    excluded = read_excluded_ids(request.exclude) if request.exclude is not None else []
    seed = fresh_seed() if seed is None else int(seed)
    started = time.perf_counter()
    result, relaxation = select_within_flex(
        pool,
        quotas,
        size=request.size,
        rng=generator(seed),
        algorithm=algo or DEFAULT_ALGORITHM,
        engine=request.engine,
        address_column="address_key" if addresses else None,
        progress=progress,
        cancel=cancel,
        exclude=excluded,
    )
    seconds = time.perf_counter() - started
    summary = fairness_summary(result.probabilities, size=request.size)
    if request.out is not None:
        neutralise_frame(pool[pool["id"].isin(result.panel)]).to_csv(request.out, index=False)
    if request.probabilities is not None:
        neutralise_frame(result.probabilities.rename_axis("id").reset_index()).to_csv(
            request.probabilities, index=False
        )
    return Selection(
        algorithm=result.algorithm,
        engine=result.engine,
        seed=seed,
        pool_size=len(pool),
        panel=tuple(result.panel),
        excluded=tuple(result.excluded),
        min_probability=float(summary["min_probability"]),
        mean_probability=float(summary["mean_probability"]),
        max_probability=float(summary["max_probability"]),
        gini=float(summary["gini"]),
        seconds=seconds,
        relaxation=relaxation,
        notes=(*people.notes, *(chosen.notes if chosen else ()), *result.notes),
    )
