"""Workspaces at each step of stage 1, built by the use cases themselves (no CLI)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kleroterion.app.letters import draw_letters
from kleroterion.app.registry import import_registry
from kleroterion.workspace import Workspace
from tests.conftest import copy_workspace
from tests.kleroterion.test_cli_chain import build_chain
from tests.kleroterion.test_privacy import GIVEN, SURNAME
from tests.sortition.test_cli_sortition import HEADER, write

#: 80 residents born on 1 January 1950 + i % 50 (aged 25 to 74 on the reference date 2024-01-01),
#: gender M and V alternating, each at an address of their own: 40 in postcode 5981 AB, 40 in 5988 CD.
RESIDENTS = 80


def registry_file(folder: Path) -> Path:
    rows = [
        f"{100_001_000 + i};Naam{i};Achternaam{i};{1950 + i % 50}0101;{'MV'[i % 2]};Straat;{i + 1};"
        f"{'5981 AB' if i < 40 else '5988 CD'};Panningen"
        for i in range(RESIDENTS)
    ]
    return write(folder / "brp.csv", [HEADER, *rows])


def stored(ws: Workspace, *tables: str) -> dict[str, int]:
    """Row counts of some tables of the workspace's store."""
    counts = ws.store.table_counts()
    return {table: counts[table] for table in tables}


class Injected(RuntimeError):
    """A failure injected midway through a unit of work."""


def fail(*args: object, **kwargs: object) -> None:
    raise Injected("injected failure")


def cancel_at(call: int) -> tuple[list[int], object]:
    """A cancel signal that answers True on its ``call``-th question (1-based), and the questions asked."""
    asked: list[int] = []

    def cancel() -> bool:
        asked.append(len(asked) + 1)
        return len(asked) >= call

    return asked, cancel


@pytest.fixture
def registered(workspace: Workspace, tmp_path: Path) -> Workspace:
    """The workspace with the 80 residents imported."""
    import_registry(workspace, registry_file(tmp_path))
    return workspace


@pytest.fixture
def lettered(registered: Workspace) -> Workspace:
    """Twenty letters drawn from the 80 residents."""
    draw_letters(registered, count=20, seed=3, code_seed=4)
    return registered


def signup_sheet(ws: Workspace, path: Path, *, people: int = 10, education: str = "hoog") -> Path:
    """A sign-up sheet answering the first ``people`` letters (gender as in the registry)."""
    letters = ws.store.letters().head(people)
    pd.DataFrame(
        {
            "code": letters["code"],
            "gender": letters["gender"],
            "age_band": ["40-54"] * len(letters),
            "education": [education] * len(letters),
        }
    ).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def named_chain_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chain with named residents and e-mail addresses (read only: copy it to change it)."""
    return build_chain(tmp_path_factory.mktemp("app-chain"), person=(GIVEN, SURNAME))["root"]


@pytest.fixture
def chain_copy(named_chain_master: Path, tmp_path: Path) -> Path:
    """A private copy of the chain's workspace folder."""
    root = tmp_path / "ws"
    copy_workspace(named_chain_master, root)
    return root
