"""Benchmark: end-to-end fairness of leximin and of the end-to-end algorithm on the same pool (issue 19).

Run ``.venv/bin/python bench/fairness.py`` (``--quick``: the demo only). For each population it runs the
demo's chain through the application's own actions (synthetic BRP extract from the shipped CBS rows,
letters stratified by wijk, sign-ups simulated with ``sortition.synthetic.simulate_signups``, quotas with
the synthetic education shares), then draws the panel with ``leximin`` and with ``end-to-end`` from the
same pool, and prints, per quota category, the highest group's end-to-end chance of a seat over the
lowest group's:

- ``true``: with the simulation's true sign-up probabilities (base rate × age factor × education factor);
- ``model``: with the sign-up model's estimate, as the selection report shows it.

A group's chance is the mean of ``p_i·s_i·π_i`` over its sign-ups (``sortition.propensity``).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kleroterion.app.letters import draw_letters
from kleroterion.app.panel import SelectRequest, select_panel
from kleroterion.app.pool import import_pool
from kleroterion.app.quotas import derive_workspace_quotas
from kleroterion.app.registry import import_registry
from kleroterion.demo import DATA, DEMO_SEED, EXAMPLE, _simulate_signups, _write_registry
from kleroterion.example import example
from kleroterion.seeds import generator
from kleroterion.workspace import ProcessSettings, Workspace
from sortition.propensity import end_to_end_by_group, spread_ratio
from sortition.synthetic import RESPONSE_FACTORS

BASE_RATE = 0.075  # simulate_signups' default
POPULATIONS = {
    # name: (seed, letters, panel size, quota categories left out)
    "demo": (DEMO_SEED, 2000, 30, ()),
    "sim-4000": (7, 4000, 40, ()),
    "sim-4000-no-age-quota": (7, 4000, 40, ("age_band",)),
}
CELLS = ("age_band", "education")  # the features the simulated sign-up depends on
MIN_CELL = 3  # cells with fewer sign-ups are left out of the cell ratio


def true_signup(pool: pd.DataFrame) -> np.ndarray:
    """The simulation's sign-up probability of each pool member (``simulate_signups``)."""
    rate = BASE_RATE * pool["age_band"].map(RESPONSE_FACTORS["age_band"]).astype(float).fillna(1.0)
    rate = rate * pool["education"].map(RESPONSE_FACTORS["education"]).astype(float).fillna(1.0)
    return rate.clip(upper=0.95).to_numpy()


def cell_ratio(pool: pd.DataFrame, chance: np.ndarray) -> float:
    """Highest over lowest mean end-to-end chance across age band × education cells (≥ MIN_CELL sign-ups)."""
    cells = pd.Series(chance).groupby([pool[c].to_numpy() for c in CELLS]).agg(["mean", "size"])
    cells = cells[cells["size"] >= MIN_CELL]
    return float(cells["mean"].max() / cells["mean"].min())


def run(name: str, seed: int, letters: int, size: int, drop: tuple[str, ...], base: Path) -> list[dict[str, object]]:
    settings = ProcessSettings(
        name=name, municipality="Peel en Maas", language="nl", reference_date="2024-01-01", retention_date=""
    )
    rng = generator(seed)
    rows: list[dict[str, object]] = []
    with Workspace.create(base / "ws", settings, key=example(EXAMPLE).key) as ws:
        registry_file, traits = _write_registry(base, rng)
        import_registry(ws, registry_file)
        draw_letters(ws, count=letters, seed=seed + 1, stratify_by="wijk", code_seed=seed + 5)
        import_pool(ws, _simulate_signups(ws, base, traits, rng))
        derive_workspace_quotas(ws, size=size, tolerance=1.0, extra=[DATA / "education_shares_synthetic.csv"])
        if drop:
            _, _, quotas = ws.store.quotas()
            kept = quotas[~quotas["category"].isin(drop)].reset_index(drop=True)
            ws.store.save_quotas(kept, panel_size=size, source="bench: without " + ", ".join(drop), tolerance=1.0)
        pool = ws.store.pool()
        letter_p = pool["letter_code"].map(ws.store.letters().set_index("code")["inclusion_probability"]).to_numpy()
        truth = true_signup(pool)
        for algorithm in ("leximin", "end-to-end"):
            start = time.perf_counter()
            again = "bench: the next algorithm on the same pool" if algorithm != "leximin" else None
            out = select_panel(ws, SelectRequest(algorithm=algorithm, seed=seed + 2, redraw_reason=again))
            seconds = time.perf_counter() - start
            draw = ws.store.latest_panel_record()
            pi = pool["id"].map(draw.probabilities).to_numpy(dtype=float)
            categories = [c for c in ("age_band", "education", "gender", "wijk") if c in pool.columns]
            model_ratio = (draw.end_to_end or {})["ratio"]
            true_table = end_to_end_by_group(
                pool,
                groups=categories,
                letter_probability=letter_p,
                signup=truth,
                signup_replicates=truth[None, :],
                selection_probability=pi,
            )
            for category in categories:
                chances = true_table[true_table["category"] == category]
                rows.append(
                    {
                        "population": name,
                        "pool": len(pool),
                        "algorithm": algorithm,
                        "category": category,
                        "true_ratio": spread_ratio(true_table, category=category),
                        "model_ratio": model_ratio.get(category, float("nan")),
                        "cell_ratio": cell_ratio(pool, letter_p * truth * pi),
                        "lowest_per_10k": float(chances["end_to_end"].min() * 10_000),
                        "highest_per_10k": float(chances["end_to_end"].max() * 10_000),
                        "min_pi": out.record.fairness["min_probability"],
                        "seconds": seconds,
                    }
                )
    return rows


def main() -> None:
    quick = "--quick" in sys.argv
    rows: list[dict[str, object]] = []
    for name, (seed, letters, size, drop) in POPULATIONS.items():
        with tempfile.TemporaryDirectory() as tmp:
            rows += run(name, seed, letters, size, drop, Path(tmp))
        if quick:
            break
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    wide = table.pivot_table(index=["population", "category"], columns="algorithm", values="true_ratio", sort=False)
    print("\nHighest group's end-to-end chance over the lowest's (true sign-up probabilities):")
    print(wide[["leximin", "end-to-end"]].to_string(float_format=lambda v: f"{v:.2f}"))
    cells = table.pivot_table(index="population", columns="algorithm", values="cell_ratio", sort=False)
    print(f"\nSame, across {' x '.join(CELLS)} cells with at least {MIN_CELL} sign-ups:")
    print(cells[["leximin", "end-to-end"]].to_string(float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
