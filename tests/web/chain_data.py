"""Synthetic data for the sortition chain's web tests: a registry extract, sign-up sheets, and a process
taken through registry, letters and pool by the use cases themselves (the web pages are what is tested)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from kleroterion.app.letters import draw_letters
from kleroterion.app.pool import import_pool
from kleroterion.app.registry import import_registry
from kleroterion.workspace import Workspace
from sortition.registry import age_bands, ages_on
from sortition.synthetic import generate_registry

RESIDENTS = 400
LETTERS = 120
#: Every other letter signs up.
SIGNUPS = LETTERS // 2


def registry_csv(residents: int = RESIDENTS) -> bytes:
    """A synthetic BRP extract over two wijken, as a Dutch Excel export (cp1252, ';')."""
    half = residents // 2
    wijken = pd.DataFrame(
        {"regiocode": ["WK189401", "WK189403"], "AantalInwoners": [half, half], "Mannen": [half // 2, half // 2]}
    )
    extract, _ = generate_registry(
        wijken, total=residents, men=residents // 2, rng=np.random.default_rng(4), reference_date=date(2024, 1, 1)
    )
    return extract.to_csv(sep=";", index=False).encode("cp1252")


def signups_frame(ws: Workspace, *, every: int = 2) -> pd.DataFrame:
    """Sign-ups of every ``every``-th letter (by code), answering gender and age band as the registry has
    them and an education level."""
    letters = ws.store.letters().sort_values("code").iloc[::every]
    bands = age_bands(ages_on(letters["birth_date"], ws.reference_date))
    return pd.DataFrame(
        {
            "code": letters["code"].to_numpy(),
            "gender": letters["gender"].to_numpy(),
            "age_band": bands.to_numpy(),
            "education": [("laag", "middelbaar", "hoog")[i % 3] for i in range(len(letters))],
            "email": [f"deelnemer{i}@example.org" for i in range(len(letters))],
        }
    )


def registered(folder: Path) -> None:
    """Import the synthetic extract into the workspace ``folder``."""
    extract = folder.parent / f"{folder.name}-brp.csv"
    extract.write_bytes(registry_csv())
    with Workspace.open(folder) as ws:
        import_registry(ws, extract)
    extract.unlink()


def lettered(folder: Path) -> None:
    registered(folder)
    with Workspace.open(folder) as ws:
        draw_letters(ws, count=LETTERS, seed=1, stratify_by="wijk", code_seed=2)


def pooled(folder: Path) -> None:
    """Registry, letters and the sign-ups of every other letter."""
    lettered(folder)
    sheet = folder.parent / f"{folder.name}-signups.csv"
    with Workspace.open(folder) as ws:
        signups_frame(ws).to_csv(sheet, index=False)
        import_pool(ws, sheet)
    sheet.unlink()
