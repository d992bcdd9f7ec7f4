"""The residents as compact columns: a columnar copy of the ``residents`` table for the letter draw.

SQLite stays the record of the residents. Reading 17 million rows back through ``sqlite3`` takes far
longer than the draw may, so after the import commits, the store also writes the columns the draw needs
to an Arrow IPC file next to the database (``store.residents.arrow``): the pseudonym as an unsigned
64-bit integer, the address as a code into the sorted address keys, the birth date as the integer
YYYYMMDD, the restricted-data flag, and gender, wijk and buurt as codes into their labels. Rows are
sorted by address and then pseudonym. The file is written to a temporary name and renamed, carries the
SHA-256 and row count of the import it copies, and is rebuilt from SQLite when missing or stale.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kleroterion.deferred import deferred

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
else:  # ``klero status`` needs none of these (kleroterion.deferred)
    np = deferred("numpy")
    pd = deferred("pandas")
    pa = deferred("pyarrow")
    pc = deferred("pyarrow.compute")

#: Columns of the residents table the compact copy is built from, in this order.
SOURCE_COLUMNS = ("id", "address_key", "birth_date", "restricted", "gender", "wijk", "buurt")
#: Category columns kept as codes (-1 = empty) into labels.
CATEGORIES = ("gender", "wijk", "buurt")
FORMAT = "kleroterion-residents-1"


@dataclass(frozen=True)
class ResidentColumns:
    """Residents as numpy columns sorted by (address, pseudonym); see the module docstring."""

    ids: np.ndarray  # uint64 pseudonyms
    address: np.ndarray  # int32 codes into ``address_keys``
    address_keys: pa.Array  # sorted, unique
    birth: np.ndarray  # int32 YYYYMMDD
    restricted: np.ndarray  # bool
    categories: dict[str, tuple[np.ndarray, list[str]]]  # name -> (int32 codes, -1 = empty; labels)

    def __len__(self) -> int:
        return len(self.ids)

    def address_mask(self, keys: Iterable[str]) -> np.ndarray:
        """True for every address code whose key is among ``keys``."""
        wanted = pa.array(sorted(set(keys)), type=pa.string())
        if len(wanted) == 0:
            return np.zeros(len(self.address_keys), dtype=bool)
        return np.asarray(pc.is_in(self.address_keys, value_set=wanted).to_numpy(zero_copy_only=False), dtype=bool)

    def keys_of(self, codes: np.ndarray) -> list[str]:
        """The address keys of address codes."""
        return [str(k) for k in self.address_keys.take(pa.array(codes, type=pa.int64())).to_pylist()]

    def pseudonyms_of(self, rows: np.ndarray) -> list[str]:
        """The 16-hex-digit pseudonyms (as stored in ``residents.id``) of rows."""
        return [f"{int(v):016x}" for v in self.ids[rows]]


class ColumnsBuilder:
    """Collects chunks of residents (``SOURCE_COLUMNS``) into one sorted ``pa.Table``."""

    def __init__(self) -> None:
        self._ids: list[np.ndarray] = []
        self._keys: list[pa.Array] = []
        self._birth: list[np.ndarray] = []
        self._restricted: list[np.ndarray] = []
        self._codes: dict[str, list[np.ndarray]] = {c: [] for c in CATEGORIES}
        self._labels: dict[str, dict[str, int]] = {c: {} for c in CATEGORIES}

    def add(self, residents: pd.DataFrame) -> None:
        if len(residents) == 0:
            return
        from sortition.registry import pseudonym_numbers  # imports pandas (see kleroterion.deferred)

        self._ids.append(pseudonym_numbers(residents["id"]))
        self._keys.append(pa.array(residents["address_key"], type=pa.string(), from_pandas=True))
        dates = pa.array(residents["birth_date"], type=pa.string(), from_pandas=True)
        birth = pc.cast(pc.replace_substring(dates, "-", ""), pa.int32())
        self._birth.append(birth.to_numpy(zero_copy_only=False).astype(np.int32))
        self._restricted.append(np.asarray(pd.to_numeric(residents["restricted"]), dtype=bool))
        for name in CATEGORIES:
            codes, uniques = pd.factorize(residents[name].astype(object).where(residents[name].notna(), None))
            index = self._labels[name]
            lookup = np.array([index.setdefault(str(u), len(index)) for u in uniques] + [-1], dtype=np.int32)
            self._codes[name].append(lookup[codes])  # code -1 picks the trailing -1

    def finish(self, *, metadata: dict[str, str]) -> pa.Table:
        """One table sorted by (address, pseudonym); address as a dictionary column of sorted keys."""
        ids = _concat(self._ids, np.uint64)
        keys = pa.chunked_array(self._keys, type=pa.string()).combine_chunks()
        encoded = keys.dictionary_encode()
        order = np.asarray(pc.array_sort_indices(encoded.dictionary))
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        address = rank[np.asarray(encoded.indices)]
        sorted_keys = encoded.dictionary.take(pa.array(order))
        del keys, encoded
        perm = np.lexsort((ids, address))
        columns: dict[str, pa.Array] = {
            "id": pa.array(ids[perm]),
            "address": pa.DictionaryArray.from_arrays(pa.array(address[perm]), sorted_keys),
            "birth": pa.array(_concat(self._birth, np.int32)[perm]),
            "restricted": pa.array(_concat(self._restricted, np.bool_)[perm]),
        }
        labels = {}
        for name in CATEGORIES:
            columns[name] = pa.array(_concat(self._codes[name], np.int32)[perm])
            labels[name] = sorted(self._labels[name], key=self._labels[name].__getitem__)
        meta = {**metadata, "format": FORMAT, "labels": json.dumps(labels, ensure_ascii=False)}
        return pa.table(columns).replace_schema_metadata(meta)


def _concat(parts: Sequence[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def write_columns(path: Path, table: pa.Table) -> None:
    """Write atomically: to a temporary file in the same folder (mode 0600), then rename over ``path``."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # owner only before a byte is in
    try:
        with pa.OSFile(str(temporary), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=max(len(table), 1))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_columns(path: Path, *, sha256: str, rows: int) -> ResidentColumns | None:
    """The compact columns, memory-mapped; ``None`` when the file is missing or copies another import."""
    if not path.is_file():
        return None
    try:
        table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
    except (pa.ArrowInvalid, OSError):
        return None
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    if meta.get("format") != FORMAT or meta.get("sha256") != sha256 or table.num_rows != rows:
        return None
    table = table.combine_chunks()
    address = table.column("address").chunk(0) if table.num_rows else None
    labels = json.loads(meta["labels"])

    def numbers(name: str) -> np.ndarray:
        column = table.column(name)
        return column.chunk(0).to_numpy(zero_copy_only=False) if column.num_chunks else np.zeros(0)

    return ResidentColumns(
        ids=numbers("id").astype(np.uint64, copy=False),
        address=np.asarray(address.indices if address is not None else [], dtype=np.int32),
        address_keys=address.dictionary if address is not None else pa.array([], type=pa.string()),
        birth=numbers("birth").astype(np.int32, copy=False),
        restricted=numbers("restricted").astype(bool, copy=False),
        categories={c: (numbers(c).astype(np.int32, copy=False), list(labels[c])) for c in CATEGORIES},
    )
