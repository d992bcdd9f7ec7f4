"""The public sign-up page in a real browser (Playwright + Debian's chromium), on a phone-sized and a
desktop viewport: a valid code (from the letter's link), an unknown code, a used code, a withdrawal and
a closed page. Every page passes axe-core's WCAG 2.1 A/AA rules with 0 violations and raises no CSP
report; nothing is wider than the phone's screen. Screenshots go to docs/screenshots/signup-*.png."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kleroterion.app import signup
from kleroterion.app.accounts import add_user, grant
from kleroterion.web.app import WebSettings, create_app
from kleroterion.workspace import Workspace
from tests.conftest import lottery_workspace
from tests.reports.test_accessibility import CHROMIUM
from tests.web.conftest import PASSWORD, free_port
from tests.web.test_browser import Visit
from tests.web.test_signup import SLUG, letters, pool_rows

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (make sysdeps)"),
]
MIN_FILL = 1.0
ABOUT = (
    "De gemeente wil weten hoe we in 2030 wonen. 30 inwoners praten daarover op 3 zaterdagen. "
    "Zij geven de gemeenteraad advies.\n\nU krijgt een vergoeding van 150 euro. U hoeft niets te weten of "
    "voor te bereiden."
)
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 740}}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    import uvicorn

    lottery_workspace(tmp_path, monkeypatch, letters=40)
    with Workspace.open(tmp_path / SLUG) as ws:
        signup.save_page_settings(ws, signup.PageSettings(state="open", about_nl=ABOUT, about_en="About housing."))
    (tmp_path / SLUG / "process.toml").write_text(
        (tmp_path / SLUG / "process.toml").read_text().replace('name = "Test"', 'name = "Burgerberaad Wonen"')
    )
    add_user(tmp_path, "mede", PASSWORD)
    grant(tmp_path, "mede", SLUG, "medewerker")
    app = create_app(tmp_path, settings=WebSettings(signup_min_fill=MIN_FILL))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}", tmp_path
    server.should_exit = True
    thread.join(timeout=20)
    app.state.jobs.stop()
    app.state.server.close()


def fill_form(page: object, name: str) -> None:
    page.check("#q_gender-2")  # type: ignore[attr-defined]  # Vrouw
    page.check("#q_age_band-3")  # type: ignore[attr-defined]  # 40-54
    page.check("#q_education-2")  # type: ignore[attr-defined]  # Middelbaar
    page.fill("#naam", name)  # type: ignore[attr-defined]
    page.fill("#email", "anna@example.org")  # type: ignore[attr-defined]
    page.check("#consent")  # type: ignore[attr-defined]
    page.wait_for_timeout(MIN_FILL * 1000 + 200)  # type: ignore[attr-defined]  # a person takes longer


def test_sign_up_change_withdraw_and_closed_on_phone_and_desktop(site: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    base, root = site
    codes = letters(root)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for index, (device, viewport) in enumerate(VIEWPORTS.items()):
                code, _, postcode, number = codes[index]
                page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
                visit = Visit(page)
                shot = f"signup-{device}"

                def fits() -> None:
                    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]  # noqa: B023

                # the letter's link: the code rides in the fragment, the page copies it and drops it
                started = time.monotonic()
                page.goto(f"{base}/aanmelden/{SLUG}#code={code}")
                assert page.input_value("#code") == code
                assert "#" not in page.url
                fits()
                visit.check(f"{shot}-1-code")
                page.click("main button[type=submit]")
                page.wait_for_selector("#naam")
                fits()
                visit.check(f"{shot}-2-form")
                page.click("main form button[type=submit]")  # nothing filled: every problem, linked
                assert page.locator(".error-summary li").count() >= 5
                assert page.evaluate("document.activeElement.className") == "error-summary"
                visit.check(f"{shot}-2-form-errors", screenshot=device == "phone")
                fill_form(page, "Anna de Vries")
                page.click("main form button[type=submit]")
                page.get_by_role("heading", name="U bent aangemeld").wait_for()
                assert time.monotonic() - started < 120  # the resident's two minutes
                fits()
                visit.check(f"{shot}-3-done")
                assert code in [r["letter_code"] for r in pool_rows(root)]

                # the same code again, and a made-up one: the same answer
                for typed, name in ((code, "used"), ("ABCDE-FGHJK-2", "unknown")):
                    page.goto(f"{base}/aanmelden/{SLUG}")
                    page.fill("#code", typed)
                    page.click("main button[type=submit]")
                    page.locator(".error-summary").wait_for()
                    assert "Deze code kunnen we niet gebruiken" in page.inner_text(".error-summary")
                    visit.check(f"{shot}-4-{name}-code", screenshot=name == "used")

                # change, then withdraw
                page.goto(f"{base}/aanmelden/{SLUG}")
                page.click("text=Al aangemeld?")
                page.fill("#code", code)
                page.fill("#postcode", postcode)
                page.fill("#huisnummer", number)
                visit.check(f"{shot}-5-change", screenshot=device == "phone")
                page.click("main button[type=submit]")
                page.wait_for_selector("text=Afmelden")
                assert page.input_value("#naam") == "Anna de Vries"
                fits()
                visit.check(f"{shot}-5-change-form", screenshot=False)
                page.click("button.button-warning")
                page.get_by_role("heading", name="U bent afgemeld").wait_for()
                visit.check(f"{shot}-6-withdrawn")
                assert code not in [r["letter_code"] for r in pool_rows(root)]

                # English by the switch
                page.goto(f"{base}/aanmelden/{SLUG}")
                page.click("text=English")
                assert page.locator("label[for=code]").inner_text() == "Code from your letter"
                visit.check(f"{shot}-7-english", screenshot=False)
                page.click("text=Nederlands")
                page.close()
                assert {n: found for n, found in visit.checked.items() if found} == {}
                assert [m for m in visit.console if "Content Security Policy" in m] == []

            # a few more invitees (through the use case: the page itself was tested above) for the counts
            with Workspace.open(root / SLUG) as ws:
                answers = {"q_gender": "V", "q_age_band": "40-54", "q_education": "hoog", "consent": "ja"}
                checked = signup.check_form(ws, {**answers, "naam": "X", "telefoon": "0612345678"})
                for code, *_ in codes[2:14]:
                    assert signup.sign_up(ws, code, checked, test=False)
            # staff: the live counts, then close the page
            page = browser.new_page(viewport=VIEWPORTS["desktop"])  # type: ignore[arg-type]
            visit = Visit(page)
            page.goto(f"{base}/login")
            page.fill("#username", "mede")
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.goto(f"{base}/p/{SLUG}/signup")
            assert "Respons tot nu toe" in page.content()
            visit.check("signup-staff")
            page.check("#state-closed")
            page.click("main form button[type=submit]")
            page.wait_for_url(f"{base}/p/{SLUG}/signup")
            assert "gesloten" in page.inner_text(".summary-list")
            for device, viewport in VIEWPORTS.items():
                page.set_viewport_size(viewport)  # type: ignore[arg-type]
                page.goto(f"{base}/aanmelden/{SLUG}")
                assert page.locator("h1").inner_text() == "Aanmelden is gesloten"
                assert page.locator("#code").count() == 0
                visit.check(f"signup-{device}-8-closed", screenshot=device == "phone")
            assert {n: found for n, found in visit.checked.items() if found} == {}
        finally:
            browser.close()
