"""Every trigger a migration creates still exists after all migrations ran.

A migration that rebuilds a table (SQLite's create-copy-drop-rename, as 0045 does for pool_members)
drops that table's triggers with it; it must create them again. The purge of contact notes (0031) was
lost this way once, which only the web purge test noticed.
"""

from __future__ import annotations

import re

from kleroterion.store.core import migration_scripts
from kleroterion.workspace import Workspace


def test_every_trigger_of_the_migrations_survives_them(workspace: Workspace) -> None:
    created, dropped = set(), set()
    for _, _, sql in migration_scripts():
        created |= set(re.findall(r"CREATE TRIGGER (?:IF NOT EXISTS )?(\w+)", sql, re.I))
        dropped |= set(re.findall(r"DROP TRIGGER (?:IF EXISTS )?(\w+)", sql, re.I))
    assert "pool_contacts_purge" in created and len(created) > 10
    if workspace.store.dialect == "postgresql":
        sql = (
            "SELECT DISTINCT trigger_name AS name FROM information_schema.triggers"
            " WHERE trigger_schema = current_schema()"
        )
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    rows = workspace.store._query(sql)
    assert created - dropped <= {row["name"] for row in rows}
