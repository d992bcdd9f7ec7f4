"""The tamper-evident record (issue 18, item 1): the hash chain, the append-only triggers and
``klero audit verify`` / ``klero audit anchor``.

The tamper suite edits a copy of one small workspace the way an attacker holding the database file
would (dropping the triggers first) and checks that ``klero audit verify`` exits 1 naming the entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.app.audit import Anchor, AuditError, read_anchor, verify_audit
from kleroterion.app.letters import draw_letters
from kleroterion.app.panel import ReplaceRequest, SelectRequest, replace_member, select_panel
from kleroterion.app.pool import import_pool
from kleroterion.app.registry import import_registry
from kleroterion.errors import KleroError, StoreError
from kleroterion.store.audit import subject_digest
from kleroterion.workspace import ProcessSettings, Workspace
from sortition.audit_chain import GENESIS, ChainEntry, canonical_json, entry_hash, first_break
from tests.conftest import RawConnection, copy_workspace, drop_append_only_triggers, make_quotas, run_cli
from tests.sortition.test_cli_sortition import HEADER, write

EDUCATION = ("laag", "middelbaar", "hoog")
AGE_BANDS = ("16-24", "25-39", "40-54", "55-69", "70+")


# -- the pure chain --------------------------------------------------------------------------
def test_entry_hash_is_sha256_of_the_canonical_json_with_the_previous_hash() -> None:
    entry = ChainEntry(1, "2024-01-01T00:00:00+00:00", "cli:ann", "letters.draw", '{"seed":"1"}', "{}", "{}", "", "")
    # written out by hand: sorted keys, no spaces, the previous hash as "previous"
    text = (
        '{"action":"letters.draw","actor":"cli:ann","digest":"","input_hashes":"{}","parameters":"{\\"seed\\":\\"1\\"}",'
        f'"previous":"{GENESIS}","recorded_at":"2024-01-01T00:00:00+00:00","result":"{{}}","seq":1,"subject":""}}'
    )
    assert entry_hash(entry, GENESIS) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert canonical_json({"b": 1.5, "a": b"\x01\xff", "é": [1, (2,)]}) == '{"a":"01ff","b":1.5,"é":[1,[2]]}'


def _chain(n: int) -> list[tuple[ChainEntry, str, str]]:
    out, previous = [], GENESIS
    for seq in range(1, n + 1):
        entry = ChainEntry(seq, "t", "cli:x", f"a{seq}", "{}", "{}", "{}", "", "")
        digest = entry_hash(entry, previous)
        out.append((entry, previous, digest))
        previous = digest
    return out


@pytest.mark.parametrize(
    ("edit", "seq", "reason"),
    [
        (lambda c: c, None, ""),
        (lambda c: [c[0], c[2], c[3]], 2, "entry 2 is missing"),
        (lambda c: [c[0], c[2], c[1], c[3]], 2, "entry 2 is missing"),
        (lambda c: [c[0], (c[1][0].__class__(**{**c[1][0].__dict__, "result": "{}x"}), c[1][1], c[1][2]), *c[2:]], 2,
         "content does not match"),
        (lambda c: [c[0], c[1], (c[2][0], c[0][2], c[2][2]), c[3]], 3, "previous hash"),
    ],
)  # fmt: skip
def test_first_break_names_the_first_bad_entry(
    edit: Callable[[list[tuple[ChainEntry, str, str]]], list[tuple[ChainEntry, str, str]]], seq: int | None, reason: str
) -> None:
    broken = first_break(edit(_chain(4)))
    if seq is None:
        assert broken is None
    else:
        assert broken is not None and broken.seq == seq and reason in broken.reason


# -- a small chained workspace ---------------------------------------------------------------
def pooled_workspace(root: Path, tmp: Path) -> Workspace:
    """Registry of 80 → 60 letters → 40 sign-ups → quotas for 10 (nothing drawn yet); open."""
    settings = ProcessSettings(name="Audit", municipality="Peel en Maas", reference_date="2024-01-01")
    ws = Workspace.create(root, settings)
    rows = [
        f"{100_001_000 + i};Naam{i};Achternaam{i};{1950 + i % 50}0101;{'MV'[i % 2]};Straat;{i + 1};5981 AB;Panningen"
        for i in range(80)
    ]
    import_registry(ws, write(tmp / "brp.csv", [HEADER, *rows]))
    draw_letters(ws, count=60, seed=1)
    letters = ws.store.letters().head(40).reset_index(drop=True)
    signups = pd.DataFrame(
        {
            "code": letters["code"],
            "gender": ["MV"[i % 2] for i in range(40)],
            "age_band": [AGE_BANDS[i % 5] for i in range(40)],
            "education": [EDUCATION[i % 3] for i in range(40)],
        }
    )
    signups.to_csv(tmp / "signups.csv", index=False)
    import_pool(ws, tmp / "signups.csv")
    quotas = make_quotas(
        [
            ("gender", "V", 5, 5),
            ("gender", "M", 5, 5),
            ("education", "laag", 2, 4),
            ("education", "middelbaar", 2, 4),
            ("education", "hoog", 2, 4),
        ]
    )
    ws.store.save_quotas(quotas, panel_size=10, source="test", tolerance=1.0)
    return ws


def _build(root: Path, tmp: Path) -> None:
    """``pooled_workspace`` → panel (seed 41) → redraw (seed 42, 6 alternates) → one replacement: every
    kind of chained row."""
    ws = pooled_workspace(root, tmp)
    select_panel(ws, SelectRequest(seed=41))
    select_panel(ws, SelectRequest(seed=42, alternates=6, redraw_reason="the venue changed"))
    panel, _alternates = ws.store.current_panel(int(ws.store.latest_panel_draw()["id"]))
    replace_member(ws, ReplaceRequest(panel[0], reason="moved away", accept_quota_break=True))
    ws.store.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("audit-ws")
    _build(base / "ws", base)
    return base / "ws"


@pytest.fixture
def chained(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built workspace (change it freely)."""
    root = tmp_path / "ws"
    copy_workspace(built, root)
    return root


def _entry_of(root: Path, subject: str) -> int:
    with RawConnection(root) as conn:
        row = conn.execute("SELECT id FROM audit_log WHERE subject = ?", (subject,)).fetchone()
    return int(row[0])


def _tamper(root: Path, *statements: str) -> None:
    """Edit the database file directly, with the triggers dropped first (as an attacker would)."""
    conn = RawConnection(root)
    try:
        drop_append_only_triggers(conn)
        for sql in statements:
            conn.execute(sql)
    finally:
        conn.close()


# draw 2 is the latest panel draw (the redraw); ``id + 1 NOT IN (...)`` finds the entry before the first gap
TAMPERING: dict[str, tuple[tuple[str, ...], str, str]] = {
    # case: (statements, subject whose entry is named ('' = the entry number in the message), message part)
    "update audit row": (
        ("UPDATE audit_log SET result = '{}' WHERE subject = 'selection_draw:2'",),
        "selection_draw:2",
        "content does not match its hash",
    ),
    "delete audit row": (
        ("DELETE FROM audit_log WHERE action = 'panel.replace'",),
        "replacement:1",
        "replacement 1 has no audit entry",
    ),
    "delete a draw's audit row": (
        ("DELETE FROM audit_log WHERE subject = 'selection_draw:1'",),
        "selection_draw:1",
        "is missing",
    ),
    "delete middle entry": (
        ("DELETE FROM audit_log WHERE action = 'pool.import'",),
        "pool.import",
        "is missing",
    ),
    "reorder rows": (  # the letter draw's entry and the one after it swap places
        (
            "UPDATE audit_log SET id = 1000000 WHERE subject = 'letter_draw:1'",
            "UPDATE audit_log SET id = id - 1"
            " WHERE id = (SELECT MIN(id) + 2 FROM audit_log WHERE id + 1 NOT IN (SELECT id FROM audit_log))",
            "UPDATE audit_log SET id = (SELECT MIN(id) + 1 FROM audit_log"
            " WHERE id + 1 NOT IN (SELECT id FROM audit_log)) WHERE id = 1000000",
        ),
        "letter_draw:1",
        "previous hash is not the hash of the entry before it",
    ),
    "swap panel member": (
        (
            "UPDATE panel_members SET person_id = (SELECT id FROM pool_members WHERE id NOT IN"
            " (SELECT person_id FROM panel_members WHERE draw_id = 2) LIMIT 1)"
            " WHERE draw_id = 2 AND role = 'panel' AND rank = 2",
        ),
        "selection_draw:2",
        "were changed after it was recorded",
    ),
    "rewrite probabilities": (
        (
            "UPDATE selection_probabilities SET probability = probability + 0.01 WHERE draw_id = 2"
            " AND person_id = (SELECT MIN(person_id) FROM selection_probabilities WHERE draw_id = 2)",
        ),
        "selection_draw:2",
        "were changed after it was recorded",
    ),
    "alter letters": (
        ("UPDATE letters SET stratum = 'x' WHERE code = (SELECT MIN(code) FROM letters)",),
        "letter_draw:1",
        "letter draw 1 were changed",
    ),
    "delete earlier draw": (
        (
            "DELETE FROM selection_probabilities WHERE draw_id = 1",
            "DELETE FROM panel_members WHERE draw_id = 1",
            "DELETE FROM draw_panels WHERE draw_id = 1",
            "DELETE FROM draw_people WHERE draw_id = 1",
            "DELETE FROM selection_draws WHERE id = 1",
        ),
        "selection_draw:1",
        "selection draw 1 is no longer stored",
    ),
    "change seed": (
        ("UPDATE selection_draws SET seed = '43' WHERE id = 2",),
        "selection_draw:2",
        "were changed after it was recorded",
    ),
    "mark a member replaced": (
        ("UPDATE panel_members SET status = 'replaced' WHERE draw_id = 2 AND role = 'panel' AND rank = 3",),
        "selection_draw:2",
        "the recorded replacements make it 'active'",
    ),
}


def test_untouched_workspace_verifies_clean(
    chained: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(chained)) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "The audit record holds" in text
        and "3 draws (letters and panels) checked, 3 replayed identically; 1 replacements replayed" in text
    )


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_detected_and_the_entry_named(
    case: str, chained: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    statements, subject, message = TAMPERING[case]
    with RawConnection(chained) as conn:
        if subject == "pool.import":
            expected = int(conn.execute("SELECT id FROM audit_log WHERE action = 'pool.import'").fetchone()[0])
        else:
            expected = int(conn.execute("SELECT id FROM audit_log WHERE subject = ?", (subject,)).fetchone()[0])
    _tamper(chained, *statements)
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(chained)) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert f"first broken at entry {expected}" in text, text
    assert message in text, text
    assert "Traceback" not in text


def test_a_rechained_history_is_caught_by_the_published_anchor(
    chained: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor = chained.parent / "anchor.json"
    assert run_cli(monkeypatch, "audit", "anchor", "--out", str(anchor), "-w", str(chained)) == 0
    published = json.loads(anchor.read_text(encoding="utf-8"))
    assert f"{published['entry']}:{published['hash']}" in capsys.readouterr().out
    # an attacker who knows the scheme rewrites a result and recomputes every hash after it
    _tamper(chained, "UPDATE audit_log SET result = '{\"members\": 1}' WHERE action = 'pool.import'")
    _rechain(chained)
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(chained)) == 0  # consistent on its own...
    capsys.readouterr()
    assert run_cli(monkeypatch, "audit", "verify", "--anchor", str(anchor), "-w", str(chained)) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert f"first broken at entry {published['entry']}" in text and "differs from the published anchor" in text


def _rechain(root: Path) -> None:
    """Recompute every digest and hash from the rows as they are now: the attacker who knows the scheme."""
    conn = RawConnection(root)
    drop_append_only_triggers(conn)
    rows = conn.execute(
        "SELECT id, recorded_at, actor, action, parameters, input_hashes, result, subject FROM audit_log ORDER BY id"
    ).fetchall()
    previous = GENESIS
    for row in rows:
        entry = ChainEntry(*row, digest=subject_digest(conn, row[7]) or "")
        digest = entry_hash(entry, previous)
        conn.execute(
            "UPDATE audit_log SET digest = ?, previous_hash = ?, entry_hash = ? WHERE id = ?",
            (entry.digest, previous, digest, row[0]),
        )
        previous = digest
    conn.close()


REPLAYED_TAMPERING = {
    # rewritten and re-chained by someone who knows the scheme: only the replay can tell
    "seed of the draw": (
        ("UPDATE selection_draws SET seed = '43' WHERE id = 2",),
        "selection_draw:2",
        "selection draw 2 does not replay",
    ),
    "panel of the first draw": (
        (
            "UPDATE selection_draws SET result = json_set(result, '$.panel[0]', (SELECT MIN(id) FROM pool_members"
            " WHERE id NOT IN (SELECT person_id FROM panel_members WHERE draw_id = 1))) WHERE id = 1",
        ),
        "selection_draw:1",
        "the replayed panel differs",
    ),
    "letters of a draw": (
        (
            # a resident who got no letter, so the forgery always changes who was drawn (MIN(id) could be
            # the letter's own resident: the codes are random, and then nothing was forged)
            "UPDATE letters SET resident_id = (SELECT MIN(r.id) FROM residents r"
            " WHERE NOT EXISTS (SELECT 1 FROM letters l WHERE l.resident_id = r.id))"
            " WHERE code = (SELECT MIN(code) FROM letters)",
        ),
        "letter_draw:1",
        "the replayed letters (who, in which stratum) differ",
    ),
    "replacement": (
        (
            "UPDATE replacements SET person_in = (SELECT person_id FROM panel_members WHERE draw_id = 2"
            " AND role = 'alternate' AND status = 'active' ORDER BY rank DESC LIMIT 1)",
            "UPDATE panel_members SET status = 'active' WHERE draw_id = 2 AND status = 'promoted'",
            "UPDATE panel_members SET status = 'promoted' WHERE draw_id = 2"
            " AND person_id = (SELECT person_in FROM replacements)",
        ),
        "replacement:1",
        "replacement 1 does not replay",
    ),
}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=pytest.mark.sqlite_only(reason="the forgery edits the JSON with SQLite's json_set"))
        if "json_set" in " ".join(REPLAYED_TAMPERING[case][0])
        else case
        for case in REPLAYED_TAMPERING
    ],
)
def test_a_consistently_rechained_forgery_does_not_replay(
    case: str, chained: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    statements, subject, message = REPLAYED_TAMPERING[case]
    expected = _entry_of(chained, subject)
    _tamper(chained, *statements)
    _rechain(chained)
    assert run_cli(monkeypatch, "audit", "verify", "--no-replay", "-w", str(chained)) == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, "audit", "verify", "-w", str(chained)) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert f"first broken at entry {expected}" in text and message in text, text


APPEND_ONLY = [
    ("UPDATE audit_log SET action = 'x' WHERE id = 1", "audit_log rows cannot be changed"),
    ("DELETE FROM audit_log WHERE id = 1", "audit_log rows cannot be deleted"),
    ("UPDATE selection_draws SET seed = '1'", "selection_draws rows cannot be changed"),
    ("DELETE FROM selection_probabilities", "selection_probabilities rows cannot be deleted"),
    ("UPDATE panel_members SET person_id = 'x'", "panel_members rows cannot be changed"),
    ("DELETE FROM panel_members", "panel_members rows cannot be deleted"),
    ("UPDATE letters SET stratum = 'x'", "letters rows cannot be changed"),
    ("DELETE FROM letter_draws", "letter_draws rows cannot be deleted"),
    ("UPDATE replacements SET reason = 'x'", "replacements rows cannot be changed"),
    ("DELETE FROM draw_panels", "draw_panels rows cannot be deleted"),
]


@pytest.mark.parametrize(("sql", "message"), APPEND_ONLY)
def test_the_database_refuses_update_and_delete_with_a_store_error(chained: Path, sql: str, message: str) -> None:
    with Workspace.open(chained) as ws:
        before = ws.store.table_counts()
        with pytest.raises(StoreError) as info, ws.store.transaction() as conn:
            conn.execute(sql)
        assert info.value.code == "append_only" and message in info.value.message
        assert ws.store.table_counts() == before


def test_the_purge_may_pseudonymise_letters_and_replacements_change_status(chained: Path) -> None:
    with Workspace.open(chained) as ws, ws.store.transaction() as conn:
        conn.execute("UPDATE letters SET address_key = 'adres-' || code")
        conn.execute("UPDATE panel_members SET status = status")
    with Workspace.open(chained) as ws:
        verify_audit(ws, replay=False)


def test_every_entry_records_the_actor(chained: Path) -> None:
    with Workspace.open(chained) as ws:
        ws.store.actor = "web:ann"
        ws.store.audit("test.entry")
        records = ws.store.audit_records()
    assert records[-1]["actor"] == "web:ann"
    assert {r["actor"] for r in records[:-1]} == {records[0]["actor"]} and records[0]["actor"].startswith("cli:")


def test_a_workspace_from_before_the_chain_is_chained_when_opened(chained: Path) -> None:
    conn = RawConnection(chained)
    drop_append_only_triggers(conn)
    for column in ("actor", "subject", "digest", "previous_hash", "entry_hash"):
        conn.execute(f"ALTER TABLE audit_log DROP COLUMN {column}")
    conn.execute("DELETE FROM schema_version WHERE version IN (21, 22)")  # later migrations stay applied
    conn.close()
    with Workspace.open(chained) as ws:
        report = verify_audit(ws)
        assert report.entries == len(ws.store.audit_records()) and report.draws_replayed == 3
        with pytest.raises(StoreError), ws.store.transaction() as tx:  # and the triggers are back
            tx.execute("DELETE FROM audit_log")


def test_verify_error_lists_every_finding_in_entry_order(chained: Path) -> None:
    _tamper(
        chained,
        "UPDATE letters SET stratum = 'x' WHERE code = (SELECT MIN(code) FROM letters)",
        "UPDATE selection_draws SET seed = '43' WHERE id = 2",
    )
    with Workspace.open(chained) as ws, pytest.raises(AuditError) as info:
        verify_audit(ws)
    problems = info.value.params["problems"]
    letters, draw = _entry_of(chained, "letter_draw:1"), _entry_of(chained, "selection_draw:2")
    assert [p.split(":")[0] for p in problems] == [f"entry {letters}", f"entry {draw}"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7:" + "AB" * 32, Anchor(7, "ab" * 32)),
        ('{"entry": 3, "hash": "' + "c" * 64 + '", "recorded_at": "x"}', Anchor(3, "c" * 64)),
        ("7:abc", None),
        ("seven:" + "a" * 64, None),
        ('{"hash": "x"}', None),
    ],
)
def test_read_anchor_takes_the_json_file_or_entry_colon_hash(text: str, expected: Anchor | None) -> None:
    if expected is None:
        with pytest.raises(KleroError, match="not an anchor"):
            read_anchor(text, source="--anchor")
    else:
        assert read_anchor(text, source="--anchor") == expected
