"""The store's core: migrations, the one transactional write path, and its errors' codes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kleroterion.errors import StoreError
from kleroterion.store import Store, migration_scripts
from kleroterion.workspace import Workspace


def test_migration_upgrades_an_empty_database(tmp_path: Path) -> None:
    # a database that exists but has no schema: opening it applies every migration in order, once
    from kleroterion.store import Store

    path = tmp_path / "old.sqlite"
    sqlite3.connect(path).close()
    store = Store(f"sqlite:///{path}")
    versions = [r["version"] for r in store._query("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [v for v, _, _ in migration_scripts()]
    assert store.migrate() == []  # nothing left to apply on reopening
    store.close()
    reopened = Store(f"sqlite:///{path}")
    assert "residents" in reopened.table_counts()
    reopened.close()


def test_failed_write_leaves_the_store_unchanged(workspace: Workspace) -> None:
    before = workspace.store.table_counts()
    with pytest.raises(RuntimeError), workspace.store.transaction():
        workspace.store.audit("test.partial")
        raise RuntimeError("boom")
    assert workspace.store.table_counts() == before


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("mysql://db/klero", "unsupported_database"),
        ("postgresql://klero@127.0.0.1:1/klero", "cannot_open_database"),  # no server there
        ("sqlite:///{tmp}/no-such-folder/store.sqlite", "cannot_open_database"),
    ],
)
def test_a_store_that_cannot_be_opened_says_why_with_its_own_code(tmp_path: Path, url: str, code: str) -> None:
    with pytest.raises(StoreError) as caught:
        Store(url.format(tmp=tmp_path))
    assert caught.value.code == code


def test_a_failing_migration_is_rolled_back_and_named(tmp_path: Path) -> None:
    # a table the first migration creates already exists with another shape: that migration fails, nothing stays
    path = tmp_path / "clash.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE residents (x INTEGER)")
    conn.close()
    with pytest.raises(StoreError) as caught:
        Store(f"sqlite:///{path}")
    first = migration_scripts()[0][1]
    assert (caught.value.code, caught.value.params["migration"]) == ("migration_failed", first)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 0
    conn.close()
