"""Reports: build a report's context from the workspace, render it, record its hash; and the panel's
recommendations with the council's responses, which the council and feedback reports show.

``render_reports`` is the use case (``ReportRequest`` in, ``ReportResult`` out); ``write_report``
renders one. The contexts are built here from the store and the cores of ``reports``; the pictures
are drawn by ``reports.charts.council_charts``; languages and formats are checked once, against
``reports.languages.LANGUAGES`` and ``reports.render.FORMATS``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from kleroterion.app.poll import load_instrument
from kleroterion.errors import KleroError
from kleroterion.workspace import Workspace
from reports.charts import council_charts
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
from reports.languages import LANGUAGES, check_language
from reports.outcomes import (
    FeedbackContext,
    RecommendationRow,
    check_response,
    check_support,
    recommendation_rows,
    status_counts,
)
from reports.public import PublicAccountContext, letter_strata, mean_chance, quota_shares
from reports.render import FORMATS, check_format, load_strings, render_report
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
from sortition.progress import Cancel, Progress
from sortition.registry import age_bands, ages_on

KINDS = ("council", "selection", "feedback", "public")


@dataclass(frozen=True)
class ReportRequest:
    """Which reports to render: every kind × language × format asked.

    ``out`` is the file of a single report; otherwise each goes to ``folder`` as
    ``<kind>-report.<lang>.<fmt>``. ``today`` is the report date (default: today)."""

    kinds: tuple[str, ...]
    languages: tuple[str, ...] = (LANGUAGES[0],)
    formats: tuple[str, ...] = (FORMATS[0],)
    folder: Path = Path()
    out: Path | None = None
    today: str | None = None


@dataclass(frozen=True)
class WrittenReport:
    """One rendered report: what it is, where it was written and the SHA-256 recorded in the store."""

    kind: str
    lang: str
    fmt: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class ReportResult:
    """The reports ``render_reports`` wrote, in the order asked."""

    reports: tuple[WrittenReport, ...]

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(r.path for r in self.reports)


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
        letters_sent=ws.store.letters_sent(),
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
    return dataclasses.replace(context, charts=council_charts(context, lang))


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
        quotas=quota_rows(quotas, panel, alternates, pool=pool, threshold=threshold),
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
    from_file = not draws and ws.store.pool_sources() == {"file"}  # a pool from a people file: no letter step
    if not draws and not from_file:
        raise KleroError(
            "No letters drawn yet: the public account needs `klero letters draw` first.", code="no_letters"
        )
    draw = ws.store.latest_panel_draw()
    size, quotas = ws.store.quota_set(int(draw["quota_set_id"]))
    pool = ws.store.pool()
    probabilities = ws.store.selection_probabilities(int(draw["id"]))
    first = draws[0]["parameters"] if draws else {}
    stratify_by = str(first.get("stratify_by") or "")
    strata = [] if from_file else letter_strata(ws.store.letters())
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
        pool_source="file" if from_file else "letters",
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
    cancel: Cancel | None = None,
) -> Path:
    """Render one report (``council``, ``selection``, ``feedback`` or ``public``) to ``out`` and record its
    hash in the store; returns ``out``. A partly written file never replaces ``out``.

    ``progress`` and ``cancel`` (``sortition.progress``) go to ``reports.render.render_report``'s steps.
    Errors (``KleroError``): ``unsupported_language``, ``unsupported_format``, ``unknown_report``, and
    those of the context builders (``no_analysis``, ``no_letters``, ...)."""
    return _write(ws, kind=kind, lang=lang, fmt=fmt, out=out, today=today, progress=progress, cancel=cancel).path


def _check_kind(kind: str) -> str:
    if kind not in BUILDERS:
        raise KleroError(f"Unknown report {kind!r}; use {', '.join(KINDS)}.", code="unknown_report", kind=kind)
    return kind


def _write(
    ws: Workspace,
    *,
    kind: str,
    lang: str,
    fmt: str,
    out: Path,
    today: str | None,
    progress: Progress | None,
    cancel: Cancel | None,
) -> WrittenReport:
    check_language(lang)
    check_format(fmt)
    _check_kind(kind)
    context = BUILDERS[kind](ws, lang=lang, today=today or date.today().isoformat())
    title = load_strings(lang)[TITLES[kind]]
    data = render_report(
        f"{kind}.html.j2",
        context,
        lang=lang,
        fmt=fmt,
        title=title,
        override_dir=ws.template_dir,
        progress=progress,
        cancel=cancel,
    )
    tmp = out.with_suffix(out.suffix + ".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise KleroError(f"Cannot write the report {out}: {exc}.", code="cannot_write_report", path=str(out)) from exc
    digest = hashlib.sha256(data).hexdigest()
    ws.store.record_report(kind=kind, lang=lang, fmt=fmt, path=str(out), sha256=digest)
    return WrittenReport(kind=kind, lang=lang, fmt=fmt, path=out, sha256=digest)


def default_name(kind: str, lang: str, fmt: str) -> str:
    """The file name a report gets when none is given: ``<kind>-report.<lang>.<fmt>``."""
    return f"{kind}-report.{lang}.{fmt}"


def render_reports(
    ws: Workspace, request: ReportRequest, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> ReportResult:
    """Render every report of ``request`` (each kind × language × format) and record each one's hash.

    Everything asked is checked before anything is rendered; ``request.out`` names the file when one
    report is asked, else the files go to ``request.folder`` under ``default_name``. ``cancel`` is
    asked before each rendering step (``Cancelled``); reports written before it stay written."""
    for lang in request.languages:
        check_language(lang)
    for fmt in request.formats:
        check_format(fmt)
    for kind in request.kinds:
        _check_kind(kind)
    combos = [(k, lang, fmt) for k in request.kinds for lang in request.languages for fmt in request.formats]
    if not combos:
        raise KleroError("No report asked: give at least one kind, language and format.", code="no_report_asked")
    if request.out is not None and len(combos) > 1:
        raise KleroError(
            f"--out names one file, but {len(combos)} reports were asked: give a folder instead.",
            code="out_needs_one_report",
        )
    written = []
    for kind, lang, fmt in combos:
        target = request.out or request.folder / default_name(kind, lang, fmt)
        written.append(
            _write(ws, kind=kind, lang=lang, fmt=fmt, out=target, today=request.today, progress=progress, cancel=cancel)
        )
    return ReportResult(reports=tuple(written))


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


def list_recommendations(ws: Workspace) -> list[tuple[int, RecommendationRow]]:
    """The recommendations (id, row with the council's latest response), in the order they were added."""
    ids = [int(r["id"]) for r in ws.store.recommendations()]
    return list(zip(ids, _recommendations(ws), strict=True))
