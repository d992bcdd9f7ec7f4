"""The use cases behind the web app's pool and quota pages: the contact workflow (search, status, notes,
history) and the quota editor (a proposal not stored, the pre-draw diagnosis, an edited table stored)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kleroterion.app.contacts import contact_record, search_pool, set_contact_status
from kleroterion.app.pool import import_pool
from kleroterion.app.quotas import diagnose_quotas, propose_quotas, save_quota_table
from kleroterion.errors import InfeasibleQuotaError, InputError, KleroError
from kleroterion.workspace import Workspace
from tests.kleroterion.app.conftest import signup_sheet, stored


@pytest.fixture
def pooled(lettered: Workspace, tmp_path: Path) -> Workspace:
    """Ten sign-ups of the twenty letters (gender as in the registry, age band 40-54)."""
    import_pool(lettered, signup_sheet(lettered, tmp_path / "signups.csv"))
    return lettered


def test_the_pool_is_searched_by_code_and_name(pooled: Workspace) -> None:
    pool = pooled.store.pool()
    recipients = pooled.store.letter_recipients().set_index("code")
    code = str(pool["letter_code"].iloc[0])
    page = search_pool(pooled, code)
    assert [p["letter_code"] for p in page.people] == [code]
    assert page.people[0]["name"] == f"{recipients.loc[code, 'given_names']} {recipients.loc[code, 'surname']}"
    assert page.people[0]["status"] == "aangemeld"  # no change recorded yet
    everyone = search_pool(pooled, "")
    assert (everyone.matched, everyone.total) == (10, 10)
    surname = str(recipients.loc[code, "surname"])  # Achternaam<i>: a prefix of others (Achternaam1 -> 10..19)
    by_name = {p["letter_code"] for p in search_pool(pooled, surname).people}
    assert by_name == {c for c in pool["letter_code"] if surname in str(recipients.loc[c, "surname"])}
    assert search_pool(pooled, "geen-zo-iemand").people == []


def test_a_status_change_is_kept_with_who_and_when(pooled: Workspace) -> None:
    person = str(pooled.store.pool()["id"].iloc[0])
    pooled.store.actor = "web:piet"
    set_contact_status(pooled, person, status="gebeld", note="  voicemail  ")
    pooled.store.actor = "web:anna"
    record = set_contact_status(pooled, person, status="bevestigd")
    assert [(h["status"], h["note"], h["changed_by"]) for h in record.history] == [
        ("bevestigd", "", "web:anna"),
        ("gebeld", "voicemail", "web:piet"),
    ]
    assert record.person["status"] == "bevestigd"
    audit = [r for r in pooled.store.audit_records() if r["action"] == "pool.contact"]
    assert [(r["actor"], r["parameters"]["status"]) for r in audit] == [
        ("web:piet", "gebeld"),
        ("web:anna", "bevestigd"),
    ]
    assert "voicemail" not in str(audit)


def test_a_bad_status_or_note_or_person_is_refused_and_nothing_kept(pooled: Workspace) -> None:
    person = str(pooled.store.pool()["id"].iloc[0])
    with pytest.raises(InputError) as bad:
        set_contact_status(pooled, person, status="verhuisd", note="x" * 2001)
    assert [(p.column, p.value) for p in bad.value.problems] == [("status", "verhuisd"), ("note", 2001)]
    with pytest.raises(KleroError, match="is not in the pool"):
        set_contact_status(pooled, "P-onbekend", status="gebeld")
    with pytest.raises(KleroError, match="is not in the pool"):
        contact_record(pooled, "P-onbekend")
    assert contact_record(pooled, person).history == []


def test_a_proposal_is_what_derive_would_store_and_is_not_stored(registered: Workspace) -> None:
    proposal = propose_quotas(registered, size=16, tolerance=0.0)
    assert stored(registered, "quota_sets") == {"quota_sets": 0}
    # as test_quotas.py reads the 80 residents by hand: gender 8 + 8, age bands 3, 5, 6, 2; wijk unknown 16
    targets = {(r.category, r.feature): round(r.target, 9) for r in proposal.itertuples(index=False)}
    assert targets == {
        ("gender", "M"): 8,
        ("gender", "V"): 8,
        ("age_band", "25-39"): 3,
        ("age_band", "40-54"): 5,
        ("age_band", "55-69"): 6,
        ("age_band", "70+"): 2,
        ("wijk", "(onbekend)"): 16,
    }


def table(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["category", "feature", "min", "max"])
    frame.index = range(1, len(frame) + 1)
    return frame


def test_the_diagnosis_names_bounds_and_pool_conflicts(pooled: Workspace) -> None:
    from kleroterion.pool_files import quotas_from_frame

    # the pool: 10 people, 5 M and 5 V (letters alternate), all 40-54
    feasible = quotas_from_frame(table([("gender", "M", "2", "4"), ("gender", "V", "2", "4")]), source="t")
    assert diagnose_quotas(pooled, feasible, size=6).feasible
    bounds = quotas_from_frame(table([("gender", "M", "5", "6"), ("gender", "V", "5", "6")]), source="t")
    found = diagnose_quotas(pooled, bounds, size=6)
    assert found.conflicts == ("gender: the minima add up to 10, more than the panel size 6",)
    assert found.relaxation == {"gender": "lower the minima by 4 in total"}
    short = quotas_from_frame(table([("age_band", "40-54", "0", "6"), ("age_band", "25-39", "1", "6")]), source="t")
    pool = diagnose_quotas(pooled, short, size=6)
    assert pool.conflicts == ("age_band=25-39: minimum 1 but only 0 in the pool",)
    assert pool.pool_size == 10


def test_an_edited_table_is_stored_or_refused_whole(pooled: Workspace) -> None:
    with pytest.raises(InputError) as bad:
        save_quota_table(pooled, table([("gender", "M", "drie", "4"), ("gender", "V", "5", "2")]), size=6)
    assert [(p.row, p.column) for p in bad.value.problems] == [(1, "min"), (2, "min")]
    with pytest.raises(InfeasibleQuotaError):
        save_quota_table(pooled, table([("gender", "M", "5", "6"), ("gender", "V", "5", "6")]), size=6)
    assert stored(pooled, "quota_sets") == {"quota_sets": 0}
    out = save_quota_table(pooled, table([("gender", "M", "2", "4"), ("gender", "V", "2", "4")]), size=6)
    set_id, size, quotas = pooled.store.quotas()
    assert (set_id, size) == (out.quota_set_id, 6)
    assert list(zip(quotas["feature"], quotas["min"], quotas["max"], strict=True)) == [("M", 2, 4), ("V", 2, 4)]
    assert [r["parameters"] for r in pooled.store.audit_records() if r["action"] == "quotas.edit"] == [
        {"size": 6, "rows": 2}
    ]


def test_the_pool_is_filtered_by_the_current_contact_status(pooled: Workspace) -> None:
    ids = [str(p) for p in pooled.store.pool()["id"]]
    set_contact_status(pooled, ids[0], status="gebeld")
    set_contact_status(pooled, ids[0], status="afgemeld")  # the newest change counts
    set_contact_status(pooled, ids[1], status="gebeld")
    assert [p["id"] for p in search_pool(pooled, status="afgemeld").people] == [ids[0]]
    assert [p["id"] for p in search_pool(pooled, status="gebeld").people] == [ids[1]]
    assert search_pool(pooled, status="aangemeld").matched == len(ids) - 2
    with pytest.raises(InputError):
        search_pool(pooled, status="verhuisd")
