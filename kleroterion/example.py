"""The shipped synthetic examples: a workspace made with ``klero init --example NAME`` draws repeatably.

A real process gets its key and every draw seed from ``secrets``. An example workspace instead uses the
example's fixed key and seeds, so the files ``klero demo`` writes (sign-ups, survey answers, receipts)
match the reader's own workspace. Such a workspace is labelled "example, synthetic data" in ``klero
status`` and in every report, and it only accepts the synthetic registry extract of its example.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from kleroterion.errors import KleroError


@dataclass(frozen=True)
class Example:
    """One shipped example: its key, its fixed draw seeds and the BSN block of its synthetic extract."""

    name: str
    key: bytes
    seeds: dict[str, int]
    first_bsn: int
    last_bsn: int


_BASE = 20270101
EXAMPLES = {
    "peel-en-maas": Example(
        name="peel-en-maas",
        key=hashlib.sha256(b"kleroterion demo: synthetic Peel en Maas").digest(),
        seeds={
            "synthetic": _BASE,  # the extract and the simulated residents (demo only)
            "letters": _BASE + 1,
            "panel": _BASE + 2,
            "groups": _BASE + 3,
            "control": _BASE + 4,
            "codes": _BASE + 5,
        },
        # sortition.synthetic.generate_registry numbers residents from 100000001 up; no real
        # municipality's BSNs all sit in one such block, so a real extract is refused
        first_bsn=100_000_001,
        last_bsn=100_999_999,
    )
}
#: Labels for reports and ``klero status``.
LABELS = {"nl": "voorbeeld, synthetische gegevens", "en": "example, synthetic data"}


def example(name: str) -> Example:
    """The shipped example called ``name``; a clear error for any other name."""
    if name not in EXAMPLES:
        raise KleroError(
            f"Unknown example {name!r}: the shipped example is {', '.join(sorted(EXAMPLES))}. "
            "A real process takes no --example: its key and draws come from a secure random source.",
            code="unknown_example",
        )
    return EXAMPLES[name]


def example_seed(name: str, purpose: str) -> int:
    """The fixed seed of one kind of draw (``letters``, ``codes``, ``panel``, ``control``, ``groups``)."""
    seeds = example(name).seeds
    if purpose not in seeds:
        raise KleroError(f"The example {name!r} has no fixed seed for {purpose!r} draws.", code="example_seed")
    return seeds[purpose]


def check_synthetic_bsns(name: str, bsns: Iterable[object], *, source: str) -> None:
    """Refuse a registry extract that is not the example's synthetic one (its BSNs lie outside the block)."""
    spec = example(name)
    outside = []
    for value in bsns:
        text = str(value).strip()
        if not (text.isdigit() and spec.first_bsn <= int(text) <= spec.last_bsn):
            outside.append(text)
            if len(outside) >= 3:
                break
    if outside:
        raise KleroError(
            f"{source}: this is an example workspace ({name}, synthetic data, fixed seeds), and the file holds "
            f"BSNs that are not synthetic ({', '.join(outside)}, …). Never import a real extract here: create a "
            "workspace without --example for a real process.",
            code="not_synthetic",
        )
