"""Shared factories for tests: tiny pools, quota tables and workspaces."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from kleroterion.cli import app
from kleroterion.workspace import ProcessSettings, Workspace
from sortition.synthetic import generate_registry

# Property tests draw the same examples on every run by default, so a CI run cannot fail by chance;
# `HYPOTHESIS_PROFILE=explore pytest tests/sortition` searches fresh random examples (and more of them).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"


def make_quotas(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """A quota table from (category, feature, min, max) rows."""
    frame = pd.DataFrame(rows, columns=["category", "feature", "min", "max"])
    frame["population_share"] = 1.0 / frame.groupby("category")["feature"].transform("size")
    frame["target"] = 0.0
    return frame


def make_pool(rows: list[dict[str, str]]) -> pd.DataFrame:
    """A pool with ids p0..pn and one address per person unless given."""
    frame = pd.DataFrame(rows)
    frame.insert(0, "id", [f"p{i}" for i in range(len(frame))])
    if "address_key" not in frame:
        frame["address_key"] = frame["id"] + "-addr"
    return frame


def run_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Run ``klero ARGS`` through the real entry point ``kleroterion.cli.app``; return its exit code."""
    monkeypatch.setattr(sys, "argv", ["klero", *args])
    try:
        app()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(scope="session")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder one ``klero demo`` run wrote (workspace, residents' files, every report), built once per
    session and shared by every test that needs it: read it, never change it (copy it to change it)."""
    from kleroterion.demo import run_demo

    out = tmp_path_factory.mktemp("demo-output")
    run_demo(out)
    return out


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    settings = ProcessSettings(name="Test", municipality="Peel en Maas", reference_date="2024-01-01")
    ws = Workspace.create(tmp_path / "ws", settings)
    yield ws
    ws.store.close()


def lottery_workspace(base: Path, monkeypatch: pytest.MonkeyPatch, *, letters: int = 80) -> Path:
    """A workspace ``base/ws`` taken through init, a synthetic 400-resident registry import and a letter
    draw, by CLI commands only (``process.toml`` may then be extended before the pool import)."""
    root = base / "ws"
    wijken = pd.DataFrame({"regiocode": ["WK189401", "WK189403"], "AantalInwoners": [200, 200], "Mannen": [100, 100]})
    extract, _ = generate_registry(
        wijken, total=400, men=200, rng=np.random.default_rng(4), reference_date=date(2024, 1, 1)
    )
    brp = base / "brp.csv"
    extract.to_csv(brp, sep=";", index=False)
    ws = str(root)
    steps = [
        ["init", ws, "--name", "Test", "--municipality", "Peel en Maas", "--reference-date", "2024-01-01"],
        ["registry", "import", str(brp), "-w", ws],
        ["letters", "draw", "--count", str(letters), "--stratify-by", "wijk", "--seed", "1", "-w", ws],
    ]
    for args in steps:
        if run_cli(monkeypatch, *args) != 0:
            raise RuntimeError(f"klero {' '.join(args)} failed")
    return root


#: The database URL of each workspace folder the helpers have seen (a test may break its process.toml).
_KNOWN_URLS: dict[Path, str] = {}


def copy_workspace(source: Path, target: Path) -> Path:
    """Copy a workspace folder (or a folder of them) as ``shutil.copytree`` does; on PostgreSQL each copied
    workspace also gets its own copy of the database (a fresh schema), so the copy never changes the source."""
    import shutil
    import tomllib

    from kleroterion.store import StoreCore

    shutil.copytree(source, target)
    for process in sorted(target.rglob("process.toml")):
        text = process.read_text(encoding="utf-8")
        url = str(tomllib.loads(text).get("process", {}).get("database_url", ""))
        if url.startswith(("postgresql://", "postgres://")):
            store = StoreCore(url)
            try:
                copy = store.copy_to_new_schema()
            finally:
                store.close()
            process.write_text(text.replace(f'"{url}"', f'"{copy}"', 1), encoding="utf-8")
            _KNOWN_URLS[process.parent.resolve()] = copy
    return target


def store_rows(root: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows read through the workspace's own store (SQLite or PostgreSQL, as the suite runs)."""
    with Workspace.open(root) as ws:
        return [tuple(r) for r in ws.store._query(sql, params)]


def database_dump(root: Path) -> str:
    """The workspace's database as SQL text ('' for a folder without a workspace): SQLite's ``iterdump``,
    or on PostgreSQL a ``pg_dump`` of the workspace's schema."""
    import tomllib

    process = root / "process.toml"
    url = _KNOWN_URLS.get(root.resolve(), "")
    if process.is_file():
        # a test may have broken the settings: the database is still the one seen before
        with contextlib.suppress(tomllib.TOMLDecodeError):
            url = str(tomllib.loads(process.read_text(encoding="utf-8")).get("process", {}).get("database_url", ""))
        _KNOWN_URLS[root.resolve()] = url
    if url.startswith(("postgresql://", "postgres://")):
        from kleroterion.store.postgres import dump_schema

        # without pg_dump's \restrict / \unrestrict lines (their key is random on every run) and the id
        # sequences' positions (a rolled-back INSERT still uses up a number; no row changes)
        lines = dump_schema(url).decode("utf-8").splitlines(keepends=True)
        skip = ("\\restrict ", "\\unrestrict ", "SELECT pg_catalog.setval(")
        return "".join(line for line in lines if not line.startswith(skip))
    path = root / "store.sqlite"  # the default (the file is never created here)
    if not path.exists():
        return ""
    conn = sqlite3.connect(path)
    try:
        return "".join(line + "\n" for line in conn.iterdump())
    finally:
        conn.close()


class RawConnection:
    """The workspace database's own connection, for a test that edits it directly as an attacker holding
    the database would (autocommit; SQLite's or the PostgreSQL one); a context manager that closes it."""

    def __init__(self, root: Path) -> None:
        self._workspace = Workspace.open(root)
        self.conn = self._workspace.store._conn

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)

    def close(self) -> None:
        self._workspace.store.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def drop_append_only_triggers(conn: sqlite3.Connection) -> None:
    """Drop the append-only triggers (migration 0022), as an attacker holding the database file would,
    or a test that fakes an old or damaged record; ``klero audit verify`` must still notice the edit.
    ``conn`` is a store's connection (``store._conn``; SQLite's or the PostgreSQL one)."""
    if hasattr(conn, "trigger_names"):  # kleroterion.store.postgres.PgConnection
        for name, table in conn.trigger_names():
            conn.execute(f'DROP TRIGGER "{name}" ON "{table}"')
        return
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()]
    for name in names:
        conn.execute(f'DROP TRIGGER "{name}"')


#: Set when the suite runs on PostgreSQL (`make pytest-pg`): every new workspace then goes there.
ON_POSTGRES = os.environ.get("KLERO_DATABASE_URL", "").startswith(("postgresql://", "postgres://"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not ON_POSTGRES:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "SQLite only")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
