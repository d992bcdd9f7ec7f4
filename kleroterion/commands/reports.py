"""``klero report``: builds report contexts from the workspace and renders them."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from kleroterion.app.poll import load_instrument
from kleroterion.commands.common import WorkspaceOption, console, hint, open_workspace, progress_bars
from kleroterion.errors import KleroError
from kleroterion.workspace import Workspace
from reports.charts import Chart, change_chart, composition_chart, rate_chart
from reports.context import CouncilReportContext, SessionRow, change_rows, composition_rows
from reports.council import (
    REPLACEMENT_REASONS,
    ResponseRow,
    control_rows,
    evaluation_rows,
    fit_rows,
    group_summary,
    packet_reviews,
    packet_rows,
    peak_rows,
    reason_category,
    response_rows,
)
from reports.labels import Labels, build_labels, in_language, parse_areas
from reports.outcomes import (
    FeedbackContext,
    RecommendationRow,
    check_response,
    check_support,
    recommendation_rows,
    status_counts,
)
from reports.public import PublicAccountContext, letter_strata, mean_chance, quota_shares
from reports.render import FORMATS, LANGS, formatters, load_strings, render_report
from reports.selection import (
    ReplacementRow,
    SelectionReportContext,
    draw_history,
    end_to_end_summary,
    input_files,
    probability_rows,
    quota_rows,
    replay_command,
)
from reports.settings import Missing, missing_settings
from sortition.progress import Progress
from sortition.registry import age_bands, ages_on

KINDS = ("council", "selection", "feedback", "public")


def _process_name(ws: Workspace, lang: str) -> str:
    """The process name as every report shows it; a shipped example says it is one (synthetic data)."""
    label = ws.example_label(lang)
    return f"{ws.settings.name} ({label})" if label else ws.settings.name


def _recommendations(ws: Workspace, lang: str = "nl") -> list[RecommendationRow]:
    """The recommendations with the council's responses. An English report shows a recommendation's
    English wording where it was given (``--text-en``), else its Dutch original marked as such; the
    council's reasons are recorded in Dutch and always shown marked."""
    stored = ws.store.recommendations()
    rows = recommendation_rows(stored, ws.store.council_responses())
    if lang == "nl":
        return rows

    def mark(text: str, english: str = "") -> str:
        return in_language(text, english, lang) if text else text

    return [
        dataclasses.replace(
            r,
            text=mark(r.text, str(rec.get("text_en") or "")),
            minority=mark(r.minority, str(rec.get("minority_en") or "")),
            reason=mark(r.reason),
            updates=[dataclasses.replace(u, reason=mark(u.reason)) for u in r.updates],
        )
        for r, rec in zip(rows, stored, strict=True)
    ]


def _response_by_group(ws: Workspace, pool: pd.DataFrame, threshold: int) -> list[ResponseRow]:
    """Letters and sign-ups per wijk, age band and gender, all three from the invitee's register record
    (so numerator and denominator use the same classification); nothing before letters are drawn."""
    letters = ws.store.letters()
    if letters.empty:
        return []
    invitees = pd.DataFrame(
        {
            "wijk": letters["wijk"].to_numpy(),
            "age_band": age_bands(ages_on(letters["birth_date"], ws.reference_date)).to_numpy(),
            "gender": letters["gender"].to_numpy(),
            "signed_up": letters["code"].isin(set(pool.get("letter_code", pd.Series(dtype=str)))).to_numpy(),
        }
    )
    return response_rows(invitees, by=["wijk", "age_band", "gender"], threshold=threshold)


def _charts(context: CouncilReportContext, lang: str) -> dict[str, Chart]:
    """The council report's pictures, each with a text alternative whose numbers are also in a table."""
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


def _labels(ws: Workspace, *, lang: str, shown_areas: list[str]) -> Labels:
    """Labels of the sign-up categories and of the shown wijk codes (names from the process's areas file)."""
    areas: dict[str, dict[str, str]] = {}
    name = ws.report_settings.areas
    if name:
        path = ws.root / name
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KleroError(
                f"{path}: cannot read the areas file named in [report] areas ({exc}).", code="bad_areas"
            ) from exc
        areas = parse_areas(text, source=str(path))
    return build_labels(ws.signup_categories, lang=lang, areas=areas, shown_areas=shown_areas)


def council_context(ws: Workspace, *, lang: str, today: str) -> CouncilReportContext:
    """Assemble the council report's context from the workspace (no personal data enters it)."""
    settings = ws.report_settings
    threshold = ws.settings.suppression_threshold
    draw = ws.store.latest_panel_draw()
    size, quotas = ws.store.quota_set(int(draw["quota_set_id"]))
    pool = ws.store.pool()
    sitting, _ = ws.store.current_panel(int(draw["id"]))  # after replacements
    panel = pool[pool["id"].isin(sitting)]
    change = ws.store.analysis("opinion_change")
    gain = ws.store.analysis("knowledge_gain")
    if change is None or gain is None:
        raise KleroError("No analysis yet: run `klero analyse` first.", code="no_analysis")
    instrument = load_instrument(ws)
    texts = {i.code: in_language(i.text, i.text_en, lang) for i in instrument.items}
    composition = composition_rows(quotas, pool, panel, threshold=threshold)
    t1 = ws.store.wave_respondents("T1", arms=("participant", "invited"))  # a control group is not invited
    reasons = [reason_category(str(r["reason"])) for r in ws.store.replacements(int(draw["id"]))]
    response_by_group = _response_by_group(ws, pool, threshold)
    shown_areas = [r.feature for r in composition if r.category == "wijk"]
    shown_areas += [r.group for r in response_by_group if r.characteristic == "wijk"]
    labels = _labels(ws, lang=lang, shown_areas=shown_areas)
    recommendations = _recommendations(ws, lang)
    missing = missing_settings(settings, lang=lang)
    if not recommendations:
        missing.append(Missing(key="recommendations", where="klero recommendation add"))
    context = CouncilReportContext(
        process_name=_process_name(ws, lang),
        municipality=ws.settings.municipality,
        lang=lang,
        remit=settings.text("remit", lang),
        letters_sent=int(ws.store.scalar("SELECT COUNT(*) FROM letters")),
        signups=len(pool),
        panel_size=size,
        alternates=len(draw["result"].get("alternates", [])),
        algorithm=draw["algorithm"],
        engine=draw["engine"],
        seed=draw["seed"],
        pool_hash=draw["pool_hash"],
        fairness={k: float(v) for k, v in draw["result"].items() if isinstance(v, int | float)},
        composition=composition,
        change=change_rows(change, texts),
        knowledge={k: float(v) for k, v in gain.iloc[0].items()},
        t1_respondents=t1,
        data_sources=settings.lines("sources", lang),
        limitations=settings.lines("limitations", lang),
        suppression_threshold=threshold,
        report_date=today,
        recommendations=recommendations,
        commitment=settings.text("commitment", lang),
        response_due=settings.response_due,
        participation_rung=settings.participation_rung,
        participation_model=settings.participation_model,
        participation_reason=settings.text("participation_reason", lang),
        response_by_group=response_by_group,
        replacements={c: reasons.count(c) for c in REPLACEMENT_REASONS if c in reasons},
        packets=[
            dataclasses.replace(p, title=in_language(p.title, "", lang), option=in_language(p.option, "", lang))
            for p in packet_rows(ws.store.packet_arguments())
        ],
        packet_reviews=[
            dataclasses.replace(r, title=in_language(r.title, "", lang))
            for r in packet_reviews(ws.store.packet_versions())
        ],
        sessions=[
            SessionRow(held_on=s.held_on, hours=s.hours, title=s.title_in(lang), format=s.format)
            for s in settings.sessions
        ],
        groups=group_summary(ws.store.groups()),
        evaluation=[
            dataclasses.replace(e, text=texts.get(e.item, in_language(e.text, "", lang)))
            for e in evaluation_rows(ws.store.analysis("evaluation"), threshold=threshold)
        ],
        peakedness=peak_rows(ws.store.analysis("single_peakedness"), threshold=threshold),
        fit=fit_rows(
            ws.store.analysis("representativeness_population"), ws.store.analysis("representativeness_nominal")
        ),
        control=control_rows(ws.store.analysis("control_ancova")),
        control_itt=control_rows(ws.store.analysis("control_ancova_itt")),
        category_labels=dict(labels.categories),
        value_labels={k: dict(v) for k, v in labels.values.items()},
        unnamed_areas=list(labels.unnamed_areas),
        item_texts=texts,
        draws=draw_history(ws.store.selection_draws(), ws.store.replacements()),
        end_to_end=end_to_end_summary(draw["result"].get("end_to_end"), threshold=threshold),
        missing=missing,
        draft=bool(missing),
    )
    return dataclasses.replace(context, charts=_charts(context, lang))


def selection_context(ws: Workspace, *, lang: str, today: str) -> SelectionReportContext:
    """The selection transcript: inputs, seed, engine, versions, quotas met, probabilities by group."""
    draw = ws.store.latest_panel_draw()
    size, quotas = ws.store.quota_set(int(draw["quota_set_id"]))
    pool = ws.store.pool()
    panel = pool[pool["id"].isin(draw["result"]["panel"])]
    alternate_ids = draw["result"].get("alternates", [])
    alternates = pool[pool["id"].isin(alternate_ids)]
    threshold = ws.settings.suppression_threshold
    areas = quotas.loc[quotas["category"] == "wijk", "feature"].astype(str).tolist()
    labels = _labels(ws, lang=lang, shown_areas=areas)
    return SelectionReportContext(
        process_name=_process_name(ws, lang),
        municipality=ws.settings.municipality,
        lang=lang,
        report_date=today,
        drawn_on=str(draw["drawn_at"])[:10],
        inputs=input_files(ws.store.audit_records()),
        seed=str(draw["seed"]),
        pool_hash=str(draw["pool_hash"]),
        algorithm=str(draw["algorithm"]),
        engine=str(draw["engine"]),
        versions={str(k): str(v) for k, v in draw["versions"].items()},
        pool_size=len(pool),
        panel_size=size,
        alternates=len(alternate_ids),
        fairness={k: float(v) for k, v in draw["result"].items() if isinstance(v, int | float)},
        quotas=quota_rows(quotas, panel, alternates),
        probabilities=probability_rows(
            quotas, pool, ws.store.selection_probabilities(int(draw["id"])), threshold=threshold
        ),
        replacements=[
            ReplacementRow(
                replaced_on=str(r["replaced_at"])[:10],
                reason=reason_category(str(r["reason"])),
                filled=r["person_in"] is not None,
            )
            for r in ws.store.replacements(int(draw["id"]))
        ],
        replay_command=replay_command(
            algorithm=str(draw["algorithm"]),
            engine=str(draw["engine"]),
            seed=str(draw["seed"]),
            alternates=len(alternate_ids),
            public_value=draw["parameters"].get("public_value"),
            lottery_size=draw["parameters"].get("lottery_size"),
            number=draw["parameters"].get("number"),
        ),
        suppression_threshold=threshold,
        draws=draw_history(ws.store.selection_draws(), ws.store.replacements()),
        end_to_end=end_to_end_summary(draw["result"].get("end_to_end"), threshold=threshold),
        category_labels=dict(labels.categories),
        value_labels={k: dict(v) for k, v in labels.values.items()},
        unnamed_areas=list(labels.unnamed_areas),
    )


def feedback_context(ws: Workspace, *, lang: str, today: str) -> FeedbackContext:
    """The participants' feedback report: per recommendation the council's decision, reason and next step."""
    rows = _recommendations(ws, lang)
    if not rows:
        raise KleroError(
            "No recommendations yet: add them with `klero recommendation add TEXT`.", code="no_recommendations"
        )
    _, size, _ = ws.store.quotas()
    return FeedbackContext(
        process_name=_process_name(ws, lang),
        municipality=ws.settings.municipality,
        lang=lang,
        report_date=today,
        remit=ws.report_settings.text("remit", lang),
        panel_size=size,
        recommendations=rows,
        status_counts=status_counts(rows),
    )


def public_context(ws: Workspace, *, lang: str, today: str) -> PublicAccountContext:
    """The public account of the draw: letters, sign-ups, quotas and their sources, chances, seeds."""
    draws = ws.store.letter_draws()
    if not draws:
        raise KleroError(
            "No letters drawn yet: the public account needs `klero letters draw` first.", code="no_letters"
        )
    draw = ws.store.latest_panel_draw()
    size, quotas = ws.store.quota_set(int(draw["quota_set_id"]))
    pool = ws.store.pool()
    probabilities = ws.store.selection_probabilities(int(draw["id"]))
    letters = ws.store.letters()
    first = draws[0]["parameters"]
    stratify_by = str(first.get("stratify_by") or "")
    strata = letter_strata(letters)
    labels = _labels(ws, lang=lang, shown_areas=[s.stratum for s in strata] if stratify_by == "wijk" else [])
    sources = {c.name: c.source for c in ws.signup_categories}
    return PublicAccountContext(
        process_name=_process_name(ws, lang),
        municipality=ws.settings.municipality,
        lang=lang,
        report_date=today,
        eligible=int(first.get("eligible", 0)),
        letters_sent=sum(int(d["letter_count"]) for d in draws),
        letter_min_age=int(first.get("min_age", 16)),
        stratify_by=stratify_by,
        letter_strata=strata,
        letter_seed=", ".join(str(d["seed"]) for d in draws),
        signups=len(pool),
        panel_size=size,
        alternates=len(draw["result"].get("alternates", [])),
        quotas=quota_shares(quotas, sources),
        algorithm=str(draw["algorithm"]),
        seed=str(draw["seed"]),
        public_value=str(draw["parameters"].get("public_value") or ""),
        seat_chances=probability_rows(quotas, pool, probabilities, threshold=ws.settings.suppression_threshold),
        mean_seat_chance=mean_chance([float(p) for p in probabilities]),
        replay_command=replay_command(
            algorithm=str(draw["algorithm"]),
            engine=str(draw["engine"]),
            seed=str(draw["seed"]),
            alternates=len(draw["result"].get("alternates", [])),
            public_value=draw["parameters"].get("public_value"),
            lottery_size=draw["parameters"].get("lottery_size"),
            number=draw["parameters"].get("number"),
        ),
        sources=ws.report_settings.lines("sources", lang),
        suppression_threshold=ws.settings.suppression_threshold,
        category_labels=dict(labels.categories),
        value_labels={k: dict(v) for k, v in labels.values.items()},
        unnamed_areas=list(labels.unnamed_areas),
    )


BUILDERS = {
    "council": council_context,
    "selection": selection_context,
    "feedback": feedback_context,
    "public": public_context,
}
TITLES = {
    "council": "report_title",
    "selection": "selection_title",
    "feedback": "feedback_title",
    "public": "public_title",
}


def write_report(
    ws: Workspace,
    *,
    kind: str,
    lang: str,
    fmt: str,
    out: Path,
    today: str | None = None,
    progress: Progress | None = None,
) -> Path:
    """Render one report (``council``, ``selection``, ``feedback`` or ``public``) and record its hash in the store.

    ``progress`` (``sortition.progress``) hears the rendering steps of ``reports.render.render_report``.
    """
    if lang not in LANGS:
        raise KleroError(f"Unknown language {lang!r}; use nl or en.", code="bad_lang")
    if fmt not in FORMATS:
        raise KleroError(f"Unknown format {fmt!r}; use html, pdf or docx.", code="bad_format")
    if kind not in BUILDERS:
        raise KleroError(f"Unknown report {kind!r}; use {', '.join(KINDS)}.", code="bad_report")
    context = BUILDERS[kind](ws, lang=lang, today=today or date.today().isoformat())
    title = load_strings(lang)[TITLES[kind]]
    data = render_report(
        f"{kind}.html.j2", context, lang=lang, fmt=fmt, title=title, override_dir=ws.template_dir, progress=progress
    )
    tmp = out.with_suffix(out.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)
    ws.store.record_report(kind=kind, lang=lang, fmt=fmt, path=str(out), sha256=hashlib.sha256(data).hexdigest())
    return out


def write_council_report(ws: Workspace, *, lang: str, fmt: str, out: Path) -> Path:
    """The council report (kept for callers of the first version)."""
    return write_report(ws, kind="council", lang=lang, fmt=fmt, out=out)


def add_recommendation(
    ws: Workspace,
    text: str,
    *,
    support_pct: float | None,
    minority: str = "",
    text_en: str = "",
    minority_en: str = "",
) -> int:
    """Record a recommendation in the panel's words (and, if given, their English wording); support in
    percent of the panel."""
    if not text.strip():
        raise KleroError("A recommendation needs a text.", code="bad_recommendation")
    if minority_en.strip() and not minority.strip():
        raise KleroError("--minority-en translates --minority: give the Dutch text too.", code="bad_recommendation")
    return ws.store.add_recommendation(
        text=text.strip(),
        support=check_support(support_pct),
        minority=minority,
        text_en=text_en.strip(),
        minority_en=minority_en.strip(),
    )


def record_response(
    ws: Workspace, recommendation: int, *, status: str, reason: str, due: str | None, owner: str = ""
) -> int:
    """Record (another) dated council response; a reason is required unless adopted."""
    check_response(status, reason, due)
    return ws.store.record_response(
        recommendation_id=recommendation, status=status, reason=reason.strip(), due=due, owner=owner.strip()
    )


report_app = typer.Typer(help="Render reports.", no_args_is_help=True)
recommendation_app = typer.Typer(help="The panel's recommendations.", no_args_is_help=True)
response_app = typer.Typer(help="The council's responses to recommendations.", no_args_is_help=True)

LangOption = Annotated[str, typer.Option(help="nl or en.")]
FormatOption = Annotated[str, typer.Option("--format", help="html, pdf or docx.")]
OutOption = Annotated[Path | None, typer.Option(help="Output file (default: <kind>-report.<lang>.<ext>).")]


def _report_cmd(kind: str, workspace: Path, lang: str, fmt: str, out: Path | None) -> None:
    with open_workspace(workspace) as ws, progress_bars() as bars:
        target = out or Path(f"{kind}-report.{lang}.{fmt}")
        path = write_report(ws, kind=kind, lang=lang, fmt=fmt, out=target, progress=bars)
    console.print(f"Wrote {path}.")
    if kind == "council":
        hint("klero response record N --status adopted (when the council has decided)", workspace=workspace)


@report_app.command("council")
def report_council_cmd(
    workspace: WorkspaceOption = Path("."), lang: LangOption = "nl", fmt: FormatOption = "html", out: OutOption = None
) -> None:
    """The council report: method, population vs pool vs panel, results, responses."""
    _report_cmd("council", workspace, lang, fmt, out)


@report_app.command("selection")
def report_selection_cmd(
    workspace: WorkspaceOption = Path("."), lang: LangOption = "nl", fmt: FormatOption = "html", out: OutOption = None
) -> None:
    """The selection transcript: input hashes, seed, engine, versions, quotas, probabilities, replay command."""
    _report_cmd("selection", workspace, lang, fmt, out)


@report_app.command("feedback")
def report_feedback_cmd(
    workspace: WorkspaceOption = Path("."), lang: LangOption = "nl", fmt: FormatOption = "html", out: OutOption = None
) -> None:
    """The participants' feedback report: what the council decided per recommendation, and why."""
    _report_cmd("feedback", workspace, lang, fmt, out)


@report_app.command("public")
def report_public_cmd(
    workspace: WorkspaceOption = Path("."), lang: LangOption = "nl", fmt: FormatOption = "html", out: OutOption = None
) -> None:
    """Verantwoording van de loting: a one-page public account of how the draw worked (no personal data)."""
    _report_cmd("public", workspace, lang, fmt, out)


@recommendation_app.command("add")
def recommendation_add_cmd(
    text: str,
    workspace: WorkspaceOption = Path("."),
    support: Annotated[float | None, typer.Option(help="Support in the panel, in percent.")] = None,
    minority: Annotated[str, typer.Option(help="Minority position, in the panel's words.")] = "",
    text_en: Annotated[str, typer.Option(help="The recommendation in English, for English reports.")] = "",
    minority_en: Annotated[str, typer.Option(help="The minority position in English.")] = "",
) -> None:
    """Add a recommendation as worded by the panel."""
    with open_workspace(workspace) as ws:
        rec_id = add_recommendation(
            ws, text, support_pct=support, minority=minority, text_en=text_en, minority_en=minority_en
        )
    console.print(f"Recommendation {rec_id} added.")
    hint("klero report council --format pdf", workspace=workspace)


@recommendation_app.command("list")
def recommendation_list_cmd(workspace: WorkspaceOption = Path(".")) -> None:
    """The recommendations with the council's latest response."""
    with open_workspace(workspace) as ws:
        ids = [int(r["id"]) for r in ws.store.recommendations()]
        rows = _recommendations(ws)
    for rec_id, row in zip(ids, rows, strict=True):
        console.print(f"{rec_id}. {row.text} — {row.status}" + (f" (due {row.due})" if row.due else ""))


@response_app.command("record")
def response_record_cmd(
    recommendation: int,
    status: Annotated[str, typer.Option(help="adopted, partly, rejected or pending.")],
    workspace: WorkspaceOption = Path("."),
    reason: Annotated[str, typer.Option(help="Why (required unless adopted).")] = "",
    due: Annotated[str | None, typer.Option(help="Deadline (YYYY-MM-DD).")] = None,
    owner: Annotated[str, typer.Option(help="Who in the municipality owns the follow-up.")] = "",
) -> None:
    """Record the council's response to a recommendation (earlier responses stay as dated updates)."""
    with open_workspace(workspace) as ws:
        record_response(ws, recommendation, status=status, reason=reason, due=due, owner=owner)
    console.print(f"Response to recommendation {recommendation} recorded: {status}.")
    hint("klero report feedback --format pdf", workspace=workspace)
