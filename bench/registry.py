"""Benchmark: import a national-size BRP extract and draw 10,000 letters from it.

    .venv/bin/python bench/registry.py                 # 17,000,000 residents (about 2.3 GB of CSV)
    .venv/bin/python bench/registry.py --rows 1000000  # quick run

Generates a BRP-style CSV (``;``-separated, Dutch column names, ~2.3 residents per address, national
age shares from ``sortition.synthetic``, ~3,400 wijken), then runs each phase in its own subprocess
and reads that subprocess's peak RSS from ``resource.getrusage(RUSAGE_CHILDREN)``:

- ``import``: ``klero registry import`` (no target; reported);
- ``draw``: 10,000 letters stratified by wijk (target ≤ 5 s and ≤ 1 GB peak RSS), timed around the
  draw action inside the subprocess, i.e. without the interpreter and the ``klero`` CLI start-up,
  which the ``draw, whole command`` row includes;
- ``second draw``: 10,000 more letters, never at an address of the first draw.

Prints a table: phase, rows, seconds, peak MB, target, met?.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sortition.synthetic import (  # noqa: E402
    GIVEN_F,
    GIVEN_M,
    HOUSEHOLD_SIZE_SHARES,
    NATIONAL_AGE_SHARES,
    STREETS,
    SURNAMES,
)

REFERENCE = date(2025, 1, 1)
MUNICIPALITIES = 342
LETTERS = 10_000
DRAW_TARGET = (5.0, 1024.0)  # seconds, peak MB


def generate(path: Path, rows: int, *, seed: int = 1, chunk: int = 1_000_000) -> int:
    """Write a BRP-style extract of ``rows`` residents; returns the number of addresses."""
    rng = np.random.default_rng(seed)
    sizes = np.arange(1, len(HOUSEHOLD_SIZE_SHARES) + 1)
    next_address = 0
    bands = list(NATIONAL_AGE_SHARES.items())
    band_p = np.array([s for _, s in bands]) / sum(s for _, s in bands)
    options = pacsv.WriteOptions(delimiter=";", quoting_style="none", include_header=True)
    with pacsv.CSVWriter(str(path), _schema(), write_options=options) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            household = rng.choice(sizes, size=n // 2 + 10, p=HOUSEHOLD_SIZE_SHARES)
            address = np.repeat(np.arange(len(household)), household)[:n] + next_address
            next_address = int(address[-1]) + 1
            band = rng.choice(len(bands), size=n, p=band_p)
            low = np.array([b[0][0] for b in bands])[band]
            high = np.array([b[0][1] for b in bands])[band]
            days = (rng.integers(low, high) * 365.25 + rng.integers(0, 365, size=n)).astype("timedelta64[D]")
            born = np.datetime64(REFERENCE) - days
            men = rng.random(n) < 0.497
            given = np.where(men, np.array(GIVEN_M)[rng.integers(0, 30, n)], np.array(GIVEN_F)[rng.integers(0, 30, n)])
            surname = rng.integers(0, len(SURNAMES), size=next_address + 1)[address - address[0]]
            pc_index = address // 18
            pc4 = 1000 + pc_index % 9000
            letters_index = pc_index // 9000
            gm = pc4 % MUNICIPALITIES
            wijk = (pc4 // MUNICIPALITIES) % 10
            table = pa.table(
                {
                    "bsn": pa.array(100_000_000 + start + rng.permutation(n)).cast(pa.string()),
                    "voornamen": pa.array(given),
                    "voorvoegsel": pa.array(np.array([p for p, _ in SURNAMES])[surname]),
                    "geslachtsnaam": pa.array(np.array([s for _, s in SURNAMES])[surname]),
                    "geboortedatum": pc.strftime(pa.array(born.astype("datetime64[s]")), format="%Y%m%d"),
                    "geslacht": pa.array(np.where(men, "M", "V")),
                    "straatnaam": pa.array(np.array(STREETS)[(pc_index % len(STREETS))]),
                    "huisnummer": pa.array(1 + address % 18 * 2).cast(pa.string()),
                    "huisletter": pa.array(np.where(address % 7 == 0, "A", "")),
                    "huisnummertoevoeging": pa.array(np.full(n, "")),
                    "postcode": pa.array(_postcodes(pc4, letters_index)),
                    "woonplaats": pa.array(np.char.add("Plaats ", gm.astype(str))),
                    "wijkcode": pa.array(_codes("WK", gm, wijk, None)),
                    "buurtcode": pa.array(_codes("BU", gm, wijk, letters_index % 5)),
                    "geheimhouding": pa.array(np.where(rng.random(n) < 0.002, "J", "N")),
                }
            )
            writer.write_table(table.cast(_schema()))
    return next_address


def _schema() -> pa.Schema:
    names = [
        "bsn",
        "voornamen",
        "voorvoegsel",
        "geslachtsnaam",
        "geboortedatum",
        "geslacht",
        "straatnaam",
        "huisnummer",
        "huisletter",
        "huisnummertoevoeging",
        "postcode",
        "woonplaats",
        "wijkcode",
        "buurtcode",
        "geheimhouding",
    ]
    return pa.schema([(name, pa.string()) for name in names])


def _postcodes(pc4: np.ndarray, index: np.ndarray) -> np.ndarray:
    first = np.array([chr(65 + i) for i in range(26)])[(index // 26) % 26]
    second = np.array([chr(65 + i) for i in range(26)])[index % 26]
    return np.char.add(np.char.add(pc4.astype(str), " "), np.char.add(first, second))


def _codes(prefix: str, gm: np.ndarray, wijk: np.ndarray, buurt: np.ndarray | None) -> np.ndarray:
    code = np.char.add(np.char.add(prefix, np.char.zfill(gm.astype(str), 4)), np.char.zfill(wijk.astype(str), 2))
    return code if buurt is None else np.char.add(code, np.char.zfill(buurt.astype(str), 2))


PHASE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[2:], capture_output=True, text=True)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rc": done.returncode, "seconds": seconds, "peak_mb": peak, "out": done.stdout[-2000:],
                  "err": done.stderr[-2000:]}))
"""

DRAW = """
import json, sys, time
from pathlib import Path
from kleroterion.commands.sortition import draw_letters_action  # MERGE: kleroterion.app.letters
from kleroterion.workspace import Workspace
ws = Workspace.open(Path(sys.argv[1]))
start = time.perf_counter()
out = draw_letters_action(ws, count=int(sys.argv[2]), seed=int(sys.argv[3]), stratify_by="wijk")
seconds = time.perf_counter() - start
ws.store.close()
print(json.dumps({"seconds": seconds, "letters": out["letters"], "eligible": out["eligible"]}))
"""


def phase(*command: str) -> dict[str, object]:
    """Run one command in a wrapper process; its wall time and the command's peak RSS (MB)."""
    done = subprocess.run([sys.executable, "-c", PHASE, "--", *command], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result['out']}\n{result['err']}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=17_000_000, help="residents in the generated extract")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        extract = root / "brp.csv"
        start = time.perf_counter()
        addresses = generate(extract, args.rows)
        generated = time.perf_counter() - start
        print(
            f"Generated {args.rows:,} residents at {addresses:,} addresses "
            f"({extract.stat().st_size / 1e9:.2f} GB) in {generated:.1f} s",
            flush=True,
        )
        klero = str(Path(sys.executable).with_name("klero"))
        ws = str(root / "ws")
        subprocess.run(
            [klero, "init", ws, "--name", "Bench", "--municipality", "NL", "--reference-date", str(REFERENCE)],
            check=True,
            capture_output=True,
        )
        rows = []
        imported = phase(klero, "registry", "import", str(extract), "-w", ws)
        rows.append(("import", imported["seconds"], imported["peak_mb"], None))
        for label, seed in (("draw", 1), ("second draw", 2)):
            drawn = phase(sys.executable, "-c", DRAW, ws, str(LETTERS), str(seed))
            action = json.loads(str(drawn["out"]).strip().splitlines()[-1])
            rows.append((label, action["seconds"], drawn["peak_mb"], DRAW_TARGET))
        whole = phase(
            klero, "letters", "draw", "--count", str(LETTERS), "--seed", "3", "--stratify-by", "wijk", "-w", ws
        )
        rows.append(("draw, whole command", whole["seconds"], whole["peak_mb"], None))
        store = root / "ws" / "store.sqlite"
        copy = root / "ws" / "store.residents.arrow"
        print(f"store.sqlite {store.stat().st_size / 1e9:.2f} GB; compact copy {copy.stat().st_size / 1e9:.2f} GB")
    print(f"\n{'phase':<20} {'rows':>12} {'seconds':>9} {'peak MB':>9}  {'target':<16} met?")
    for label, seconds, peak, target in rows:
        goal = f"<= {target[0]:.0f} s, {target[1]:.0f} MB" if target else "-"
        met = "-" if target is None else ("yes" if seconds <= target[0] and peak <= target[1] else "NO")
        print(f"{label:<20} {args.rows:>12,} {seconds:>9.2f} {peak:>9.0f}  {goal:<16} {met}")


if __name__ == "__main__":
    main()
