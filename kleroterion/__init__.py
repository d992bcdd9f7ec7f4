"""Kleroterion's application shell: the ``klero`` CLI, the process workspace and its store."""

__version__ = "0.1.0"
