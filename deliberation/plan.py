"""The analysis plan of a Deliberative Poll: which tables exist and how each is made.

Data in (``AnalysisData``: the stored answers, respondents, instrument, quota population shares,
design weights, briefing packets and small groups), options in (``AnalysisOptions``), tables out:
every table as a ``Table`` with the parameters actually used to make it, so what is stored is what
ran. Pure: no store, no clock, no global random state (the bootstrap seeds are given).

``analysis_steps`` yields the tables group by group (``ANALYSIS_STEPS`` groups) so a caller can
report progress and honour a cancel signal between them; ``analysis_tables`` runs them all.
The tables (DOMAIN.md §3):

- always ``opinion_change`` (paired t), ``knowledge_gain`` (DK = wrong), ``opinion_tests`` (t,
  Wilcoxon, Holm and BH), ``opinion_distributions``, ``opinion_modes``, ``opinion_mcnemar``,
  ``opinion_marginal_homogeneity`` (Stuart–Maxwell), ``knowledge_gain_drop_dk``,
  ``opinion_change_vs_knowledge`` (OLS, HC2), ``opinion_change_subgroups`` and ``exclusions`` (per
  wave the respondents left out as absent and the items nobody answered);
- ``representativeness_arms``, ``representativeness_nominal``, ``representativeness_scales`` and
  ``attendance_model`` (participants vs invited non-participants at ``pre``);
- with quotas ``representativeness_population`` and ``opinion_change_weighted`` (raked to the
  population margins; one row ``(not weighted)`` with the reason in ``note`` when raking is not
  possible or not asked) and ``representativeness_population_weighted`` (Rao–Scott); with
  ``weights`` an imported design-weight column the design-weighted tables
  (``deliberation.weighted.design_weighted_tables``);
- with a control arm ``control_ancova`` and ``control_gain_difference`` (+ ``_itt`` when invited
  non-attenders answered ``post``); with packets ``packet_balance`` and ``packet_sources``; with
  small groups ``group_changes``, ``group_distortions``, ``group_assignment_check``,
  ``group_domination`` and ``group_domination_summary``; with evaluation items ``evaluation`` and
  ``evaluation_distributions``; with ranking items ``single_peakedness``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from deliberation.analysis import (
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
from deliberation.control import MIN_BOOTSTRAP, control_contrasts
from deliberation.design import VARIANCE
from deliberation.domination import group_domination, summarise_domination
from deliberation.evaluation import evaluation_distributions, summarise_evaluation
from deliberation.groups import assignment_check, group_index_changes, summarise_distortions
from deliberation.instrument import Instrument
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
from deliberation.responses import drop_absent, unanswered_items
from deliberation.subgroups import subgroup_change
from deliberation.weighted import ARM_LABELS, declared_variables, design_weighted_tables, representativeness_by_arm
from deliberation.weighting import TOLERANCE, kish_n_eff, rake, rao_scott_goodness_of_fit, weighted_change
from sortition.errors import KleroError

#: groups of tables ``analysis_steps`` yields, each one progress step
ANALYSIS_STEPS = 7
#: the bootstrap contrasts of the control arm (``deliberation.control.CONTRASTS``) a seed is needed for
CONTRASTS = ("attended", "invited")

WILCOXON_PINNED = {
    "zero_method": WILCOXON_ZERO_METHOD,
    "correction": WILCOXON_CORRECTION,
    "method": WILCOXON_METHOD,
}

#: Who counts as advantaged / disadvantaged for the domination measures (other values: unknown).
DOMINATION_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gender": (("M",), ("V",)),
    "education": (("hoog",), ("laag", "middelbaar")),
}


@dataclass(frozen=True)
class Table:
    """One analysis table: its name, the tidy frame and the parameters that made it."""

    name: str
    frame: pd.DataFrame
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class AnalysisData:
    """What the analysis reads. ``answers``: stored answers (``participant_id, wave, item_code, raw``);
    ``participants``: respondents (``participant_id, arm`` + characteristics); ``signup``: the sign-up
    category names; ``quotas``: the latest quota table (``category, feature, population_share``) or
    None without quotas; ``weights``: imported design weights (``participant_id, wave, name, weight``);
    ``packet_arguments``: latest packet versions (``title, version, option, side, text, source``);
    ``groups``: active small-group members (``participant_id, group``)."""

    instrument: Instrument
    answers: pd.DataFrame
    participants: pd.DataFrame
    signup: tuple[str, ...] = ()
    quotas: pd.DataFrame | None = None
    weights: pd.DataFrame | None = None
    packet_arguments: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None


@dataclass(frozen=True)
class AnalysisOptions:
    """``pre``/``post`` wave codes; ``weights``: ``raking`` (to the quota population margins), ``none``
    or an imported design-weight column; ``bootstrap_seeds``: contrast (``CONTRASTS``) -> seed of the
    control arm's gain-difference bootstrap; ``n_bootstrap`` resamples (at least ``MIN_BOOTSTRAP``)."""

    pre: str = "T1"
    post: str = "T2"
    weights: str = "raking"
    bootstrap_seeds: Mapping[str, int] = field(default_factory=dict)
    n_bootstrap: int = MIN_BOOTSTRAP


@dataclass(frozen=True)
class AnalysisRun:
    """One whole analysis: the parameters it ran with and every table by name."""

    parameters: Mapping[str, Any]
    tables: Mapping[str, Table]

    @classmethod
    def of(cls, options: AnalysisOptions, tables: Mapping[str, Table]) -> AnalysisRun:
        """The run of ``tables`` made with ``options``; its parameters name the bootstrap seeds of the
        contrasts that were run (as strings: 128-bit integers) and nothing that was not used."""
        used = {c: str(s) for c, s in sorted(options.bootstrap_seeds.items()) if _ran_contrast(c, tables)}
        parameters: dict[str, Any] = {"pre": options.pre, "post": options.post, "weights": options.weights}
        if used:
            parameters |= {"n_bootstrap": options.n_bootstrap, "bootstrap_seeds": used}
        return cls(parameters, dict(tables))


def _ran_contrast(contrast: str, tables: Mapping[str, Table]) -> bool:
    return f"control_gain_difference{'' if contrast == 'attended' else '_itt'}" in tables


def analysis_tables(data: AnalysisData, options: AnalysisOptions) -> dict[str, Table]:
    """Every table of the plan by name (``analysis_steps`` run to the end)."""
    tables: dict[str, Table] = {}
    for group in analysis_steps(data, options):
        tables.update(group)
    return tables


def analysis_steps(data: AnalysisData, options: AnalysisOptions) -> Iterator[dict[str, Table]]:
    """The plan's ``ANALYSIS_STEPS`` groups of tables, one at a time (a later table of the same name
    replaces an earlier one). Raises ``KleroError`` for an unknown design-weight column."""
    pre, post, instrument = options.pre, options.post, data.instrument
    chosen = design_weights(data.weights, options.weights, wave=pre)
    answers, exclusions = drop_absent(data.answers)  # wave non-response is absence, not wrong answers
    participants = data.participants
    panel_ids = set(participants.loc[participants["arm"] == "participant", "participant_id"])
    answers = score_answers(answers, instrument)  # scored once; every analysis takes its rows
    scored = answers[answers["participant_id"].isin(panel_ids)]
    characteristics = _characteristics(data.signup, participants)
    excluded = {str(r.wave): int(r.n_excluded) for r in exclusions.itertuples() if r.n_excluded}
    yield _change_tables(scored, answers, exclusions, participants, instrument, characteristics, excluded, options)
    yield _representativeness(participants, answers, instrument, wave=pre, nominal=characteristics, excluded=excluded)
    population = _population_tables(data, participants, scored, instrument, options)
    if chosen is not None:
        population |= _design_tables(data, participants, answers, chosen, options)
    yield population
    yield _control_tables(participants, answers, instrument, options)
    yield {**_packet_tables(data.packet_arguments), **_group_tables(data, scored, options)}
    yield _evaluation_tables(scored, instrument, wave=post)
    yield _ranking_tables(scored, instrument, pre=pre, post=post)


def _named(tables: Mapping[str, pd.DataFrame], parameters: Mapping[str, Any]) -> dict[str, Table]:
    return {name: Table(name, frame, dict(parameters)) for name, frame in tables.items()}


def _change_tables(
    scored: pd.DataFrame,
    answers: pd.DataFrame,
    exclusions: pd.DataFrame,
    participants: pd.DataFrame,
    instrument: Instrument,
    characteristics: list[str],
    excluded: dict[str, int],
    options: AnalysisOptions,
) -> dict[str, Table]:
    """The panel's opinion change and knowledge gain (``scored``: the panel's scored answers)."""
    pre, post = options.pre, options.post
    gain = summarise_knowledge_gain(
        knowledge_scores(scored, instrument, wave=pre), knowledge_scores(scored, instrument, wave=post)
    )
    dist = distributions(scored, instrument, waves=[pre, post])
    people = participants.set_index("participant_id")
    frames = {
        "opinion_change": summarise_change(scored, instrument, pre=pre, post=post),
        "knowledge_gain": gain,
        "opinion_tests": assess_change(scored, instrument, pre=pre, post=post),
        "opinion_distributions": dist,
        "opinion_modes": modal_answers(dist),
        "opinion_mcnemar": mcnemar(scored, instrument, pre=pre, post=post),
        "opinion_marginal_homogeneity": stuart_maxwell(scored, instrument, pre=pre, post=post),
        "knowledge_gain_drop_dk": summarise_knowledge_gain_answered(scored, instrument, pre=pre, post=post),
        "opinion_change_vs_knowledge": change_on_knowledge(scored, instrument, pre=pre, post=post),
        "opinion_change_subgroups": subgroup_change(
            scored, instrument, people, variables=characteristics, pre=pre, post=post
        ),
        "exclusions": pd.concat([exclusions, unanswered_items(answers, instrument)], ignore_index=True),
    }
    params = {"pre": pre, "post": post, "group": "participants", "weighted": False, "excluded_absent": excluded}
    out = _named(frames, params)
    tests = out["opinion_tests"]
    out["opinion_tests"] = Table(
        tests.name, tests.frame, {**params, "wilcoxon": WILCOXON_PINNED, "adjustment": ["holm", "bh"]}
    )
    return out


def _characteristics(signup: tuple[str, ...], participants: pd.DataFrame) -> list[str]:
    """The respondents' characteristics for subgroups and representativeness: the sign-up categories
    they have, then the variables declared in survey files (wijk, from the registry, is compared
    with the population instead)."""
    chosen = [c for c in signup if c in participants]
    return chosen + [v for v in declared_variables(participants) if v not in chosen and v != "wijk"]


def _representativeness(
    participants: pd.DataFrame,
    answers: pd.DataFrame,
    instrument: Instrument,
    *,
    wave: str,
    nominal: list[str],
    excluded: dict[str, int],
) -> dict[str, Table]:
    """Participants vs invited non-participants: the characteristics ``nominal`` (χ²) and ``wave``
    attitudes and knowledge (Welch), and the attendance model; ``answers`` are scored."""
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
    frames = {
        "representativeness_arms": representativeness_by_arm(participants),
        "representativeness_nominal": compare_nominal(a, b, variables=nominal),
        "representativeness_scales": compare_scales(a, b, variables=scale_vars),
        "attendance_model": attendance,
    }
    params = {
        "wave": wave,
        "a": "participants",
        "b": "invited non-participants",
        "weighted": False,
        "excluded_absent": excluded,
    }
    return _named(frames, params)


def population_margins(
    quotas: pd.DataFrame | None, participants: pd.DataFrame, *, raking: bool = True
) -> dict[str, dict[str, float]] | None:
    """Population shares of the quota table for the characteristics ``participants`` has (with
    ``raking``: those used for raking, i.e. all but wijk; without: only those not raked on); ``{}``
    without quotas, None when the quota table lacks population shares."""
    if quotas is None:
        return {}
    if quotas["population_share"].isna().any():  # no shares, no population to compare or rake to
        return None
    return {
        str(cat): {str(f): float(s) for f, s in zip(part["feature"], part["population_share"], strict=True)}
        for cat, part in quotas.groupby("category", sort=False)
        if cat in participants and (cat != "wijk") == raking
    }


def _not_weighted(options: AnalysisOptions, note: str) -> Table:
    """``opinion_change_weighted`` as one ``(not weighted)`` row naming why."""
    table = pd.DataFrame([{"item": "(not weighted)", "note": note}])
    params = {"pre": options.pre, "post": options.post, "group": "participants", "weighted": False, "note": note}
    return Table("opinion_change_weighted", table, params)


def _population_tables(
    data: AnalysisData,
    participants: pd.DataFrame,
    scored: pd.DataFrame,
    instrument: Instrument,
    options: AnalysisOptions,
) -> dict[str, Table]:
    """Participants vs population (goodness of fit) and opinion change weighted by raking to the
    population margins of the quota set (``TOLERANCE``); nothing when there are no quotas."""
    margins = population_margins(data.quotas, participants)
    if margins is None:
        note = "the quotas have no population_share column: raking and the population comparison are unavailable"
        return {"opinion_change_weighted": _not_weighted(options, note)}
    if not margins:
        return {}
    panel = participants[participants["arm"] == "participant"].set_index("participant_id")
    fit = compare_population(panel, margins, variables=list(margins))
    out = {
        "representativeness_population": Table(
            "representativeness_population", fit, {"group": "participants", "source": "quota population shares"}
        )
    }
    if options.weights == "none":
        return out | {"opinion_change_weighted": _not_weighted(options, "weighting not requested (--weights none)")}
    if options.weights != "raking":  # the respondents' own design weights: see _design_tables
        return out
    try:
        raked = rake(panel, margins)
    except KleroError as exc:
        return out | {"opinion_change_weighted": _not_weighted(options, exc.message)}
    params = {
        "pre": options.pre,
        "post": options.post,
        "group": "participants",
        "weighted": True,
        "weights": f"raked to {', '.join(margins)} (tolerance {TOLERANCE:g}), {options.pre} weight on complete pairs",
        "n_eff_panel": kish_n_eff(raked),
        "note": "with a panel of a few dozen, weighting is mostly cosmetic; compare with opinion_change",
    }
    weighted = weighted_change(scored, instrument, raked, pre=options.pre, post=options.post)
    out["opinion_change_weighted"] = Table("opinion_change_weighted", weighted, params)
    others = population_margins(data.quotas, participants, raking=False)
    if others:
        after = pd.concat(
            [rao_scott_goodness_of_fit(panel[v], raked, shares, variable=v) for v, shares in others.items()],
            ignore_index=True,
        )
        params = {"group": "participants", "weighted": True, "weights": f"raked to {', '.join(margins)}"}
        out["representativeness_population_weighted"] = Table("representativeness_population_weighted", after, params)
    return out


def design_weights(stored: pd.DataFrame | None, weights: str, *, wave: str) -> pd.Series | None:
    """The imported design weights named ``weights`` at ``wave`` (person -> weight); None for
    ``raking``/``none``; an unknown name is an error that lists the imported ones."""
    if weights in ("raking", "none"):
        return None
    stored = stored if stored is not None else pd.DataFrame(columns=["participant_id", "wave", "name", "weight"])
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


def _design_tables(
    data: AnalysisData, participants: pd.DataFrame, answers: pd.DataFrame, weights: pd.Series, options: AnalysisOptions
) -> dict[str, Table]:
    """Every weighted table with the respondents' own design weights (the ``pre``-wave weight of each
    person), design-based SEs and Kish n_eff, never frequency weights; see
    ``deliberation.weighted.design_weighted_tables``. ``answers`` are scored."""
    pre, post, instrument = options.pre, options.post, data.instrument
    panel_ids = participants.loc[participants["arm"] == "participant", "participant_id"]
    weighted_ids = panel_ids[panel_ids.isin(weights.index)]
    params = {
        "pre": pre,
        "post": post,
        "weighted": True,
        "weights": f"design weights {options.weights!r} at {pre}",
        "variance": VARIANCE,
        "never_frequency_weights": True,
    }
    change = weighted_change(
        answers[answers["participant_id"].isin(weighted_ids)], instrument, weights, pre=pre, post=post
    )
    extra = {"group": "participants", "n_without_weight": int(len(panel_ids) - len(weighted_ids))}
    out = {"opinion_change_weighted": Table("opinion_change_weighted", change, {**params, **extra})}
    tables = design_weighted_tables(answers, instrument, participants, weights, pre=pre, post=post)
    margins = {
        **(population_margins(data.quotas, participants) or {}),
        **(population_margins(data.quotas, participants, raking=False) or {}),
    }
    fits = []
    for arm, label in ARM_LABELS.items():  # each arm with its design weights vs the population shares
        people = participants[participants["arm"] == arm].set_index("participant_id")
        present = weights.reindex(people.index).dropna()
        if margins and len(present) > 1:
            fits += [
                _goodness_of_fit(people[v], present, shares, variable=v).assign(group=label)
                for v, shares in margins.items()
            ]
    if fits:
        tables["representativeness_population_weighted"] = pd.concat(fits, ignore_index=True)
    return out | _named(tables, params)


def _goodness_of_fit(values: pd.Series, weights: pd.Series, shares: dict[str, float], *, variable: str) -> pd.DataFrame:
    """``rao_scott_goodness_of_fit``, or one row naming the variable and why it cannot be tested."""
    try:
        return rao_scott_goodness_of_fit(values, weights, shares, variable=variable)
    except KleroError as exc:
        return pd.DataFrame([{"variable": variable, "test": exc.message}])


def bootstrap_generator(seed: int) -> np.random.Generator:
    """numpy ``SeedSequence -> PCG64`` generator of a stored seed (as ``kleroterion.seeds.generator``)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))


def _control_tables(
    participants: pd.DataFrame, answers: pd.DataFrame, instrument: Instrument, options: AnalysisOptions
) -> dict[str, Table]:
    """ANCOVA (HC2) and gain difference (bootstrap CI with the given seed), attended vs control, when
    there is a control arm; and invited vs control (intention to treat, ``*_itt``) when invited
    non-attenders answered ``post``. ``answers`` are scored."""
    pre, post = options.pre, options.post
    arms = participants.set_index("participant_id")["arm"]
    if not (arms == "control").any():
        return {}
    invited = set(arms[arms == "invited"].index)
    invited_post = answers["participant_id"].isin(invited) & (answers["wave"] == post)
    designs = [("attended", "")] + ([("invited", "_itt")] if invited_post.any() else [])
    missing = [c for c, _ in designs if c not in options.bootstrap_seeds]
    if missing:
        raise KleroError(f"No bootstrap seed for contrast {', '.join(missing)}.", code="bootstrap_seed")
    seeds = {contrast: options.bootstrap_seeds[contrast] for contrast, _ in designs}
    tables = control_contrasts(  # persons outside the contrast's arms are left out there
        answers,
        instrument,
        arms,
        pre=pre,
        post=post,
        rngs={c: bootstrap_generator(seed) for c, seed in seeds.items()},
        n_bootstrap=options.n_bootstrap,
    )
    out: dict[str, Table] = {}
    for contrast, suffix in designs:
        anc, gain = tables[contrast]
        params = {"pre": pre, "post": post, "contrast": str(anc["contrast"].iloc[0]), "weighted": False}
        boot = {"bootstrap_seed": str(seeds[contrast]), "n_bootstrap": options.n_bootstrap}
        out[f"control_ancova{suffix}"] = Table(f"control_ancova{suffix}", anc, {**params, "cov_type": "HC2"})
        out[f"control_gain_difference{suffix}"] = Table(f"control_gain_difference{suffix}", gain, {**params, **boot})
    return out


def _packet_tables(arguments: pd.DataFrame | None) -> dict[str, Table]:
    """Balance of the latest version of each briefing packet (none: nothing)."""
    if arguments is None or arguments.empty:
        return {}
    balance, sources = [], []
    for (title, version), part in arguments.groupby(["title", "version"], sort=True):
        balance.append(packet_balance(part.reset_index(drop=True)).assign(title=title, version=version))
        sources.append(source_sides(part.reset_index(drop=True)).assign(title=title, version=version))
    frames = {
        "packet_balance": pd.concat(balance, ignore_index=True),
        "packet_sources": pd.concat(sources, ignore_index=True),
    }
    return _named(frames, {"packets": sorted(set(arguments["title"]))})


def _advantaged(column: pd.Series, rule: tuple[tuple[str, ...], tuple[str, ...]]) -> pd.Series:
    advantaged, disadvantaged = rule
    values = column.astype(str)
    return values.map(lambda v: True if v in advantaged else (False if v in disadvantaged else None))


def _group_tables(data: AnalysisData, scored: pd.DataFrame, options: AnalysisOptions) -> dict[str, Table]:
    """Homogenisation/polarisation per small group and attitude item rescaled to 0–1, the
    leave-one-out check of random assignment, and domination toward men / the higher educated
    (``DOMINATION_RULES``; DOMAIN.md §3.7); nothing without groups."""
    if data.groups is None or data.groups.empty:
        return {}
    pre, post = options.pre, options.post
    members = data.groups.set_index("participant_id")["group"]
    values = rescaled_attitudes(scored[scored["participant_id"].isin(members.index)], data.instrument)
    changes = group_index_changes(values, members, pre=pre, post=post)
    frames = {
        "group_changes": changes,
        "group_distortions": summarise_distortions(changes),
        "group_assignment_check": assignment_check(values, members, wave=pre),
    }
    people = data.participants.set_index("participant_id")
    domination = [
        group_domination(values, members, _advantaged(people[column], rule), pre=pre, post=post, characteristic=column)
        for column, rule in DOMINATION_RULES.items()
        if column in people
    ]
    if domination:
        frames["group_domination"] = pd.concat(domination, ignore_index=True)
        frames["group_domination_summary"] = summarise_domination(frames["group_domination"])
    params = {"pre": pre, "post": post, "indices": "attitude items rescaled to 0-1", "weighted": False}
    return _named(frames, params)


def _evaluation_tables(scored: pd.DataFrame, instrument: Instrument, *, wave: str) -> dict[str, Table]:
    """The participants' evaluation of the event at the post wave (none asked: nothing)."""
    codes = {i.code for i in instrument.evaluation_items}
    if not codes or not (scored["item_code"].isin(codes) & (scored["wave"] == wave)).any():
        return {}
    frames = {
        "evaluation": summarise_evaluation(scored, instrument, wave=wave),
        "evaluation_distributions": evaluation_distributions(scored, instrument, wave=wave),
    }
    return _named(frames, {"wave": wave, "group": "participants", "weighted": False})


def _ranking_tables(scored: pd.DataFrame, instrument: Instrument, *, pre: str, post: str) -> dict[str, Table]:
    """``single_peakedness`` when a ranking item has answers at both waves, else nothing."""
    codes = {i.code for i in instrument.ranking_items}
    asked = scored[scored["item_code"].isin(codes)]
    if not codes or not {pre, post} <= set(asked["wave"]):
        return {}
    table = summarise_single_peakedness(asked, instrument, pre=pre, post=post)
    params = {"pre": pre, "post": post, "group": "participants", "axis": "best of m!/2 orderings per wave"}
    return {"single_peakedness": Table("single_peakedness", table, params)}
