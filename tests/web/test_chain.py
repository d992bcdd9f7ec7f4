"""The sortition chain's pages by plain HTTP: letters, pool (import, search, contact workflow), quotas
(editor and live diagnosis), panel selection, the transparent lottery, replacements and exports.

Each page's happy path and its error path (a bad form, a bad upload, infeasible quotas, a cancelled
job); what is stored is read back through the workspace, never through the page that wrote it.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook
from starlette.applications import Starlette

from kleroterion.workspace import Workspace
from sortition.progress import Cancel, Progress
from tests.conftest import copy_workspace
from tests.web import chain_data
from tests.web.conftest import PROCESS, TestClient, csrf_token

WAIT = 120.0


@pytest.fixture(scope="session")
def stages(processes: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The test process after each stage (registered, lettered, pooled), made once per session."""
    base = tmp_path_factory.mktemp("chain-stages")
    made = {}
    for name, build in (
        ("registered", chain_data.registered),
        ("lettered", chain_data.lettered),
        ("pooled", chain_data.pooled),
    ):
        folder = base / name
        copy_workspace(processes / PROCESS, folder)
        build(folder)
        made[name] = folder
    return made


def at_stage(root: Path, stages: dict[str, Path], stage: str) -> Path:
    """Put the process of the serve root at ``stage``."""
    shutil.rmtree(root / PROCESS)
    copy_workspace(stages[stage], root / PROCESS)
    return root / PROCESS


def post(client: TestClient, path: str, data: dict[str, Any] | list[tuple[str, str]], **kwargs: Any) -> Any:
    token = csrf_token(client.get("/account/password").text)
    body: dict[str, Any] = {}
    for key, value in data if isinstance(data, list) else data.items():
        if isinstance(data, list):
            body.setdefault(key, []).append(value)  # repeated fields, in order
        else:
            body[key] = value
    body["csrf_token"] = token
    return client.post(path, data=body, follow_redirects=False, **kwargs)


def finished(app: Starlette, client: TestClient, response: Any) -> str:
    assert response.status_code == 303, response.text
    app.state.jobs.join(WAIT)
    return str(client.get(response.headers["location"]).text)


def counts(folder: Path) -> dict[str, int]:
    with Workspace.open(folder) as ws:
        return {k: int(v) for k, v in ws.store.table_counts().items()}


def audit_actions(folder: Path) -> list[tuple[str, str]]:
    with Workspace.open(folder) as ws:
        return [(r["action"], r["actor"]) for r in ws.store.audit_records()]


# -- letters ------------------------------------------------------------------------------------
def test_a_wave_of_letters_is_drawn_by_a_job_and_listed(
    app: Starlette, root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "registered")
    client = client_for("mede")
    assert "Nog geen brieven getrokken." in client.get(f"/p/{PROCESS}/letters").text
    form = {"count": "60", "stratify_by": "wijk", "min_age": "16", "seed": "7", "oversample": "", "topup": ""}
    page = finished(app, client, post(client, f"/p/{PROCESS}/letters", form))
    assert "Klaar" in page
    with Workspace.open(folder) as ws:
        letters = ws.store.letters()
        draws = ws.store.letter_draw_records()
    assert len(letters) == 60 and letters["address_key"].is_unique
    assert [(d.seed, d.parameters["stratify_by"]) for d in draws] == [("7", "wijk")]
    assert ("letters.draw", "web:mede") in audit_actions(folder)
    listing = client.get(f"/p/{PROCESS}/letters").text
    assert re.search(r'<td class="num">1</td>.*<td class="num">60</td>', listing, re.S)
    assert f'href="/p/{PROCESS}/exports/letters.xlsx"' in listing


def test_a_bad_letters_form_names_each_field_and_draws_nothing(
    root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "registered")
    client = client_for("mede")
    form = {"count": "zestig", "min_age": "-1", "seed": "x", "stratify_by": "postcode", "topup": "", "oversample": ""}
    response = post(client, f"/p/{PROCESS}/letters", form)
    assert response.status_code == 400
    for field_id in ("count", "min_age", "seed", "stratify_by"):
        assert f'href="#{field_id}"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert counts(folder).get("letters", 0) == 0


def test_a_bad_oversample_fails_the_job_with_the_clis_message(
    app: Starlette, root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "registered")
    client = client_for("mede")
    form = {"count": "40", "min_age": "16", "seed": "", "stratify_by": "", "topup": "", "oversample": "wijk=WK01"}
    page = finished(app, client, post(client, f"/p/{PROCESS}/letters", form))
    assert "Mislukt" in page and "--oversample" in page and "COLUMN=VALUE:FACTOR" in page
    assert counts(folder).get("letters", 0) == 0


def test_letters_without_a_registry_fail_and_say_what_to_do(
    app: Starlette, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    form = {"count": "10", "min_age": "16", "seed": "", "stratify_by": "", "topup": "", "oversample": ""}
    page = finished(app, client, post(client, f"/p/{PROCESS}/letters", form))
    assert "Mislukt" in page and "registry import" in page


# -- exports ------------------------------------------------------------------------------------
def test_the_mail_merge_list_downloads_as_the_cli_writes_it(
    root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "lettered")
    client = client_for("mede")
    response = client.get(f"/p/{PROCESS}/exports/letters.xlsx")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="{PROCESS}-letters.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("code", "voornamen", "voorvoegsel", "geslachtsnaam")
    with Workspace.open(folder) as ws:
        codes = set(ws.store.letters()["code"])
    assert {r[0] for r in rows[1:]} == codes
    csv = client.get(f"/p/{PROCESS}/exports/letters.csv")
    frame = pd.read_csv(io.BytesIO(csv.content), sep=None, engine="python", encoding="cp1252", dtype=str)
    assert set(frame["code"]) == codes
    assert ("export", "web:mede") in [(a.split(".")[0], who) for a, who in audit_actions(folder)]


def test_an_export_that_cannot_be_made_says_why(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    response = client.get(f"/p/{PROCESS}/exports/panel.csv")
    assert response.status_code == 400
    assert "klero panel select" in response.text
    assert client.get(f"/p/{PROCESS}/exports/residents.csv").status_code == 404
    assert client.get(f"/p/{PROCESS}/exports/letters.pdf").status_code == 404


# -- pool ---------------------------------------------------------------------------------------
def upload_signups(client: TestClient, name: str, content: bytes, conflicts: str = "") -> Any:
    token = csrf_token(client.get(f"/p/{PROCESS}/pool/import").text)
    return client.post(
        f"/p/{PROCESS}/pool/import",
        data={"csrf_token": token, "conflicts": conflicts},
        files={"file": (name, content, "text/csv")},
        follow_redirects=False,
    )


def test_a_signup_sheet_is_imported_by_a_job(
    app: Starlette, root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "lettered")
    with Workspace.open(folder) as ws:
        sheet = chain_data.signups_frame(ws)
    client = client_for("mede")
    page = finished(app, client, upload_signups(client, "aanmeldingen.csv", sheet.to_csv(index=False).encode()))
    assert "Klaar" in page and f"{len(sheet)} new, 0 already in the pool" in page
    assert counts(folder)["pool_members"] == len(sheet)
    again = finished(app, client, upload_signups(client, "aanmeldingen.csv", sheet.to_csv(index=False).encode()))
    assert f"0 new, {len(sheet)} already in the pool" in again


def test_a_bad_signup_sheet_lists_every_problem_and_stores_nothing(
    app: Starlette, root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "lettered")
    with Workspace.open(folder) as ws:
        sheet = chain_data.signups_frame(ws)
    sheet.loc[2, "code"] = "NIETBESTAAND"  # file row 4 (the header is row 1)
    sheet.loc[5, "gender"] = "Q"  # file row 7
    client = client_for("mede")
    page = finished(app, client, upload_signups(client, "aanmeldingen.csv", sheet.to_csv(index=False).encode()))
    assert "Niets opgeslagen" in page
    rows = re.findall(r"<tr><td>aanmeldingen.csv</td><td class=\"num\">(\d+)</td><td>([^<]*)</td>", page)
    assert ("4", "code") in rows and ("7", "gender") in rows
    assert counts(folder).get("pool_members", 0) == 0


def test_a_wrong_file_is_refused_on_the_pool_form(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    refused = upload_signups(client, "aanmeldingen.pdf", b"%PDF-1.7")
    assert refused.status_code == 400 and 'href="#file"' in refused.text
    disguised = upload_signups(client, "aanmeldingen.csv", b"\x00\x01binary")
    assert disguised.status_code == 400 and "De inhoud past niet bij de extensie" in disguised.text
    odd = upload_signups(client, "aanmeldingen.csv", b"code,gender\nA,M\n", conflicts="both")
    assert odd.status_code == 400 and 'href="#conflicts"' in odd.text


def test_the_pool_is_searched_by_code_name_and_wijk(
    root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "pooled")
    with Workspace.open(folder) as ws:
        pool = ws.store.pool()
        names = ws.store.letter_recipients().set_index("code")
        wijken = ws.store.letters().set_index("code")["wijk"]
    code = str(pool["letter_code"].iloc[3])
    surname = str(names.loc[code, "surname"])
    client = client_for("mede")
    everyone = client.get(f"/p/{PROCESS}/pool").text
    assert f"{len(pool)} aanmeldingen in de pool." in everyone
    by_code = client.get(f"/p/{PROCESS}/pool", params={"q": code}).text
    assert re.findall(r"<code>([A-Z0-9-]+)</code></a>", by_code) == [code]
    by_name = client.get(f"/p/{PROCESS}/pool", params={"q": surname}).text
    expected = {c for c in pool["letter_code"] if surname.lower() in str(names.loc[c, "surname"]).lower()}
    assert set(re.findall(r"<code>([A-Z0-9-]+)</code></a>", by_name)) == expected
    wijk = "WK189403"
    by_wijk = client.get(f"/p/{PROCESS}/pool", params={"q": wijk}).text
    in_wijk = {c for c in pool["letter_code"] if wijken[c] == wijk}
    assert set(re.findall(r"<code>([A-Z0-9-]+)</code></a>", by_wijk)) == in_wijk
    assert "Niets gevonden." in client.get(f"/p/{PROCESS}/pool", params={"q": "zzz-geen"}).text


def test_the_contact_workflow_keeps_who_changed_what_when(
    root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "pooled")
    with Workspace.open(folder) as ws:
        person = str(ws.store.pool()["id"].iloc[0])
    mede, beheer = client_for("mede"), client_for("beheer")
    path = f"/p/{PROCESS}/pool/people/{person}"
    assert "Nog geen wijzigingen." in mede.get(path).text
    assert post(mede, path, {"status": "gebeld", "note": "voicemail ingesproken"}).status_code == 303
    assert post(beheer, path, {"status": "bevestigd", "note": "komt op 12 maart"}).status_code == 303
    with Workspace.open(folder) as ws:
        history = ws.store.contact_history(person)
        audit = [r for r in ws.store.audit_records() if r["action"] == "pool.contact"]
    assert [(h["status"], h["changed_by"], h["note"]) for h in history] == [
        ("bevestigd", "web:beheer", "komt op 12 maart"),
        ("gebeld", "web:mede", "voicemail ingesproken"),
    ]
    assert [r["actor"] for r in audit] == ["web:mede", "web:beheer"]
    assert all("maart" not in str(r) and "voicemail" not in str(r) for r in audit)  # notes stay out of the log
    page = mede.get(path).text
    assert page.index("komt op 12 maart") < page.index("voicemail ingesproken")
    assert "<strong>bevestigd</strong>" in page
    listing = mede.get(f"/p/{PROCESS}/pool").text
    assert "bevestigd" in listing and "web:beheer" in listing
    with Workspace.open(folder) as ws:
        pool = ws.store.pool()
    code = str(pool.loc[pool["id"] == person, "letter_code"].iloc[0])
    confirmed = mede.get(f"/p/{PROCESS}/pool", params={"status": "bevestigd"}).text
    assert re.findall(r"<code>([A-Z0-9-]+)</code></a>", confirmed) == [code]
    waiting = mede.get(f"/p/{PROCESS}/pool", params={"status": "aangemeld"}).text
    assert f"{len(pool) - 1} van {len(pool) - 1} gevonden" in waiting and f"<code>{code}</code>" not in waiting
    assert "Niets gevonden." in mede.get(f"/p/{PROCESS}/pool", params={"status": "gebeld"}).text


def test_a_bad_contact_change_is_refused_on_the_page(
    root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "pooled")
    with Workspace.open(folder) as ws:
        person = str(ws.store.pool()["id"].iloc[0])
    client = client_for("mede")
    path = f"/p/{PROCESS}/pool/people/{person}"
    refused = post(client, path, {"status": "verhuisd", "note": "x" * 2001})
    assert refused.status_code == 400 and 'href="#status"' in refused.text and 'href="#note"' in refused.text
    assert client.get(f"/p/{PROCESS}/pool/people/P-unknown").status_code == 404
    assert post(client, f"/p/{PROCESS}/pool/people/P-unknown", {"status": "gebeld"}).status_code == 404
    with Workspace.open(folder) as ws:
        assert ws.store.contact_history(person) == []


def test_the_purge_empties_the_notes_and_an_erasure_removes_them(
    root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    """Notes are personal data: the purge (`klero purge`) empties them with the contact details (migration
    0031's trigger), and erasing a person (`klero person erase`) deletes their rows with their sign-up."""
    from datetime import date

    from kleroterion.app.privacy import erase_person, purge

    folder = at_stage(root, stages, "pooled")
    with Workspace.open(folder) as ws:
        pool = ws.store.pool()
        first, second = (str(p) for p in pool["id"].iloc[:2])
        ws.store.save_contact_status(first, "gebeld", "belt terug na 18 uur")
        ws.store.save_contact_status(second, "afgemeld", "ziek")
        erase_person(ws, str(pool["letter_code"].iloc[1]))  # no draw refers to it: the sign-up goes
        assert ws.store.contact_history(second) == []
        assert [h["note"] for h in ws.store.contact_history(first)] == ["belt terug na 18 uur"]
        purge(ws, today=date(2030, 1, 1), reason="test: the process ended")
        assert [(h["status"], h["note"]) for h in ws.store.contact_history(first)] == [("gebeld", "")]


# -- quotas -------------------------------------------------------------------------------------
def quota_rows(html: str) -> list[tuple[str, str, str, str]]:
    """(category, feature, min, max) of each row of the editor."""
    cats = re.findall(r'name="category" value="([^"]*)"', html)
    feats = re.findall(r'name="feature" value="([^"]*)"', html)
    mins = re.findall(r'name="min" type="text" inputmode="numeric" class="cell" value="([^"]*)"', html)
    maxs = re.findall(r'name="max" type="text" inputmode="numeric" class="cell" value="([^"]*)"', html)
    return list(zip(cats, feats, mins, maxs, strict=True))


def quota_form(rows: list[tuple[str, str, str, str]], size: int | str) -> list[tuple[str, str]]:
    data = [("size", str(size))]
    for category, feature, low, high in rows:
        data += [("category", category), ("feature", feature), ("min", low), ("max", high)]
        data += [("population_share", ""), ("target", "")]
    return data


def wijk_shares() -> list[float]:
    """Each wijk's share, by hand from the extract, of the residents aged 16 or more on the reference date
    without the restricted-data flag (wijk order)."""
    extract = pd.read_csv(io.BytesIO(chain_data.registry_csv()), sep=";", dtype=str, encoding="cp1252")
    born = extract["geboortedatum"].astype(int)
    adult = (20240101 - born) // 10000 >= 16
    eligible = extract[adult & (extract["geheimhouding"] != "J")]
    return [float(s) for s in eligible["wijkcode"].value_counts(normalize=True).sort_index()]


def wijk_bounds(size: int) -> list[tuple[str, str]]:
    """The wijk quotas by hand: target = size x share, a band of 1 around it (floor below, ceiling above),
    as DOMAIN.md describes ``klero quotas derive``."""
    return [(str(math.floor(size * s - 1)), str(math.ceil(size * s + 1))) for s in wijk_shares()]


def test_the_editor_proposes_population_quotas_and_stores_them(
    root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "pooled")
    client = client_for("mede")
    page = client.get(f"/p/{PROCESS}/quotas", params={"size": "12"}).text
    assert "Een voorstel naar bevolkingsaandeel voor een panel van 12" in page
    assert 'hx-post="/p/burgerberaad/quotas/check"' in page
    rows = quota_rows(page)
    assert {("wijk", "WK189401"), ("wijk", "WK189403")} <= {(c, f) for c, f, _, _ in rows}
    assert [(lo, hi) for c, _, lo, hi in rows if c == "wijk"] == wijk_bounds(12)
    for share in wijk_shares():  # the population share and the target, with a Dutch decimal comma
        assert f"{share * 100:.1f}%".replace(".", ",") in page and f"{share * 12:.1f}".replace(".", ",") in page
    assert "Geen tegenstrijdigheid gevonden met de huidige pool (60 mensen)." in page
    saved = post(client, f"/p/{PROCESS}/quotas", quota_form(rows, 12))
    assert saved.status_code == 200 and "Quotaset 1 opgeslagen" in saved.text
    with Workspace.open(folder) as ws:
        set_id, size, quotas = ws.store.quotas()
    assert (set_id, size) == (1, 12)
    assert sorted(
        zip(quotas["category"], quotas["feature"], quotas["min"].astype(str), quotas["max"].astype(str), strict=True)
    ) == sorted(rows)
    again = client.get(f"/p/{PROCESS}/quotas").text
    assert "De opgeslagen quota voor een panel van 12." in again


def test_the_live_diagnosis_names_the_quotas_that_cannot_be_met(
    root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    at_stage(root, stages, "pooled")
    client = client_for("mede")
    rows = quota_rows(client.get(f"/p/{PROCESS}/quotas", params={"size": "12"}).text)
    # the minima of wijk add up to more than the panel: the bounds check of `klero panel select`
    too_many = [(c, f, "9" if c == "wijk" else lo, "9" if c == "wijk" else hi) for c, f, lo, hi in rows]
    answer = post(client, f"/p/{PROCESS}/quotas/check", quota_form(too_many, 12))
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<div class="diagnosis diagnosis-bad">')  # the live region's content
    assert "Deze quota zijn niet haalbaar" in answer.text
    assert "wijk: the minima add up to 18, more than the panel size 12" in answer.text
    assert "lower the minima by 6 in total" in answer.text
    # a minimum larger than the pool holds: the pool check
    with Workspace.open(root / PROCESS) as ws:
        bands = ws.store.pool()["age_band"].value_counts()
    band, have = str(bands.idxmin()), int(bands.min())
    assert have + 1 <= 12
    pool_short = [
        (c, f, str(have + 1) if f == band else ("0" if c == "age_band" else lo), "12" if c == "age_band" else hi)
        for c, f, lo, hi in rows
    ]
    short = post(client, f"/p/{PROCESS}/quotas/check", quota_form(pool_short, 12)).text
    assert f"age_band={band}: minimum {have + 1} but only {have} in the pool" in short
    assert f"age_band={band}: min {have}" in short
    # a cell that is not a number: its row and column
    bad = [*rows]
    bad[1] = (bad[1][0], bad[1][1], "twee", bad[1][3])
    cells = post(client, f"/p/{PROCESS}/quotas/check", quota_form(bad, 12)).text
    assert "rij 2, min: not a whole number" in cells


def test_infeasible_quotas_are_not_stored(
    root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "pooled")
    client = client_for("mede")
    rows = quota_rows(client.get(f"/p/{PROCESS}/quotas", params={"size": "12"}).text)
    too_many = [(c, f, "9" if c == "wijk" else lo, "9" if c == "wijk" else hi) for c, f, lo, hi in rows]
    refused = post(client, f"/p/{PROCESS}/quotas", quota_form(too_many, 12))
    assert refused.status_code == 400
    assert "De quota zijn niet opgeslagen" in refused.text or 'href="#size"' in refused.text
    assert "the minima add up to 18" in refused.text
    bad = [*rows]
    bad[0] = (bad[0][0], bad[0][1], bad[0][2], "-3")
    cell = post(client, f"/p/{PROCESS}/quotas", quota_form(bad, 12))
    assert cell.status_code == 400 and 'href="#max-1"' in cell.text and 'id="max-1-error"' in cell.text
    assert post(client, f"/p/{PROCESS}/quotas", quota_form(rows, "twaalf")).status_code == 400
    assert counts(folder).get("quota_sets", 0) == 0


# -- panel, lottery, replacements ---------------------------------------------------------------
@pytest.fixture
def with_quotas(root: Path, stages: dict[str, Path]) -> Path:
    """The pooled process with the proportional quotas for a panel of 12 stored."""
    from kleroterion.app.quotas import derive_workspace_quotas

    folder = at_stage(root, stages, "pooled")
    with Workspace.open(folder) as ws:
        derive_workspace_quotas(ws, size=12)
    return folder


def select_form(**given: str) -> dict[str, str]:
    form = {"algorithm": "maximin", "engine": "native", "seed": "5", "alternates": "4", "lottery_size": ""}
    return {**form, "reason": "", "exclude_previous": "", **given}


def test_a_panel_is_selected_by_a_job_and_verified(
    app: Starlette, with_quotas: Path, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    page = finished(app, client, post(client, f"/p/{PROCESS}/panel/select", select_form()))
    assert "Klaar" in page and "12 van 60 geloot (loting 1); 4 reserves." in page
    assert "Kleinste selectiekans" in page and f'href="/p/{PROCESS}/panel/verify"' in page
    with Workspace.open(with_quotas) as ws:
        record = ws.store.latest_panel_record()
        sitting, alternates = ws.store.current_panel(int(record.draw_id or 0))
    assert (len(sitting), len(alternates), record.seed, record.algorithm) == (12, 4, 5, "maximin")
    panel = client_for("audit").get(f"/p/{PROCESS}/panel").text  # the auditor reads the panel
    assert all(f"<code>{pid}</code>" in panel for pid in sitting)
    assert "Gini" in panel
    verified = client_for("audit").get(f"/p/{PROCESS}/panel/verify")
    assert verified.status_code == 200 and "komt precies overeen: 12 leden en 4 reserves" in verified.text
    assert ("panel.verify", "web:audit") in audit_actions(with_quotas)
    export = client.get(f"/p/{PROCESS}/exports/panel.csv")
    frame = pd.read_csv(io.BytesIO(export.content), sep=None, engine="python", encoding="cp1252", dtype=str)
    assert sorted(frame.loc[frame["status"] == "lid", "deelnemer_id"]) == sorted(sitting)
    assert list(frame.loc[frame["status"] == "reserve", "deelnemer_id"]) == alternates
    again = post(client, f"/p/{PROCESS}/panel/select", select_form())
    refused = finished(app, client, again)
    assert "Mislukt" in refused and "A panel was already drawn" in refused


def test_a_bad_selection_form_is_refused_and_infeasible_quotas_fail_the_job(
    app: Starlette, root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "pooled")
    client = client_for("mede")
    bad = post(client, f"/p/{PROCESS}/panel/select", select_form(algorithm="random", alternates="-1", seed="s"))
    assert bad.status_code == 400
    assert all(f'href="#{f}"' in bad.text for f in ("algorithm", "alternates", "seed"))
    from kleroterion.app.quotas import save_quota_table

    with Workspace.open(folder) as ws:
        bands = ws.store.pool()["age_band"].value_counts()
        band, have = str(bands.idxmin()), int(bands.min())
        others = [str(b) for b in bands.index if str(b) != band]
        table = pd.DataFrame(
            {
                "category": ["age_band"] * len(bands),
                "feature": [band, *others],
                "min": [str(have + 1)] + ["0"] * len(others),
                "max": ["12"] * len(bands),
            },
            index=range(1, len(bands) + 1),
        )
        save_quota_table(ws, table, size=12)  # stored as a quota file would be: the draw's checks refuse it
    page = finished(app, client, post(client, f"/p/{PROCESS}/panel/select", select_form()))
    assert "Mislukt" in page and "The pool cannot meet the quotas" in page
    assert f"age_band={band}: minimum {have + 1} but only {have} in the pool" in page
    assert counts(folder).get("selection_draws", 0) == 0


def test_a_cancelled_selection_stores_nothing(
    app: Starlette, with_quotas: Path, client_for: Callable[[str], TestClient]
) -> None:
    started, release = threading.Event(), threading.Event()

    def blocker(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        started.set()
        release.wait(WAIT)
        return {}

    app.state.jobs.submit(kind="registry.import", process=PROCESS, owner="mede", work=blocker)
    assert started.wait(WAIT)
    client = client_for("mede")
    response = post(client, f"/p/{PROCESS}/panel/select", select_form())
    job_page = client.get(response.headers["location"]).text
    assert "In de wachtrij" in job_page
    cancel = post(client, response.headers["location"] + "/cancel", {})
    assert cancel.status_code == 303
    release.set()
    app.state.jobs.join(WAIT)
    final = client.get(response.headers["location"]).text
    assert "Geannuleerd" in final and "er is niets opgeslagen" in final
    assert counts(with_quotas).get("selection_draws", 0) == 0


def test_a_selection_cancelled_while_it_runs_stores_nothing(
    app: Starlette, with_quotas: Path, client_for: Callable[[str], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel pressed while the panel is being computed: the job stops at its next step, before storing."""
    from kleroterion.app import panel as panel_cases

    computing, release = threading.Event(), threading.Event()
    real = panel_cases.end_to_end_record

    def slow(*args: Any, **kwargs: Any) -> Any:  # the step between the draw and storing it
        computing.set()
        release.wait(WAIT)
        return real(*args, **kwargs)

    monkeypatch.setattr(panel_cases, "end_to_end_record", slow)
    client = client_for("mede")
    response = post(client, f"/p/{PROCESS}/panel/select", select_form())
    assert computing.wait(WAIT)
    running = client.get(response.headers["location"]).text
    assert "Bezig" in running and "Annuleren" in running
    assert post(client, response.headers["location"] + "/cancel", {}).status_code == 303
    release.set()
    app.state.jobs.join(WAIT)
    final = client.get(response.headers["location"]).text
    assert "Geannuleerd" in final and "er is niets opgeslagen" in final
    assert counts(with_quotas).get("selection_draws", 0) == 0


def test_the_transparent_lottery_is_published_and_drawn_by_the_public_number(
    app: Starlette, with_quotas: Path, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    assert "Er is nog geen transparante loting gemaakt." in client.get(f"/p/{PROCESS}/lottery").text
    page = finished(app, client, post(client, f"/p/{PROCESS}/panel/select", select_form(lottery_size="50")))
    assert "Loting 1: 50 genummerde panels" in page
    tickets = client_for("audit").get(f"/p/{PROCESS}/lottery/tickets")
    assert tickets.status_code == 200 and "attachment" in tickets.headers["content-disposition"]
    published = pd.read_csv(io.BytesIO(tickets.content), dtype=str)
    assert list(published["number"].astype(int)) == list(range(1, 51))
    lottery = client.get(f"/p/{PROCESS}/lottery").text
    assert "Trekken op het publieke nummer" in lottery
    wrong = post(client, f"/p/{PROCESS}/lottery", {"number": "51"})
    assert (
        wrong.status_code == 400 and "give a whole number from 1 to 50" in wrong.text and 'href="#number"' in wrong.text
    )
    drawn = post(client, f"/p/{PROCESS}/lottery", {"number": "17"})
    assert drawn.status_code == 200 and "Nummer 17 van 50" in drawn.text
    ticket_17 = set(published.loc[published["number"] == "17"].iloc[0, 1:].dropna())
    ticket_17 = {p for cell in ticket_17 for p in re.split(r"[ ;,]+", cell) if p}
    with Workspace.open(with_quotas) as ws:
        record = ws.store.latest_panel_record()
    assert set(record.panel) == ticket_17 and record.number == 17
    assert "Het panel van deze loting is vastgelegd." in client.get(f"/p/{PROCESS}/lottery").text


def test_a_member_who_withdraws_is_replaced_by_the_next_alternate(
    app: Starlette, with_quotas: Path, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    finished(app, client, post(client, f"/p/{PROCESS}/panel/select", select_form(alternates="20")))
    with Workspace.open(with_quotas) as ws:
        draw_id = int(ws.store.latest_panel_record().draw_id or 0)
        sitting, alternates = ws.store.current_panel(draw_id)
        _, _, quotas = ws.store.quotas()
        pool = ws.store.pool().set_index("id")
    form = client.get(f"/p/{PROCESS}/panel/replace").text
    assert all(f'value="{pid}"' in form for pid in sitting)
    categories = list(dict.fromkeys(quotas["category"]))
    profile = {pid: tuple(pool.loc[pid, categories]) for pid in pool.index}
    # a member with an alternate of the very same profile: that alternate surely keeps the quotas, so the
    # replacement is it or an alternate before it in order
    leaving, twin = next((m, a) for m in sitting for a in alternates if profile[a] == profile[m])
    done = post(client, f"/p/{PROCESS}/panel/replace", {"person": leaving, "reason": "verhuisd"})
    assert done.status_code == 200
    with Workspace.open(with_quotas) as ws:
        now_sitting, _ = ws.store.current_panel(draw_id)
        (replacement,) = ws.store.replacements(draw_id)
    person_in = replacement["person_in"]
    assert leaving not in now_sitting and person_in in now_sitting
    assert alternates.index(person_in) <= alternates.index(twin)
    assert replacement["reason"] == "verhuisd"
    assert f"{leaving} is vervangen door {person_in}" in done.text
    for row in quotas.itertuples(index=False):  # the panel after the replacement, counted by hand
        seated = sum(1 for pid in now_sitting if str(pool.loc[pid, row.category]) == str(row.feature))
        assert row.min <= seated <= row.max, row
    assert ("panel.replace", "web:mede") in audit_actions(with_quotas)
    again = post(client, f"/p/{PROCESS}/panel/replace", {"person": leaving})
    assert again.status_code == 400 and 'href="#person"' in again.text
    assert post(client, f"/p/{PROCESS}/panel/replace", {"person": ""}).status_code == 400


def test_the_overview_lists_the_chain_steps_in_order(client_for: Callable[[str], TestClient]) -> None:
    page = client_for("mede").get(f"/p/{PROCESS}").text
    steps = re.findall(r'<li><a href="/p/burgerberaad/([a-z/]+)">', page.split('id="chain-steps-title"')[1])
    assert steps == [
        "registry",
        "letters",
        "pool",
        "quotas",
        "panel/select",
        "lottery",
        "panel",
        "panel/replace",
        "exports",
    ]
    auditor = client_for("audit").get(f"/p/{PROCESS}").text
    assert f'href="/p/{PROCESS}/letters"' not in auditor and f'href="/p/{PROCESS}/panel"' in auditor


@pytest.mark.parametrize(
    ("family", "members"),
    [
        ("contact", ("aangemeld", "gebeld", "bevestigd", "afgemeld")),
        ("panelstatus", ("lid", "vervanger", "reserve", "vervangen")),
        ("exports", ("letters", "panel", "control")),
        ("kind", ("letters.draw", "pool.import", "panel.select")),
    ],
)
def test_every_member_of_a_chain_key_family_exists(family: str, members: tuple[str, ...]) -> None:
    from kleroterion.lists import PANEL_STATUS
    from kleroterion.store.contacts import CONTACT_STATUSES
    from kleroterion.web.messages import MESSAGES

    assert all(f"{family}.{member}" in MESSAGES for member in members)
    assert set(CONTACT_STATUSES) == {"aangemeld", "gebeld", "bevestigd", "afgemeld"}
    assert set(PANEL_STATUS.values()) == {"lid", "vervanger", "reserve", "vervangen"}


def test_the_chain_pages_speak_english_after_the_switch(
    root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    at_stage(root, stages, "pooled")
    client = client_for("mede")
    client.get("/lang/en", params={"next": f"/p/{PROCESS}/quotas"})
    page = client.get(f"/p/{PROCESS}/quotas", params={"size": "12"}).text
    assert "<h1>Quotas</h1>" in page and "No conflict found with the current pool (60 people)." in page
    assert "<h1>Sign-ups</h1>" in client.get(f"/p/{PROCESS}/pool").text


def test_a_public_value_seeds_the_draw_as_domain_md_says(
    app: Starlette, with_quotas: Path, client_for: Callable[[str], TestClient]
) -> None:
    import hashlib

    client = client_for("mede")
    both = post(client, f"/p/{PROCESS}/panel/select", select_form(public_seed="Staatsloterij 2027-01-10: 0483921"))
    assert both.status_code == 400 and 'href="#public_seed"' in both.text
    announced = "Staatsloterij 2027-01-10: 0483921"
    finished(app, client, post(client, f"/p/{PROCESS}/panel/select", select_form(seed="", public_seed=announced)))
    with Workspace.open(with_quotas) as ws:
        record = ws.store.latest_panel_record()
    # DOMAIN.md §1a: the seed is SHA-256(pool hash ‖ public value) read as an integer
    expected = int(hashlib.sha256((record.pool_hash + announced).encode("utf-8")).hexdigest(), 16)
    assert (record.public_value, record.seed) == (announced, expected)


def test_a_top_up_wave_shows_its_plan_and_avoids_every_earlier_address(
    app: Starlette, root: Path, stages: dict[str, Path], client_for: Callable[[str], TestClient]
) -> None:
    folder = at_stage(root, stages, "pooled")
    with Workspace.open(folder) as ws:
        first = set(ws.store.letters()["address_key"])
    client = client_for("mede")
    mixed = {"count": "30", "min_age": "16", "seed": "3", "stratify_by": "wijk", "topup": "1", "oversample": ""}
    refused = post(client, f"/p/{PROCESS}/letters", mixed)
    assert refused.status_code == 400 and 'href="#topup"' in refused.text
    page = finished(app, client, post(client, f"/p/{PROCESS}/letters", {**mixed, "stratify_by": ""}))
    assert "Klaar" in page and "Aanvulling per groep (wijk)" in page
    plan = re.findall(r'<tr><td>(WK\d+)</td><td class="num">(\d+)</td>', page)
    assert {w for w, _ in plan} == {"WK189401", "WK189403"} and sum(int(n) for _, n in plan) == 30
    with Workspace.open(folder) as ws:
        letters = ws.store.letters()
    second = letters[letters["draw_id"] == letters["draw_id"].max()]
    assert len(second) == 30 and not set(second["address_key"]) & first
    assert second.groupby("wijk").size().to_dict() == {w: int(n) for w, n in plan if int(n)}
