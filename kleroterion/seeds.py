"""Seeds for draws: from ``secrets``, or from a public value combined with the frozen pool's hash."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def fresh_seed() -> int:
    """A 128-bit production seed from the operating system's secure random source."""
    return secrets.randbits(128)


def public_seed(pool_hash: str, public_value: str) -> int:
    """``SHA-256(pool_hash ‖ public_value)`` as an integer (DOMAIN.md §1a, Randomness)."""
    return int(hashlib.sha256((pool_hash + public_value).encode("utf-8")).hexdigest(), 16)


def generator(seed: int) -> np.random.Generator:
    """numpy ``SeedSequence → PCG64`` generator for a stored seed."""
    import numpy as np  # here, not at the top: `klero status` reads seeds' module and needs no numpy

    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
