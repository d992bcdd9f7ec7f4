"""One workspace taken from registry import to analysis (``build_chain``: 600 residents, 150 letters,
70 sign-ups, a panel of 10 with 3 alternates), built once for the app tests; a test that changes it
works on its own copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.kleroterion.test_cli_chain import build_chain
from tests.kleroterion.test_privacy import GIVEN, SURNAME


@pytest.fixture(scope="session")
def named_chain_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chain with named residents and e-mail addresses (read only: copy it to change it)."""
    return build_chain(tmp_path_factory.mktemp("app-chain"), person=(GIVEN, SURNAME))["root"]


@pytest.fixture
def chain_copy(named_chain_master: Path, tmp_path: Path) -> Path:
    """A private copy of the chain's workspace folder."""
    root = tmp_path / "ws"
    shutil.copytree(named_chain_master, root)
    return root
