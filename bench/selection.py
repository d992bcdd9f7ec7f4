"""Benchmark: the native selection engine against sortition-algorithms (leximin, maximin, nash).

    .venv/bin/python bench/selection.py [FOLDER ...] [--time-limit 300] [--algorithms leximin,maximin,nash]
    .venv/bin/python bench/selection.py --scaling

A folder holds either ``categories.csv`` + ``respondents.csv`` (citizensassemblies-replication; panel
size from the folder name's ``_k`` suffix, id = row number) or ``features.csv`` + ``candidates.csv``
(sortition-algorithms; panel size 22 or ``--size``; one per address on primary_address1+primary_zip).
Every run is a subprocess with a time limit and one BLAS thread (fair to both engines, and immune to
thread oversubscription on a busy machine).
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

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"  # the pools ship with the project (data/README.md)
DEFAULT_FOLDERS = [
    *sorted((DATA / "citizensassemblies-replication" / "data").iterdir()),
    DATA / "sortition-algorithms-fixture",
]
ALGORITHMS = ("leximin", "maximin", "nash")


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


def run_native(pool: pd.DataFrame, quotas: pd.DataFrame, size: int, algorithm: str, address: str | None) -> list:
    sys.path.insert(0, str(ROOT))
    from sortition.engine import find_distribution

    panels, weights = find_distribution(
        pool, quotas, size=size, algorithm=algorithm, rng=np.random.default_rng(0), address_column=address
    )
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
    source = (
        scaled_pool(int(args.worker_pool)) if args.worker_pool.isdigit() else load(Path(args.worker_pool), args.size)
    )
    pool, quotas, size, address = source
    run = run_native if args.worker_engine == "native" else run_library
    start = time.perf_counter()
    try:
        profile = run(pool, quotas, size, args.worker_algorithm, address)
    except LookupError as exc:
        print(json.dumps({"status": str(exc)}))
        return
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "status": "ok",
                "seconds": seconds,
                "profile": sorted(profile),
                "peak_mb": peak_mb,
                "n": len(pool),
                "k": size,
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
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.time_limit, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout >{args.time_limit:.0f}s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"status": "error: " + (done.stderr.strip().splitlines() or ["?"])[-1][:60]}
    return json.loads(lines[-1])


def compare(args: argparse.Namespace) -> None:
    folders = [Path(f) for f in args.folders] or DEFAULT_FOLDERS
    print(
        "| pool | algorithm | native s | sortition-algorithms s | ratio | native min π | s-a min π | max |Δ sorted π| |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for folder in folders:
        for algorithm in args.algorithms.split(","):
            ours = spawn("native", str(folder), algorithm, args)
            theirs = spawn("library", str(folder), algorithm, args)
            cells = [folder.name, algorithm]
            cells.append(f"{ours['seconds']:.2f}" if ours["status"] == "ok" else ours["status"])
            cells.append(f"{theirs['seconds']:.2f}" if theirs["status"] == "ok" else theirs["status"])
            both = ours["status"] == "ok" and theirs["status"] == "ok"
            cells.append(f"{theirs['seconds'] / ours['seconds']:.1f}x" if both else "-")
            cells.append(f"{ours['profile'][0]:.7f}" if ours["status"] == "ok" else "-")
            cells.append(f"{theirs['profile'][0]:.7f}" if theirs["status"] == "ok" else "-")
            gap = np.abs(np.array(ours["profile"]) - np.array(theirs["profile"])).max() if both else None
            cells.append(f"{gap:.2e}" if gap is not None else "-")
            print("| " + " | ".join(cells) + " |", flush=True)


def scaling(args: argparse.Namespace) -> None:
    print("| n | k | native leximin s | peak RSS MB | min π |")
    print("|---:|---:|---:|---:|---:|")
    for n in (500, 1000, 2000, 4000):
        result = spawn("native", str(n), "leximin", args)
        if result["status"] != "ok":
            print(f"| {n} | {n // 10} | {result['status']} | - | - |", flush=True)
            continue
        print(
            f"| {n} | {result['k']} | {result['seconds']:.2f} | {result['peak_mb']:.0f} | {result['profile'][0]:.7f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", help="pool folders (default: the published pools)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds per run (default 300)")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--size", type=int, default=None, help="panel size (overrides the folder's)")
    parser.add_argument("--scaling", action="store_true", help="time native leximin for n = 500..4000")
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
