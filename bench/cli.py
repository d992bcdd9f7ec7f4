"""How long the ``klero`` command takes to start: ``--help``, ``--version`` and ``status``.

Run ``.venv/bin/python bench/cli.py`` (``--runs N``, default 5). It makes a small workspace with
``klero init`` in a temporary folder, runs each command N times in a fresh subprocess and prints, per
command, the median and worst wall time, the median CPU time (user + system of the child, from
``resource.getrusage(RUSAGE_CHILDREN)`` deltas) and the target: ``--help`` and ``--version`` within
0.5 s wall, ``status`` within 1.5 s wall (on the 2-core CI machine). Every command must also succeed;
a failing one is reported and makes the run exit 1.

Start-up time is mostly imports: the CLI imports a command's module (and pandas, scipy, statsmodels
behind it) only when that command runs. ``python -X importtime -m kleroterion.cli status`` shows
what a command imports.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KLERO = Path(sys.executable).with_name("klero")
TARGETS = {"--help": 0.5, "--version": 0.5, "status": 1.5}


def run_once(args: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit code) of one ``klero`` run in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(KLERO), *args], cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Runs per command (default 5).")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        init = [
            "init",
            str(workspace),
            "--name",
            "Bench",
            "--municipality",
            "Testdorp",
            "--reference-date",
            "2026-01-01",
        ]
        if subprocess.run([str(KLERO), *init], capture_output=True, check=False).returncode != 0:
            print("klero init failed; cannot benchmark.")
            return 1
        commands = {"--help": ["--help"], "--version": ["--version"], "status": ["status", "-w", str(workspace)]}
        failed = False
        print(f"klero start-up, {options.runs} runs each (seconds)")
        print(f"{'command':<16} {'wall median':>12} {'wall max':>9} {'CPU median':>11} {'target':>7}  verdict")
        for label, args in commands.items():
            runs = [run_once(args, Path(tmp)) for _ in range(options.runs)]
            walls, cpus, codes = zip(*runs, strict=True)
            wall = statistics.median(walls)
            target = TARGETS[label]
            if any(codes):
                verdict = f"FAILED (exit {max(codes)})"
                failed = True
            else:
                verdict = "ok" if wall <= target else "too slow"
            print(
                f"{'klero ' + label:<16} {wall:>12.2f} {max(walls):>9.2f} {statistics.median(cpus):>11.2f} "
                f"{target:>7.1f}  {verdict}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
