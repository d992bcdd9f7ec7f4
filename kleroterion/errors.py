"""Errors of the application, and the cores' shared hierarchy re-exported for the shell.

The cores raise the errors of ``sortition.errors``; the store and the workspace raise ``StoreError``s
with codes of their own. The CLI and the web app catch ``KleroError`` and show its message.
"""

from __future__ import annotations

from sortition.errors import (
    ROW_LIMIT,
    Cancelled,
    InfeasibleQuotaError,
    InputError,
    KleroError,
    Problem,
    ProblemCollector,
)

__all__ = [
    "ROW_LIMIT",
    "Cancelled",
    "InfeasibleQuotaError",
    "InputError",
    "KleroError",
    "Problem",
    "ProblemCollector",
    "StoreBusyError",
    "StoreError",
    "WorkspaceNotFoundError",
]


class StoreError(KleroError):
    """The workspace or its database cannot be used as asked."""

    code = "store_error"


class WorkspaceNotFoundError(StoreError):
    code = "no_workspace"


class StoreBusyError(StoreError):
    """Another command holds the workspace's write lock; try again when it has finished."""

    code = "store_busy"
