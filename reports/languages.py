"""The languages reports are written in: defined once, checked once.

``reports.render`` has a locale and ``reports/locales/<lang>.toml`` strings for each of ``LANGUAGES``;
the CLI's options, ``process.toml``'s ``language`` and the report use case all check a language here,
with the one error code ``unsupported_language``. This module imports nothing heavy: ``klero status``
and ``klero init`` use it without loading the renderers.
"""

from __future__ import annotations

from sortition.errors import KleroError

#: The supported report languages, in the order they are offered (the first is the default).
LANGUAGES = ("nl", "en")


def check_language(lang: str, *, where: str = "") -> str:
    """``lang`` when reports can be written in it; otherwise a ``KleroError`` (``unsupported_language``)
    naming the supported ones. ``where`` (a file or option) starts the message when given."""
    if lang in LANGUAGES:
        return lang
    prefix = f"{where}: " if where else ""
    raise KleroError(
        f"{prefix}Unknown language {lang!r}; use {' or '.join(LANGUAGES)}.",
        code="unsupported_language",
        language=lang,
        supported=list(LANGUAGES),
    )
