"""Replay by anyone: the publish kit of a panel draw and its replay without a workspace.

``write_publish_kit`` writes to a folder what a third party needs to redo a draw, with no personal data:
the pseudonymised pool (pool ids, a household number per address, the quota categories' values), the
quotas, the algorithm, engine, seed and library versions, the stored panel, alternates and selection
probabilities, and the draw's chained audit entry with the kit's own entry (``publish.kit``, whose hash
is the chain head to publish). ``replay_kit`` reads such a folder, checks the entries' hashes and the pool
file against them, redraws from the seed and reports every difference (``ReplayMismatch``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kleroterion.errors import KleroError
from sortition.audit_chain import ChainEntry, content_digest, entry_hash

if TYPE_CHECKING:
    import pandas as pd

    from kleroterion.workspace import Workspace

KIT_FORMAT = 1
POOL_FILE, QUOTAS_FILE, PROBABILITIES_FILE, DRAW_FILE, README_FILE = (
    "pool.csv",
    "quotas.csv",
    "probabilities.csv",
    "draw.json",
    "README.txt",
)
QUOTA_COLUMNS = ["category", "feature", "population_share", "target", "min", "max"]
#: Probabilities are compared to this absolute tolerance (the LP solver's, written with 17 digits).
PROBABILITY_TOLERANCE = 1e-9

README = """\
Publish kit of draw {draw_id} ({workspace}) - replay it with: klero replay THIS_FOLDER

Anyone with the Kleroterion package (version {version}) can redo this draw from these files alone, without
the municipality's workspace, and see whether it gives the same panel and selection probabilities.

Files (plain UTF-8 CSV and JSON; no names, addresses, birth dates or contact details):
  pool.csv           one row per person in the pool: id (the pseudonymous pool id), household (a number per
                     address, in the order of the addresses; the same number = the same address, of which at
                     most one person may sit), then the value of each quota category.
  quotas.csv         category, feature, population_share, target, min, max: the quota table of the draw
                     (alternates are drawn towards the population shares).
  probabilities.csv  person_id, probability: each pool member's selection probability as stored.
  draw.json          algorithm, engine, seed, panel size, parameters (ids left out, alternates, lottery),
                     library versions, the stored panel and alternates in order, and two entries of the
                     workspace's hash-chained audit log: the draw's ("entry") and this kit's ("kit_entry").
                     "anchor" is the kit entry's number and hash: compare it with the anchor the municipality
                     published. The kit entry's input_hashes.pool is the SHA-256 of pool.csv's content
                     (sortition.pool.pool_hash with household as address), so the pool cannot be changed
                     unnoticed; entry hashes are recomputed with sortition/audit_chain.py.

The replay draws with the same seed and the same code path as the original draw and compares the panel,
the alternates and every probability (tolerance {tolerance}). Library versions other than those recorded
may give other results; draw.json lists the versions used.
"""


@dataclass(frozen=True)
class KitResult:
    """What ``write_publish_kit`` wrote."""

    directory: Path
    draw_id: int
    files: tuple[str, ...]
    pool_size: int
    anchor_entry: int
    anchor_hash: str


@dataclass(frozen=True)
class ReplayResult:
    """A kit that replays: the draw, the panel and how many probabilities were compared."""

    draw_id: int
    panel: tuple[str, ...]
    alternates: tuple[str, ...]
    probabilities_compared: int
    anchor_entry: int
    anchor_hash: str


class ReplayMismatch(KleroError):
    """The kit does not replay to what it says was drawn (``differences`` lists each)."""

    code = "replay_mismatch"


def _household_numbers(keys: pd.Series) -> dict[str, str]:
    """``h000001``, ... for the distinct address keys in their sorted order (equality and order kept)."""
    distinct = sorted(set(keys.astype(str)))
    width = max(6, len(str(len(distinct))))
    return {key: f"h{rank:0{width}d}" for rank, key in enumerate(distinct, start=1)}


def _entry_record(stored: Any) -> dict[str, Any]:
    return {**asdict(stored.entry), "previous_hash": stored.previous_hash, "entry_hash": stored.entry_hash}


def write_publish_kit(ws: Workspace, directory: Path, *, draw_id: int | None = None) -> KitResult:
    """Write the publish kit of a panel draw (default: the latest) to ``directory`` (module docstring);
    appends a chained ``publish.kit`` entry recording the kit pool's hash."""
    from kleroterion.app.versions import versions
    from kleroterion.exports import neutralise_frame
    from sortition.pool import pool_hash

    draw = _panel_draw(ws, draw_id)
    size, quotas = ws.store.quota_set(int(draw["quota_set_id"]))
    categories = list(dict.fromkeys(quotas["category"]))
    pool = ws.store.pool()
    households = _household_numbers(pool["address_key"])
    kit_pool = pool[["id", *categories]].copy()
    kit_pool.insert(1, "household", pool["address_key"].astype(str).map(households))
    kit_pool = kit_pool.sort_values("id").reset_index(drop=True)
    kit_hash = pool_hash(kit_pool.rename(columns={"household": "address_key"}), quotas)
    lottery = _lottery_of(ws, draw)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # published files: a category value a spreadsheet would read as a formula gets a leading ' (replay
        # takes it off again, so the hashes are those of the stored values)
        neutralise_frame(kit_pool).to_csv(directory / POOL_FILE, index=False)
        neutralise_frame(quotas[QUOTA_COLUMNS]).to_csv(directory / QUOTAS_FILE, index=False, float_format="%.17g")
        probabilities = ws.store.selection_probabilities(int(draw["id"]))
        probabilities.rename("probability").rename_axis("person_id").reset_index().to_csv(
            directory / PROBABILITIES_FILE, index=False, float_format="%.17g"
        )
    except OSError as exc:
        raise KleroError(f"Cannot write the publish kit to {directory}: {exc.strerror}.", code="write_failed") from exc
    chain = ws.store.audit_chain()
    draw_entry = next(s for s in chain if s.entry.subject == f"selection_draw:{draw['id']}")
    with ws.store.transaction():
        seq = ws.store.audit(
            "publish.kit",
            parameters={"draw_id": int(draw["id"]), "draw_entry": draw_entry.entry.seq},
            input_hashes={"pool": kit_hash, "quotas": quotas_hash(quotas)},
            result={"pool_size": len(kit_pool), "draw_entry_hash": draw_entry.entry_hash},
        )
    kit_entry = next(s for s in ws.store.audit_chain() if s.entry.seq == seq)
    record = {
        "format": KIT_FORMAT,
        "draw_id": int(draw["id"]),
        "kind": draw["kind"],
        "algorithm": draw["algorithm"],
        "engine": draw["engine"],
        "seed": str(draw["seed"]),
        "panel_size": size,
        "parameters": draw["parameters"],
        "versions": draw["versions"],
        "replayed_with": versions(),
        "lottery": lottery,
        "panel": list(draw["result"]["panel"]),
        "alternates": list(draw["result"].get("alternates", [])),
        "entry": _entry_record(draw_entry),
        "kit_entry": _entry_record(kit_entry),
        "anchor": {"entry": kit_entry.entry.seq, "hash": kit_entry.entry_hash},
    }
    try:
        (directory / DRAW_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (directory / README_FILE).write_text(
            README.format(
                draw_id=draw["id"],
                workspace=ws.settings.name,
                version=draw["versions"].get("kleroterion", "?"),
                tolerance=PROBABILITY_TOLERANCE,
            ),
            encoding="utf-8",
        )
    except OSError as exc:
        raise KleroError(f"Cannot write the publish kit to {directory}: {exc.strerror}.", code="write_failed") from exc
    files = (README_FILE, DRAW_FILE, POOL_FILE, QUOTAS_FILE, PROBABILITIES_FILE)
    return KitResult(directory, int(draw["id"]), files, len(kit_pool), kit_entry.entry.seq, kit_entry.entry_hash)


def _panel_draw(ws: Workspace, draw_id: int | None) -> dict[str, Any]:
    draws = [d for d in ws.store.selection_draws() if d["kind"] == "panel"]
    if draw_id is not None:
        draws = [d for d in draws if int(d["id"]) == draw_id]
    if not draws:
        which = f"panel draw {draw_id}" if draw_id is not None else "panel draw"
        raise KleroError(f"No {which} to publish: run `klero panel select` first.", code="no_panel_draw")
    return draws[-1]


def _lottery_of(ws: Workspace, draw: dict[str, Any]) -> dict[str, Any] | None:
    """For a panel picked from a transparent lottery: the lottery's seed, size, alternates and the number."""
    lottery_id = draw["parameters"].get("lottery_draw_id")
    if lottery_id is None:
        return None
    lottery = next(d for d in ws.store.selection_draws() if int(d["id"]) == int(lottery_id))
    return {
        "draw_id": int(lottery_id),
        "seed": str(lottery["seed"]),
        "algorithm": lottery["algorithm"],
        "tickets": int(lottery["parameters"]["lottery_size"]),
        "alternates": int(lottery["parameters"].get("alternates", 0)),
        "excluded": list(lottery["parameters"].get("excluded", [])),
        "number": int(draw["parameters"]["number"]),
    }


# -- replay (no workspace) -------------------------------------------------------------------
def _read_kit(directory: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, dict[str, float]]:
    import pandas as pd

    from kleroterion.exports import restore_frame

    missing = [f for f in (DRAW_FILE, POOL_FILE, QUOTAS_FILE, PROBABILITIES_FILE) if not (directory / f).is_file()]
    if missing:
        raise KleroError(
            f"{directory} is not a publish kit: {', '.join(missing)} missing. Give the folder "
            "`klero publish-kit` wrote.",
            code="bad_kit",
        )
    try:
        record = json.loads((directory / DRAW_FILE).read_text(encoding="utf-8"))
        pool = restore_frame(pd.read_csv(directory / POOL_FILE, dtype=str, keep_default_na=False))
        quotas = restore_frame(pd.read_csv(directory / QUOTAS_FILE, dtype={"category": str, "feature": str}))
        with (directory / PROBABILITIES_FILE).open(encoding="utf-8", newline="") as handle:
            probabilities = {row["person_id"]: float(row["probability"]) for row in csv.DictReader(handle)}
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise KleroError(f"Cannot read the publish kit in {directory}: {exc}.", code="bad_kit") from exc
    return record, pool, quotas, probabilities


def quotas_hash(quotas: pd.DataFrame) -> str:
    """SHA-256 of the quota table as the kit writes it (``canonical_json`` of its rows; NaN as null)."""
    rows = quotas[QUOTA_COLUMNS].astype(object).where(quotas[QUOTA_COLUMNS].notna(), None).to_dict("records")
    return content_digest(
        [
            [str(r["category"]), str(r["feature"])]
            + [None if r[c] is None else float(r[c]) for c in ("population_share", "target")]
            + [int(r["min"]), int(r["max"])]
            for r in rows
        ]
    )


def _entry_problems(record: dict[str, Any], pool_sha: str, quotas_sha: str) -> list[str]:
    """The kit's two chain entries must hash to what they say, the kit entry must vouch for this pool
    and name this draw's entry, and the anchor must be the kit entry."""
    problems = []
    entries = {}
    for key in ("entry", "kit_entry"):
        data = dict(record[key])
        previous, stored = data.pop("previous_hash"), data.pop("entry_hash")
        entry = ChainEntry(**data)
        entries[key] = (entry, stored)
        if entry_hash(entry, previous) != stored:
            problems.append(f"the {key.replace('_', ' ')} ({entry.seq}, {entry.action}) does not match its hash")
    kit, kit_hash = entries["kit_entry"]
    draw, draw_hash = entries["entry"]
    recorded = json.loads(kit.input_hashes)
    if recorded.get("pool") != pool_sha:
        problems.append("pool.csv is not the pool the kit entry recorded (its hash differs)")
    if recorded.get("quotas") != quotas_sha:
        problems.append("quotas.csv is not the quota table the kit entry recorded (its hash differs)")
    result, parameters = json.loads(kit.result), json.loads(kit.parameters)
    if result.get("draw_entry_hash") != draw_hash or parameters.get("draw_id") != record["draw_id"]:
        problems.append("the kit entry does not name this draw's entry")
    draw_parameters = json.loads(draw.parameters)
    if str(draw_parameters.get("seed")) != str(record["seed"]) or draw_parameters.get("draw_id") != record["draw_id"]:
        problems.append("the seed or draw in draw.json is not the one the draw's entry recorded")
    if record["anchor"] != {"entry": kit.seq, "hash": kit_hash}:
        problems.append("the anchor in draw.json is not the kit entry")
    return problems


def replay_kit(directory: Path) -> ReplayResult:
    """Redraw the kit's draw from its files alone and compare; ``ReplayMismatch`` lists every difference."""
    from kleroterion.app.fairness import stored_pool_probability
    from sortition.engine import END_TO_END
    from sortition.pool import pool_hash

    record, pool, quotas, stored_probabilities = _read_kit(directory)
    pool = pool.rename(columns={"household": "address_key"})
    try:
        problems = _entry_problems(record, pool_hash(pool, quotas), quotas_hash(quotas))
    except (KeyError, TypeError, ValueError) as exc:
        raise KleroError(f"{directory / DRAW_FILE} is damaged: {exc!r}.", code="bad_kit") from exc
    parameters = record["parameters"]
    if record["algorithm"] == END_TO_END:
        stored = parameters.get("pool_probabilities") or {}
        pool = stored_pool_probability(pool, {str(k): float(v) for k, v in stored.items()})
    size = int(record["panel_size"])
    try:
        panel, order, probabilities = _redraw(pool, quotas, size, record)
    except KleroError as exc:  # e.g. quotas no panel meets: the kit cannot be what was drawn
        raise ReplayMismatch(
            f"The kit in {directory} does NOT match its replay:\n  "
            + "\n  ".join([*problems, f"the replay fails: {exc.message}"]),
            differences=[*problems, exc.message],
        ) from exc
    if panel != list(record["panel"]):
        only_kit = sorted(set(record["panel"]) - set(panel))
        only_replay = sorted(set(panel) - set(record["panel"]))
        problems.append(f"the panel differs: in the kit only {only_kit}, in the replay only {only_replay}")
    if order != list(record["alternates"]):
        problems.append("the alternates (or their order) differ")
    differing = sorted(
        pid
        for pid in set(probabilities) | set(stored_probabilities)
        if abs(probabilities.get(pid, -1.0) - stored_probabilities.get(pid, -2.0)) > PROBABILITY_TOLERANCE
    )
    if differing:
        problems.append(f"{len(differing)} selection probabilities differ, first {differing[0]}")
    if problems:
        raise ReplayMismatch(
            f"The kit in {directory} does NOT match its replay:\n  " + "\n  ".join(problems),
            differences=problems,
        )
    return ReplayResult(
        int(record["draw_id"]),
        tuple(panel),
        tuple(order),
        len(probabilities),
        int(record["anchor"]["entry"]),
        str(record["anchor"]["hash"]),
    )


def _redraw(
    pool: pd.DataFrame, quotas: pd.DataFrame, size: int, record: dict[str, Any]
) -> tuple[list[str], list[str], dict[str, float]]:
    """The panel, alternates and probabilities the kit's seed gives (the path the original draw took)."""
    from sortition.draw_record import draw_panel

    if record.get("lottery"):
        return _replay_lottery(pool, quotas, size, record["lottery"])
    parameters = record["parameters"]
    result, order = draw_panel(
        pool,
        quotas,
        size=size,
        seed=int(record["seed"]),
        algorithm=str(record["algorithm"]),
        engine=str(record["engine"]),
        alternates=int(parameters.get("alternates", 0)),
        exclude=list(parameters.get("excluded", [])),
    )
    return list(result.panel), order, {str(k): float(v) for k, v in result.probabilities.items()}


def _replay_lottery(
    pool: pd.DataFrame, quotas: pd.DataFrame, size: int, lottery: dict[str, Any]
) -> tuple[list[str], list[str], dict[str, float]]:
    """A panel picked from a transparent lottery: the ticket list again, the picked ticket's panel and
    its alternates; probabilities are the lottery's (tickets per panel / tickets)."""
    from sortition.lottery import lottery_alternates, make_lottery, panel_for_number

    _result, tickets, _lost, probabilities = make_lottery(
        pool,
        quotas,
        size=size,
        seed=int(lottery["seed"]),
        algorithm=str(lottery["algorithm"]),
        tickets=int(lottery["tickets"]),
        exclude=list(lottery["excluded"]),
    )
    panel = panel_for_number(tickets, int(lottery["number"]))
    order = lottery_alternates(
        pool,
        quotas,
        panel,
        seed=int(lottery["seed"]),
        number=int(lottery["number"]),
        count=int(lottery["alternates"]),
        algorithm=str(lottery["algorithm"]),
        exclude=list(lottery["excluded"]),
    )
    return sorted(panel), order, {str(k): float(v) for k, v in probabilities.items()}
