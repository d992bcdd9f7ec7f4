"""The personal data lifecycle: purge (retention) and erasure on request, as use cases.

``purge`` (``klero purge``) removes the personal data of the whole process on or after the retention date in
``process.toml`` (or earlier, with ``--reason``); ``erase_person`` (``klero person erase CODE``) does it for one person
on request (AVG art. 17). Both keep what the draw's verification and the reports need. The decision,
per table and column of ``kleroterion/store/migrations/*.sql``:

=====================  ===================================================  ==========================
table                  purge                                                erase CODE (one invitee)
=====================  ===================================================  ==========================
residents, not         row deleted (names, address, birth date, flag)       (only invitees have a code)
invited
residents, invited     given_names, name_prefix, surname, street, city,     the same, for that person
                       buurt -> NULL; postcode, house_number -> '';
                       restricted -> 0; address_key -> pseudonym;
                       birth_date -> generalised (the day the person
                       reached their age on the reference date: age bands
                       stay exact, day and month go). Kept: the pseudonym
                       id, gender, wijk (the letter's stratum and the
                       response table of the council report).
store.residents.arrow  file deleted (addresses, birth dates)                file deleted (rebuilt from
                                                                            SQLite when next needed)
letters                address_key -> pseudonym. Kept: code, stratum,       the same, for that letter
                       inclusion probability (the selection report).
pool_members           address_key -> pseudonym; contact -> {}. Kept: id,   address_key -> pseudonym;
                       letter_code, features (the draw's feature vector:    contact -> {}; features
                       ``panel verify`` replays from them), signed_up_at.   outside every quota set
                                                                            dropped; a sign-up no draw
                                                                            names is deleted outright
participants,          kept: pseudonymous ids, arm, gender/age band/        kept (see below)
answers                education/wijk and the survey answers; the
                       instrument has no free-text items (likert, scale,
                       yesno, knowledge, ranking), so ``answers.raw`` holds
                       codes, not prose.
selection_*, panel_*,  kept: pseudonymous draw records; the pool hash a     kept; same re-hash
draw_panels, lottery_  draw recorded is joined by the hash of the
tickets, quotas        pseudonymised pool (``pool_rehashes``)
replacements           kept (pseudonymous ids; ``reason`` is the civil     kept
                       servant's text, shown only as a category)
registry_imports,      kept: counts, file name, SHA-256, legal basis        kept
letter_draws,
analyses, reports,
recommendations,
council_responses,
instruments, waves,
packets*
small_groups.moderator kept: moderators and packet reviewers are staff      kept
packet_signoffs        acting in their role, not participants
audit_log              kept, append-only; no names or addresses go in       kept
=====================  ===================================================  ==========================

The pseudonymous address key keeps what the draw needs of an address: which pool members share one
(at most one per address) and, for a purge, the sort order (``adres-000001``, ... in the order of the
raw keys, so the engine sees the very same households). An erasure uses a keyed hash of the raw key.
The pool hash a draw recorded covers the raw keys, so before committing, the purge or erasure replays
the latest panel draw with the pseudonymised pool (``klero panel verify``); only if that replay is
identical (or the draw did not replay before either) does anything change, and the new hash is
recorded as accepted for the draw.

Why the pseudonymised draw record may stay after an erasure request: AVG art. 17(3)(b) exempts
processing needed for a legal obligation or a task in the public interest, and the municipality must
be able to show that the panel was drawn fairly from the pool (the draw is replayed by the council,
observers and auditors: ``klero panel verify``); art. 17(3)(e) exempts what is needed for legal claims,
such as a challenge to the draw. The replay needs every pool member's features and which of them share
an address, but no name, address or contact detail, so those go. Survey answers stay pseudonymous for
the analysis already reported (art. 17(3)(d) with art. 89). Nobody can be re-identified from what stays
without the registry extract, which the purge removes.

After the commit, ``VACUUM`` rewrites the database without the freed pages and the write-ahead log
is truncated (``PRAGMA secure_delete`` zeroes deleted content on the way), so the deleted text is gone
from the workspace's files. Copies outside the workspace (the mail-merge file of ``klero letters
export``, sign-up spreadsheets, backups) are the user's to delete; the purge names the exports it knows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date
from typing import TypedDict

import pandas as pd

from kleroterion.app.panel import verify_panel
from kleroterion.errors import KleroError
from kleroterion.store.privacy import ADDRESS_PSEUDONYM, Minimisation
from kleroterion.workspace import Workspace
from sortition.pool import pool_hash
from sortition.registry import generalise_birth_dates

#: What the purge and erasure counts mean, in the order they are shown.
COUNT_LABELS = {
    "residents_deleted": "registry rows of residents who got no letter: deleted",
    "residents_minimised": "registry rows of invitees: names, address and birth day removed",
    "letter_addresses": "letters: address replaced by a pseudonym",
    "pool_addresses": "sign-ups: address replaced by a pseudonym",
    "pool_contacts": "sign-ups: contact details (e-mail, telephone) removed",
    "test_signups": "the sign-up page's test list: deleted",
}
ERASE_REASON = "verzoek van betrokkene (AVG art. 17)"


@dataclass(frozen=True)
class PurgePlan:
    """What ``klero purge`` would remove: counts, the residents copy, and exports outside the workspace."""

    counts: dict[str, int]
    columns_file: bool
    exports: list[tuple[str, str]]  # (file name, date) of every list with personal data the workspace exported

    @property
    def empty(self) -> bool:
        return not any(self.counts.values()) and not self.columns_file


def purge_plan(ws: Workspace, *, today: date, reason: str | None) -> PurgePlan:
    """Check that the purge may run today and count what it would remove.

    Refuses (``KleroError``) before the retention date of ``process.toml``, or when none is set,
    unless a ``reason`` is given."""
    retention = ws.settings.retention_date
    if reason is not None and not reason.strip():
        raise KleroError("--reason needs a text (it is recorded in the audit log).", code="bad_reason")
    if reason is None:
        if not retention:
            raise KleroError(
                "process.toml sets no retention_date: set one, or purge now with --reason TEXT.",
                code="no_retention_date",
            )
        try:
            due = date.fromisoformat(retention)
        except ValueError:
            raise KleroError(
                f"The retention_date {retention!r} in process.toml is not a date (use YYYY-MM-DD).", code="bad_date"
            ) from None
        if today < due:
            raise KleroError(
                f"The retention date is {due.isoformat()}: personal data is kept until then. "
                "To purge earlier, give the reason with --reason TEXT.",
                code="before_retention_date",
            )
    exports = [
        (str(r["parameters"].get("file", "")), str(r["recorded_at"])[:10])
        for action in PERSONAL_EXPORTS
        for r in ws.store.audit_records(action)
    ]
    return PurgePlan(ws.store.personal_data_counts(), ws.store.columns_path.exists(), exports)


#: Audit actions of the exports that hold names, addresses or contact details (``letters.export`` is how
#: workspaces made before the shared export writer recorded the mail merge).
PERSONAL_EXPORTS = ("letters.export", "export.letters", "export.panel", "export.groups", "export.control")


@dataclass(frozen=True)
class PurgeResult:
    """What ``purge`` did: the plan's ``counts``, whether anything was ``removed``, the draws whose pool
    hash was re-recorded, and the database size (database plus log) before and after the scrub."""

    counts: dict[str, int]
    removed: bool
    draws_rehashed: tuple[int, ...]
    bytes_before: int
    bytes_after: int


@dataclass(frozen=True)
class EraseResult:
    """What ``erase_person`` did (``erased`` False: nothing was left to erase), and the database size."""

    erased: bool
    bytes_before: int
    bytes_after: int
    registry_row_minimised: bool = False
    contact_removed: bool = False
    sign_up_deleted: bool = False
    answers_dropped: int = 0
    draws_rehashed: tuple[int, ...] = ()


def purge(ws: Workspace, *, today: date, reason: str | None) -> PurgeResult:
    """Remove the process's personal data (see the module docstring), in one transaction, audited;
    then scrub the database file. Refuses as ``purge_plan`` does."""
    plan = purge_plan(ws, today=today, reason=reason)
    if plan.empty:  # scrub all the same: an earlier run may have been stopped before it finished
        return PurgeResult(plan.counts, removed=False, draws_rehashed=(), **_scrub(ws))
    with ws.store.transaction():
        replayed = _replays(ws)
        before = _pool_hashes(ws)
        deleted = ws.store.delete_uninvited_residents()
        invitees = pd.DataFrame(ws.store.invitees(), columns=["code", "address_key", "birth_date"])
        if len(invitees):
            pseudonyms = _rank_pseudonyms(invitees["address_key"])
            births = generalise_birth_dates(invitees["birth_date"], ws.reference_date)
            ws.store.minimise_invitees(
                [
                    Minimisation(code, pseudonyms[key], birth)
                    for code, key, birth in zip(invitees["code"], invitees["address_key"], births, strict=True)
                ]
            )
        rehashed = _rehash(ws, before, replayed=replayed, action="privacy.purge")
        result = {**plan.counts, "residents_deleted": deleted, "draws_rehashed": rehashed}
        ws.store.audit(
            "privacy.purge",
            parameters={"reason": reason or "", "retention_date": ws.settings.retention_date, "on": today.isoformat()},
            result={**result, "residents_copy_deleted": plan.columns_file},
        )
    ws.store.remove_resident_columns()
    return PurgeResult(plan.counts, removed=True, draws_rehashed=tuple(rehashed), **_scrub(ws))


def erase_person(ws: Workspace, code: str, *, reason: str = ERASE_REASON) -> EraseResult:
    """Erase one invitee's name, address, contact details and the sign-up answers no draw needs.

    ``code``: the invitation code or the pool id. Unknown code: ``KleroError``. The pseudonymised
    draw record stays (module docstring); one transaction, audited without the code."""
    wanted = code.strip().upper()
    person = ws.store.find_person(wanted) if wanted else None
    if person is None:
        raise KleroError(
            f"No invitee with invitation code or pool id {code!r}; check the code on the letter or sign-up.",
            code="unknown_person",
        )
    if not reason.strip():
        raise KleroError("--reason needs a text (it is recorded in the audit log).", code="bad_reason")
    keep = ws.store.quota_categories()
    features = json.loads(person["features"]) if person["features"] else {}
    extra = [k for k in features if k not in keep] if person["referenced"] else []
    contact = person["contact"] not in (None, "{}")
    if not person["named"] and not contact and not extra and not (person["pool_id"] and not person["referenced"]):
        return EraseResult(erased=False, **_scrub(ws))  # scrub all the same: an earlier run may have been stopped
    with ws.store.transaction():
        replayed = _replays(ws)
        before = _pool_hashes(ws)
        address = str(person["address_key"])
        if not address.startswith(ADDRESS_PSEUDONYM):
            digest = hmac.new(ws.key, address.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
            address = f"{ADDRESS_PSEUDONYM}x{digest}"
        birth = generalise_birth_dates(pd.Series([person["birth_date"]]), ws.reference_date).iloc[0]
        ws.store.minimise_invitees([Minimisation(str(person["code"]), address, str(birth))])
        deleted = bool(person["pool_id"]) and not person["referenced"]
        if deleted:
            ws.store.delete_pool_member(str(person["code"]))
        dropped = ws.store.keep_pool_features(str(person["code"]), keep) if person["referenced"] else 0
        rehashed = _rehash(ws, before, replayed=replayed, action="privacy.erase")
        result = {
            "registry_row_minimised": bool(person["named"]),
            "contact_removed": contact,
            "sign_up_deleted": deleted,
            "answers_dropped": dropped,
            "draws_rehashed": rehashed,
        }
        ws.store.audit("privacy.erase", parameters={"reason": reason}, result=result)
    ws.store.remove_resident_columns()
    return EraseResult(
        erased=True,
        registry_row_minimised=bool(person["named"]),
        contact_removed=contact,
        sign_up_deleted=deleted,
        answers_dropped=dropped,
        draws_rehashed=tuple(rehashed),
        **_scrub(ws),
    )


class _Sizes(TypedDict):
    bytes_before: int
    bytes_after: int


def _scrub(ws: Workspace) -> _Sizes:
    """Scrub the database file (``Store.scrub``); its size before and after."""
    sizes = ws.store.scrub()
    return {"bytes_before": sizes["bytes_before"], "bytes_after": sizes["bytes_after"]}


def _replays(ws: Workspace) -> bool:
    """True when the latest panel draw replays now (False when there is none or it does not)."""
    try:
        ws.store.latest_panel_draw()
        verify_panel(ws)
    except KleroError:
        return False
    return True


def _pool_hashes(ws: Workspace) -> dict[int, str]:
    """The current pool's hash under each draw's quotas, for the draws whose recorded hash it matches."""
    pool = ws.store.pool()
    hashes = {}
    for draw in ws.store.selection_draws() if len(pool) else []:
        _size, quotas = ws.store.quota_set(int(draw["quota_set_id"]))
        digest = pool_hash(pool, quotas)
        if digest in ws.store.accepted_pool_hashes(int(draw["id"])):
            hashes[int(draw["id"])] = digest
    return hashes


def _rehash(ws: Workspace, before: dict[int, str], *, replayed: bool, action: str) -> list[int]:
    """Record the pseudonymised pool's hash for every draw whose pool it was; then, if the latest panel
    draw replayed before, it must still replay, or everything is rolled back."""
    pool = ws.store.pool()
    quota_sets = {int(d["id"]): int(d["quota_set_id"]) for d in ws.store.selection_draws()}
    changed = []
    for draw_id in sorted(before):
        _size, quotas = ws.store.quota_set(quota_sets[draw_id])
        digest = pool_hash(pool, quotas) if len(pool) else ""
        if digest and digest != before[draw_id]:
            ws.store.save_pool_rehash(draw_id, digest, action=action)
            changed.append(draw_id)
    if replayed:
        try:
            verify_panel(ws)
        except KleroError as exc:
            raise KleroError(
                "Nothing was changed: with the addresses pseudonymised the panel draw would no longer replay "
                f"({exc.message}). Report this to the Kleroterion maintainers.",
                code="purge_breaks_replay",
            ) from exc
    return changed


def _rank_pseudonyms(keys: pd.Series) -> dict[str, str]:
    """``adres-000001``, ... for the distinct keys in their sorted order (equality and order kept)."""
    distinct = sorted(set(keys.astype(str)))
    width = max(6, len(str(len(distinct))))
    return {key: f"{ADDRESS_PSEUDONYM}{rank:0{width}d}" for rank, key in enumerate(distinct, start=1)}
