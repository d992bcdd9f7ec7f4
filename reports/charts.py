"""Charts for the council report (matplotlib, Agg backend): PNG bytes plus a text alternative.

``council_charts`` builds every picture of the council report from its context (pure: context in,
charts out); the chart functions below draw one each.

Every chart repeats numbers that the report also gives in a table; ``alt`` says what the chart shows
so a screen reader user loses nothing. Charts are drawn from context rows, never from raw data.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reports.context import ChangeRow, CompositionRow, CouncilReportContext
from reports.render import formatters, load_strings

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLOURS = ("#9aa9bf", "#5b7fb5", "#1f3f77")


@dataclass(frozen=True)
class Chart:
    """One picture: its anchor id, caption, text alternative and PNG bytes (base64 for a data URI)."""

    id: str
    caption: str
    alt: str
    png_base64: str

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + self.png_base64


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure outside pyplot (no global state, Agg canvas), imported lazily: matplotlib costs ~0.7 s
    of start-up that only report rendering needs."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def composition_chart(
    rows: Sequence[CompositionRow],
    *,
    labels: Sequence[str],
    caption: str,
    alt: str,
    category: str,
    value_labels: Mapping[str, str] | None = None,
) -> Chart:
    """Grouped bars: population, sign-up and panel share per value of one characteristic.

    ``labels`` names the three series (population, sign-ups, panel); a suppressed sign-up share is not drawn.
    """
    part = [r for r in rows if r.category == category]
    fig, ax = _figure(7, 0.45 * len(part) + 1.4)
    width = 0.27
    for k, (label, colour) in enumerate(zip(labels, COLOURS, strict=True)):
        values = [(r.population_share, r.pool_share, r.panel_share)[k] for r in part]
        positions = [i + (k - 1) * width for i in range(len(part))]
        ax.barh(positions, [0 if math.isnan(v) else v * 100 for v in values], height=width, label=label, color=colour)
    ax.set_yticks(range(len(part)), [(value_labels or {}).get(r.feature, r.feature) for r in part])
    ax.invert_yaxis()
    ax.set_xlabel("%")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return Chart(id=f"chart-composition-{category}", caption=caption, alt=alt, png_base64=_png(fig))


def change_chart(rows: Sequence[ChangeRow], *, caption: str, alt: str, xlabel: str) -> Chart:
    """Mean change per statement with its 95% confidence interval (a dot and a whisker), zero marked."""
    fig, ax = _figure(7, 0.5 * len(rows) + 1.2)
    ys = list(range(len(rows)))
    changes = [r.mean_change for r in rows]
    low = [r.mean_change - r.ci_low for r in rows]
    high = [r.ci_high - r.mean_change for r in rows]
    ax.errorbar(changes, ys, xerr=[low, high], fmt="o", color=COLOURS[2], capsize=4)
    ax.axvline(0, color="#777", linewidth=1)
    ax.set_yticks(ys, [r.item for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    return Chart(id="chart-change", caption=caption, alt=alt, png_base64=_png(fig))


def rate_chart(groups: Sequence[str], rates: Sequence[float], *, caption: str, alt: str, chart_id: str) -> Chart:
    """Horizontal bars of a response rate per group, in percent (suppressed groups drawn as empty)."""
    fig, ax = _figure(7, 0.35 * len(groups) + 1.2)
    ax.barh(range(len(groups)), [0 if math.isnan(r) else r * 100 for r in rates], color=COLOURS[1])
    ax.set_yticks(range(len(groups)), list(groups))
    ax.invert_yaxis()
    ax.set_xlabel("%")
    ax.spines[["top", "right"]].set_visible(False)
    return Chart(id=chart_id, caption=caption, alt=alt, png_base64=_png(fig))


def council_charts(context: CouncilReportContext, lang: str) -> dict[str, Chart]:
    """The council report's pictures, each with a text alternative whose numbers are also in a table:
    opinion change (``change``), composition per characteristic (``composition_<category>``) and the
    response rate per wijk (``response_wijk``); a picture without rows is left out."""
    t, f = load_strings(lang), formatters(lang)
    charts: dict[str, Chart] = {}
    if context.change:
        moved = ", ".join(
            f"{r.item} ({r.text}) {f['num'](r.mean_change, 2)} [{f['num'](r.ci_low, 2)}; {f['num'](r.ci_high, 2)}]"
            for r in context.change
        )
        charts["change"] = change_chart(
            context.change, caption=t["chart_change"], alt=f"{t['chart_change']}: {moved}.", xlabel=t["change"]
        )
    categories = list(dict.fromkeys(r.category for r in context.composition))
    for category in categories:
        rows = [r for r in context.composition if r.category == category]
        name = context.category_labels.get(category) or t.get(f"char_{category}", category)
        values = context.value_labels.get(category, {})
        shares = "; ".join(
            f"{values.get(r.feature, r.feature)}: "
            + ", ".join(f["pct"](s) for s in (r.population_share, r.pool_share, r.panel_share))
            for r in rows
        )
        charts[f"composition_{category}"] = composition_chart(
            context.composition,
            category=category,
            labels=[t["population"], t["pool"], t["panel"]],
            caption=f"{t['chart_composition']}: {name}",
            alt=f"{t['chart_composition']} ({name}; {t['population']}, {t['pool']}, {t['panel']}): {shares}.",
            value_labels=values,
        )
    wijken = [r for r in context.response_by_group if r.characteristic == "wijk"]
    if wijken:
        areas = context.value_labels.get("wijk", {})
        rates = "; ".join(f"{areas.get(r.group, r.group)}: {f['pct'](r.rate)}" for r in wijken)
        charts["response_wijk"] = rate_chart(
            [areas.get(r.group, r.group) for r in wijken],
            [r.rate for r in wijken],
            caption=t["chart_response"],
            alt=f"{t['chart_response']}: {rates}.",
            chart_id="chart-response-wijk",
        )
    return charts
