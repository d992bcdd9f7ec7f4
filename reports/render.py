"""Render report contexts to HTML (Jinja2), PDF (WeasyPrint) and DOCX, with language-aware numbers and dates.

Templates are looked up first in a workspace's override folder, then in the bundled ``templates/``.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Callable
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape

from reports.languages import LANGUAGES
from sortition.errors import KleroError
from sortition.progress import Cancel, Progress, Tracker

RENDER_STAGE = "rendering"
LANGS = LANGUAGES  # the one list (reports.languages); a locale and a strings file for each
LOCALES = {"nl": "nl_NL", "en": "en_GB"}
FORMATS = ("html", "pdf", "docx")


def check_format(fmt: str) -> str:
    """``fmt`` when it is one of ``FORMATS``; otherwise a ``KleroError`` (``unsupported_format``)."""
    if fmt not in FORMATS:
        raise KleroError(f"Unknown format {fmt!r}; use {', '.join(FORMATS)}.", code="unsupported_format", format=fmt)
    return fmt


def load_strings(lang: str) -> dict[str, str]:
    """The interface strings of one language (``reports/locales/<lang>.toml``)."""
    text = (resources.files("reports") / "locales" / f"{lang}.toml").read_text(encoding="utf-8")
    return {k: str(v) for k, v in tomllib.loads(text).items()}


def formatters(lang: str) -> dict[str, Callable[..., str]]:
    """The ``num``/``pct``/``pval``/``date`` formatters of ``lang`` (babel): 45.534; 50,9%; 1 januari 2024."""
    locale = LOCALES[lang]

    def num(value: float, digits: int = 0) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=locale)

    def pct(value: float, digits: int = 1) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(value, format=pattern, locale=locale)

    def pval(value: float) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        return "< " + num(0.001, 3) if value < 0.001 else num(value, 3)

    def long_date(value: str | None) -> str:
        """An ISO date (or timestamp) as '1 januari 2024' / '1 January 2024'."""
        if not value:
            return "–"
        return format_date(date.fromisoformat(str(value)[:10]), format="long", locale=locale)

    def short_date(value: str | None) -> str:
        """An ISO date as '31 dec. 2027' / '31 Dec 2027' (for narrow table columns)."""
        if not value:
            return "–"
        return format_date(date.fromisoformat(str(value)[:10]), format="medium", locale=locale)

    return {"num": num, "pct": pct, "pval": pval, "date": long_date, "sdate": short_date}


def make_environment(lang: str, *, override_dir: Path | None = None) -> Environment:
    """A Jinja2 environment with ``num``/``pct``/``pval``/``date`` filters for ``lang``."""
    loaders: list[Any] = []
    if override_dir is not None and override_dir.is_dir():
        loaders.append(FileSystemLoader(str(override_dir)))
    loaders.append(PackageLoader("reports", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(formatters(lang))
    return env


def render_html(template: str, context: Any, *, lang: str, override_dir: Path | None = None) -> str:
    """Render a dataclass context with ``template`` (e.g. ``council.html.j2``) in ``lang``."""
    env = make_environment(lang, override_dir=override_dir)
    fields = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
    return env.get_template(template).render(ctx=context, t=load_strings(lang), **fields)


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of an HTML page (WeasyPrint), with page numbers from the stylesheet."""
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return bytes(HTML(string=html).write_pdf())


def render_report(
    template: str,
    context: Any,
    *,
    lang: str,
    fmt: str,
    title: str,
    override_dir: Path | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> bytes:
    """The bytes of one report in ``fmt`` (html, pdf or docx); PDF and DOCX are made from the HTML.

    ``progress`` (``sortition.progress``, stage ``RENDER_STAGE``) hears the start, the HTML done and,
    for PDF and DOCX, the conversion done; ``cancel`` is asked before each step.
    """
    check_format(fmt)
    tracker = Tracker(progress, cancel)
    steps = 1 if fmt == "html" else 2
    tracker.step(RENDER_STAGE, 0, steps, f"{title}: HTML")
    html = render_html(template, context, lang=lang, override_dir=override_dir)
    if fmt == "html":
        data = html.encode("utf-8")
    else:
        tracker.step(RENDER_STAGE, 1, steps, f"{title}: {fmt.upper()}")
        if fmt == "pdf":
            data = html_to_pdf(html)
        else:
            from reports.docx import html_to_docx

            data = html_to_docx(html, lang=lang, title=title)
    tracker.step(RENDER_STAGE, steps, steps, f"{title}: {fmt.upper()} done")
    return data
