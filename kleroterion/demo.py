"""``klero demo``: the whole chain on the shipped Peel en Maas example, printing what each step did."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.progress import Progress

from deliberation.synthetic import latent_attitudes, simulate_wave
from kleroterion.commands import deliberation as poll
from kleroterion.commands import groups as tables
from kleroterion.commands import packets as briefing
from kleroterion.commands import panel as stage2
from kleroterion.commands import reports as report
from kleroterion.commands import sortition as lottery
from kleroterion.commands.common import console
from kleroterion.seeds import generator
from kleroterion.workspace import PROCESS_FILE, ProcessSettings, Workspace
from sortition.pool import person_id
from sortition.registry import age_bands, ages_on, pseudonymise
from sortition.synthetic import generate_registry, simulate_signups

DATA = Path(__file__).resolve().parent.parent / "data" / "peel_en_maas"
DEMO_SEED = 20270101
DEMO_KEY = hashlib.sha256(b"kleroterion demo: synthetic Peel en Maas").digest()
LETTERS, PANEL, ALTERNATES = 2000, 30, 10
T2_SHIFTS = {"A1": 0.45, "A2": -0.35, "A3": 0.25, "A4": 0.6}
CONTROL, GROUP_SIZE = 300, 8
REVIEWERS = ("Adviesraad: Huurdersvereniging Peel en Maas", "Adviesraad: Vereniging Eigen Huis, afd. Peel en Maas")
BRIEFING_SENT = "2027-03-01"


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    reports: tuple[Path, ...]


def load_cbs() -> tuple[pd.DataFrame, pd.Series]:
    """The shipped CBS rows of Peel en Maas: (wijk rows, gemeente row), base column names."""
    frame = pd.read_csv(DATA / "cbs_kwb_2024_peel_en_maas.csv")
    frame.columns = [c.rsplit("_", 1)[0] if c[-1].isdigit() else c for c in frame.columns]
    gemeente = frame[frame["soort_regio"] == "Gemeente"].iloc[0]
    return frame[frame["soort_regio"] == "Wijk"], gemeente


def _step(text: str) -> None:
    console.print(f"[bold]•[/bold] {text}")


def _write_registry(out: Path, rng: np.random.Generator) -> tuple[Path, pd.DataFrame]:
    wijken, gemeente = load_cbs()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Generating the synthetic BRP extract", total=None)
        extract, traits = generate_registry(
            wijken,
            total=int(gemeente["AantalInwoners"]),
            men=int(gemeente["Mannen"]),
            rng=rng,
            reference_date=pd.Timestamp("2024-01-01").date(),
        )
        progress.update(task, completed=1)
    path = out / "brp-extract.csv"
    # as a Dutch Excel export: Windows-1252 with ';' separators
    extract.to_csv(path, sep=";", index=False, encoding="cp1252")
    _step(
        f"Synthetic BRP extract: {len(extract):,} residents (CBS total {int(gemeente['AantalInwoners']):,}), "
        f"written to {path.name}"
    )
    return path, traits


def _simulate_signups(ws: Workspace, out: Path, traits: pd.DataFrame, rng: np.random.Generator) -> Path:
    # In address order: invitation codes (and so the stored order) come from `secrets`.
    letters = ws.store.letters().sort_values("address_key", kind="stable").reset_index(drop=True)
    education = pd.Series(traits["education"].to_numpy(), index=pseudonymise(traits["bsn"], ws.key).to_numpy())
    invitees = letters.assign(
        age_band=age_bands(ages_on(letters["birth_date"], ws.reference_date)),
        education=letters["resident_id"].map(education),
    )
    signed = invitees[simulate_signups(invitees, rng=rng)]
    frame = pd.DataFrame(
        {
            "code": signed["code"],
            "gender": signed["gender"],
            "age_band": signed["age_band"],
            "education": signed["education"],
            "email": [f"deelnemer{i}@example.org" for i in range(len(signed))],
        }
    )
    path = out / "aanmeldingen.csv"
    frame.to_csv(path, index=False)
    return path


def _simulate_answers(
    ws: Workspace, out: Path, traits: pd.DataFrame, rng: np.random.Generator, *, control: dict[str, Any]
) -> tuple[Path, Path]:
    """T1 of every invitee and of the control group; T2 of the same people: the participants moved by
    the deliberation (opinion shifts, knowledge, their evaluation of the event), everyone else answering
    again without it. Simulated in address order (invitees) and draw order (control), so the figures do
    not depend on the workspace key or the invitation codes."""
    instrument = poll.load_instrument(ws)
    letters = ws.store.letters().sort_values("address_key", kind="stable")
    education = pd.Series(traits["education"].to_numpy(), index=pseudonymise(traits["bsn"], ws.key).to_numpy())
    invited = pd.DataFrame(
        {
            "participant_id": [person_id(c) for c in letters["code"]],
            "education": letters["resident_id"].map(education).to_numpy(),
        }
    )
    controls = pd.DataFrame(
        {"participant_id": control["ids"], "education": pd.Series(control["resident_ids"]).map(education).to_numpy()}
    )
    respondents = pd.concat([invited, controls], ignore_index=True)
    latent = latent_attitudes(respondents["participant_id"], instrument, rng=rng)
    t1 = simulate_wave(respondents, instrument, wave="T1", rng=rng, latent=latent)
    attended = respondents["participant_id"].isin(set(ws.store.panel_members("panel")["person_id"]))
    deliberated = simulate_wave(
        respondents[attended],
        instrument,
        wave="T2",
        rng=rng,
        latent=latent,
        shifts=T2_SHIFTS,
        knowledge_boost=1.3,
        evaluation_mean=0.78,
        ranking_noise=0.4,
    )
    others = simulate_wave(respondents[~attended], instrument, wave="T2", rng=rng, latent=latent)
    t2 = pd.concat([deliberated, others], ignore_index=True)
    paths = []
    for wave, frame in (("T1", t1), ("T2", t2)):
        wide = frame.pivot(index="participant_id", columns="item_code", values="raw").fillna("").reset_index()
        path = out / f"enquete-{wave}.csv"
        wide.to_csv(path, index=False)
        paths.append(path)
    return paths[0], paths[1]


def _run_poll(ws: Workspace, out: Path, traits: pd.DataFrame, rng: np.random.Generator) -> None:
    """Instrument, control group, reviewed briefing packet, T1, small groups, receipts, T2, analysis."""
    i = poll.define_poll(ws, DATA / "instrument.toml")
    _step(
        f"Poll instrument: {i['items']} items ({i['knowledge_items']} knowledge questions, "
        f"{i['evaluation_items']} on the event itself)"
    )
    control = poll.draw_control_action(ws, count=CONTROL, seed=DEMO_SEED + 4)
    _step(f"Control group: {control['control']} residents at addresses without a letter, surveyed at T1 and T2")
    b = briefing.import_packet(ws, DATA / "informatiebrochure.toml")
    for reviewer in REVIEWERS:
        briefing.sign_off_packet(ws, reviewer=reviewer, version=b["version"], title=b["title"])
    balance, sources = b["balance"], b["sources"]
    _step(
        f"Briefing packet '{b['title']}' v{b['version']}: {b['arguments']} arguments on {len(balance)} proposals, "
        f"pro = con on {int(balance['balanced_count'].sum())}, "
        f"shorter/longer side ≥ {balance['word_ratio'].min():.2f}, "
        f"{int(sources['one_sided'].sum())} one-sided sources; signed off by {len(REVIEWERS)} reviewers"
    )
    t1_path, t2_path = _simulate_answers(ws, out, traits, rng, control=control)
    w1 = poll.import_wave(ws, "T1", t1_path)
    groups = tables.assign_groups_action(ws, size=GROUP_SIZE, seed=DEMO_SEED + 3, moderators=DATA / "moderatoren.csv")
    table = tables.current_balance(ws)
    sizes = sorted(set(ws.store.small_groups()["n_active"]))
    _step(
        f"Small groups: {len(groups)} participants at {groups['group'].nunique()} tables of "
        f"{'/'.join(map(str, sizes))}, each with a moderator, balanced on "
        f"{', '.join(sorted(set(table['characteristic'])))} "
        f"(largest gap to the whole panel {table['difference_pp'].abs().max():.0f} pp)"
    )
    receipts = out / "brochure-ontvangen.csv"
    pd.DataFrame({"participant_id": groups["participant_id"], "received_on": BRIEFING_SENT}).to_csv(
        receipts, index=False
    )
    briefing.record_receipts(ws, receipts, version=b["version"], title=b["title"])
    w2 = poll.import_wave(ws, "T2", t2_path)
    _step(
        f"Survey: T1 {w1['respondents']:,} (invitees and control), T2 {w2['respondents']:,}; "
        f"packet v{b['version']} received by {len(groups)} participants"
    )
    _report_analysis(poll.analyse(ws))


def _report_analysis(results: dict[str, pd.DataFrame]) -> None:
    change, gain = results["opinion_change"], results["knowledge_gain"].iloc[0]
    moved = int((change["p_value"] < 0.05).sum())
    _step(
        f"Analysis: {moved} of {len(change)} opinion items changed (p < .05); knowledge "
        f"{gain['mean_pre']:.2f} → {gain['mean_post']:.2f} (paired t, n = {int(gain['n_pairs'])})"
    )
    effects = []
    for kind, label in (("control_ancova", "attended"), ("control_ancova_itt", "invited (ITT)")):
        if kind in results:
            row = results[kind].set_index("outcome").loc["knowledge_score"]
            effects.append(f"{label} vs control {row['tau']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]")
    if effects:
        _step(f"Knowledge effect (ANCOVA, HC2): {'; '.join(effects)}")
    if "group_distortions" in results:
        d = results["group_distortions"].iloc[0]
        _step(
            f"Small groups: homogenised in {d['homofreq']:.0%} and polarised in {d['polarfreq']:.0%} of "
            f"group × item pairs (n = {int(d['n_pairs'])}; Luskin et al. 2022)"
        )
    weighted = results.get("opinion_change_weighted")
    if weighted is not None:
        note = weighted["note"].iloc[0] if "note" in weighted and weighted["item"].iloc[0] == "(not weighted)" else ""
        _step(
            f"Weighting: {note}"
            if note
            else f"Weighting: raked to the population margins, n = {int(weighted['n'].max())}"
        )
    if "evaluation" in results:
        e = results["evaluation"].set_index("item")
        _step(
            "Evaluation (agree or fully agree): "
            + ", ".join(f"{code} {row['share_top_two']:.0%}" for code, row in e.iterrows())
            + f" (n = {int(e['n'].max())})"
        )
    for _, r in results.get("single_peakedness", pd.DataFrame()).iterrows():
        _step(
            f"Single-peaked rankings ({r['item_code']}, best axis; List et al. 2013): {r['share_pre']:.0%} → "
            f"{r['share_post']:.0%} (n = {int(r['n_pairs'])}, axis {r['best_axis_pre']} → {r['best_axis_post']})"
        )


def run_demo(out: Path) -> DemoResult:
    """Run registry → letters → sign-ups → quotas → panel → poll → analysis → report in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    root = out / "workspace"
    if (root / PROCESS_FILE).exists():
        shutil.rmtree(root)
    rng = generator(DEMO_SEED)
    settings = ProcessSettings(
        name="Sociale Raad 2027",
        municipality="Peel en Maas",
        language="nl",
        reference_date="2024-01-01",
        retention_date="2027-12-31",
    )
    # a fixed key and fixed invitation codes make the synthetic example repeat exactly; a real
    # workspace gets both from ``secrets``
    with Workspace.create(root, settings, key=DEMO_KEY) as ws:
        with (root / PROCESS_FILE).open("a", encoding="utf-8") as process_toml:  # remit, form, sessions
            process_toml.write("\n" + (DATA / "report.toml").read_text(encoding="utf-8"))
        shutil.copyfile(DATA / "wijken.csv", root / "wijken.csv")  # the areas file [report] areas names
        _step(f"Workspace created in {root}")
        registry_file, traits = _write_registry(out, rng)
        r = lottery.import_registry(ws, registry_file)
        _step(
            f"Registry imported: {r['residents']:,} residents at {r['addresses']:,} addresses, "
            f"{r['restricted']} with the restricted-data flag"
        )
        d = lottery.draw_letters_action(
            ws, count=LETTERS, seed=DEMO_SEED + 1, stratify_by="wijk", code_seed=DEMO_SEED + 5
        )
        lottery.export_letters(ws, out / "brieven.csv")
        _step(
            f"Letters: {d['letters']:,} drawn from {d['eligible']:,} eligible residents aged 16+, one per "
            f"address, stratified by wijk ({d['restricted_excluded']} restricted excluded)"
        )
        signups = _simulate_signups(ws, out, traits, rng)
        p = lottery.import_pool(ws, signups)
        _step(f"Sign-ups: {p['pool_size']:,} of {LETTERS:,} invitees ({p['pool_size'] / LETTERS:.1%})")
        q = lottery.derive_quotas_action(ws, size=PANEL, tolerance=1.0, extra=[DATA / "education_shares_synthetic.csv"])
        _step(f"Quotas: {q['rows']} bands over {', '.join(q['categories'])} for a panel of {PANEL}")
        with console.status("Selecting the panel and alternates (leximin, native engine)…"):
            s = stage2.select_panel_action(
                ws, algorithm="leximin", engine="native", seed=DEMO_SEED + 2, alternates=ALTERNATES
            )
        f = s["fairness"]
        _step(
            f"Panel: {len(s['panel'])} selected + {len(s['alternates'])} ordered alternates (leximin); selection "
            f"probability min {f['min_probability']:.3f}, max {f['max_probability']:.3f}, Gini {f['gini']:.3f}"
        )
        _run_poll(ws, out, traits, rng)
        demo_recommendations = (
            (
                "Bouw in elke kern kleine, betaalbare huurwoningen voor starters en ouderen.",
                87.0,
                "adopted",
                "",
                "2028-06-30",
            ),
            (
                "Laat ouderen die kleiner gaan wonen voorrang krijgen bij nieuwe woningen in hun eigen kern.",
                64.0,
                "partly",
                "Voorrang mag volgens de huisvestingsverordening alleen voor een deel van de nieuwe woningen.",
                "2027-12-31",
            ),
        )
        for text, support, status, reason, due in demo_recommendations:
            rec_id = report.add_recommendation(ws, text, support_pct=support)
            report.record_response(ws, rec_id, status=status, reason=reason, due=due)
        _step(f"Recommendations: {len(demo_recommendations)} added, each with a council response")
        written = []
        with console.status("Rendering the council, selection and feedback reports (nl, en; HTML, PDF, DOCX)…"):
            for kind in report.KINDS:
                for lang in ("nl", "en"):
                    for fmt in ("html", "pdf", "docx"):
                        target = out / f"{kind}-report.{lang}.{fmt}"
                        written.append(report.write_report(ws, kind=kind, lang=lang, fmt=fmt, out=target))
        _step(f"Reports: {len(written)} files ({', '.join(report.KINDS)} × nl, en × HTML, PDF, DOCX)")
    return DemoResult(workspace=root, reports=tuple(written))
