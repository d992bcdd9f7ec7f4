"""The hash chain of the audit log: canonical JSON, content digests and entry hashes.

Pure and dependency-free, so a third party can recompute a published chain with nothing but this module
(or the same few lines in another language):

- ``canonical_json``: JSON with sorted keys, no spaces, UTF-8 text kept as is, no NaN/Infinity; floats are
  written as Python's shortest round-trip ``repr``; bytes as lower-case hex.
- ``content_digest(value)`` = SHA-256 (hex) of ``canonical_json(value)``; the store digests the rows a
  draw wrote (letters, probabilities, panel members, distribution) this way, so editing those tables
  changes the digest even if the audit row itself is untouched.
- ``entry_hash(entry, previous)`` = SHA-256 of ``canonical_json`` of the entry's fields plus the previous
  entry's hash (``GENESIS`` before the first entry). Changing, removing, inserting or reordering any entry
  changes every hash after it; publishing the last hash and its entry number (an *anchor*) fixes the
  whole history up to that entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

#: The "previous hash" of the first entry.
GENESIS = "0" * 64


def _plain(value: Any) -> Any:
    """``value`` with bytes as hex and tuples as lists (the JSON data model)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """The one text form hashed: sorted keys, ``,``/``:`` separators, no ASCII escaping, no NaN."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_digest(value: Any) -> str:
    """SHA-256 (hex) of ``canonical_json(value)``."""
    return sha256_hex(canonical_json(value))


@dataclass(frozen=True)
class ChainEntry:
    """One audit entry as hashed. JSON fields are kept as their stored text, so the hash covers exactly
    what is stored; ``subject`` names the draw rows the entry vouches for (``selection_draw:3``) and
    ``digest`` is their ``content_digest`` ('' when the entry has no subject)."""

    seq: int
    recorded_at: str
    actor: str
    action: str
    parameters: str
    input_hashes: str
    result: str
    subject: str
    digest: str


def entry_hash(entry: ChainEntry, previous: str) -> str:
    """SHA-256 of the entry's fields and the previous entry's hash."""
    return sha256_hex(canonical_json({**asdict(entry), "previous": previous}))


@dataclass(frozen=True)
class ChainBreak:
    """The first entry at which a stored chain stops matching, and why."""

    seq: int
    reason: str


def first_break(entries: Iterable[tuple[ChainEntry, str, str]]) -> ChainBreak | None:
    """Walk stored ``(entry, previous_hash, entry_hash)`` triples in order from the first entry; return the
    first break (a gap in the numbering, a previous hash that is not the hash before it, a hash that does
    not match the content) or ``None`` when the whole chain holds."""
    expected_previous = GENESIS
    expected_seq = 1
    for entry, previous, stored in entries:
        if entry.seq != expected_seq:
            what = "missing" if entry.seq > expected_seq else "out of order"
            return ChainBreak(expected_seq, f"entry {expected_seq} is {what} (next stored entry is {entry.seq})")
        if previous != expected_previous:
            return ChainBreak(entry.seq, "its previous hash is not the hash of the entry before it")
        if entry_hash(entry, previous) != stored:
            return ChainBreak(entry.seq, "its content does not match its hash (the entry was changed)")
        expected_previous = stored
        expected_seq += 1
    return None
