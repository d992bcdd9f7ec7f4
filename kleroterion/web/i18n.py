"""Dutch first, English by a switch: the message catalogue (``messages.py``) and babel formatting.

The language is the ``klero_lang`` cookie (``nl`` when unset); numbers and dates are formatted by
babel as in the reports (45.534 and 4 dec. 2026 14:05 in Dutch; 45,534 and 4 Dec 2026, 14:05 in English),
times in the Netherlands' time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from babel.dates import format_datetime, get_timezone
from babel.numbers import format_decimal

from kleroterion.web.messages import MESSAGES

LANGUAGES = ("nl", "en")
DEFAULT = "nl"
COOKIE = "klero_lang"
LOCALES = {"nl": "nl_NL", "en": "en_GB"}
ZONE = get_timezone("Europe/Amsterdam")


def language(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)``: the message ``key`` in ``lang`` with ``{values}`` filled in."""
    index = LANGUAGES.index(lang)

    def t(key: str, **values: object) -> str:
        text = MESSAGES[key][index]
        return text.format(**values) if values else text

    return t


def number(value: float | int | None, lang: str) -> str:
    return "" if value is None else format_decimal(value, locale=LOCALES[lang])


def moment(iso: str | None, lang: str) -> str:
    """An ISO timestamp from the store as a local date and time."""
    if not iso:
        return ""
    return format_datetime(datetime.fromisoformat(iso), "medium", tzinfo=ZONE, locale=LOCALES[lang])
