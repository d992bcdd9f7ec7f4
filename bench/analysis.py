"""Benchmark: the Deliberative Poll analysis on simulated polls, up to 5,800 people × 2 waves × 100 items.

Run ``.venv/bin/python bench/analysis.py`` (``--quick`` for small sizes only). Prints two tables:

1. seconds per core analysis at each poll size (everyone answers both waves);
2. the full ``klero analyse`` action on a real SQLite workspace of 5,800 respondents (600 participants
   in 75 small groups, 4,700 invited non-participants, 500 controls; quotas for raking; a briefing
   packet) × 2 waves × 100 items (90 attitude, 10 knowledge), against the target of 10 s.

Simulated answers only (``deliberation.synthetic``), fixed seed; storing the waves is not timed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from deliberation.analysis import score_answers, summarise_change
from deliberation.change import assess_change, distributions, stuart_maxwell
from deliberation.groups import assign_groups
from deliberation.instrument import Instrument, instrument_from_dict
from deliberation.knowledge import change_on_knowledge, summarise_knowledge_gain_answered
from deliberation.synthetic import latent_attitudes, simulate_wave
from deliberation.weighting import rake

SIZES = (100, 1000, 5800)
ATTITUDE_ITEMS, KNOWLEDGE_ITEMS = 90, 10
FULL = {"participant": 600, "invited": 4700, "control": 500}
TARGET_SECONDS = 10.0
MARGINS = {"gender": {"M": 0.49, "V": 0.51}, "education": {"laag": 0.3, "middelbaar": 0.4, "hoog": 0.3}}


def _instrument() -> Instrument:
    items = [
        {"code": f"A{k}", "kind": "likert", "text": "a", "min": 1, "max": 5, "dont_know": ["8"]}
        for k in range(ATTITUDE_ITEMS)
    ]
    items += [{"code": f"K{k}", "kind": "knowledge", "text": "k", "options": {"1": "a", "2": "b", "3": "c"},
               "correct": "1"} for k in range(KNOWLEDGE_ITEMS)]  # fmt: skip
    waves = [{"code": "T1", "kind": "recruit"}, {"code": "T3", "kind": "post"}]
    return instrument_from_dict({"name": "bench", "items": items, "waves": waves}, source="bench")


def _people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant_id": [f"p{i:05d}" for i in range(n)],
            "education": rng.choice(["laag", "middelbaar", "hoog"], n),
            "gender": rng.choice(["M", "V"], n),
            "age_band": rng.choice(["16-39", "40-64", "65+"], n),
        }
    )


def _answers(people: pd.DataFrame, instrument: Instrument, rng: np.random.Generator) -> pd.DataFrame:
    latent = latent_attitudes(people["participant_id"], instrument, rng=rng)
    t1 = simulate_wave(people, instrument, wave="T1", rng=rng, latent=latent)
    t3 = simulate_wave(people, instrument, wave="T3", rng=rng, latent=latent, knowledge_boost=1.0)
    return pd.concat([t1, t3], ignore_index=True)


def _cases(scored: pd.DataFrame, instrument: Instrument, people: pd.DataFrame) -> dict[str, Callable[[], object]]:
    return {
        "score_answers": lambda: score_answers(scored[["participant_id", "wave", "item_code", "raw"]], instrument),
        "summarise_change (paired t)": lambda: summarise_change(scored, instrument, pre="T1", post="T3"),
        "assess_change (t, Wilcoxon, Holm, BH)": lambda: assess_change(scored, instrument, pre="T1", post="T3"),
        "distributions": lambda: distributions(scored, instrument, waves=["T1", "T3"]),
        "stuart_maxwell": lambda: stuart_maxwell(scored, instrument, pre="T1", post="T3"),
        "knowledge gain, drop DK": lambda: summarise_knowledge_gain_answered(scored, instrument, pre="T1", post="T3"),
        "change_on_knowledge (OLS HC2)": lambda: change_on_knowledge(scored, instrument, pre="T1", post="T3"),
        "rake (gender × education)": lambda: rake(people, MARGINS),
        "assign_groups (size 10)": lambda: assign_groups(
            people, size=10, balance=["gender", "education"], rng=np.random.default_rng(1)
        ),
    }


def core_table(sizes: tuple[int, ...]) -> pd.DataFrame:
    rng = np.random.default_rng(2026)
    instrument = _instrument()
    timings: dict[str, list[float]] = {}
    for n in sizes:
        people = _people(n, rng)
        scored = score_answers(_answers(people, instrument, rng), instrument)
        for name, run in _cases(scored, instrument, people).items():
            start = time.perf_counter()
            run()
            timings.setdefault(name, []).append(time.perf_counter() - start)
    items = ATTITUDE_ITEMS + KNOWLEDGE_ITEMS
    return pd.DataFrame(timings, index=[f"n={n:,} × 2 × {items}" for n in sizes]).T


def full_analysis() -> tuple[float, int, int]:
    """Seconds for ``analyse`` on a stored poll of FULL respondents; (seconds, answers, tables)."""
    from kleroterion.commands.deliberation import analyse  # MERGE: kleroterion.app.analysis
    from kleroterion.commands.groups import assign_groups_action  # MERGE: kleroterion.app.groups
    from kleroterion.workspace import ProcessSettings, Workspace

    rng = np.random.default_rng(5800)
    instrument = _instrument()
    people = _people(sum(FULL.values()), rng)
    people["arm"] = np.repeat(list(FULL), list(FULL.values()))
    answers = score_answers(_answers(people, instrument, rng), instrument)
    quotas = pd.DataFrame(
        [(c, f, s, s, 0, 1000) for c, shares in MARGINS.items() for f, s in shares.items()],
        columns=["category", "feature", "population_share", "target", "min", "max"],
    )
    with tempfile.TemporaryDirectory() as folder:
        settings = ProcessSettings(name="bench", municipality="Peel en Maas", reference_date="2024-01-01")
        with Workspace.create(Path(folder) / "ws", settings) as ws:
            ws.store.save_instrument(instrument, source="bench", sha256="0" * 64)
            ws.store.save_participants(people)
            for wave in ("T1", "T3"):
                part = answers[answers["wave"] == wave]
                ws.store.save_wave(wave, part, source=f"{wave}.csv", sha256="0" * 64)
            ws.store.save_quotas(quotas, panel_size=FULL["participant"], source="bench", tolerance=1.0)
            args = pd.DataFrame({"option": ["X", "X"], "side": ["pro", "con"], "text": ["a b", "c d"], "source": "S"})
            ws.store.save_packet("bench", args)
            assign_groups_action(ws, size=8, balance=["gender", "education"], seed=1)
            start = time.perf_counter()
            tables = analyse(ws, pre="T1", post="T3")
            seconds = time.perf_counter() - start
    return seconds, len(answers), len(tables)


def main() -> None:
    quick = "--quick" in sys.argv
    table = core_table(SIZES[:2] if quick else SIZES)
    print("Core analyses (seconds):")
    print(table.map(lambda s: f"{s:.3f}").to_string())
    if quick:
        return
    seconds, answers, tables = full_analysis()
    n = sum(FULL.values())
    items = ATTITUDE_ITEMS + KNOWLEDGE_ITEMS
    summary = pd.DataFrame(
        [
            {
                "case": f"klero analyse, {n:,} × 2 waves × {items} items ({answers:,} answers, {tables} tables)",
                "seconds": f"{seconds:.2f}",
                "target": f"≤ {TARGET_SECONDS:.0f}",
                "met": "yes" if seconds <= TARGET_SECONDS else "NO",
            }
        ]
    )
    print("\nFull analysis:")
    print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
