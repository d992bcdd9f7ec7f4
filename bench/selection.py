"""Benchmark: the native selection engine against sortition-algorithms (leximin, maximin, nash).

    .venv/bin/python bench/selection.py [FOLDER ...] [--time-limit 300] [--algorithms leximin,maximin,nash]
    .venv/bin/python bench/selection.py --scaling [--time-limit 300]

A folder holds either ``categories.csv`` + ``respondents.csv`` (citizensassemblies-replication; panel
size from the folder name's ``_k`` suffix, id = row number) or ``features.csv`` + ``candidates.csv``
(sortition-algorithms; panel size 22 or ``--size``; one per address on primary_address1+primary_zip).
Every run is a subprocess with a time limit and one BLAS thread (fair to both engines, and immune to
thread oversubscription on a busy machine). Both engines are imported before the clock starts; the table
shows wall seconds and, in brackets, CPU seconds of the worker (the better figure on a shared machine).
Where sortition-algorithms cannot run here (leximin needs Gurobi), the ratio uses its seconds measured
for the issue on the same machine type (``REFERENCE_SECONDS``), marked "ref". The last column says which
engine's sorted profile is higher where the two first differ by more than 1e-7: for leximin that is the
better distribution (the leximin profile is unique, and the lexicographically larger one is closer to it).

``--scaling`` times the native engine alone for n = 500, 1000, 2000, 4000 (``--sizes``) and generator seeds
(``--seeds``) on generated pools (``--kinds``; k = n/10 unless said): ``resampled`` (example_large_200's
respondents resampled; 2-3 types),
``diverse`` (five categories with 720 possible value combinations, 10 % of people in two-person households,
quotas ±20 % around the pool's own shares: everyone can get k/n) and ``skewed`` (the same categories with
self-selection, quotas ±10 % around the population: the realistic case, many leximin levels), and issue 16's
``tight`` (n 300-400, k 30, seven categories, exact quotas, ~90 % distinct types) and ``climate`` (k 175,
five categories incl. an opinion on climate policy) from ``sortition.synthetic_pools``. Native rows also
count leximin levels, master solves (simplex pivots), exact pricing calls (of which ILPs), LP dives and panels,
and the effective number of panels ``exp(entropy)`` of the distribution (``max-entropy`` maximises it). With
``--lottery M`` a scaling run also rounds each distribution to a transparent lottery of M tickets after the clock
stopped, and shows its distinct panels and the largest change of a probability.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kleroterion.pool_files import read_pool_folder
from sortition.selection import library_inputs, probabilities_from_distribution
from sortition.synthetic_pools import climate_pool, tight_pool

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"  # the pools ship with the project (data/README.md)
DEFAULT_FOLDERS = [
    *sorted((DATA / "citizensassemblies-replication" / "data").iterdir()),
    DATA / "sortition-algorithms-fixture",
]
ALGORITHMS = ("leximin", "maximin", "nash")
#: the native engine's other algorithms, for ``--scaling --algorithms``
NATIVE_ONLY = ("goldilocks", "end-to-end", "max-entropy")
#: sortition-algorithms 0.12.15 seconds measured for issue 4 on a 2-core machine like ours (leximin with
#: Gurobi); example_large_200 leximin did not finish within 600 s (a lower bound).
REFERENCE_SECONDS = {
    ("sortition-algorithms-fixture", "leximin"): 14.3,
    ("example_small_20", "leximin"): 22.5,
    ("example_large_200", "leximin"): 600.0,
}


FIXTURE_SIZE = 22  # panel size used with sortition-algorithms' fixture in that library's tests


def load(folder: Path, size: int | None) -> tuple[pd.DataFrame, pd.DataFrame, int, str | None]:
    """Pool (id + categories [+ address_key]), quotas, panel size and address column of a folder."""
    if size is None and not (folder / "categories.csv").is_file():
        size = FIXTURE_SIZE
    return tuple(read_pool_folder(folder, size=size))  # type: ignore[return-value]


def scaled_pool(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, int, str | None]:
    """A pool like example_large_200 with ``n`` people: respondents resampled, k = n/10, quotas x n/2000."""
    base, quotas, _, _ = load(DATA / "citizensassemblies-replication" / "data" / "example_large_200", None)
    rng = np.random.default_rng(seed)
    pool = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    pool["id"] = [str(i) for i in range(n)]
    quotas = quotas.copy()
    quotas["min"] = (quotas["min"] * n // 2000).astype(int)
    quotas["max"] = (quotas["max"] * n // 2000).astype(int)
    return pool, quotas, n // 10, None


DIVERSE_CATEGORIES = {
    "gender": (("M", 0.49), ("V", 0.51)),
    "age": (("16-24", 0.14), ("25-39", 0.23), ("40-54", 0.24), ("55-69", 0.23), ("70+", 0.16)),
    "education": (("laag", 0.27), ("middelbaar", 0.37), ("hoog", 0.36)),
    "wijk": tuple((f"w{i}", share) for i, share in enumerate((0.3, 0.2, 0.15, 0.15, 0.1, 0.1))),
    "attitude": (("a", 0.4), ("b", 0.3), ("c", 0.2), ("d", 0.1)),
}


def household_addresses(n: int, rng: np.random.Generator) -> list[str]:
    """Address keys for ``n`` people of whom 10 % live in two-person households."""
    address = np.arange(n)
    pairs = rng.choice(n, size=(n // 20, 2), replace=False)
    address[pairs[:, 1]] = pairs[:, 0]
    return [f"a{a}" for a in address]


def diverse_pool(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, int, str | None]:
    """``n`` people over five categories; 10 % live in two-person households; k = n/10; quotas ±20 %."""
    rng = np.random.default_rng(seed)
    pool = pd.DataFrame({"id": [str(i) for i in range(n)]})
    for category, values in DIVERSE_CATEGORIES.items():
        labels, shares = zip(*values, strict=True)
        pool[category] = rng.choice(labels, size=n, p=np.array(shares) / sum(shares))
    pool["address_key"] = household_addresses(n, rng)
    size = n // 10
    rows = []
    for category in DIVERSE_CATEGORIES:
        for value, count in pool[category].value_counts().sort_index().items():
            target = count / n * size
            rows.append((category, value, int(np.floor(0.8 * target)), int(np.ceil(1.2 * target))))
    quotas = pd.DataFrame(rows, columns=["category", "feature", "min", "max"])
    return pool, quotas, size, "address_key"


#: self-selection in a sign-up pool (who answers an invitation letter): relative response propensities
SKEW = {
    "age": {"16-24": 0.5, "25-39": 0.8, "55-69": 1.4, "70+": 1.2},
    "education": {"laag": 0.5, "hoog": 1.6},
    "attitude": {"a": 1.3, "d": 0.6},
}


def skewed_pool(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, int, str | None]:
    """Like ``diverse_pool`` but self-selected (``SKEW``) while the quotas stay within ±10 % of the
    population shares: the under-represented groups' members cannot all get k/n, so the optimum is not
    uniform and leximin has many levels (as in real pools; Flanigan et al. 2021, Fig. 2)."""
    rng = np.random.default_rng(seed)
    pool = pd.DataFrame({"id": [str(i) for i in range(n)]})
    size = n // 10
    rows = []
    for category, values in DIVERSE_CATEGORIES.items():
        labels, shares = zip(*values, strict=True)
        odds = np.array([share * SKEW.get(category, {}).get(label, 1.0) for label, share in values])
        pool[category] = rng.choice(labels, size=n, p=odds / odds.sum())
        for label, share in zip(labels, shares, strict=True):
            target = share / sum(shares) * size
            rows.append((category, label, int(np.floor(0.9 * target)), int(np.ceil(1.1 * target))))
    pool["address_key"] = household_addresses(n, rng)
    quotas = pd.DataFrame(rows, columns=["category", "feature", "min", "max"])
    return pool, quotas, size, "address_key"


#: what the native worker counts (``count_engine_work``): leximin levels, master LP solves and their simplex
#: pivots, pricing calls (``PanelOracle.best``) and how many of them needed the ILP
WORK: dict[str, float] = {"levels": 0, "solves": 0, "pivots": 0, "pricing": 0, "ilp": 0, "dives": 0}
#: the last native distribution (panels, weights), for the lottery figures taken after the clock stopped
LAST: list = []


def count_engine_work() -> None:
    """Wrap the engine's master solve, level master, pricing and ILP to count calls (bench process only)."""
    from sortition import columngen

    solve, level_master = columngen.MasterLP.solve, columngen._level_master
    best, ilp, dive = columngen.PanelOracle.best, columngen.PanelOracle._solve_ilp, columngen.PanelOracle.dive

    def counted_solve(self: columngen.MasterLP) -> None:
        solve(self)
        WORK["solves"] += 1
        WORK["pivots"] += int(self.model.getInfo().simplex_iteration_count)

    def counted_level_master(*args: object, **kwargs: object) -> object:
        WORK["levels"] += 1
        return level_master(*args, **kwargs)  # type: ignore[arg-type]

    def counted_best(
        self: columngen.PanelOracle, weights: np.ndarray, *, start: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        WORK["pricing"] += 1
        return best(self, weights, start=start)

    def counted_ilp(self: columngen.PanelOracle, weights: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        WORK["ilp"] += 1
        return ilp(self, weights, start)

    def counted_dive(self: columngen.PanelOracle, weights: np.ndarray, **options: int) -> np.ndarray | None:
        WORK["dives"] += 1
        return dive(self, weights, **options)

    columngen.MasterLP.solve = counted_solve  # type: ignore[method-assign]
    columngen._level_master = counted_level_master  # type: ignore[assignment]
    columngen.PanelOracle.best = counted_best  # type: ignore[method-assign]
    columngen.PanelOracle._solve_ilp = counted_ilp  # type: ignore[method-assign]
    columngen.PanelOracle.dive = counted_dive  # type: ignore[method-assign]


def run_native(pool: pd.DataFrame, quotas: pd.DataFrame, size: int, algorithm: str, address: str | None) -> list:
    sys.path.insert(0, str(ROOT))
    from sortition.engine import find_distribution

    panels, weights = find_distribution(
        pool, quotas, size=size, algorithm=algorithm, rng=np.random.default_rng(0), address_column=address
    )
    WORK["panels"] = len(panels)
    WORK["effective"] = float(np.exp(-(weights[weights > 0] @ np.log(weights[weights > 0]))))
    LAST[:] = [panels, weights]
    return probabilities_from_distribution(pool["id"], panels, weights).tolist()


def run_library(pool: pd.DataFrame, quotas: pd.DataFrame, size: int, algorithm: str, address: str | None) -> list:
    import logging

    from sortition_algorithms import committee_generation as cg

    logging.getLogger("sortition_algorithms").setLevel(logging.ERROR)
    if algorithm == "leximin" and not cg.GUROBI_AVAILABLE:
        raise LookupError("needs Gurobi")
    features, people = library_inputs(pool, quotas, address)
    columns = [address] if address else []
    finder = {
        "leximin": cg.find_distribution_leximin,
        "maximin": cg.find_distribution_maximin,
        "nash": cg.find_distribution_nash,
    }
    try:
        panels, weights, _ = finder[algorithm](features, people, size, columns)
    except Exception as exc:
        if "size-limited" in str(exc) or "license" in str(exc).lower():
            raise LookupError("licence size limit") from exc
        raise
    return probabilities_from_distribution(pool["id"], panels, np.asarray(weights, dtype=float)).tolist()


def worker(args: argparse.Namespace) -> None:
    """Child process: one engine, one algorithm, one pool; prints a JSON line."""
    pool, quotas, size, address = pool_of(args.worker_pool, args.size)
    run = run_native if args.worker_engine == "native" else run_library
    if args.worker_engine == "native":
        count_engine_work()
    import sortition_algorithms.committee_generation  # noqa: F401

    import sortition.engine  # noqa: F401  (imports before the clock starts, for both engines)

    start, cpu = time.perf_counter(), time.process_time()
    try:
        profile = run(pool, quotas, size, args.worker_algorithm, address)
    except LookupError as exc:
        print(json.dumps({"status": str(exc)}))
        return
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.lottery and LAST:
        from sortition.lottery import fairness_lost, round_to_lottery

        panels, weights = LAST
        tickets = round_to_lottery(panels, weights, m=args.lottery, rng=np.random.default_rng(0))
        WORK["lottery_panels"] = len(tickets)
        WORK["lottery_change"] = fairness_lost(panels, weights, tickets)["max_abs_change"]
    print(
        json.dumps(
            {
                "status": "ok",
                "seconds": seconds,
                "cpu": cpu,
                "profile": sorted(profile),
                "peak_mb": peak_mb,
                "n": len(pool),
                "k": size,
                "work": WORK,
            }
        )
    )


def spawn(engine: str, pool: str, algorithm: str, args: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker-engine",
        engine,
        "--worker-pool",
        pool,
        "--worker-algorithm",
        algorithm,
    ]
    if args.size:
        command += ["--size", str(args.size)]
    if args.lottery:
        command += ["--lottery", str(args.lottery)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.time_limit, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout >{args.time_limit:.0f}s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"status": "error: " + (done.stderr.strip().splitlines() or ["?"])[-1][:60]}
    return json.loads(lines[-1])


def first_difference(ours: list[float], theirs: list[float], tolerance: float = 1e-7, noise: float = 1e-9) -> str:
    """Which sorted profile is higher where the two first differ by more than ``tolerance``.

    Leximin compares sorted profiles lexicographically, so the engine that is higher at the first
    difference has the leximin-larger distribution. ``tolerance`` ignores solver noise (Gurobi's
    default feasibility tolerance is 1e-6, HiGHS's here 1e-10). A profile can also buy a gain later by a
    loss below ``tolerance`` earlier; when the higher one was lower by more than ``noise`` before the
    first difference, the cell says where and by how much, and the comparison is then not conclusive.
    """
    mine, other = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    gap = np.abs(mine - other) > tolerance
    if not gap.any():
        return "same"
    position = int(np.argmax(gap))
    sign = 1.0 if mine[position] > other[position] else -1.0
    text = f"{'native' if sign > 0 else 's-a'} higher at #{position + 1}"
    before = sign * (mine[:position] - other[:position])
    if position and before.min() < -noise:
        worst = int(np.argmin(before))
        text += f" (lower by {-before[worst]:.1e} at #{worst + 1})"
    return text


def timing(result: dict) -> str:
    return f"{result['seconds']:.2f} ({result['cpu']:.2f})" if result["status"] == "ok" else result["status"]


def compare(args: argparse.Namespace) -> None:
    folders = [Path(f) for f in args.folders] or DEFAULT_FOLDERS
    print(
        "| pool | algorithm | native s (cpu) | sortition-algorithms s (cpu) | ratio | native min π | s-a min π "
        "| max |Δ sorted π| | first difference > 1e-7 |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for folder in folders:
        for algorithm in args.algorithms.split(","):
            ours = spawn("native", str(folder), algorithm, args)
            theirs = spawn("library", str(folder), algorithm, args)
            reference = REFERENCE_SECONDS.get((folder.name, algorithm))
            both = ours["status"] == "ok" and theirs["status"] == "ok"
            cells = [folder.name, algorithm, timing(ours), timing(theirs)]
            if both:
                cells.append(f"{theirs['seconds'] / ours['seconds']:.1f}x")
            elif ours["status"] == "ok" and reference is not None:
                cells[3] += f"; ref {reference:.1f}"
                cells.append(f"{'≥' if reference >= 600 else ''}{reference / ours['seconds']:.1f}x ref")
            else:
                cells.append("-")
            cells.append(f"{ours['profile'][0]:.7f}" if ours["status"] == "ok" else "-")
            cells.append(f"{theirs['profile'][0]:.7f}" if theirs["status"] == "ok" else "-")
            gap = np.abs(np.array(ours["profile"]) - np.array(theirs["profile"])).max() if both else None
            cells.append(f"{gap:.2e}" if gap is not None else "-")
            cells.append(first_difference(ours["profile"], theirs["profile"]) if both else "-")
            print("| " + " | ".join(cells) + " |", flush=True)


POOL_KINDS = {
    "resampled": scaled_pool,
    "diverse": diverse_pool,
    "skewed": skewed_pool,
    "tight": tight_pool,  # sortition.synthetic_pools: k 30, seven categories, exact quotas
    "climate": climate_pool,  # k 175, five categories incl. climate opinion
}


def pool_of(spec: str, size: int | None) -> tuple[pd.DataFrame, pd.DataFrame, int, str | None]:
    """A pool folder, or a generated pool ``KIND:N`` or ``KIND:N:SEED`` (seed 0 by default)."""
    kind, _, rest = spec.partition(":")
    if kind not in POOL_KINDS:
        return load(Path(spec), size)
    number, _, seed = rest.partition(":")
    return POOL_KINDS[kind](int(number), int(seed or 0))  # type: ignore[operator]


def work(result: dict) -> str:
    """Levels, master solves (pivots), pricing calls (ILPs) and panels of a native run."""
    w = result.get("work") or {}
    if not w:
        return "- | - | - | - | -"
    pricing = f"{w['pricing']} ({w['ilp']}) | {w.get('dives', 0)}"
    panels = f"{w.get('panels', '-')} | {w.get('effective', 0):.0f}"
    if "lottery_panels" in w:
        panels += f" | {w['lottery_panels']} ({w['lottery_change']:.4f})"
    return f"{w['levels']} | {w['solves']} ({w['pivots']}) | {pricing} | {panels}"


def scaling(args: argparse.Namespace) -> None:
    """Native engine only, for each pool kind and n (k = n/10); types counted as the engine counts them."""
    from sortition.engine import build_space

    print(
        f"load average {os.getloadavg()[0]:.1f} at the start\n\n"
        "| pool | n | seed | k | types | algorithm | native s (cpu) | peak RSS MB | levels | master solves (pivots) "
        "| pricing calls (ILP) | dives | panels | effective panels |"
        + (f" lottery of {args.lottery}: panels (max Δπ) |" if args.lottery else "")
        + " min π | max π |"
    )
    print(
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        + ("---:|" if args.lottery else "")
    )
    for kind in args.kinds.split(","):
        for n in (int(x) for x in args.sizes.split(",")):
            for seed in (int(x) for x in args.seeds.split(",")):
                spec = f"{kind}:{n}:{seed}"
                pool, quotas, size, address = pool_of(spec, None)
                types = build_space(pool, quotas, size=size, address_column=address)[0].n_types
                for algorithm in args.algorithms.split(","):
                    result = spawn("native", spec, algorithm, args)
                    head = f"| {kind} | {n} | {seed} | {size} | {types} | {algorithm} | {timing(result)} |"
                    if result["status"] != "ok":
                        print(
                            f"{head} - | - | - | - | - | - | - | - | - |" + (" - |" if args.lottery else ""), flush=True
                        )
                        continue
                    profile = result["profile"]
                    print(
                        f"{head} {result['peak_mb']:.0f} | {work(result)} | {profile[0]:.7f} | {profile[-1]:.7f} |",
                        flush=True,
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", help="pool folders (default: the published pools)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per run (default 300)")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--size", type=int, default=None, help="panel size (overrides the folder's)")
    parser.add_argument("--scaling", action="store_true", help="native engine on generated pools of growing n")
    parser.add_argument("--kinds", default="resampled,diverse,skewed", help="--scaling pool kinds")
    parser.add_argument("--sizes", default="500,1000,2000,4000", help="--scaling pool sizes n")
    parser.add_argument("--seeds", default="0", help="--scaling generator seeds (instances of each kind and n)")
    parser.add_argument(
        "--lottery", type=int, default=0, help="--scaling: also round to a lottery of this many tickets"
    )
    parser.add_argument("--worker-engine", help=argparse.SUPPRESS)
    parser.add_argument("--worker-pool", help=argparse.SUPPRESS)
    parser.add_argument("--worker-algorithm", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_engine:
        worker(args)
    elif args.scaling:
        scaling(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
