"""The CLI side of the progress protocol (``sortition.progress``): rich bars on standard error.

``RichProgress`` is a context manager and a ``Progress`` callable: one bar per stage, its description
the latest message, a count when the stage has no total. It shows nothing when disabled (``klero
--quiet``, ``--json``, or standard output not a terminal, see ``kleroterion.commands.common.progress_bars``),
so piped or captured output never holds progress characters. ``null_progress`` reports nowhere.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as RichBars
    from rich.progress import TaskID


def null_progress(stage: str, done: int, total: int | None, message: str) -> None:
    """A progress callback that reports nowhere."""


class RichProgress:
    """Rich progress bars for the ``(stage, done, total, message)`` events of long work.

    Use as ``with RichProgress(enabled=...) as progress: core(..., progress=progress)``. Bars are
    transient: they disappear when the work ends, leaving only the command's own output.
    """

    def __init__(self, *, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled
        self._console = console
        self._bars: RichBars | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

            self._bars = Progress(
                SpinnerColumn(),
                TextColumn("{task.fields[stage]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=self._console or Console(stderr=True),
                transient=True,
            )
            self._bars.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
        self._tasks.clear()

    def __call__(self, stage: str, done: int, total: int | None, message: str) -> None:
        if self._bars is None:
            return
        task = self._tasks.get(stage)
        if task is None:
            task = self._tasks[stage] = self._bars.add_task(message, total=total, stage=stage)
        self._bars.update(task, completed=done, total=total, description=message)
