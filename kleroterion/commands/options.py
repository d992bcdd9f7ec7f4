"""Option checks typer does not make: a single-valued option given twice (typer keeps the last one
silently) is an error that says what to write instead."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from kleroterion.errors import KleroError


def refuse_repeated(argv: Sequence[str], single: Sequence[str], *, instead: Mapping[str, str] | None = None) -> None:
    """Raise when an option of ``single`` appears more than once in ``argv``; ``instead`` maps an
    option to what to write when several values are meant (e.g. a list option)."""
    given = Counter(a.split("=", 1)[0] for a in argv if a.startswith("--"))
    for option in single:
        if given[option] > 1:
            hint = (instead or {}).get(option, "give it once (only one value would be used)")
            raise KleroError(f"{option} is given {given[option]} times; {hint}.", code="repeated_option")
