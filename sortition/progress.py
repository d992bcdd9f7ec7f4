"""The one progress protocol of long work: (stage, done, total, message) events and a cancel check.

A long computation takes ``progress`` (called as ``progress(stage, done, total, message)``) and
``cancel`` (asked between steps; when it answers True the work stops with ``Cancelled``). ``stage``
names a phase (``"column generation"``, ``"registry import"``); within a stage ``done`` never
decreases; ``total`` is the count ``done`` runs to, or None when not known in advance. The CLI shows
these as rich bars (``kleroterion.progress.RichProgress``); the web app will show them on a job page.
Both callables are optional; without them a ``Tracker`` costs one attribute test per step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sortition.errors import Cancelled

#: ``progress(stage, done, total, message)``
Progress = Callable[[str, int, int | None, str], None]
#: True when the caller wants the work stopped
Cancel = Callable[[], bool]


@dataclass(frozen=True)
class Tracker:
    """The ``progress`` and ``cancel`` of one piece of long work, passed down to its steps."""

    progress: Progress | None = None
    cancel: Cancel | None = None

    def step(self, stage: str, done: int, total: int | None = None, message: str = "") -> None:
        """One step done: stop with ``Cancelled`` if the cancel signal is set, else report it."""
        if self.cancel is not None and self.cancel():
            raise Cancelled(f"Stopped at the user's request during {stage}.", stage=stage, done=done)
        if self.progress is not None:
            self.progress(stage, done, total, message)


#: A tracker that reports nothing and is never cancelled.
NO_TRACKER = Tracker()
