"""A Peel en Maas example process prepared as ``klero demo`` prepares it (the README's walk-through, the
residents' files simulated), up to a chosen step: the starting point of the deliberation pages' tests."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from kleroterion.demo import DATA, Residents, _simulators, run_klero, walkthrough
from kleroterion.seeds import generator


def prepare(out: Path, *, until: str, slug: str = "peel-en-maas") -> tuple[Path, dict[str, object]]:
    """Run the walk-through in ``out/slug`` up to (not including) the first step starting with ``until``;
    returns the workspace and the simulators left (the files the residents send later)."""
    from kleroterion.demo import DEMO_SEED as seed

    out.mkdir(parents=True, exist_ok=True)
    root = out / slug
    simulate = _simulators(out, Residents(rng=generator(seed)))
    steps = walkthrough(workspace=slug, data0=str(DATA), data=os.path.relpath(DATA, root), out="..")
    for number, args in enumerate(steps):
        if " ".join(args).startswith(until):
            break
        for name in [Path(token).name for token in args if Path(token).name in simulate]:
            simulate.pop(name)(root)
        with contextlib.chdir(root if number else out):
            run_klero(args)
    return root, dict(simulate)
