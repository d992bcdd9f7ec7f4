"""``klero poll|survey|analyse``: the Deliberative Poll's edges around ``deliberation``."""

from __future__ import annotations

import dataclasses
import re
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from deliberation.analysis import (
    integer_counts,
    knowledge_scores,
    rescaled_attitudes,
    score_answers,
    summarise_change,
    summarise_knowledge_gain,
    wave_matrix,
)
from deliberation.change import (
    WILCOXON_CORRECTION,
    WILCOXON_METHOD,
    WILCOXON_ZERO_METHOD,
    assess_change,
    distributions,
    mcnemar,
    modal_answers,
    stuart_maxwell,
)
from deliberation.control import control_contrasts, draw_control_group
from deliberation.design import VARIANCE
from deliberation.disclosure import suppress_table
from deliberation.domination import group_domination, summarise_domination
from deliberation.evaluation import evaluation_distributions, summarise_evaluation
from deliberation.groups import assignment_check, group_index_changes, summarise_distortions
from deliberation.instrument import Instrument, instrument_from_dict
from deliberation.knowledge import change_on_knowledge, summarise_knowledge_gain_answered
from deliberation.packets import packet_balance, source_sides
from deliberation.peakedness import summarise_single_peakedness
from deliberation.representativeness import (
    ATTENDANCE_COLUMNS,
    attendance_model,
    compare_nominal,
    compare_population,
    compare_scales,
    extremity,
)
from deliberation.responses import WaveLayout, drop_absent, shape_respondents, shape_survey, unanswered_items
from deliberation.subgroups import subgroup_change
from deliberation.weighted import ARM_LABELS, declared_variables, design_weighted_tables, representativeness_by_arm
from deliberation.weighting import kish_n_eff, rake, rao_scott_goodness_of_fit, weighted_change
from kleroterion.commands.common import (
    EncodingOption,
    WorkspaceOption,
    console,
    export_and_tell,
    hint,
    open_workspace,
    progress_bars,
)
from kleroterion.commands.options import refuse_repeated
from kleroterion.commands.sortition import eligible_residents
from kleroterion.errors import InputError, KleroError, Problem, StoreError
from kleroterion.exports import DEFAULT_ENCODING, neutralise_frame
from kleroterion.io import WORKBOOK_HINT, read_instrument_workbook, read_spss_metadata, read_table, sha256_file
from kleroterion.lists import control_id
from kleroterion.seeds import fresh_seed, generator
from kleroterion.workspace import Workspace
from sortition.pool import person_id
from sortition.progress import Cancel, Progress, Tracker
from sortition.registry import age_bands

ANALYSIS_STAGE = "analysis"
ANALYSIS_STEPS = 7  # groups of tables in ``analyse``, each one progress step


def load_instrument(ws: Workspace) -> Instrument:
    definition = ws.store.instrument_definition()
    if definition is None:
        raise KleroError("No poll instrument yet: run `klero poll define FILE` first.", code="no_instrument")
    return instrument_from_dict(
        {
            "name": definition["name"],
            "items": [{**i, "min": i["scale_min"], "max": i["scale_max"]} for i in definition["items"]],
            "waves": definition["waves"],
        },
        source="stored instrument",
    )


def define_poll(ws: Workspace, path: Path) -> dict[str, Any]:
    """Define the instrument from a TOML file or an XLSX workbook (sheets ``items`` and ``waves``)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        instrument = _instrument_from_workbook(path)
    else:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(
                str(path),
                [Problem(f"not a readable TOML file: {exc}")],
                hint="check the file's syntax (see data/peel_en_maas/instrument.toml)",
            ) from exc
        instrument = instrument_from_dict(data, source=path.name)
    ws.store.save_instrument(instrument, source=path.name, sha256=sha256_file(path))
    return {
        "items": len(instrument.items),
        "knowledge_items": len(instrument.knowledge_items),
        "evaluation_items": len(instrument.evaluation_items),
        "waves": [w.code for w in instrument.waves],
    }


def _instrument_from_workbook(path: Path) -> Instrument:
    """``instrument_from_dict`` on the workbook; its ``items[n]``/``waves[n]`` become sheet and row, and
    the workbook's bad cells are reported with them."""
    data, rows, problems = read_instrument_workbook(path)
    try:
        instrument = instrument_from_dict(data, source=path.name)
    except InputError as exc:
        for p in exc.problems:
            found = re.fullmatch(r"(items|waves)\[(\d+)\]", p.column or "")
            if found:
                sheet, number = found.group(1), int(found.group(2))
                p = Problem(f"sheet '{sheet}': {p.message}", row=rows[sheet][number - 1], value=p.value)
            problems.append(p)
    if problems:
        raise InputError(path.name, sorted(problems, key=lambda p: p.row or 0), hint=WORKBOOK_HINT)
    return instrument


def sync_participants(ws: Workspace) -> int:
    """Every invitee is a respondent (pseudonymous id from the code); the sitting members of the latest
    panel draw (after replacements; a re-draw supersedes earlier draws) are participants."""
    letters = ws.store.letters()
    if letters.empty:  # a poll without a lottery: respondents come from survey files
        return 0
    panel = set(current_panel_ids(ws))
    pool = ws.store.pool()
    features = pool.set_index("letter_code") if len(pool) else pd.DataFrame()
    characteristics = [c.name for c in ws.signup_categories]
    rows = []
    for code in letters["code"]:
        pid = person_id(code)
        rec: dict[str, Any] = {
            "participant_id": pid,
            "letter_code": code,
            "arm": "participant" if pid in panel else "invited",
        }
        if code in features.index:
            rec.update({c: features.at[code, c] for c in characteristics if c in features})
        rows.append(rec)
    frame = pd.DataFrame(rows).fillna("")
    if len(frame):  # the wijk of every invitee is known from the registry
        frame["wijk"] = letters["wijk"].fillna("").astype(str).to_numpy()
    return ws.store.save_participants(frame)


def current_panel_ids(ws: Workspace) -> list[str]:
    """The sitting members of the latest panel draw (none before the first draw)."""
    if not any(d["kind"] == "panel" for d in ws.store.selection_draws()):
        return []
    return ws.store.current_panel(int(ws.store.latest_panel_draw()["id"]))[0]


def draw_control_action(ws: Workspace, *, count: int, seed: int | None = None, min_age: int = 16) -> dict[str, Any]:
    """Draw a control group from residents at addresses that got no letter and store them as
    respondents of arm ``control`` (pseudonymous id ``C`` + hash of the resident's pseudonym), with
    gender and age band. The seed comes from ``secrets`` unless given and is stored in the audit log."""
    if ws.store.registry_info() is None or ws.store.letters().empty:
        raise KleroError("Draw the letters before the control group (it excludes invited addresses).", code="order")
    participants = ws.store.participants()
    if len(participants) and (participants["arm"] == "control").any():
        raise KleroError("This workspace has a control group already.", code="control_exists")
    used = ws.draw_seed("control") if seed is None else seed
    eligible, _ = eligible_residents(ws, min_age=min_age)
    exclude = frozenset(ws.store.letters()["address_key"])
    drawn = draw_control_group(eligible, count=count, exclude_addresses=exclude, rng=generator(used))
    frame = pd.DataFrame(
        {
            "participant_id": [control_id(str(r)) for r in drawn["id"]],
            "letter_code": None,
            "arm": "control",
            "gender": drawn["gender"].to_numpy(),
            "age_band": age_bands(drawn["age"]).to_numpy(),
            "wijk": drawn["wijk"].fillna("").astype(str).to_numpy(),
        }
    )
    with ws.store.transaction():
        sync_participants(ws)
        ws.store.save_participants(frame)
        ws.store.audit(
            "control.draw",
            parameters={"count": count, "seed": str(used), "min_age": min_age},
            result={"drawn": len(frame), "addresses_excluded": len(exclude)},
        )
    return {
        "control": len(frame),
        "seed": used,
        "ids": frame["participant_id"].tolist(),
        "resident_ids": drawn["id"].tolist(),
    }


def import_wave(ws: Workspace, wave: str, path: Path, *, replace: bool = False) -> dict[str, Any]:
    """Import a wide file of one wave (``participant_id`` + item columns) for known respondents."""
    return import_survey(ws, path, WaveLayout(wave=wave), replace=replace)


def import_survey(
    ws: Workspace, path: Path, layout: WaveLayout, *, replace: bool = False, allow_empty: bool = False
) -> dict[str, Any]:
    """Validate and store a survey file laid out as ``layout`` (see ``deliberation.responses``): its
    respondents (when it has an arm), every wave's answers and design weights, in one transaction.
    A wave that already has answers is replaced only with ``replace``; a file without a single answer
    for a wave (no rows, or every cell blank) is refused unless ``allow_empty``, so an empty export can
    never wipe a wave; every import stays in the audit log. Respondents from letters and from files
    meet in the same tables."""
    instrument = load_instrument(ws)
    sync_participants(ws)
    known = frozenset(ws.store.participants()["participant_id"])
    spss = read_spss_metadata(path)
    if spss is not None:  # SPSS value labels and user-missing codes, as the file declares them
        layout = dataclasses.replace(layout, value_labels=spss.value_labels, user_missing=spss.user_missing)
    shaped = shape_survey(read_table(path), instrument, layout, known_ids=known, source=path.name)
    waves = list(shaped.waves["wave"])
    if not allow_empty:
        _refuse_empty_waves(shaped.waves, layout, path)
    stored = {w: ws.store.wave_answer_count(w) for w in waves}
    if any(stored.values()) and not replace:
        listed = ", ".join(f"Wave {w} already has {n:,} stored answers" for w, n in stored.items() if n)
        raise KleroError(
            f"{listed}. To replace them with {path.name}, run the import again with --replace "
            "(the earlier import stays in the audit log).",
            code="wave_exists",
        )
    digest = sha256_file(path)
    with ws.store.transaction():
        if shaped.respondents is not None:
            ws.store.save_participants(shaped.respondents.assign(letter_code=None))
            ws.store.audit(
                "survey.respondents",
                parameters={"source": path.name, "variables": list(layout.variables)},
                input_hashes={path.name: digest},
                result={"respondents": len(shaped.respondents)},
            )
        for wave in waves:
            part = shaped.answers[shaped.answers["wave"] == wave].drop(columns="wave")
            scored = score_answers(part.assign(wave=wave), instrument)
            ws.store.save_wave(wave, scored, source=path.name, sha256=digest, replaced=stored[wave])
            if layout.weights:
                ws.store.save_weights(wave, shaped.weights[shaped.weights["wave"] == wave])
    counts = shaped.waves.set_index("wave")
    return {
        "waves": waves,
        "wave": waves[0] if len(waves) == 1 else ", ".join(waves),
        "respondents": int(shaped.answers["participant_id"].nunique()),
        "created": 0 if shaped.respondents is None else len(shaped.respondents),
        "answers": len(shaped.answers),
        "absent": {w: int(counts.at[w, "absent"]) for w in waves},
        "ignored": list(shaped.ignored),
        "weights": list(layout.weights),
        "replaced": sum(stored.values()),
        "user_missing": shaped.user_missing,
    }


def _refuse_empty_waves(counts: pd.DataFrame, layout: WaveLayout, path: Path) -> None:
    """A wave of the file (or the one ``--wave`` names) without a single answer stops the import."""
    answered = {
        str(w): int(r) - int(a) for w, r, a in counts[["wave", "respondents", "absent"]].itertuples(index=False)
    }
    if layout.wave is not None:
        answered.setdefault(layout.wave, 0)
    empty = [w for w, n in answered.items() if n == 0]
    if not answered or empty:
        which = ", ".join(empty) or "any wave"
        raise KleroError(
            f"{path.name}: no answers for {which} (the file has no rows, or every answer is blank); nothing "
            "was stored. Export the survey again; to store a wave without answers on purpose, add --allow-empty.",
            code="empty_wave",
            source=path.name,
        )


def import_respondents(ws: Workspace, path: Path, layout: WaveLayout) -> dict[str, Any]:
    """Create or update respondents from a file without answers (ids as given, arm, declared
    variables with SPSS value labels applied); audited with the file's hash."""
    spss = read_spss_metadata(path)
    if spss is not None:
        layout = dataclasses.replace(layout, value_labels=spss.value_labels)
    respondents, ignored = shape_respondents(read_table(path), layout, source=path.name)
    with ws.store.transaction():
        ws.store.save_participants(respondents.assign(letter_code=None))
        ws.store.audit(
            "survey.respondents",
            parameters={"source": path.name, "variables": list(layout.variables)},
            input_hashes={path.name: sha256_file(path)},
            result={"respondents": len(respondents)},
        )
    return {
        "respondents": len(respondents),
        "arms": respondents["arm"].value_counts().to_dict(),
        "ignored": list(ignored),
    }


def analyse(
    ws: Workspace,
    *,
    pre: str = "T1",
    post: str = "T2",
    weights: str = "raking",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, pd.DataFrame]:
    """Opinion change, knowledge gain and representativeness of the panel; each stored as an analysis.

    Keys: ``opinion_change`` (paired t), ``knowledge_gain`` (DK = wrong), ``opinion_tests`` (t,
    Wilcoxon, Holm and BH), ``opinion_distributions`` and ``opinion_modes`` (panel, both waves, DK/NA
    rows), ``opinion_mcnemar`` (yes/no items), ``opinion_marginal_homogeneity``
    (Stuart–Maxwell), ``opinion_change_subgroups`` (cells under 5 pairs
    suppressed), ``knowledge_gain_drop_dk``, ``opinion_change_vs_knowledge`` (OLS, HC2),
    ``representativeness_nominal`` /
    ``representativeness_scales`` (participants vs invited non-participants at ``pre``),
    ``attendance_model`` (logit of attending on T1 knowledge and extremity; if it cannot be fitted, one
    row ``(not fitted)`` with the reason in ``note``), and when the
    workspace has quotas ``representativeness_population`` (vs the quota population shares) and
    ``opinion_change_weighted`` (raked to those margins; n stays the real n; when raking cannot
    reach the margins, one row ``(not weighted)`` with the reason in ``note``) and
    ``representativeness_population_weighted`` (raked participants vs the population on the
    characteristics not raked on, e.g. wijk; Rao–Scott corrected χ²), and when there is a
    control arm ``control_ancova`` and ``control_gain_difference`` (attended vs control) and, when
    invited non-attenders answered ``post``, ``control_ancova_itt`` and ``control_gain_difference_itt``
    (invited vs control, intention to treat); with a
    stored briefing packet ``packet_balance`` and ``packet_sources``; with stored small groups
    ``group_changes``, ``group_distortions``, ``group_assignment_check``, ``group_domination`` and
    ``group_domination_summary``; with evaluation items
    answered at ``post`` ``evaluation`` and ``evaluation_distributions``; with ranking items answered
    at both waves ``single_peakedness`` (List et al. 2013, participants with complete rankings at both).

    ``progress`` (``sortition.progress``, stage ``ANALYSIS_STAGE``) hears each of the ``ANALYSIS_STEPS``
    groups of tables as it is done, the tables so far in the message; ``cancel`` is asked between them.

    Always ``exclusions`` (per wave the respondents left out as absent — every answer blank — and the
    items nobody answered) and ``representativeness_arms`` (declared variables across participants,
    invited non-participants and control, χ² on counts). With ``weights`` an imported design-weight
    column (each person's ``pre``-wave weight; design-based linearisation SEs, Kish n_eff, never
    frequency weights): ``opinion_change_weighted``, ``knowledge_gain_weighted``, ``control_weighted``
    (+ ``_itt``), ``participants_vs_nonparticipants_weighted``, ``representativeness_arms_weighted``
    (Rao–Scott) and, with quota population shares, ``representativeness_population_weighted`` (each arm
    with its design weights vs the population, Rao–Scott goodness of fit).
    """
    tracker = Tracker(progress, cancel)
    tables: dict[str, pd.DataFrame] = {}

    def done(step: int, more: dict[str, pd.DataFrame]) -> None:
        tables.update(more)
        tracker.step(ANALYSIS_STAGE, step, ANALYSIS_STEPS, f"{len(tables)} tables analysed")

    done(0, {})
    instrument = load_instrument(ws)
    design_weights = _design_weights(ws, weights, wave=pre)
    answers, exclusions = drop_absent(ws.store.answers())  # wave non-response is absence, not wrong answers
    participants = ws.store.participants()
    panel_ids = set(participants.loc[participants["arm"] == "participant", "participant_id"])
    answers = score_answers(answers, instrument)  # scored once; every analysis takes its rows
    scored = answers[answers["participant_id"].isin(panel_ids)]
    change = summarise_change(scored, instrument, pre=pre, post=post)
    gain = summarise_knowledge_gain(
        knowledge_scores(scored, instrument, wave=pre), knowledge_scores(scored, instrument, wave=post)
    )
    excluded = {str(r.wave): int(r.n_excluded) for r in exclusions.itertuples() if r.n_excluded}
    params = {"pre": pre, "post": post, "group": "participants", "weighted": False, "excluded_absent": excluded}
    dist = distributions(scored, instrument, waves=[pre, post])
    results = {
        "opinion_change": change,
        "knowledge_gain": gain,
        "opinion_tests": assess_change(scored, instrument, pre=pre, post=post),
        "opinion_distributions": dist,
        "opinion_modes": modal_answers(dist),
        "opinion_mcnemar": mcnemar(scored, instrument, pre=pre, post=post),
        "opinion_marginal_homogeneity": stuart_maxwell(scored, instrument, pre=pre, post=post),
        "knowledge_gain_drop_dk": summarise_knowledge_gain_answered(scored, instrument, pre=pre, post=post),
        "opinion_change_vs_knowledge": change_on_knowledge(scored, instrument, pre=pre, post=post),
        "opinion_change_subgroups": subgroup_change(
            scored,
            instrument,
            participants.set_index("participant_id"),
            variables=_characteristics(ws, participants),
            pre=pre,
            post=post,
        ),
    }
    results["exclusions"] = pd.concat([exclusions, unanswered_items(answers, instrument)], ignore_index=True)
    for kind, table in results.items():
        extra = {"wilcoxon": WILCOXON_PINNED, "adjustment": ["holm", "bh"]} if kind == "opinion_tests" else {}
        ws.store.save_analysis(kind, table, parameters={**params, **extra})
    done(1, results)
    characteristics = _characteristics(ws, participants)
    representativeness = _representativeness(participants, answers, instrument, wave=pre, nominal=characteristics)
    rep_params = {
        "wave": pre,
        "a": "participants",
        "b": "invited non-participants",
        "weighted": False,
        "excluded_absent": excluded,
    }
    for kind, table in representativeness.items():
        ws.store.save_analysis(kind, table, parameters=rep_params)
    done(2, representativeness)
    population = _population_analyses(ws, participants, scored, instrument, pre=pre, post=post, weights=weights)
    if design_weights is not None:
        population |= _design_analyses(
            ws, participants, answers, instrument, design_weights, pre=pre, post=post, column=weights
        )
    done(3, population)
    done(4, _control_analyses(ws, participants, answers, instrument, pre=pre, post=post))
    done(5, {**_packet_analyses(ws), **_group_analyses(ws, scored, instrument, pre=pre, post=post)})
    done(6, _evaluation_analyses(ws, scored, instrument, wave=post))
    done(ANALYSIS_STEPS, _ranking_analyses(ws, scored, instrument, pre=pre, post=post))
    return tables


def _characteristics(ws: Workspace, participants: pd.DataFrame) -> list[str]:
    """The respondents' characteristics for subgroups and representativeness: the sign-up categories
    they have, then the variables declared in survey files (wijk, from the registry, is compared
    with the population instead)."""
    signup = [c.name for c in ws.signup_categories if c.name in participants]
    return signup + [v for v in declared_variables(participants) if v not in signup and v != "wijk"]


def _ranking_analyses(
    ws: Workspace, scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str
) -> dict[str, pd.DataFrame]:
    """``single_peakedness`` when a ranking item has answers at both waves, else nothing."""
    codes = {i.code for i in instrument.ranking_items}
    asked = scored[scored["item_code"].isin(codes)]
    if not codes or not {pre, post} <= set(asked["wave"]):
        return {}
    table = summarise_single_peakedness(asked, instrument, pre=pre, post=post)
    params = {"pre": pre, "post": post, "group": "participants", "axis": "best of m!/2 orderings per wave"}
    ws.store.save_analysis("single_peakedness", table, parameters=params)
    return {"single_peakedness": table}


def _evaluation_analyses(
    ws: Workspace, scored: pd.DataFrame, instrument: Instrument, *, wave: str
) -> dict[str, pd.DataFrame]:
    """The participants' evaluation of the event at the post wave (none asked: nothing)."""
    codes = {i.code for i in instrument.evaluation_items}
    if not codes or not (scored["item_code"].isin(codes) & (scored["wave"] == wave)).any():
        return {}
    out = {
        "evaluation": summarise_evaluation(scored, instrument, wave=wave),
        "evaluation_distributions": evaluation_distributions(scored, instrument, wave=wave),
    }
    for kind, table in out.items():
        ws.store.save_analysis(kind, table, parameters={"wave": wave, "group": "participants", "weighted": False})
    return out


def _packet_analyses(ws: Workspace) -> dict[str, pd.DataFrame]:
    """Balance of the latest version of each stored briefing packet (none stored: nothing)."""
    arguments = ws.store.packet_arguments()
    if arguments.empty:
        return {}
    balance, sources = [], []
    for (title, version), part in arguments.groupby(["title", "version"], sort=True):
        balance.append(packet_balance(part.reset_index(drop=True)).assign(title=title, version=version))
        sources.append(source_sides(part.reset_index(drop=True)).assign(title=title, version=version))
    out = {
        "packet_balance": pd.concat(balance, ignore_index=True),
        "packet_sources": pd.concat(sources, ignore_index=True),
    }
    for kind, table in out.items():
        ws.store.save_analysis(kind, table, parameters={"packets": sorted(set(arguments["title"]))})
    return out


#: Who counts as advantaged / disadvantaged for the domination measures (other values: unknown).
DOMINATION_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gender": (("M",), ("V",)),
    "education": (("hoog",), ("laag", "middelbaar")),
}


def _advantaged(column: pd.Series, rule: tuple[tuple[str, ...], tuple[str, ...]]) -> pd.Series:
    advantaged, disadvantaged = rule
    values = column.astype(str)
    return values.map(lambda v: True if v in advantaged else (False if v in disadvantaged else None))


def _group_analyses(
    ws: Workspace, scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str
) -> dict[str, pd.DataFrame]:
    """Homogenisation/polarisation per stored small group and attitude item rescaled to 0–1, and the
    leave-one-out check of random assignment, and domination toward men / the higher educated
    (``group_domination``, ``group_domination_summary``; DOMAIN.md §3.7); nothing without stored groups."""
    groups = ws.store.groups()
    if groups.empty:
        return {}
    members = groups.set_index("participant_id")["group"]
    values = rescaled_attitudes(scored[scored["participant_id"].isin(members.index)], instrument)
    changes = group_index_changes(values, members, pre=pre, post=post)
    out = {
        "group_changes": changes,
        "group_distortions": summarise_distortions(changes),
        "group_assignment_check": assignment_check(values, members, wave=pre),
    }
    people = ws.store.participants().set_index("participant_id")
    domination = [
        group_domination(values, members, _advantaged(people[column], rule), pre=pre, post=post, characteristic=column)
        for column, rule in DOMINATION_RULES.items()
        if column in people
    ]
    if domination:
        out["group_domination"] = pd.concat(domination, ignore_index=True)
        out["group_domination_summary"] = summarise_domination(out["group_domination"])
    params = {"pre": pre, "post": post, "indices": "attitude items rescaled to 0-1", "weighted": False}
    for kind, table in out.items():
        ws.store.save_analysis(kind, table, parameters=params)
    return out


def _control_analyses(
    ws: Workspace, participants: pd.DataFrame, answers: pd.DataFrame, instrument: Instrument, *, pre: str, post: str
) -> dict[str, pd.DataFrame]:
    """ANCOVA and gain difference, attended vs control, when the workspace has a control arm; and
    invited vs control (intention to treat, ``*_itt``) when invited non-attenders answered ``post``.
    ``answers`` are scored (``score_answers``).

    The bootstrap seed comes from ``secrets`` and is stored with the analysis so it can be replayed.
    """
    arms = participants.set_index("participant_id")["arm"]
    if not (arms == "control").any():
        return {}
    out: dict[str, pd.DataFrame] = {}
    invited = set(arms[arms == "invited"].index)
    invited_post = answers["participant_id"].isin(invited) & (answers["wave"] == post)
    designs = [("attended", "")] + ([("invited", "_itt")] if invited_post.any() else [])
    seeds = {contrast: fresh_seed() for contrast, _ in designs}
    tables = control_contrasts(  # persons outside the contrast's arms are left out there
        answers, instrument, arms, pre=pre, post=post, rngs={c: generator(seed) for c, seed in seeds.items()}
    )
    for contrast, suffix in designs:
        seed = seeds[contrast]
        anc, gain = tables[contrast]
        params = {"pre": pre, "post": post, "contrast": str(anc["contrast"].iloc[0]), "weighted": False}
        ws.store.save_analysis(f"control_ancova{suffix}", anc, parameters={**params, "cov_type": "HC2"})
        ws.store.save_analysis(
            f"control_gain_difference{suffix}",
            gain,
            parameters={**params, "bootstrap_seed": str(seed), "n_bootstrap": 2000},
        )
        out |= {f"control_ancova{suffix}": anc, f"control_gain_difference{suffix}": gain}
    return out


def _population_margins(
    ws: Workspace, participants: pd.DataFrame, *, raking: bool = True
) -> dict[str, dict[str, float]] | None:
    """Population shares of the latest quota set, for the characteristics the participants table has
    (with ``raking``: those used for raking, i.e. all but wijk; without: only those not raked on);
    ``{}`` without quotas, None when the quota set lacks population shares."""
    try:
        _, _, quotas = ws.store.quotas()
    except StoreError:
        return {}
    if quotas["population_share"].isna().any():  # no shares, no population to compare or rake to
        return None
    return {
        str(cat): {str(f): float(s) for f, s in zip(part["feature"], part["population_share"], strict=True)}
        for cat, part in quotas.groupby("category", sort=False)
        if cat in participants and (cat != "wijk") == raking
    }


def _population_analyses(
    ws: Workspace,
    participants: pd.DataFrame,
    scored: pd.DataFrame,
    instrument: Instrument,
    *,
    pre: str,
    post: str,
    weights: str = "raking",
) -> dict[str, pd.DataFrame]:
    """Participants vs population (goodness of fit) and opinion change weighted by raking to the
    population margins of the quota set; nothing when there are no quotas."""
    margins = _population_margins(ws, participants)
    if margins is None:
        note = "the quotas have no population_share column: raking and the population comparison are unavailable"
        table = pd.DataFrame([{"item": "(not weighted)", "note": note}])
        params = {"pre": pre, "post": post, "group": "participants", "weighted": False, "note": note}
        ws.store.save_analysis("opinion_change_weighted", table, parameters=params)
        return {"opinion_change_weighted": table}
    if not margins:
        return {}
    panel = participants[participants["arm"] == "participant"].set_index("participant_id")
    fit = compare_population(panel, margins, variables=list(margins))
    ws.store.save_analysis(
        "representativeness_population", fit, parameters={"group": "participants", "source": "quota population shares"}
    )

    def not_weighted(note: str) -> dict[str, pd.DataFrame]:  # supersedes an earlier weighted table
        table = pd.DataFrame([{"item": "(not weighted)", "note": note}])
        params = {"pre": pre, "post": post, "group": "participants", "weighted": False, "note": note}
        ws.store.save_analysis("opinion_change_weighted", table, parameters=params)
        return {"representativeness_population": fit, "opinion_change_weighted": table}

    if weights == "none":
        return not_weighted("weighting not requested (--weights none)")
    if weights != "raking":  # the respondents' own design weights: see _design_analyses
        return {"representativeness_population": fit}
    try:
        raked = rake(panel, margins)
    except KleroError as exc:
        return not_weighted(exc.message)
    weighted = weighted_change(scored, instrument, raked, pre=pre, post=post)
    params = {
        "pre": pre,
        "post": post,
        "group": "participants",
        "weighted": True,
        "weights": f"raked to {', '.join(margins)} (tolerance 1e-6), T1 weight on complete pairs",
        "n_eff_panel": kish_n_eff(raked),
        "note": "with a panel of a few dozen, weighting is mostly cosmetic; compare with opinion_change",
    }
    ws.store.save_analysis("opinion_change_weighted", weighted, parameters=params)
    out = {"representativeness_population": fit, "opinion_change_weighted": weighted}
    others = _population_margins(ws, participants, raking=False)
    if others:
        after = pd.concat(
            [rao_scott_goodness_of_fit(panel[v], raked, shares, variable=v) for v, shares in others.items()],
            ignore_index=True,
        )
        ws.store.save_analysis(
            "representativeness_population_weighted",
            after,
            parameters={"group": "participants", "weighted": True, "weights": f"raked to {', '.join(margins)}"},
        )
        out["representativeness_population_weighted"] = after
    return out


def _design_weights(ws: Workspace, weights: str, *, wave: str) -> pd.Series | None:
    """The imported design weights named ``weights`` at ``wave`` (person -> weight); None for
    ``raking``/``none``; an unknown name is an error that lists the imported ones."""
    if weights in ("raking", "none"):
        return None
    stored = ws.store.weights()
    names = sorted(set(stored["name"]))
    if weights not in names:
        raise KleroError(
            f"--weights {weights!r}: use raking, none or an imported weight column "
            f"(imported: {', '.join(names) or 'none; import them with survey import --weights COLUMN'}).",
            code="bad_weights",
        )
    chosen = stored[(stored["name"] == weights) & (stored["wave"] == wave)]
    if chosen.empty:
        raise KleroError(
            f"--weights {weights!r} has no values at wave {wave} (the weights of the --pre wave are used).",
            code="bad_weights",
        )
    return chosen.set_index("participant_id")["weight"].astype(float)


def _design_analyses(
    ws: Workspace,
    participants: pd.DataFrame,
    answers: pd.DataFrame,
    instrument: Instrument,
    design_weights: pd.Series,
    *,
    pre: str,
    post: str,
    column: str,
) -> dict[str, pd.DataFrame]:
    """Every weighted table with the respondents' own design weights (``--weights COLUMN``; the
    ``pre``-wave weight of each person), design-based SEs and Kish n_eff; see
    ``deliberation.weighted.design_weighted_tables``. ``answers`` are scored."""
    panel_ids = participants.loc[participants["arm"] == "participant", "participant_id"]
    weighted_ids = panel_ids[panel_ids.isin(design_weights.index)]
    scored = answers[answers["participant_id"].isin(weighted_ids)]
    params = {
        "pre": pre,
        "post": post,
        "weighted": True,
        "weights": f"design weights {column!r} at {pre}",
        "variance": VARIANCE,
        "never_frequency_weights": True,
    }
    out = {"opinion_change_weighted": weighted_change(scored, instrument, design_weights, pre=pre, post=post)}
    extra = {"group": "participants", "n_without_weight": int(len(panel_ids) - len(weighted_ids))}
    ws.store.save_analysis("opinion_change_weighted", out["opinion_change_weighted"], parameters={**params, **extra})
    tables = design_weighted_tables(answers, instrument, participants, design_weights, pre=pre, post=post)
    margins = {
        **(_population_margins(ws, participants) or {}),
        **(_population_margins(ws, participants, raking=False) or {}),
    }
    fits = []
    for arm, label in ARM_LABELS.items():  # each arm with its design weights vs the population shares
        people = participants[participants["arm"] == arm].set_index("participant_id")
        weighted = design_weights.reindex(people.index).dropna()
        if margins and len(weighted) > 1:
            fits += [
                _goodness_of_fit(people[v], weighted, shares, variable=v).assign(group=label)
                for v, shares in margins.items()
            ]
    if fits:
        tables["representativeness_population_weighted"] = pd.concat(fits, ignore_index=True)
    for kind, table in tables.items():
        ws.store.save_analysis(kind, table, parameters=params)
        out[kind] = table
    return out


def _goodness_of_fit(values: pd.Series, weights: pd.Series, shares: dict[str, float], *, variable: str) -> pd.DataFrame:
    """``rao_scott_goodness_of_fit``, or one row naming the variable and why it cannot be tested."""
    try:
        return rao_scott_goodness_of_fit(values, weights, shares, variable=variable)
    except KleroError as exc:
        return pd.DataFrame([{"variable": variable, "test": exc.message}])


def _representativeness(
    participants: pd.DataFrame, answers: pd.DataFrame, instrument: Instrument, *, wave: str, nominal: list[str]
) -> dict[str, pd.DataFrame]:
    """Participants vs invited non-participants: the sign-up categories ``nominal`` (χ²) and T1 attitudes and
    knowledge (Welch); ``answers`` are scored (``score_answers``)."""
    nominal = [c for c in nominal if c in participants]
    people = participants.set_index("participant_id")
    scored = answers[answers["wave"] == wave]
    codes = sorted(i.code for i in instrument.attitude_items)  # first value per person and item, columns sorted
    respondents, first, _, _ = wave_matrix(scored, codes, pre=wave, post=wave)
    scales = pd.DataFrame(first, index=respondents, columns=codes).dropna(axis=1, how="all")
    people = people.join(scales)
    if instrument.knowledge_items:
        people = people.join(knowledge_scores(scored, instrument, wave=wave).rename("knowledge_score"))
    scale_vars = [c for c in (*scales.columns, "knowledge_score") if c in people]
    people = people.join(extremity(scored, instrument, wave=wave))
    # Invited non-participants only: a control arm (never invited) is never pooled with no-shows.
    a, b = people[people["arm"] == "participant"], people[people["arm"] == "invited"]
    # a predictor nobody has (extremity without any attitude answer) is left out, not a reason to fail
    numeric = [c for c in ("knowledge_score", "extremity") if c in people and people[c].notna().any()]
    invited = people[people["arm"].isin(["participant", "invited"])]
    invited = invited.assign(attended=(invited["arm"] == "participant").astype(int))
    try:
        attendance = attendance_model(invited, attended="attended", numeric=numeric)
    except KleroError as exc:
        attendance = pd.DataFrame(columns=[*ATTENDANCE_COLUMNS, "note"])
        attendance.loc[0, ["term", "note"]] = ["(not fitted)", exc.message]
    return {
        "representativeness_arms": representativeness_by_arm(participants),
        "representativeness_nominal": compare_nominal(a, b, variables=nominal),
        "representativeness_scales": compare_scales(a, b, variables=scale_vars),
        "attendance_model": attendance,
    }


WILCOXON_PINNED = {
    "zero_method": WILCOXON_ZERO_METHOD,
    "correction": WILCOXON_CORRECTION,
    "method": WILCOXON_METHOD,
}

poll_app = typer.Typer(help="Define the poll instrument.", no_args_is_help=True)
survey_app = typer.Typer(help="Import survey waves.", no_args_is_help=True)


@poll_app.command("define")
def poll_define_cmd(file: Path, workspace: WorkspaceOption = Path(".")) -> None:
    """Define the instrument from a TOML file or an XLSX workbook (sheets items and waves)."""
    with open_workspace(workspace) as ws:
        out = define_poll(ws, file)
    console.print(
        f"Instrument with {out['items']} items ({out['knowledge_items']} knowledge), waves {', '.join(out['waves'])}."
    )
    hint(f"klero survey import answers.csv --wave {(out['waves'] or ['T1'])[0]}", workspace=workspace)


def _pairs(option: str, values: list[str]) -> dict[str, str]:
    """``--option A=B`` values as a dict; a value without ``=`` or a key given twice is an error."""
    out: dict[str, str] = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key.strip() or not target.strip():
            raise KleroError(f"{option} {value!r}: write {option} VALUE=TARGET, e.g. {option} T1=1.", code="bad_option")
        if key.strip() in out:
            raise KleroError(f"{option} {key.strip()!r} is given twice: give each value once.", code="bad_option")
        out[key.strip()] = target.strip()
    return out


def _names(values: list[str]) -> tuple[str, ...]:
    """Column names from repeated and/or comma-separated options, each once, in order."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise KleroError(
            f"Column {', '.join(repeated)} is declared twice: declare each column once.", code="bad_option"
        )
    return tuple(names)


Many = Annotated[list[str] | None, typer.Option()]


@survey_app.command("import")
def survey_import_cmd(
    file: Path,
    wave: Annotated[str | None, typer.Option(help="Wave code of a file with one wave, e.g. T1.")] = None,
    id_column: Annotated[str | None, typer.Option(help="Column with the respondent ids (as given).")] = None,
    row_ids: Annotated[bool, typer.Option("--row-ids", help="Ids are the file row numbers.")] = False,
    wave_column: Annotated[str | None, typer.Option(help="Long file: the column with each row's wave.")] = None,
    wave_value: Annotated[list[str] | None, typer.Option(help="VALUE=CODE: a wave column value (repeat).")] = None,
    wave_suffix: Annotated[
        list[str] | None, typer.Option(help="CODE=SUFFIX: wide file with all waves; item column = code+suffix.")
    ] = None,
    arm_column: Annotated[
        str | None, typer.Option(help="Column with each respondent's arm: the file creates its respondents.")
    ] = None,
    arm: Annotated[str | None, typer.Option(help="One arm for every respondent of the file (creates them).")] = None,
    arm_value: Annotated[list[str] | None, typer.Option(help="VALUE=ARM: an arm column value (repeat).")] = None,
    variables: Annotated[list[str] | None, typer.Option(help="Demographic columns to keep (comma or repeat).")] = None,
    weights: Annotated[list[str] | None, typer.Option(help="Design-weight columns (comma or repeat).")] = None,
    ignore_extra: Annotated[bool, typer.Option("--ignore-extra", help="Leave other columns out (listed).")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Confirm replacing a wave already imported.")] = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Accept a file without any answer for a wave (normally refused).")
    ] = False,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Import survey answers: wide (one wave, or all waves by column suffix) or long (--wave-column);
    CSV, XLSX, Parquet or SPSS .sav. Every column is an item or declared; see --ignore-extra."""
    refuse_repeated(sys.argv[1:], ("--wave", "--id-column", "--wave-column", "--arm-column", "--arm"))
    layout = WaveLayout(
        id_column=None if row_ids else (id_column or "participant_id"),
        row_ids=row_ids,
        wave=wave,
        wave_column=wave_column,
        wave_values=_pairs("--wave-value", wave_value or []),
        wave_suffixes=_pairs("--wave-suffix", wave_suffix or []),
        arm_column=arm_column,
        arm=arm,
        arm_values=_pairs("--arm-value", arm_value or []),
        variables=_names(variables or []),
        weights=_names(weights or []),
        ignore_extra=ignore_extra,
    )
    if row_ids and id_column:
        raise KleroError("Give --id-column or --row-ids, not both.", code="bad_option")
    with open_workspace(workspace) as ws:
        out = import_survey(ws, file, layout, replace=replace, allow_empty=allow_empty)
    replaced = f" (replacing {out['replaced']:,} earlier answers)" if out["replaced"] else ""
    console.print(f"Waves {out['wave']}: {out['respondents']:,} respondents, {out['answers']:,} answers{replaced}.")
    if out["created"]:
        console.print(f"Respondents created or updated from the file: {out['created']:,}.")
    for code, n in out["absent"].items():
        if n:
            console.print(f"Wave {code}: {n:,} respondents with every answer blank: absent at that wave.")
    if out["weights"]:
        console.print(f"Design weights stored: {', '.join(out['weights'])}.")
    if out["ignored"]:
        console.print(f"Columns left out (--ignore-extra): {', '.join(out['ignored'])}.")
    if out["user_missing"]:
        listed = ", ".join(f"{c} ({n:,} cells)" for c, n in out["user_missing"].items())
        console.print(f"SPSS user-missing codes read as no answer: {listed}.")
    hint("klero analyse (once the later wave is in too)", workspace=workspace)


@survey_app.command("respondents")
def survey_respondents_cmd(
    file: Path,
    id_column: Annotated[str | None, typer.Option(help="Column with the respondent ids (as given).")] = None,
    row_ids: Annotated[bool, typer.Option("--row-ids", help="Ids are the file row numbers.")] = False,
    arm_column: Annotated[str | None, typer.Option(help="Column with each respondent's arm.")] = None,
    arm: Annotated[str | None, typer.Option(help="One arm for every respondent of the file.")] = None,
    arm_value: Annotated[list[str] | None, typer.Option(help="VALUE=ARM: an arm column value (repeat).")] = None,
    variables: Annotated[list[str] | None, typer.Option(help="Demographic columns to keep (comma or repeat).")] = None,
    ignore_extra: Annotated[bool, typer.Option("--ignore-extra", help="Leave other columns out (listed).")] = False,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Create respondents from a file (no registry or letters needed): ids as given, arm
    (participant/treatment, invited/non-participant, control), demographics as declared variables."""
    refuse_repeated(sys.argv[1:], ("--id-column", "--arm-column", "--arm"))
    if row_ids and id_column:
        raise KleroError("Give --id-column or --row-ids, not both.", code="bad_option")
    layout = WaveLayout(
        id_column=None if row_ids else (id_column or "participant_id"),
        row_ids=row_ids,
        wave="",
        arm_column=arm_column,
        arm=arm,
        arm_values=_pairs("--arm-value", arm_value or []),
        variables=_names(variables or []),
        ignore_extra=ignore_extra,
    )
    with open_workspace(workspace) as ws:
        out = import_respondents(ws, file, layout)
    arms = ", ".join(f"{n:,} {a}" for a, n in sorted(out["arms"].items()))
    console.print(f"Respondents created or updated: {out['respondents']:,} ({arms}).")
    if out["ignored"]:
        console.print(f"Columns left out (--ignore-extra): {', '.join(out['ignored'])}.")


control_app = typer.Typer(
    help="The control group: draw it (--count N), then export its mailing list.", no_args_is_help=False
)
poll_app.add_typer(control_app, name="control")


@control_app.callback(invoke_without_command=True)
def poll_control_cmd(
    ctx: typer.Context,
    count: Annotated[int | None, typer.Option(help="Size of the control group to draw.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default from secrets; stored).")] = None,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Draw a control group (never invited; surveyed at the same waves) from addresses without a letter."""
    if ctx.invoked_subcommand is not None:
        given = [f"--{name}" for name in ("count", "seed", "workspace") if _given(ctx, name)]
        if given:
            raise KleroError(
                f"{', '.join(given)} before `{ctx.invoked_subcommand}`: --count and --seed draw the group "
                f"(`klero poll control --count N`); put -w after the subcommand "
                f"(`klero poll control {ctx.invoked_subcommand} FILE -w FOLDER`).",
                code="bad_option",
            )
        return
    if count is None:
        raise KleroError(
            "Give the size of the control group: `klero poll control --count N`; "
            "or write its mailing list with `klero poll control export FILE`.",
            code="bad_option",
        )
    with open_workspace(workspace) as ws:
        out = draw_control_action(ws, count=count, seed=seed)
    console.print(
        f"Control group: {out['control']:,} residents drawn (seed {out['seed']}). "
        "Write their mailing list (survey id, name, address) with `klero poll control export FILE.csv`.",
        soft_wrap=True,
    )


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed option ``name`` (rather than taking its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


@control_app.command("export")
def poll_control_export_cmd(
    file: Path, workspace: WorkspaceOption = Path("."), encoding: EncodingOption = DEFAULT_ENCODING
) -> None:
    """Write the control group's mailing list to FILE (.csv or .xlsx): survey id, name and address."""
    export_and_tell(workspace, "control", file, encoding=encoding, what="control-group addresses")


def analyse_cmd(
    workspace: WorkspaceOption = Path("."),
    pre: Annotated[str, typer.Option(help="Wave before.")] = "T1",
    post: Annotated[str, typer.Option(help="Wave after.")] = "T2",
    output: Annotated[
        Path | None, typer.Option(help="Also write every analysis table as DIR/<name>.csv (UTF-8, ',').")
    ] = None,
    weights: Annotated[
        str,
        typer.Option(
            help="raking (to the quota population margins), none, or an imported design-weight column "
            "(design-based SEs; never frequency weights)."
        ),
    ] = "raking",
) -> None:
    """The full analysis (stored in the workspace); prints opinion change and knowledge gain."""
    with open_workspace(workspace) as ws, progress_bars() as bars:
        out = analyse(ws, pre=pre, post=post, weights=weights, progress=bars)
        threshold = ws.settings.suppression_threshold
    console.print(out["opinion_change"].round(3).to_string(index=False))
    console.print(out["knowledge_gain"].round(4).to_string(index=False))
    for row in out["exclusions"].itertuples(index=False):
        if row.n_excluded and not row.item:
            console.print(f"Wave {row.wave}: {row.n_excluded:,} respondents absent (every answer blank), left out.")
        elif row.item:
            console.print(f"Item {row.item}: never answered, no analysis of it.")
    if output is not None:
        written = write_tables(out, output, threshold=threshold)
        console.print(f"Wrote {len(written)} tables to {output}.")
    hint("klero report council --format pdf", workspace=workspace)


def write_tables(tables: dict[str, pd.DataFrame], folder: Path, *, threshold: int) -> list[Path]:
    """Each analysis table as ``folder/<name>.csv``, as it may be published: small counts suppressed
    (``suppress_table`` at the workspace's ``suppression_threshold``), formula-leading cells neutralised;
    a file is written whole or not at all (temp + rename)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KleroError(f"Cannot create the output folder {folder}: {exc.strerror}.", code="bad_output") from exc
    written = []
    for name, table in sorted(tables.items()):
        target = folder / f"{name}.csv"
        partial = target.with_suffix(".csv.partial")
        neutralise_frame(suppress_table(integer_counts(table), threshold)).to_csv(
            partial, index=False, encoding="utf-8"
        )
        partial.replace(target)
        written.append(target)
    return written
