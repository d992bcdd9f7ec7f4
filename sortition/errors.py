"""The one error hierarchy the cores share (the shared kernel of Kleroterion).

``sortition``, ``deliberation`` and ``reports`` raise these; the application (``kleroterion``) turns
them into a clean message and exit code 1 on the CLI, one error page on the web. Every error has a
stable ``code`` and the ``params`` that explain it. It lives in ``sortition`` so that the cores can
be used and packaged without the application; ``deliberation`` imports this one module of
``sortition`` and nothing else (the import contracts in ``pyproject.toml`` say so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class KleroError(Exception):
    """Base of every error Kleroterion reports to a user."""

    code = "klero_error"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.params: dict[str, Any] = params

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Problem:
    """One bad cell (or row, or file) of an input."""

    message: str
    row: int | None = None
    column: str | None = None
    value: Any = None

    def describe(self, source: str) -> str:
        where = [source]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = ", ".join(where) + ": " + self.message
        if self.value is not None and self.value != "":
            text += f" (value: {self.value!r})"
        return text


#: Rows listed per (column, problem) before the rest are counted in one line.
ROW_LIMIT = 200


@dataclass
class ProblemCollector:
    """Collects every problem of one input before raising once (see ``InputError``)."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    _listed: dict[tuple[str, str | None], int] = field(default_factory=dict, repr=False)
    _hidden: dict[tuple[str, str | None], tuple[int, int]] = field(default_factory=dict, repr=False)

    def add(self, message: str, *, row: int | None = None, column: str | None = None, value: Any = None) -> None:
        self.problems.append(Problem(message, row=row, column=column, value=value))

    def add_rows(
        self,
        message: str,
        rows: Sequence[Any],
        *,
        column: str | None = None,
        values: Mapping[Any, Any] | None = None,
        limit: int = ROW_LIMIT,
    ) -> None:
        """One problem per bad row (file row numbers), ``values[row]`` as its value.

        At most ``limit`` rows are listed per (message, column), over all calls (a file checked chunk
        by chunk lists no more than one checked whole); the rest are counted in one more line, never
        dropped.
        """
        key = (message, column)
        listed = self._listed.get(key, 0)
        shown = min(max(limit - listed, 0), len(rows))
        for row in rows[:shown]:
            self.add(message, row=int(row), column=column, value=None if values is None else values[row])
        self._listed[key] = listed + shown
        extra = len(rows) - shown
        if extra:
            position, hidden = self._hidden.get(key, (len(self.problems), 0))
            line = Problem(f"{message}: {hidden + extra:,} more rows beyond those listed", column=column)
            if position == len(self.problems):
                self.problems.append(line)
            else:
                self.problems[position] = line
            self._hidden[key] = (position, hidden + extra)

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self, hint: str = "") -> None:
        if self.problems:
            raise InputError(self.source, self.problems, hint=hint)


class InputError(KleroError):
    """A file or table with one or more problems, each with its row, column and value."""

    code = "input_error"
    MAX_SHOWN = 25

    def __init__(self, source: str, problems: list[Problem], *, hint: str = "") -> None:
        self.source = source
        self.problems = list(problems)
        self.hint = hint
        lines = [p.describe(source) for p in self.problems[: self.MAX_SHOWN]]
        hidden = len(self.problems) - len(lines)
        if hidden > 0:
            lines.append(f"... and {hidden} more problem(s) in {source}")
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in {source}:"
        message = "\n".join([head, *("  " + line for line in lines)])
        if hint:
            message += f"\nWhat to do: {hint}"
        super().__init__(message, source=source, problems=[p.__dict__ for p in self.problems])


class InfeasibleQuotaError(KleroError):
    """The pool cannot meet the quotas; names the conflicting quotas and a relaxation."""

    code = "infeasible_quotas"

    def __init__(self, message: str, *, conflicts: list[str], relaxation: Mapping[str, Any] | None = None) -> None:
        self.conflicts = conflicts
        self.relaxation = dict(relaxation or {})
        super().__init__(message, conflicts=conflicts, relaxation=self.relaxation)


class Cancelled(KleroError):
    """Long work stopped between two steps because its cancel signal was set (``sortition.progress``)."""

    code = "cancelled"
