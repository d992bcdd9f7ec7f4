"""After the draw: replacements from the ordered alternates, replaying a draw, the status record."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.app.letters import draw_letters
from kleroterion.app.panel import SelectRequest, select_panel
from kleroterion.app.pool import import_pool
from kleroterion.app.registry import import_registry
from kleroterion.errors import InfeasibleQuotaError
from kleroterion.workspace import Workspace
from sortition.alternates import choose_replacement
from sortition.quotas import quotas_met
from tests.conftest import drop_append_only_triggers, make_pool, make_quotas
from tests.conftest import run_cli as run
from tests.sortition.test_cli_sortition import HEADER, write

EDUCATION = ("laag", "middelbaar", "hoog")
AGE_BANDS = ("16-24", "25-39", "40-54", "55-69", "70+")


# -- the pure choice ----------------------------------------------------------------------------
def tiny_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    pool = make_pool(
        [
            {"gender": "V", "education": "laag"},  # p0 on the panel
            {"gender": "M", "education": "hoog"},  # p1 on the panel
            {"gender": "M", "education": "laag"},  # p2 alternate 1
            {"gender": "V", "education": "hoog"},  # p3 alternate 2
            {"gender": "V", "education": "laag"},  # p4 alternate 3
        ]
    )
    quotas = make_quotas(
        [("gender", "V", 1, 1), ("gender", "M", 1, 1), ("education", "laag", 1, 1), ("education", "hoog", 1, 1)]
    )
    return pool, quotas


def test_first_alternate_who_keeps_the_quotas_is_chosen() -> None:
    # replacing p0 (V, laag): p2 makes it M=2, V=0; p3 makes hoog=2, laag=0; p4 (V, laag) restores both
    pool, quotas = tiny_case()
    choice = choose_replacement(pool, ["p0", "p1"], "p0", ["p2", "p3", "p4"], quotas)
    assert choice.person_in == "p4"
    assert [alt for alt, _ in choice.skipped] == ["p2", "p3"]
    assert "gender=V: 0 (allowed 1–1)" in choice.skipped[0][1]
    assert "education=hoog: 2 (allowed 1–1)" in choice.skipped[1][1]
    assert choice.broken == ()


def test_no_fitting_alternate_names_the_broken_quota_or_accepts_the_break() -> None:
    pool, quotas = tiny_case()
    pool.loc[4, "address_key"] = pool.loc[1, "address_key"]  # p4 lives with panel member p1
    with pytest.raises(InfeasibleQuotaError) as info:
        choose_replacement(pool, ["p0", "p1"], "p0", ["p2", "p3", "p4"], quotas)
    message = str(info.value)
    assert "p2: gender=V: 0 (allowed 1–1); gender=M: 2 (allowed 1–1)" in message
    assert "p4: lives at the address of a panel member" in message
    assert info.value.relaxation["pool_members_who_fit"] == 0
    accepted = choose_replacement(pool, ["p0", "p1"], "p0", ["p2", "p3", "p4"], quotas, accept_break=True)
    assert accepted.person_in == "p2"
    assert accepted.broken == ("gender=V: 0 (allowed 1–1)", "gender=M: 2 (allowed 1–1)")


# -- the workspace chain ------------------------------------------------------------------------
@pytest.fixture
def pooled(workspace: Workspace, tmp_path: Path) -> Workspace:
    """Registry of 80 → 60 letters → 40 sign-ups → quotas for 10 (nothing drawn yet)."""
    rows = [
        f"{100_001_000 + i};Naam{i};Achternaam{i};{1950 + i % 50}0101;{'MV'[i % 2]};Straat;{i + 1};5981 AB;Panningen"
        for i in range(80)
    ]
    import_registry(workspace, write(tmp_path / "brp.csv", [HEADER, *rows]))
    draw_letters(workspace, count=60, seed=1)
    letters = workspace.store.letters().head(40).reset_index(drop=True)
    signups = pd.DataFrame(
        {
            "code": letters["code"],
            "gender": ["MV"[i % 2] for i in range(40)],
            "age_band": [AGE_BANDS[i % 5] for i in range(40)],
            "education": [EDUCATION[i % 3] for i in range(40)],
        }
    )
    signups.to_csv(tmp_path / "signups.csv", index=False)
    import_pool(workspace, tmp_path / "signups.csv")
    quotas = make_quotas(
        [
            ("gender", "V", 5, 5),
            ("gender", "M", 5, 5),
            ("education", "laag", 2, 4),
            ("education", "middelbaar", 2, 4),
            ("education", "hoog", 2, 4),
        ]
    )
    quotas["population_share"] = [0.5, 0.5, 1 / 3, 1 / 3, 1 / 3]
    workspace.store.save_quotas(quotas, panel_size=10, source="test", tolerance=1.0)
    return workspace


@pytest.fixture
def drawn(pooled: Workspace) -> Workspace:
    """``pooled`` with a panel of 10 and 6 alternates drawn by the default (native) engine, seed 42."""
    select_panel(pooled, SelectRequest(seed=42, alternates=6))
    return pooled


def test_replace_via_cli_keeps_quotas_and_is_recorded(
    drawn: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    draw = drawn.store.latest_panel_draw()
    panel, alternates = drawn.store.current_panel(int(draw["id"]))
    _, quotas = drawn.store.quota_set(int(draw["quota_set_id"]))
    pool = drawn.store.pool()
    # someone whose (gender, education) an alternate shares, so a replacement inside the quotas exists
    kind = pool.set_index("id")[["gender", "education"]].apply(tuple, axis=1)
    out_person = next(p for p in panel if kind[p] in set(kind[alternates]))
    code = run(monkeypatch, "panel", "replace", out_person, "--reason", "verhuisd", "-w", str(drawn.root))
    text = " ".join(capsys.readouterr().out.split())
    assert code == 0, text
    new_panel, new_alternates = drawn.store.current_panel(int(draw["id"]))
    (person_in,) = set(new_panel) - set(panel)
    assert out_person not in new_panel and len(new_panel) == 10
    assert quotas_met(pool[pool["id"].isin(new_panel)], quotas)
    # the first alternate in order who keeps the quotas, checked against every earlier alternate
    position = alternates.index(person_in)
    for earlier in alternates[:position]:
        trial = [p for p in panel if p != out_person] + [earlier]
        assert not quotas_met(pool[pool["id"].isin(trial)], quotas)
    assert new_alternates == [a for a in alternates if a != person_in]
    assert f"{out_person} replaced by {person_in}" in text
    (record,) = drawn.store.replacements()
    assert (record["person_out"], record["person_in"], record["reason"]) == (out_person, person_in, "verhuisd")
    (audit,) = drawn.store.audit_records("panel.replace")
    assert audit["result"]["person_in"] == person_in


def test_replacing_someone_not_on_the_panel_exits_1_and_changes_nothing(
    drawn: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = drawn.store.table_counts()
    assert run(monkeypatch, "panel", "replace", "PNOBODY", "-w", str(drawn.root)) == 1
    assert "PNOBODY is not on the current panel" in capsys.readouterr().out
    assert drawn.store.table_counts() == before


def test_verify_replays_the_draw_and_fails_when_it_differs(
    drawn: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, "panel", "verify", "-w", str(drawn.root)) == 0
    assert "replays identically: 10 members and 6 alternates" in " ".join(capsys.readouterr().out.split())
    # a stored seed that does not produce the stored panel (as if the record had been edited)
    with drawn.store.transaction() as conn:
        drop_append_only_triggers(conn)  # an edit the database would refuse (migration 0022)
        conn.execute("UPDATE selection_draws SET seed = '43'")
    assert run(monkeypatch, "panel", "verify", "-w", str(drawn.root)) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert "does not replay" in text
    assert "the replayed panel differs" in text or "alternates (or their order) differ" in text
    audits = drawn.store.audit_records("panel.verify")
    assert [a["result"]["identical"] for a in audits] == [True, False]


def test_status_json(drawn: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, "status", "--json", "-w", str(drawn.root)) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["name"] == "Test"
    assert record["counts"]["pool_members"] == 40
    assert record["counts"]["letters"] == 60
    assert record["panel"]["members"] == 10
    assert record["panel"]["alternates_left"] == 6
    assert record["panel"]["replacements"] == 0


# -- quotas: derive to a file, edit, import ----------------------------------------------------
def test_quotas_derive_out_edit_and_import(
    drawn: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(drawn.root)
    quota_file = tmp_path / "quotas.csv"
    assert run(monkeypatch, "quotas", "derive", "--size", "10", "--out", str(quota_file), "-w", root) == 0
    derived = pd.read_csv(quota_file)
    assert list(derived.columns) == ["category", "feature", "min", "max", "population_share", "target"]
    # the registry fixture has 40 women and 40 men: target 5 each, band [4, 6]
    gender = derived[derived["category"] == "gender"].set_index("feature")
    assert gender.loc["V", ["min", "max"]].tolist() == [4, 6]
    derived.loc[(derived["category"] == "gender"), ["min", "max"]] = 5  # the edit: exactly 5 and 5
    derived.to_csv(quota_file, index=False)
    assert run(monkeypatch, "quotas", "import", str(quota_file), "--size", "10", "-w", root) == 0
    _, size, stored = drawn.store.quotas()
    assert size == 10
    assert stored[stored["category"] == "gender"][["min", "max"]].to_numpy().tolist() == [[5, 5], [5, 5]]
    assert stored["population_share"].notna().all()
    capsys.readouterr()


def test_quotas_import_bad_file_exits_1_and_stores_nothing(
    drawn: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path / "quotas.csv", ["category,feature,min,max", "gender,V,6,5", "gender,M,x,5"])
    before = drawn.store.table_counts()
    assert run(monkeypatch, "quotas", "import", str(bad), "--size", "10", "-w", str(drawn.root)) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert "quotas.csv, row 2, column 'min': min is larger than max" in text
    assert "quotas.csv, row 3, column 'min': not a whole number" in text
    unreachable = write(tmp_path / "quotas.csv", ["category,feature,min,max", "gender,V,0,4", "gender,M,0,5"])
    assert run(monkeypatch, "quotas", "import", str(unreachable), "--size", "10", "-w", str(drawn.root)) == 1
    assert "the maxima add up to 9, less than the panel size 10" in " ".join(capsys.readouterr().out.split())
    assert drawn.store.table_counts() == before


def test_verify_fails_when_the_pool_changed_since_the_draw(
    drawn: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    letters = drawn.store.letters()
    taken = set(drawn.store.pool()["letter_code"])
    late = letters[~letters["code"].isin(taken)].head(1)
    pd.DataFrame({"code": late["code"], "gender": ["V"], "age_band": ["70+"], "education": ["hoog"]}).to_csv(
        tmp_path / "late.csv", index=False
    )
    import_pool(drawn, tmp_path / "late.csv")
    assert run(monkeypatch, "panel", "verify", "-w", str(drawn.root)) == 1
    assert "(pool changed)" in " ".join(capsys.readouterr().out.split())


def test_pool_draw_when_no_alternate_fits(
    drawn: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    draw = drawn.store.latest_panel_draw()
    panel, alternates = drawn.store.current_panel(int(draw["id"]))
    _, quotas = drawn.store.quota_set(int(draw["quota_set_id"]))
    pool = drawn.store.pool()
    with drawn.store.transaction() as conn:  # every alternate has declined
        conn.execute("UPDATE panel_members SET status = 'declined' WHERE role = 'alternate'")
    before = drawn.store.table_counts()
    root = str(drawn.root)
    assert run(monkeypatch, "panel", "replace", panel[0], "-w", root) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert "there are no alternates left" in text and "--from-pool draws one" in text
    assert drawn.store.table_counts() == before
    assert run(monkeypatch, "panel", "replace", panel[0], "--from-pool", "--seed", "9", "-w", root) == 0
    new_panel, _ = drawn.store.current_panel(int(draw["id"]))
    (person_in,) = set(new_panel) - set(panel)
    assert person_in not in alternates and len(new_panel) == 10
    assert quotas_met(pool[pool["id"].isin(new_panel)], quotas)
    (audit,) = drawn.store.audit_records("panel.replace")
    assert audit["result"]["seed"] == "9" and person_in in audit["result"]["candidates"]
    # the candidates are exactly the pool members off panel and reserve who keep every quota
    rest = [p for p in panel if p != panel[0]]
    expected = sorted(
        p
        for p in pool["id"]
        if p not in panel and p not in alternates and quotas_met(pool[pool["id"].isin([*rest, p])], quotas)
    )
    assert audit["result"]["candidates"] == expected
    capsys.readouterr()


def test_second_round_with_exclude_previous_never_draws_a_first_round_member(
    drawn: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(drawn.root)
    first = drawn.store.latest_panel_draw()
    first_panel, _ = drawn.store.current_panel(int(first["id"]))
    extra = sorted(set(drawn.store.pool()["id"]) - set(first_panel))[0]  # one more, from a file
    write(tmp_path / "excluded.csv", ["id", extra])
    options = ("--exclude-previous", "--exclude", str(tmp_path / "excluded.csv"), "--alternates", "4")
    # a new round replaces the sitting panel, so it is a re-draw on the record, with its reason
    rotation = ("--redraw", "--reason", "tweede ronde van de roulerende raad")
    code = run(monkeypatch, "panel", "select", "--seed", "7", *options, *rotation, "-w", root)
    text = " ".join(capsys.readouterr().out.split())
    assert code == 0, text
    assert "11 pool member(s) excluded" in text
    second = drawn.store.latest_panel_draw()
    second_panel, second_alternates = drawn.store.current_panel(int(second["id"]))
    assert not set(second_panel + second_alternates) & {*first_panel, extra}
    assert second["parameters"]["excluded"] == sorted({*first_panel, extra})
    probabilities = drawn.store.selection_probabilities(int(second["id"]))
    assert set(probabilities.index).isdisjoint(first_panel) and probabilities.sum() == pytest.approx(10.0)
    assert run(monkeypatch, "panel", "verify", "-w", root) == 0, capsys.readouterr().out
    assert drawn.store.earlier_panel_members() == sorted({*first_panel, *second_panel})
