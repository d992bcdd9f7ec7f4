"""Use cases of the tamper-evident record: ``klero audit verify`` and ``klero audit anchor``.

``verify_audit`` checks, in this order, and names the first broken entry:

1. the hash chain (``sortition.audit_chain.first_break``): every entry's hash covers its content and the
   hash before it, numbers run 1, 2, ... without gaps, and a published anchor (entry number + hash) still
   matches;
2. every draw entry's digest against the rows stored now (letters, probabilities, panel members,
   distribution, tickets, replacements), and that no draw or replacement exists without its entry;
3. the panel places' status, replayed from the recorded replacements;
4. every stored selection draw (panels, lotteries, panels drawn from a lottery), replayed from its seed,
   pool, quotas and algorithm (``replay_selection_draw``); a draw whose pool has legitimately changed
   since (a later chained pool import) is listed as not replayable, not as broken.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kleroterion.app.fairness import pool_for_algorithm
from kleroterion.errors import KleroError
from kleroterion.store.audit import StoredEntry
from kleroterion.workspace import Workspace
from sortition.audit_chain import first_break
from sortition.draw_record import _compare_distribution, draw_panel, replay_lottery
from sortition.lottery import make_lottery
from sortition.progress import Cancel, Progress, Tracker

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Anchor:
    """A published chain head: the hash of entry ``entry``."""

    entry: int
    hash: str
    recorded_at: str = ""
    workspace: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {"entry": self.entry, "hash": self.hash, "recorded_at": self.recorded_at, "workspace": self.workspace},
            indent=2,
        )


@dataclass(frozen=True)
class Finding:
    """One problem, at the entry it concerns (0: not tied to an entry)."""

    entry: int
    message: str


@dataclass(frozen=True)
class AuditReport:
    """A chain that holds: its length, head and what was replayed."""

    entries: int
    head: Anchor
    draws_checked: int
    draws_replayed: int
    not_replayable: tuple[str, ...]
    replacements: int = 0


class AuditError(KleroError):
    """The record does not hold: ``findings`` in entry order; the message names the first broken entry."""

    code = "audit_failed"


def read_anchor(text: str, *, source: str) -> Anchor:
    """An anchor from ``klero audit anchor``'s JSON, or ``N:HASH`` as published."""
    text = text.strip()
    try:
        if text.startswith("{"):
            data = json.loads(text)
            return Anchor(int(data["entry"]), str(data["hash"]))
        number, _, digest = text.partition(":")
        if len(digest) != 64:
            raise ValueError(digest)
        return Anchor(int(number), digest.lower())
    except (ValueError, KeyError, TypeError) as exc:
        raise KleroError(
            f"{source}: not an anchor. Give the JSON file `klero audit anchor` wrote, or ENTRY:HASH "
            "(the entry number, a colon and the 64 hex digits).",
            code="bad_anchor",
        ) from exc


def chain_head(ws: Workspace) -> Anchor:
    """The current chain head, for publication (``klero audit anchor``)."""
    chain = ws.store.audit_chain()
    if not chain:
        raise KleroError("The audit log is empty: nothing to anchor yet.", code="empty_audit_log")
    last = chain[-1]
    return Anchor(last.entry.seq, last.entry_hash, last.entry.recorded_at, ws.settings.name)


def verify_audit(
    ws: Workspace,
    *,
    anchors: Sequence[Anchor] = (),
    replay: bool = True,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> AuditReport:
    """Check the whole record (module docstring); ``AuditError`` naming the first broken entry.

    The replay (``replay``) runs only on a record whose chain, digests and statuses hold."""
    chain = ws.store.audit_chain()
    findings = _chain_findings(chain, anchors)
    findings += _digest_findings(ws, chain, after=chain[-1].entry.seq if chain else 0)
    findings += _status_findings(ws, chain)
    draws = ws.store.letter_draws(), ws.store.selection_draws()
    replayed, skipped = 0, list[str]()
    if replay and not findings:
        replayed, skipped, problems = _replay_findings(ws, chain, *draws, tracker=Tracker(progress, cancel))
        findings += problems
    if findings:
        raise _audit_error(findings, {s.entry.seq: s.entry.action for s in chain})
    head = chain_head(ws) if chain else Anchor(0, "")
    replacements = len(ws.store.replacements()) if replay else 0
    return AuditReport(len(chain), head, sum(map(len, draws)), replayed, tuple(skipped), replacements)


def _chain_findings(chain: Sequence[StoredEntry], anchors: Sequence[Anchor]) -> list[Finding]:
    """The first break of the hash chain, and every published anchor that no longer matches."""
    findings = []
    broken = first_break((s.entry, s.previous_hash, s.entry_hash) for s in chain)
    if broken is not None:
        findings.append(Finding(broken.seq, broken.reason))
    by_seq = {s.entry.seq: s for s in chain}
    for anchor in anchors:
        stored = by_seq.get(anchor.entry)
        if stored is None:
            findings.append(Finding(anchor.entry, "the published anchor names it, but it is not stored"))
        elif stored.entry_hash != anchor.hash:
            findings.append(Finding(anchor.entry, f"its hash differs from the published anchor {anchor.hash[:16]}…"))
    return findings


def _replay_findings(
    ws: Workspace,
    chain: Sequence[StoredEntry],
    letter_draws: list[dict[str, Any]],
    selection_draws: list[dict[str, Any]],
    *,
    tracker: Tracker,
) -> tuple[int, list[str], list[Finding]]:
    """Replay every letter and selection draw, then every replacement: (replayed, not replayable, findings)."""
    entry_of = {s.entry.subject: s.entry.seq for s in chain}
    jobs = [("letter_draw", d) for d in letter_draws] + [("selection_draw", d) for d in selection_draws]
    replayed, skipped, findings = 0, list[str](), list[Finding]()
    for done, (kind, draw) in enumerate(jobs, start=1):
        seq = entry_of.get(f"{kind}:{draw['id']}", 0)
        after = [s.entry.action for s in chain if s.entry.seq > seq]
        replay_one = replay_letter_draw if kind == "letter_draw" else replay_selection_draw
        problems, note = replay_one(ws, draw, chain_after=after)
        findings += [Finding(seq, f"{_NAMES[kind]} {draw['id']} does not replay: {p}") for p in problems]
        if note:
            skipped.append(f"{_NAMES[kind]} {draw['id']}: {note}")
        else:
            replayed += 1
        tracker.step("replay", done, len(jobs) + 1, f"{_NAMES[kind]} {draw['id']}")
    findings += _replacement_findings(ws, chain)
    tracker.step("replay", len(jobs) + 1, len(jobs) + 1, "replacements")
    return replayed, skipped, findings


def _audit_error(findings: list[Finding], actions: dict[int, str]) -> AuditError:
    """One error listing every finding in entry order; its first line names the first broken entry."""
    findings = sorted(findings, key=lambda f: (f.entry == 0, f.entry))
    first = findings[0]
    where = f"entry {first.entry}" if first.entry else "a draw with no entry"
    action = actions.get(first.entry, "")
    lines = [f"entry {f.entry}: {f.message}" if f.entry else f.message for f in findings]
    return AuditError(
        f"The audit record does not hold: first broken at {where}{f' ({action})' if action else ''}.\n  "
        + "\n  ".join(lines),
        entry=first.entry,
        problems=lines,
    )


_NAMES = {"letter_draw": "letter draw", "selection_draw": "selection draw", "replacement": "replacement"}


def _digest_findings(ws: Workspace, chain: Sequence[StoredEntry], *, after: int) -> list[Finding]:
    """Each entry's digest against the rows stored now; rows vouched for by no entry (named as the entry
    after the last one ``after``, where their entry was or should have been)."""
    findings = []
    vouched: set[str] = set()
    for stored in chain:
        entry = stored.entry
        if not entry.subject:
            continue
        vouched.add(entry.subject)
        kind, _, number = entry.subject.partition(":")
        now = ws.store.audit_digest(entry.subject)
        if now is None:
            findings.append(Finding(entry.seq, f"its {_NAMES[kind]} {number} is no longer stored (deleted)"))
        elif now != entry.digest:
            findings.append(
                Finding(entry.seq, f"the stored rows of its {_NAMES[kind]} {number} were changed after it was recorded")
            )
    for kind, ids in ws.store.audit_subject_ids().items():
        for row_id in ids:
            if f"{kind}:{row_id}" not in vouched:
                findings.append(
                    Finding(
                        after + 1,
                        f"missing: {_NAMES[kind]} {row_id} has no audit entry (deleted, or the row was added "
                        "outside Kleroterion)",
                    )
                )
    return findings


def _status_findings(ws: Workspace, chain: Sequence[StoredEntry]) -> list[Finding]:
    """Panel places whose status is not what the recorded replacements make it."""
    places = ws.store.panel_places()
    expected = dict.fromkeys(places, "active")
    for draw_id, person_out, person_in in ws.store.replacement_moves():
        expected[(draw_id, person_out)] = "replaced"
        role, _status = places.get((draw_id, person_in), ("", ""))
        expected[(draw_id, person_in)] = "promoted" if role == "alternate" else "active"
    entry_of = {s.entry.subject: s.entry.seq for s in chain}
    findings = []
    for (draw_id, person), (_role, status) in sorted(places.items()):
        want = expected.get((draw_id, person), "active")
        if status != want:
            findings.append(
                Finding(
                    entry_of.get(f"selection_draw:{draw_id}", 0),
                    f"in selection draw {draw_id}, {person} is {status!r}; the recorded replacements make it {want!r}",
                )
            )
    return findings


def replay_selection_draw(ws: Workspace, draw: dict[str, Any], *, chain_after: Sequence[str]) -> tuple[list[str], str]:
    """Replay one stored selection draw from its seed, pool, quotas, algorithm and engine.

    Returns (problems, note): ``note`` says why the draw could not be replayed (its pool changed since
    through a later chained import or erasure), problems what differs from the stored draw."""
    from sortition.pool import pool_hash

    size, quotas = ws.store.quota_set(int(draw["quota_set_id"]))
    pool = ws.store.pool()
    digest = pool_hash(pool, quotas) if len(pool) else ""
    if digest not in ws.store.accepted_pool_hashes(int(draw["id"])):
        later = [a for a in chain_after if a in ("pool.import", "privacy.erase", "privacy.purge")]
        if later:
            return [], f"not replayable, the pool changed since by a later {later[0]}"
        return [f"the pool hash is {digest[:16]}…, the draw recorded {draw['pool_hash'][:16]}… (pool changed)"], ""
    pool, _ = pool_for_algorithm(ws, pool, quotas, str(draw["algorithm"]), parameters=draw["parameters"])
    problems: list[str] = []
    parameters = draw["parameters"]
    if draw["kind"] == "lottery":
        _result, tickets, _lost, _p = make_lottery(
            pool,
            quotas,
            size=size,
            seed=int(draw["seed"]),
            algorithm=str(draw["algorithm"]),
            tickets=int(parameters["lottery_size"]),
            exclude=list(parameters.get("excluded", [])),
        )
        stored = ws.store.lottery_tickets(int(draw["id"]))
        if stored != tickets:
            problems.append("the replayed ticket list differs from the stored one")
        return problems, ""
    if "lottery_draw_id" in parameters:
        record = ws.store.draw_record(int(draw["id"]))
        lottery = ws.store.draw_record(int(parameters["lottery_draw_id"]))
        tickets = ws.store.lottery_tickets(int(parameters["lottery_draw_id"]))
        panel, order = replay_lottery(record, lottery, pool, quotas, tickets=tickets, problems=problems)
    else:
        replayed, order = draw_panel(
            pool,
            quotas,
            size=size,
            seed=int(draw["seed"]),
            algorithm=str(draw["algorithm"]),
            engine=str(draw["engine"]),
            alternates=int(parameters.get("alternates", 0)),
            exclude=list(parameters.get("excluded", [])),
        )
        panel = list(replayed.panel)
        _compare_distribution(ws.store.draw_distribution(int(draw["id"])), replayed, problems)
    if panel != list(draw["result"]["panel"]):
        problems.append("the replayed panel differs from the stored one")
    if order != list(draw["result"].get("alternates", [])):
        problems.append("the replayed alternates (or their order) differ from the stored ones")
    return problems, ""


def replay_letter_draw(ws: Workspace, draw: dict[str, Any], *, chain_after: Sequence[str]) -> tuple[list[str], str]:
    """Redraw one letter draw from its seed and parameters on the stored registry and compare who got a
    letter (resident pseudonym, stratum, inclusion probability; invitation codes come from ``secrets``).

    Not replayable (the note) once the registry was purged or imported again after the draw."""
    from kleroterion.app.registry import eligible_mask
    from kleroterion.app.registry import strata as _strata
    from kleroterion.seeds import generator
    from sortition.letters import draw_letter_rows

    later = [a for a in chain_after if a in ("registry.import", "registry.areas", "privacy.purge", "privacy.erase")]
    if later:
        return [], f"not replayable, the registry changed since by a later {later[0]}"
    params = draw["parameters"]
    columns = ws.store.resident_columns()
    mask, _excluded = eligible_mask(ws, columns, min_age=int(params.get("min_age", 16)))
    stratum, labels = _strata(columns, params.get("stratify_by"))
    letters = ws.store.letters()
    earlier = letters.loc[letters["draw_id"] < int(draw["id"]), "address_key"]
    picks = draw_letter_rows(
        columns.address,
        stratum,
        labels,
        eligible=mask,
        n_addresses=len(columns.address_keys),
        excluded=columns.address_mask(earlier),
        count=int(params["count"]),
        rng=generator(int(draw["seed"])),
        oversample=params.get("oversample") or None,
        allocation=params.get("allocation"),
    )
    again = sorted(
        zip(
            columns.pseudonyms_of(picks.rows),
            [str(s) for s in picks.strata],
            [float(p) for p in picks.inclusion_probability],
            strict=True,
        )
    )
    mine = letters[letters["draw_id"] == int(draw["id"])]
    stored = sorted(
        zip(mine["resident_id"], mine["stratum"].astype(str), mine["inclusion_probability"].astype(float), strict=True)
    )
    if [(r, s) for r, s, _ in again] != [(r, s) for r, s, _ in stored]:
        return ["the replayed letters (who, in which stratum) differ from the stored ones"], ""
    if any(abs(a[2] - b[2]) > 1e-12 for a, b in zip(again, stored, strict=True)):
        return ["the replayed inclusion probabilities differ from the stored ones"], ""
    return [], ""


def _replacement_findings(ws: Workspace, chain: Sequence[StoredEntry]) -> list[Finding]:
    """Replay every replacement in order from its draw's panel and alternates: the first alternate who
    keeps the quotas (or the recorded quota break); a seeded draw from the pool must pick one of the
    candidates its chained entry lists."""
    from sortition.alternates import choose_replacement

    entries = {s.entry.subject: s.entry for s in chain}
    findings = []
    states: dict[int, tuple[list[str], list[str]]] = {}
    pool = None
    for row in ws.store.replacements():
        draw_id, replacement_id = int(row["draw_id"]), int(row["id"])
        entry = entries[f"replacement:{replacement_id}"]
        details = json.loads(entry.result)
        draw = next(d for d in ws.store.selection_draws() if int(d["id"]) == draw_id)
        panel, alternates = states.setdefault(
            draw_id, (list(draw["result"]["panel"]), list(draw["result"].get("alternates", [])))
        )
        pool = ws.store.pool() if pool is None else pool
        _size, quotas = ws.store.quota_set(int(draw["quota_set_id"]))
        out, person_in = str(row["person_out"]), str(row["person_in"])
        if out not in panel:
            findings.append(Finding(entry.seq, f"replacement {replacement_id}: {out} was not on the panel then"))
            continue
        if details.get("from_pool"):
            candidates = list(details.get("candidates", []))
            if person_in not in candidates:  # the seeded pool draw: its seed and candidates are chained
                findings.append(Finding(entry.seq, f"replacement {replacement_id}: {person_in} was no candidate"))
        else:
            try:
                choice = choose_replacement(
                    pool, panel, out, alternates, quotas, accept_break=bool(details.get("quotas_broken"))
                )
            except KleroError:
                choice = None
            if choice is None or choice.person_in != person_in:
                findings.append(
                    Finding(
                        entry.seq,
                        f"replacement {replacement_id} does not replay: the first fitting alternate is "
                        f"{choice.person_in if choice else 'none'}, the record says {person_in}",
                    )
                )
            if person_in in alternates:
                alternates.remove(person_in)
        panel[panel.index(out)] = person_in
    return findings


def write_anchor(anchor: Anchor, path: Path) -> None:
    """Write the anchor JSON for publication."""
    try:
        path.write_text(anchor.to_json() + "\n", encoding="utf-8")
    except OSError as exc:
        raise KleroError(f"Cannot write the anchor to {path}: {exc.strerror}.", code="write_failed") from exc
