"""The public sign-up page (issue 17) by plain HTTP: a sign-up lands in the pool with its letter's address;
unknown and used codes get one answer; CSRF, honeypot, minimum fill time, rate limits; change and
withdraw with code + postcode + house number; test, open and closed; the staff's page and live counts."""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette

from kleroterion.app import signup
from kleroterion.app.accounts import add_user, grant
from kleroterion.web.app import WebSettings, create_app
from kleroterion.workspace import Workspace
from tests.conftest import copy_workspace, lottery_workspace
from tests.web.conftest import PASSWORD, TestClient, csrf_token, login

SLUG = "ws"
ANSWERS = {"q_gender": "V", "q_age_band": "40-54", "q_education": "middelbaar"}
CONTACT = {"naam": "Anna de Vries", "email": "anna@example.org", "telefoon": ""}
GENERIC = "Deze code kunnen we niet gebruiken"
FAST = WebSettings(signup_min_fill=0)


@pytest.fixture(scope="module")
def lettered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A serve root holding one process ``ws`` with 400 residents and 80 letters, made once."""
    base = tmp_path_factory.mktemp("signup")
    with pytest.MonkeyPatch.context() as monkeypatch:
        lottery_workspace(base, monkeypatch, letters=80)
    return base


@pytest.fixture
def root(tmp_path: Path, lettered: Path) -> Path:
    serve = tmp_path / "serve"
    copy_workspace(lettered, serve)
    return serve


def set_page(root: Path, **changes: object) -> None:
    with Workspace.open(root / SLUG) as ws:
        current = signup.page_settings(ws)
        signup.save_page_settings(ws, replace(current, **changes))  # type: ignore[arg-type]


def letters(root: Path) -> list[tuple[str, str, str, str]]:
    """(code, address key, postcode, house number) of every letter."""
    with Workspace.open(root / SLUG) as ws:
        found = []
        for code in sorted(ws.store.letter_codes()[1]):
            letter = ws.store.signup_letter(code)
            assert letter is not None
            found.append((code, letter.address_key, letter.postcode, letter.house_number))
        return found


def pool_rows(root: Path, table: str = "pool_members") -> list[dict[str, object]]:
    with Workspace.open(root / SLUG) as ws:
        return [dict(zip(r.keys(), r, strict=True)) for r in ws.store._query(f"SELECT * FROM {table}")]  # noqa: S608


@pytest.fixture
def app(root: Path) -> Iterator[Starlette]:
    set_page(root, state="open", about_nl="Een burgerberaad over wonen.\n\nU praat 3 zaterdagen mee.")
    application = create_app(root, settings=FAST)
    yield application
    application.state.jobs.stop()
    application.state.server.close()


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as test_client:
        yield test_client


def enter_code(client: TestClient, code: str, **extra: str) -> object:
    page = client.get(f"/aanmelden/{SLUG}")
    return client.post(
        f"/aanmelden/{SLUG}", data={"csrf_token": csrf_token(page.text), "code": code, "website": "", **extra}
    )


def sign_up(client: TestClient, code: str, **changes: str) -> object:
    form = enter_code(client, code)
    assert form.status_code == 200, form.text  # type: ignore[attr-defined]
    data = {
        "csrf_token": csrf_token(form.text),  # type: ignore[attr-defined]
        "code": code,
        "mode": "new",
        "website": "",
        "consent": "ja",
        **ANSWERS,
        **CONTACT,
        **changes,
    }
    return client.post(f"/aanmelden/{SLUG}/formulier", data=data)


def test_a_code_signs_up_once_with_its_letters_address(root: Path, client: TestClient) -> None:
    code, address_key, _, _ = letters(root)[0]
    start = client.get(f"/aanmelden/{SLUG}")
    assert start.status_code == 200 and "Code uit uw brief" in start.text and "burgerberaad over wonen" in start.text
    assert "script-src 'self'" in start.headers["content-security-policy"]  # no login, the same headers
    assert start.headers["cache-control"] == "no-store" and start.headers["x-frame-options"] == "DENY"
    cookie = start.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/aanmelden" in cookie
    typed = code.lower().replace("-", " ")  # as someone might type it
    form = enter_code(client, typed)
    assert form.status_code == 200
    for question in ("Geslacht", "Leeftijdsgroep", "Opleiding"):  # the declared categories, in their order
        assert question in form.text
    assert form.text.index("Geslacht") < form.text.index("Leeftijdsgroep") < form.text.index("Opleiding")
    done = sign_up(client, code)
    assert done.status_code == 200 and "U bent aangemeld" in done.text  # type: ignore[attr-defined]
    rows = pool_rows(root)
    assert len(rows) == 1
    assert rows[0]["letter_code"] == code and rows[0]["address_key"] == address_key
    features = json.loads(str(rows[0]["features"]))
    assert features["gender"] == "V" and features["age_band"] == "40-54" and features["education"] == "middelbaar"
    assert features["wijk"].startswith("WK")
    assert json.loads(str(rows[0]["contact"])) == {"naam": "Anna de Vries", "email": "anna@example.org"}
    with Workspace.open(root / SLUG) as ws:
        records = ws.store.audit_records("signup.web")
        assert [r["actor"] for r in records] == ["web:aanmelding"]
        assert code not in json.dumps(records) and "Anna" not in json.dumps(records)
        assert len(ws.store.pool()) == 1  # the pool shows it at once


def test_unknown_and_used_codes_get_the_same_answer(root: Path, client: TestClient) -> None:
    code = letters(root)[0][0]
    assert sign_up(client, code).status_code == 200  # type: ignore[attr-defined]
    used = enter_code(client, code)
    unknown = enter_code(client, "ABCDE-FGHJK-2")
    garbage = enter_code(client, "hallo")
    for response in (used, unknown, garbage):
        assert response.status_code == 400  # type: ignore[attr-defined]
        assert GENERIC in response.text  # type: ignore[attr-defined]
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", used.text) == strip.sub("", unknown.text)  # type: ignore[attr-defined]
    assert len(pool_rows(root)) == 1


def test_every_problem_of_the_form_at_once_and_nothing_stored(root: Path, client: TestClient) -> None:
    code = letters(root)[0][0]
    bad = sign_up(client, code, q_gender="", naam="", email="geen-adres", consent="")
    assert bad.status_code == 400  # type: ignore[attr-defined]
    text = bad.text  # type: ignore[attr-defined]
    for message in (
        "Kies een antwoord bij: Geslacht",
        "Vul uw naam in",
        "Vul een geldig e-mailadres in",
        "Vink aan dat u",
    ):
        assert message in text
    assert 'href="#q_gender"' in text and 'id="q_gender"' in text  # the summary links to the field
    assert "Anna" not in text or 'value="Anna' not in text
    no_contact = sign_up(client, code, email="", telefoon="")
    assert "Vul een e-mailadres of een telefoonnummer in" in no_contact.text  # type: ignore[attr-defined]
    assert pool_rows(root) == []


def test_the_honeypot_and_a_missing_csrf_token_store_nothing(root: Path, client: TestClient) -> None:
    code = letters(root)[0][0]
    assert enter_code(client, code, website="http://spam.example").status_code == 400  # type: ignore[attr-defined]
    assert sign_up(client, code, website="x").status_code == 400  # type: ignore[attr-defined]
    page = client.get(f"/aanmelden/{SLUG}")
    forged = client.post(f"/aanmelden/{SLUG}", data={"csrf_token": "1.abc", "code": code, "website": ""})
    assert forged.status_code == 403
    client.cookies.clear()  # a token without its cookie (another browser's form)
    stolen = client.post(f"/aanmelden/{SLUG}", data={"csrf_token": csrf_token(page.text), "code": code})
    assert stolen.status_code == 403
    assert pool_rows(root) == []


def test_a_form_sent_faster_than_a_person_can_is_refused(root: Path) -> None:
    set_page(root, state="open")
    application = create_app(root, settings=WebSettings(signup_min_fill=30))
    with TestClient(application, base_url="http://127.0.0.1") as client:
        response = sign_up(client, letters(root)[0][0])
        assert response.status_code == 400  # type: ignore[attr-defined]
        assert "Dat ging erg snel" in response.text  # type: ignore[attr-defined]
    application.state.server.close()
    assert pool_rows(root) == []


def test_rate_limits_per_client_and_per_code(root: Path) -> None:
    set_page(root, state="open")
    settings = WebSettings(signup_min_fill=0, signup_client_failures=3, signup_code_attempts=4)
    application = create_app(root, settings=settings)
    codes = [c for c, *_ in letters(root)]
    with TestClient(application, base_url="http://127.0.0.1") as client:
        for guess in ("ABCDE-FGHJK-2", "ABCDE-FGHJK-3", "ABCDE-FGHJK-4"):
            assert enter_code(client, guess).status_code == 400  # type: ignore[attr-defined]
        blocked = enter_code(client, codes[0])  # even a right code: this client guessed too often
        assert blocked.status_code == 429 and "Te veel pogingen" in blocked.text  # type: ignore[attr-defined]
    application.state.server.close()
    application = create_app(root, settings=settings)
    with TestClient(application, base_url="http://127.0.0.1") as client:
        for _ in range(4):
            assert enter_code(client, codes[1]).status_code == 200  # type: ignore[attr-defined]
        assert enter_code(client, codes[1]).status_code == 429  # type: ignore[attr-defined]
        assert enter_code(client, codes[2]).status_code == 200  # type: ignore[attr-defined]  # other codes go on
    application.state.server.close()


def find_own(client: TestClient, code: str, postcode: str, number: str) -> object:
    page = client.get(f"/aanmelden/{SLUG}/wijzigen")
    data = {"csrf_token": csrf_token(page.text), "code": code, "postcode": postcode, "huisnummer": number}
    return client.post(f"/aanmelden/{SLUG}/wijzigen", data={**data, "website": ""})


def test_change_and_withdraw_with_the_code_and_the_address(root: Path, client: TestClient) -> None:
    (code, _, postcode, number), (other, _, other_postcode, other_number) = letters(root)[:2]
    assert sign_up(client, code).status_code == 200  # type: ignore[attr-defined]
    for wrong in (find_own(client, code, other_postcode, other_number), find_own(client, other, postcode, number)):
        assert wrong.status_code == 400 and "We vinden geen aanmelding" in wrong.text  # type: ignore[attr-defined]
    spaced = f"{postcode[:4]} {postcode[4:].lower()}"
    own = find_own(client, code.lower(), spaced, number)
    assert own.status_code == 200  # type: ignore[attr-defined]
    assert 'value="Anna de Vries"' in own.text and 'value="V" checked' in own.text  # type: ignore[attr-defined]
    data = {
        "csrf_token": csrf_token(own.text),  # type: ignore[attr-defined]
        "code": code,
        "mode": "change",
        "postcode": spaced,
        "huisnummer": number,
        "consent": "ja",
        **ANSWERS,
        **CONTACT,
        "q_education": "hoog",
        "telefoon": "06 12345678",
    }
    changed = client.post(f"/aanmelden/{SLUG}/formulier", data=data)
    assert changed.status_code == 200 and "Uw aanmelding is gewijzigd" in changed.text
    rows = pool_rows(root)
    assert len(rows) == 1 and json.loads(str(rows[0]["features"]))["education"] == "hoog"
    assert json.loads(str(rows[0]["contact"]))["telefoon"] == "06 12345678"

    forged = {"csrf_token": csrf_token(own.text), "code": code, "postcode": other_postcode, "huisnummer": number}  # type: ignore[attr-defined]
    assert client.post(f"/aanmelden/{SLUG}/afmelden", data=forged).status_code == 400
    assert len(pool_rows(root)) == 1
    proof = {"csrf_token": csrf_token(own.text), "code": code, "postcode": spaced, "huisnummer": number}  # type: ignore[attr-defined]
    gone = client.post(f"/aanmelden/{SLUG}/afmelden", data=proof)
    assert gone.status_code == 200 and "U bent afgemeld" in gone.text
    assert pool_rows(root) == []
    again = enter_code(client, code)  # a withdrawn code cannot sign up again: the same generic answer
    assert again.status_code == 400 and GENERIC in again.text  # type: ignore[attr-defined]
    with Workspace.open(root / SLUG) as ws:
        (record,) = ws.store.audit_records("signup.withdraw")
        assert record["result"] == {"withdrawn": 1, "pool_size": 0}
        text = json.dumps(ws.store.audit_records())
        assert code not in text and postcode not in text and "Anna" not in text


def test_no_code_or_personal_data_in_urls_or_logs(
    root: Path, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    code = letters(root)[0][0]
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    client.event_hooks = {"request": [lambda request: seen.append(str(request.url))], "response": []}
    sign_up(client, code)
    assert seen and all(code not in url and "Anna" not in url for url in seen)
    assert all(code not in r.getMessage() and "anna@" not in r.getMessage() for r in caplog.records)


def test_a_test_page_writes_to_the_test_pool_only(root: Path, client: TestClient) -> None:
    set_page(root, state="test")
    code = letters(root)[0][0]
    assert "Dit is een testpagina" in client.get(f"/aanmelden/{SLUG}").text
    assert sign_up(client, code).status_code == 200  # type: ignore[attr-defined]
    assert pool_rows(root) == [] and len(pool_rows(root, "signup_test_pool")) == 1
    set_page(root, state="open")  # opening empties the test list; the code is free for real
    assert pool_rows(root, "signup_test_pool") == []
    assert sign_up(client, code).status_code == 200  # type: ignore[attr-defined]
    assert len(pool_rows(root)) == 1


def test_the_purge_deletes_the_test_list(root: Path, client: TestClient) -> None:
    from kleroterion.store.privacy import Minimisation

    set_page(root, state="test")
    code = letters(root)[0][0]
    assert sign_up(client, code).status_code == 200  # type: ignore[attr-defined]
    with Workspace.open(root / SLUG) as ws:
        assert ws.store.personal_data_counts()["test_signups"] == 1
        ws.store.minimise_invitees([Minimisation(code, "adres-000001", "1980-01-01")])
        assert ws.store.personal_data_counts()["test_signups"] == 0
    assert pool_rows(root, "signup_test_pool") == []


def test_closed_and_not_yet_open_pages_take_nothing(root: Path, client: TestClient) -> None:
    code = letters(root)[0][0]
    page = client.get(f"/aanmelden/{SLUG}")
    token = csrf_token(page.text)
    now = datetime.now(UTC)
    set_page(root, state="open", opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=8))
    assert "Aanmelden kan nog niet" in client.get(f"/aanmelden/{SLUG}").text
    set_page(root, state="open", opens_at=now - timedelta(days=8), closes_at=now - timedelta(seconds=1))
    closed = client.get(f"/aanmelden/{SLUG}")
    assert "Aanmelden is gesloten" in closed.text and 'name="code"' not in closed.text
    refused = client.post(f"/aanmelden/{SLUG}", data={"csrf_token": token, "code": code})
    assert refused.status_code == 403 and "Aanmelden is gesloten" in refused.text
    set_page(root, state="closed", opens_at=None, closes_at=None)
    assert "Aanmelden is gesloten" in client.get(f"/aanmelden/{SLUG}/wijzigen").text
    assert client.get("/aanmelden/geen-proces").status_code == 404
    assert pool_rows(root) == []


def test_a_pool_drawn_from_closes_the_page(root: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from kleroterion.store import Store

    assert signup.PageSettings(state="open", drawn=True).effective() == "closed"
    assert signup.PageSettings(state="test", drawn=True).effective() == "closed"
    code = letters(root)[0][0]
    page = client.get(f"/aanmelden/{SLUG}")
    monkeypatch.setattr(Store, "pool_drawn_from", lambda self: True)  # a panel was drawn meanwhile
    refused = client.post(f"/aanmelden/{SLUG}", data={"csrf_token": csrf_token(page.text), "code": code})
    assert refused.status_code == 403 and "Aanmelden is gesloten" in refused.text
    assert pool_rows(root) == []


def test_english_by_the_switch(root: Path, client: TestClient) -> None:
    client.get(f"/lang/en?next=/aanmelden/{SLUG}")
    page = client.get(f"/aanmelden/{SLUG}")
    assert "Code from your letter" in page.text and 'lang="en"' in page.text


@pytest.fixture
def staff(app: Starlette, root: Path) -> Iterator[TestClient]:
    add_user(root, "mede", PASSWORD)
    grant(root, "mede", SLUG, "medewerker")
    with TestClient(app, base_url="http://127.0.0.1") as staff_client:
        assert login(staff_client, "mede") == 303
        yield staff_client


def test_staff_see_the_response_against_the_letters(root: Path, client: TestClient, staff: TestClient) -> None:
    code = letters(root)[0][0]
    assert sign_up(client, code).status_code == 200  # type: ignore[attr-defined]
    with Workspace.open(root / SLUG) as ws:
        (letter,) = ws.store.letters().query("code == @code").itertuples()
        expected_wijk = letter.wijk
        all_letters = ws.store.letters()
    per_wijk = all_letters["wijk"].value_counts()
    page = staff.get(f"/p/{SLUG}/signup")
    assert page.status_code == 200
    partial = staff.get(f"/p/{SLUG}/signup/counts").text
    row = re.search(
        rf"<th scope=\"row\">{expected_wijk}</th><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>", partial
    )
    assert row is not None
    assert (int(row.group(1)), int(row.group(2))) == (int(per_wijk[expected_wijk]), 1)
    assert f"1 / {len(all_letters)}" in partial


def test_staff_set_the_state_and_times(root: Path, staff: TestClient) -> None:
    page = staff.get(f"/p/{SLUG}/signup")
    token = csrf_token(page.text)
    bad = staff.post(
        f"/p/{SLUG}/signup",
        data={"csrf_token": token, "state": "open", "opens_at": "2027-03-10T09:00", "closes_at": "2027-03-01T09:00"},
    )
    assert bad.status_code == 400 and "De sluitingstijd moet na de openingstijd liggen" in bad.text
    good = staff.post(
        f"/p/{SLUG}/signup",
        data={
            "csrf_token": token,
            "state": "test",
            "opens_at": "",
            "closes_at": "2027-03-01T17:00",
            "about_nl": "Tekst",
        },
        follow_redirects=False,
    )
    assert good.status_code == 303
    with Workspace.open(root / SLUG) as ws:
        settings = signup.page_settings(ws)
        assert settings.state == "test" and settings.about_nl == "Tekst"
        assert settings.closes_at == datetime(2027, 3, 1, 16, 0, tzinfo=UTC)  # 17:00 Dutch winter time
        assert ws.store.audit_records("signup.settings")[-1]["actor"] == "web:mede"


def test_a_page_cannot_open_without_letters(tmp_path: Path) -> None:
    from kleroterion.errors import KleroError
    from kleroterion.workspace import ProcessSettings

    settings = ProcessSettings(name="Leeg", municipality="X")
    with (
        Workspace.create(tmp_path / "leeg", settings, key=b"k" * 32) as ws,
        pytest.raises(KleroError, match="no letters yet"),
    ):
        signup.save_page_settings(ws, signup.PageSettings(state="open"))


def test_the_mail_merge_gains_a_link_and_a_qr_code_per_letter(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xml.etree.ElementTree as ET

    import pandas as pd

    from tests.conftest import run_cli

    out = tmp_path / "brieven.csv"
    url = "https://aanmelden.example.nl/aanmelden/ws"
    assert run_cli(monkeypatch, "letters", "export", str(out), "--signup-url", url + "/", "-w", str(root / SLUG)) == 0
    table = pd.read_csv(out, sep=";", encoding="cp1252", dtype=str)
    assert len(table) == 80
    assert (table["link"] == url + "#code=" + table["code"]).all()  # the code only in the fragment
    for code, qr in zip(table["code"], table["qr"], strict=True):
        svg = Path(qr)
        assert svg.parent == tmp_path / "brieven-qr" and svg.name == f"{code}.svg"
        tree = ET.parse(svg).getroot()  # noqa: S314 - our own file
        assert tree.tag.endswith("svg") and any(el.tag.endswith("path") for el in tree.iter())
    assert (
        run_cli(monkeypatch, "letters", "export", str(out), "--signup-url", "aanmelden?x=1", "-w", str(root / SLUG))
        == 1
    )


def test_the_code_index_finds_every_typing_and_a_second_waves_codes(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hmac

    from kleroterion.app.letters import draw_letters

    compared: list[bytes] = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append(b) or real(a, b))
    book = signup.CodeBook()
    with Workspace.open(root / SLUG) as ws:
        code = sorted(ws.store.letter_codes()[1])[0]
        for typed in (code, code.lower(), code.replace("-", ""), f" {code[:5]} {code[6:11]} {code[12]} "):
            assert book.find(ws, typed) == code
        assert compared and all(c == code.encode() for c in compared)  # compared in constant time
        assert book.find(ws, "ABCDE-FGHJK-2") is None
        before = set(ws.store.letter_codes()[1])
        draw_letters(ws, count=10, seed=5)  # a second wave: its codes work at once
        (new, *_) = sorted(set(ws.store.letter_codes()[1]) - before)
        assert book.find(ws, new) == new


def test_the_code_index_notices_a_new_workspace_in_the_same_folder(root: Path, tmp_path: Path) -> None:
    book = signup.CodeBook()
    with Workspace.open(root / SLUG) as ws:
        first = sorted(ws.store.letter_codes()[1])[0]
        assert book.find(ws, first) == first
    moved = tmp_path / "old"
    (root / SLUG).rename(moved)
    (tmp_path / "again").mkdir()
    with pytest.MonkeyPatch.context() as monkeypatch:
        lottery_workspace(tmp_path / "again", monkeypatch, letters=20)
    shutil.move(str(tmp_path / "again" / "ws"), str(root / SLUG))  # the same path, other letters
    with Workspace.open(root / SLUG) as ws:
        second = sorted(ws.store.letter_codes()[1])[0]
        assert book.find(ws, first) is None and book.find(ws, second) == second


def test_a_process_replaced_in_its_folder_is_served_from_the_new_database(
    root: Path, client: TestClient, tmp_path: Path
) -> None:
    assert sign_up(client, letters(root)[0][0]).status_code == 200  # type: ignore[attr-defined]
    (root / SLUG).rename(tmp_path / "old")
    (tmp_path / "again").mkdir()
    with pytest.MonkeyPatch.context() as monkeypatch:
        lottery_workspace(tmp_path / "again", monkeypatch, letters=20)
    shutil.move(str(tmp_path / "again" / "ws"), str(root / SLUG))
    set_page(root, state="open")
    code = letters(root)[0][0]
    assert sign_up(client, code).status_code == 200  # type: ignore[attr-defined]
    assert [r["letter_code"] for r in pool_rows(root)] == [code]  # in the new database, not the old one


def test_an_idle_sign_up_writer_closes_its_connection_and_a_new_one_takes_over(
    root: Path, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signup, "WRITER_IDLE", 0.2)
    first, second = letters(root)[0][0], letters(root)[1][0]
    before = set(threading.enumerate())
    assert sign_up(client, first).status_code == 200  # type: ignore[attr-defined]
    (writer,) = [t for t in set(threading.enumerate()) - before if t.name.startswith("klero-signups-")]
    writer.join(30)
    assert not writer.is_alive()  # the idle writer ended, its connection closed
    assert (root / SLUG).resolve() not in signup.SIGNUPS._queues
    assert sign_up(client, second).status_code == 200  # type: ignore[attr-defined]
    assert sorted(r["letter_code"] for r in pool_rows(root)) == sorted([first, second])
