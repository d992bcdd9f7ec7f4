"""Store methods of the registry extract: the residents, in SQLite and as compact columns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kleroterion.deferred import deferred
from kleroterion.errors import StoreError
from kleroterion.store.core import StoreCore, now_iso
from kleroterion.store.residents import SOURCE_COLUMNS, ColumnsBuilder, ResidentColumns, read_columns, write_columns

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from sortition.registry import RegistryExtract
else:  # ``klero status`` needs neither (kleroterion.deferred)
    pd = deferred("pandas")
    pa = deferred("pyarrow")

#: SQLite page cache while importing (KiB, negative = size): keeps the id index in memory.
IMPORT_CACHE_KIB = 262_144
FETCH_ROWS = 500_000
INSERT_ROWS = 20_000  # rows turned into Python values at a time


@dataclass(frozen=True)
class RegistryImport:
    """The workspace's registry extract as imported: source, hash, reference date and counts."""

    id: int
    imported_at: str
    source_name: str
    sha256: str
    reference_date: str
    row_count: int
    restricted_count: int
    legal_basis: str


class RegistryStore(StoreCore):
    def save_registry(self, extract: RegistryExtract, *, sha256: str, reference_date: str, legal_basis: str) -> int:
        """Store a validated extract held whole in memory (see ``save_registry_chunks``)."""
        return self.save_registry_chunks(
            [extract.residents],
            source=extract.source,
            sha256=sha256,
            reference_date=reference_date,
            legal_basis=legal_basis,
        )

    def save_registry_chunks(
        self, chunks: Iterable[pd.DataFrame], *, source: str, sha256: str, reference_date: str, legal_basis: str
    ) -> int:
        """Store an extract arriving in chunks of validated residents (columns ``REGISTRY_COLUMNS``).

        Everything happens in one transaction: when the chunk iterator raises (a bad cell found in
        a later chunk, say), nothing is stored. A workspace holds one extract. After the commit the
        compact columns for the letter draw are written (see ``kleroterion.store.residents``).
        """
        builder = ColumnsBuilder()
        self._conn.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
        try:
            import_id, rows = self._insert_residents(
                chunks, builder, source=source, sha256=sha256, reference_date=reference_date, legal_basis=legal_basis
            )
        finally:
            self._conn.execute("PRAGMA cache_size = -2000")
        write_columns(self.columns_path, builder.finish(metadata={"sha256": sha256, "rows": str(rows)}))
        return import_id

    def _insert_residents(
        self,
        chunks: Iterable[pd.DataFrame],
        builder: ColumnsBuilder,
        *,
        source: str,
        sha256: str,
        reference_date: str,
        legal_basis: str,
    ) -> tuple[int, int]:
        """The transaction of ``save_registry_chunks``: (import id, residents stored)."""
        from sortition.registry import REGISTRY_COLUMNS  # imports pandas (see kleroterion.deferred)

        cols = list(REGISTRY_COLUMNS)
        insert = (
            f"INSERT OR IGNORE INTO residents ({', '.join(cols)}, import_id)"  # noqa: S608
            f" VALUES ({', '.join('?' for _ in range(len(cols) + 1))})"
        )
        rows = restricted = stored = 0
        with self.transaction() as conn:
            if self._scalar("SELECT COUNT(*) FROM registry_imports"):
                raise StoreError(
                    "This workspace already holds a registry extract; start a new workspace for a new extract.",
                    code="registry_exists",
                )
            cur = conn.execute(
                "INSERT INTO registry_imports (imported_at, source_name, sha256, reference_date, row_count,"
                " restricted_count, legal_basis) VALUES (?, ?, ?, ?, 0, 0, ?)",
                (now_iso(), source, sha256, reference_date, legal_basis),
            )
            import_id = int(cur.lastrowid or 0)
            conn.execute("DROP INDEX IF EXISTS residents_address")  # rebuilt below: one sort beats 17M updates
            for chunk in chunks:
                for start in range(0, len(chunk), INSERT_ROWS):
                    part = chunk.iloc[start : start + INSERT_ROWS]
                    values = [pa.array(part[c], from_pandas=True).to_pylist() for c in cols]
                    stored += conn.executemany(insert, zip(*values, repeat(import_id), strict=False)).rowcount
                builder.add(chunk)
                rows += len(chunk)
                restricted += int(pd.to_numeric(chunk["restricted"]).sum())
            if stored != rows:  # the chunks' validator reports repeated ids by row; this guards the table
                raise StoreError("A resident id occurs twice in the extract; nothing was stored.", code="dup_id")
            conn.execute("CREATE INDEX residents_address ON residents(address_key)")  # as in 0001_initial.sql
            conn.execute(
                "UPDATE registry_imports SET row_count = ?, restricted_count = ? WHERE id = ?",
                (rows, restricted, import_id),
            )
            self.audit(
                "registry.import",
                parameters={"source": source, "reference_date": reference_date, "legal_basis": legal_basis},
                input_hashes={source: sha256},
                result={"residents": rows, "restricted": restricted},
            )
        return import_id, rows

    @property
    def columns_path(self) -> Path:
        """The compact copy of the residents, next to the database file."""
        return self.path.with_name(self.path.name.rsplit(".", 1)[0] + ".residents.arrow")

    def remove_resident_columns(self) -> bool:
        """Delete the compact copy (and a leftover temporary file); True if there was one. It holds
        addresses and birth dates; ``resident_columns`` rebuilds it from SQLite when needed."""
        existed = self.columns_path.exists()
        self.columns_path.unlink(missing_ok=True)
        self.columns_path.with_name(self.columns_path.name + ".tmp").unlink(missing_ok=True)
        return existed

    def resident_columns(self) -> ResidentColumns:
        """The residents as compact columns (rebuilt from SQLite when the file is missing or stale)."""
        info = self.registry_info()
        if info is None:
            raise StoreError("No registry extract yet: run `klero registry import FILE` first.", code="no_registry")
        purged = self.audit_records("privacy.purge")
        if purged:
            raise StoreError(
                f"The registry extract was purged on {purged[-1]['recorded_at'][:10]} (`klero purge`): "
                "only the invitees' pseudonymous records are left, so nothing can be drawn from it any more.",
                code="registry_purged",
            )
        columns = read_columns(self.columns_path, sha256=info["sha256"], rows=int(info["row_count"]))
        if columns is None:
            builder = ColumnsBuilder()
            cursor = self._conn.execute(f"SELECT {', '.join(SOURCE_COLUMNS)} FROM residents")  # noqa: S608
            while batch := cursor.fetchmany(FETCH_ROWS):
                builder.add(pd.DataFrame([tuple(r) for r in batch], columns=list(SOURCE_COLUMNS)))
            meta = {"sha256": info["sha256"], "rows": str(info["row_count"])}
            write_columns(self.columns_path, builder.finish(metadata=meta))
            columns = read_columns(self.columns_path, sha256=info["sha256"], rows=int(info["row_count"]))
        if columns is None:
            raise StoreError(
                f"Cannot read the residents copy {self.columns_path}.",
                code="unreadable_residents_copy",
                path=str(self.columns_path),
            )
        return columns

    def residents(
        self, columns: tuple[str, ...] = ("id", "birth_date", "gender", "address_key", "wijk", "restricted")
    ) -> pd.DataFrame:
        sql = f"SELECT {', '.join(columns)} FROM residents ORDER BY id"  # noqa: S608
        return pd.DataFrame([tuple(r) for r in self._query(sql)], columns=list(columns))

    def registry_info(self) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM registry_imports ORDER BY id DESC LIMIT 1")
        return dict(rows[0]) if rows else None

    def registry_import(self) -> RegistryImport | None:
        """The registry extract of this workspace (the latest import), or None before any import."""
        row = self._conn.execute(
            "SELECT id, imported_at, source_name, sha256, reference_date, row_count, restricted_count, legal_basis"
            " FROM registry_imports ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return RegistryImport(
            id=int(row["id"]),
            imported_at=str(row["imported_at"]),
            source_name=str(row["source_name"]),
            sha256=str(row["sha256"]),
            reference_date=str(row["reference_date"]),
            row_count=int(row["row_count"]),
            restricted_count=int(row["restricted_count"]),
            legal_basis=str(row["legal_basis"] or ""),
        )
