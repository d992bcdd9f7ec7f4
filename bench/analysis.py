"""Benchmark: time of each Deliberative Poll analysis on simulated polls of growing size.

Run ``.venv/bin/python bench/analysis.py``; prints one row per analysis with seconds per poll size.
Simulated answers only (deliberation.synthetic), fixed seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from deliberation.analysis import score_answers, summarise_change
from deliberation.change import assess_change, distributions, stuart_maxwell
from deliberation.groups import assign_groups
from deliberation.instrument import Instrument, instrument_from_dict
from deliberation.knowledge import change_on_knowledge, summarise_knowledge_gain_answered
from deliberation.synthetic import latent_attitudes, simulate_wave
from deliberation.weighting import rake

SIZES = (100, 300, 1000)
ITEMS = 20


def _poll(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, Instrument, pd.DataFrame]:
    items = [
        {"code": f"A{k}", "kind": "likert", "text": "a", "min": 1, "max": 5, "dont_know": ["8"]} for k in range(ITEMS)
    ]
    items += [{"code": f"K{k}", "kind": "knowledge", "text": "k", "options": {"1": "a", "2": "b", "3": "c"},
               "correct": "1"} for k in range(5)]  # fmt: skip
    instrument = instrument_from_dict(
        {"items": items, "waves": [{"code": "T1", "kind": "recruit"}, {"code": "T3", "kind": "post"}]}, source="bench"
    )
    people = pd.DataFrame(
        {
            "participant_id": [f"p{i}" for i in range(n)],
            "education": rng.choice(["laag", "middelbaar", "hoog"], n),
            "gender": rng.choice(["M", "V"], n),
        }
    )
    latent = latent_attitudes(people["participant_id"], instrument, rng=rng)
    t1 = simulate_wave(people, instrument, wave="T1", rng=rng, latent=latent)
    t3 = simulate_wave(people, instrument, wave="T3", rng=rng, latent=latent, knowledge_boost=1.0)
    return score_answers(pd.concat([t1, t3], ignore_index=True), instrument), instrument, people


def _cases(scored: pd.DataFrame, instrument: Instrument, people: pd.DataFrame) -> dict[str, Callable[[], object]]:
    return {
        "summarise_change (paired t)": lambda: summarise_change(scored, instrument, pre="T1", post="T3"),
        "assess_change (t, Wilcoxon, Holm, BH)": lambda: assess_change(scored, instrument, pre="T1", post="T3"),
        "distributions": lambda: distributions(scored, instrument, waves=["T1", "T3"]),
        "stuart_maxwell": lambda: stuart_maxwell(scored, instrument, pre="T1", post="T3"),
        "knowledge gain, drop DK": lambda: summarise_knowledge_gain_answered(scored, instrument, pre="T1", post="T3"),
        "change_on_knowledge (OLS HC2)": lambda: change_on_knowledge(scored, instrument, pre="T1", post="T3"),
        "rake (gender × education)": lambda: rake(
            people, {"gender": {"M": 0.49, "V": 0.51}, "education": {"laag": 0.3, "middelbaar": 0.4, "hoog": 0.3}}
        ),
        "assign_groups (size 10)": lambda: assign_groups(
            people, size=10, balance=["gender", "education"], rng=np.random.default_rng(1)
        ),
    }


def main() -> None:
    rng = np.random.default_rng(2026)
    timings: dict[str, list[float]] = {}
    for n in SIZES:
        scored, instrument, people = _poll(n, rng)
        cases = _cases(scored, instrument, people)
        for name, run in cases.items():
            start = time.perf_counter()
            run()
            timings.setdefault(name, []).append(time.perf_counter() - start)
    table = pd.DataFrame(timings, index=[f"n={n} ({ITEMS} items)" for n in SIZES]).T
    print(table.map(lambda s: f"{s:.3f} s").to_string())


if __name__ == "__main__":
    main()
