"""``klero demo``: the README's walk-through on the shipped Peel en Maas example, command by command.

The demo runs the very ``klero`` commands of ``WALKTHROUGH`` (the README's block; a test keeps the two
equal) in an example workspace, and plays the residents: just before a command reads a file of the
residents (the BRP extract, the sign-ups, the survey answers, the packet receipts), it simulates that
file in the output folder. The example workspace has fixed seeds, so a reader who repeats the
walk-through by hand in a workspace of their own draws the same letters and panel, and the demo's
files fit it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.progress import Progress

from deliberation.synthetic import latent_attitudes, simulate_wave
from kleroterion.app.poll import load_instrument
from kleroterion.app.reports import KINDS, ReportRequest, render_reports
from kleroterion.commands.common import console
from kleroterion.errors import KleroError
from kleroterion.example import EXAMPLES
from kleroterion.seeds import generator
from kleroterion.workspace import PROCESS_FILE, Workspace
from reports.languages import LANGUAGES
from reports.render import FORMATS
from sortition.pool import person_id
from sortition.registry import age_bands, ages_on, pseudonymise
from sortition.synthetic import generate_registry, simulate_signups

DATA = Path(__file__).resolve().parent.parent / "data" / "peel_en_maas"
EXAMPLE = "peel-en-maas"
DEMO_SEED = EXAMPLES[EXAMPLE].seeds["synthetic"]
T2_SHIFTS = {"A1": 0.45, "A2": -0.35, "A3": 0.25, "A4": 0.6}
BRIEFING_SENT = "2027-03-01"
#: The stored analyses the demo summarises after ``klero analyse``.
ANALYSES = (
    "opinion_change",
    "knowledge_gain",
    "control_ancova",
    "control_ancova_itt",
    "group_distortions",
    "opinion_change_weighted",
    "evaluation",
    "single_peakedness",
)

#: The README's walk-through, one ``klero`` command a line (the word ``klero`` left off). ``{workspace}``
#: is the new workspace folder; the first command runs in the folder that will hold it, the rest inside
#: it (the README does ``cd raad``). Paths are as seen from there: ``{data0}`` and ``{data}`` the shipped
#: example folder before and after that ``cd``, ``{out}`` the folder ``klero demo`` wrote.
WALKTHROUGH = (
    'init {workspace} --example peel-en-maas --name "Sociale Raad 2027" --municipality "Peel en Maas" '
    "--reference-date 2024-01-01 --retention-date 2027-12-31 --settings {data0}/report.toml",
    "registry import {out}/brp-extract.csv",
    "letters draw --count 2000 --stratify-by wijk",
    "letters export brieven.csv",
    "pool import {out}/aanmeldingen.csv",
    "quotas derive --size 30 --shares {data}/education_shares_synthetic.csv",
    "panel select --algorithm leximin --alternates 10",
    "panel export panel.xlsx",
    "poll define {data}/instrument.toml",
    "poll control --count 300",
    "poll control export controlegroep.csv",
    "packet import {data}/informatiebrochure.toml",
    "packet balance",
    'packet signoff --version 1 --reviewer "Adviesraad: Huurdersvereniging Peel en Maas"',
    'packet signoff --version 1 --reviewer "Adviesraad: Vereniging Eigen Huis, afd. Peel en Maas"',
    "survey import --wave T1 {out}/enquete-T1.csv",
    "groups assign --size 8 --moderators {data}/moderatoren.csv",
    "groups export tafels.csv",
    "packet receipts {out}/brochure-ontvangen.csv --version 1",
    "survey import --wave T2 {out}/enquete-T2.csv",
    "analyse --output tabellen",
    'recommendation add "Bouw in elke kern kleine, betaalbare huurwoningen voor starters en ouderen." --support 87',
    "response record 1 --status adopted --due 2028-06-30",
    'recommendation add "Laat ouderen die kleiner gaan wonen voorrang krijgen bij nieuwe woningen in hun eigen '
    'kern." --support 64',
    'response record 2 --status partly --due 2027-12-31 --reason "Voorrang mag volgens de '
    'huisvestingsverordening alleen voor een deel van de nieuwe woningen."',
    "report council --lang nl --format pdf --out council-report.nl.pdf",
    "status",
)


def walkthrough(*, workspace: str, data0: str, data: str, out: str) -> list[list[str]]:
    """The walk-through's commands as argument lists, with the given folders filled in."""
    places = {"workspace": workspace, "data0": data0, "data": data, "out": out}
    return [[token.format(**places) for token in shlex.split(line)] for line in WALKTHROUGH]


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    reports: tuple[Path, ...]


@dataclass
class Residents:
    """The simulated residents: their hidden traits (education) and the generator that makes them act."""

    rng: np.random.Generator
    traits: pd.DataFrame = field(default_factory=pd.DataFrame)


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
    # In address order, so the sign-ups do not depend on the order the letters were stored in.
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


def _simulate_answers(ws: Workspace, out: Path, traits: pd.DataFrame, rng: np.random.Generator) -> tuple[Path, Path]:
    """T1 of every invitee and of the control group; T2 of the same people: the participants moved by
    the deliberation (opinion shifts, knowledge, their evaluation of the event), everyone else answering
    again without it. Simulated in address order (invitees) and draw order (control), so the figures do
    not depend on the workspace key or the invitation codes."""
    instrument = load_instrument(ws)
    letters = ws.store.letters().sort_values("address_key", kind="stable")
    education = pd.Series(traits["education"].to_numpy(), index=pseudonymise(traits["bsn"], ws.key).to_numpy())
    invited = pd.DataFrame(
        {
            "participant_id": [person_id(c) for c in letters["code"]],
            "education": letters["resident_id"].map(education).to_numpy(),
        }
    )
    controls = _control_group(ws, education)
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


def _control_group(ws: Workspace, education: pd.Series) -> pd.DataFrame:
    """The stored control group (``C`` + hash of the resident's pseudonym), with each member's education."""
    participants = ws.store.participants()
    ids = participants.loc[participants["arm"] == "control", "participant_id"]
    resident = {"C" + hashlib.sha256(str(r).encode()).hexdigest()[:10].upper(): r for r in education.index}
    return pd.DataFrame({"participant_id": ids.to_numpy(), "education": ids.map(resident).map(education).to_numpy()})


def _simulate_receipts(ws: Workspace, out: Path) -> Path:
    """Every participant at a table received the briefing packet on the day it was sent."""
    path = out / "brochure-ontvangen.csv"
    members = ws.store.groups()["participant_id"]
    pd.DataFrame({"participant_id": members, "received_on": BRIEFING_SENT}).to_csv(path, index=False)
    return path


def _simulators(out: Path, residents: Residents) -> dict[str, Callable[[Path], list[Path]]]:
    """What the residents send, by the file name a walk-through step reads: each is called with the
    workspace folder just before that step and returns the files it wrote (the registry office's extract,
    the sign-up forms, both survey waves, the packet's mailing list)."""

    def registry(_: Path) -> list[Path]:
        path, residents.traits = _write_registry(out, residents.rng)
        return [path]

    def signups(root: Path) -> list[Path]:
        with Workspace.open(root) as ws:
            return [_simulate_signups(ws, out, residents.traits, residents.rng)]

    def answers(root: Path) -> list[Path]:
        with Workspace.open(root) as ws:
            return list(_simulate_answers(ws, out, residents.traits, residents.rng))

    def receipts(root: Path) -> list[Path]:
        with Workspace.open(root) as ws:
            return [_simulate_receipts(ws, out)]

    return {
        "brp-extract.csv": registry,
        "aanmeldingen.csv": signups,
        "enquete-T1.csv": answers,
        "brochure-ontvangen.csv": receipts,
    }


def run_klero(args: list[str]) -> None:
    """Run one ``klero`` command in this process, as the shell would (errors propagate)."""
    from kleroterion.cli import cli  # the CLI imports this module for `klero demo`

    code = cli(args, prog_name="klero", standalone_mode=False)
    if isinstance(code, int) and code != 0:
        raise KleroError(f"`klero {shlex.join(args)}` stopped with exit code {code}.", code="demo_step_failed")


def run_demo(out: Path) -> DemoResult:
    """Run the README's walk-through in ``out/workspace``, simulating the residents' files in ``out``, then
    render every report (council, selection, feedback × nl, en × HTML, PDF, DOCX) into ``out``."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    root = out / "workspace"
    if (root / PROCESS_FILE).exists():
        shutil.rmtree(root)
    simulate = _simulators(out, Residents(rng=generator(DEMO_SEED)))
    # as the reader does: the first command in the folder that will hold the workspace, the rest inside it
    steps = walkthrough(workspace=root.name, data0=str(DATA), data=os.path.relpath(DATA, root), out="..")
    for number, args in enumerate(steps):
        for name in [Path(token).name for token in args if Path(token).name in simulate]:
            written = simulate.pop(name)(root)
            _step(f"Simulated what the residents send: {', '.join(p.name for p in written)}")
        with contextlib.chdir(root if number else out):
            console.print(f"[bold]$ klero {escape(shlex.join(args))}[/bold]")
            run_klero(args)
            if args[0] == "analyse":
                with Workspace.open(Path()) as ws:
                    stored = {kind: ws.store.analysis(kind) for kind in ANALYSES}
                _report_analysis({kind: frame for kind, frame in stored.items() if frame is not None})
    request = ReportRequest(kinds=KINDS, languages=LANGUAGES, formats=FORMATS, folder=out)
    with Workspace.open(root) as ws, console.status("Rendering the council, selection and feedback reports…"):
        made = render_reports(ws, request)
    _step(
        f"Reports: {len(made.reports)} files ({', '.join(KINDS)} × {', '.join(LANGUAGES)} × "
        f"{', '.join(f.upper() for f in FORMATS)}) in {out}"
    )
    return DemoResult(workspace=root, reports=made.paths)
