"""Modules imported on first use, for the store's pandas, numpy and pyarrow.

``klero status`` and ``klero init`` open a workspace but never touch a DataFrame, yet importing
pandas and pyarrow with the store made up most of their start-up (``bench/cli.py``). A store module
writes ``pd = deferred("pandas")``, with the real import under ``TYPE_CHECKING`` for the type
checker; the first attribute read (``pd.DataFrame``) imports the module, later reads go straight to it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class DeferredModule:
    """Stands in for a module until one of its attributes is read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<deferred module {self._name!r}, {state}>"


def deferred(name: str) -> Any:
    """The module ``name``, imported when first used (typed ``Any``: import it under TYPE_CHECKING)."""
    return DeferredModule(name)
