"""The deliberation and report pages in a real browser (Playwright + Debian's chromium), on the Peel en Maas
example prepared as ``klero demo`` prepares it up to a drawn panel, its instrument, control group and
signed-off packet: a *medewerker* uploads both survey waves, assigns the small groups, records the packet
receipts, runs the analysis, records a recommendation and the council's response, renders and downloads
the council report and verifies the audit record; then an *auditor* reads, downloads and verifies, and
every write they try is refused. Every page visited passes axe-core (WCAG 2.1 A/AA) with 0 violations and
raises no CSP report; screenshots of the main pages go to docs/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kleroterion.app.accounts import add_user, grant
from kleroterion.web.app import create_app
from tests.conftest import REPO
from tests.reports.test_accessibility import CHROMIUM
from tests.web.chain import prepare
from tests.web.conftest import PASSWORD, serve
from tests.web.test_browser import Visit

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (make sysdeps)"),
]
SLUG = "peel-en-maas"
JOB_TIMEOUT_MS = 240_000
MODERATORS = REPO / "data" / "peel_en_maas" / "moderatoren.csv"
FINISHED = re.compile("^(Klaar|Mislukt|Geannuleerd)$")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """The example prepared up to the first survey wave, served by uvicorn on 127.0.0.1; the residents'
    later files are simulated by the returned functions."""
    out = tmp_path / "serve"
    root, simulate = prepare(out, until="survey import --wave T1", slug=SLUG)
    for username, role in (("mede", "medewerker"), ("audit", "auditor"), ("beheer", "beheerder")):
        add_user(out, username, PASSWORD)
        grant(out, username, SLUG, role)
    app = create_app(out)
    with serve(app) as address:
        yield address, root, simulate


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def job_done(page: Any, base: str) -> str:
    """Wait for the job the form started; its final state."""
    page.wait_for_url(f"{base}/p/{SLUG}/jobs/*")
    state = page.locator("#job-status strong").filter(has_text=FINISHED)
    state.wait_for(timeout=JOB_TIMEOUT_MS)
    return str(state.inner_text())


def test_a_medewerker_runs_the_poll_and_an_auditor_reads_and_verifies(
    served: tuple[str, Path, dict[str, Any]], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    base, root, simulate = served
    p = f"{base}/p/{SLUG}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            visit = Visit(page)
            sign_in(page, base, "mede")

            page.goto(f"{p}/poll")
            assert "Wonen in Peel en Maas" in page.content()
            visit.check("poll")

            t1, t2 = simulate["enquete-T1.csv"](root)
            page.goto(f"{p}/survey")
            visit.check("survey")
            page.set_input_files("#file", str(t1))
            page.click("main form[action$='/survey'] button[type=submit]")  # no wave given: refused on the form
            assert page.locator(".error-summary a[href='#wave']").count() == 1
            visit.check("survey-errors", screenshot=False)
            page.set_input_files("#file", str(t1))
            page.fill("#wave", "T1")
            page.click("main form[action$='/survey'] button[type=submit]")
            assert job_done(page, base) == "Klaar"
            visit.check("survey-imported")

            page.goto(f"{p}/groups")
            page.fill("#size", "8")
            page.set_input_files("#moderators", str(MODERATORS))
            page.click("main form button[type=submit]")
            assert job_done(page, base) == "Klaar"
            page.goto(f"{p}/groups")
            assert "Annelies Verhoeven" in page.content()
            visit.check("groups")

            (receipts,) = simulate["brochure-ontvangen.csv"](root)
            page.goto(f"{p}/packets")
            page.set_input_files("#receipts_file", str(receipts))
            page.fill("#receipts_version", "1")
            page.click("main form[action$='/receipts'] button[type=submit]")
            assert job_done(page, base) == "Klaar"
            page.goto(f"{p}/packets")
            visit.check("packets")

            page.goto(f"{p}/survey")
            page.set_input_files("#file", str(t2))
            page.fill("#wave", "T2")
            page.click("main form[action$='/survey'] button[type=submit]")
            assert job_done(page, base) == "Klaar"

            page.goto(f"{p}/analysis")
            page.select_option("#pre", "T1")
            page.select_option("#post", "T2")
            page.click("main form button[type=submit]")
            visit.check("analysis-running", screenshot=False)
            assert job_done(page, base) == "Klaar"
            page.click("text=Naar de analyse")
            assert page.locator("figure.chart img").count() >= 2
            visit.check("analysis")

            page.goto(f"{p}/recommendations")
            page.fill("#text", "Bouw in elke kern kleine, betaalbare huurwoningen voor starters en ouderen.")
            page.fill("#support", "87")
            page.click("main form[action$='/recommendations'] button[type=submit]")
            page.click("text=Reactie van de raad vastleggen")
            page.select_option("#r1-status", "adopted")
            page.fill("#r1-due", "2028-06-30")
            page.click("main form[action$='/response'] button[type=submit]")
            assert "overgenomen" in page.content()
            visit.check("recommendations")

            page.goto(f"{p}/reports")
            visit.check("reports-form", screenshot=False)
            page.check("#kinds-council")
            page.check("#languages-nl")
            page.check("#formats-pdf")
            page.check("#formats-html")
            page.click("main form button[type=submit]")
            assert job_done(page, base) == "Klaar"
            page.click("text=Naar de rapporten")
            visit.check("reports")
            with page.expect_download() as download:
                page.click("main a[href$='/council-report.nl.pdf']")
            saved = tmp_path / "council-report.nl.pdf"
            download.value.save_as(saved)
            assert saved.read_bytes().startswith(b"%PDF")
            assert "council-report" in download.value.url and "peel-en-maas" in download.value.url

            page.goto(f"{p}/audit")
            page.click("main form[action$='/verify'] button[type=submit]")
            assert job_done(page, base) == "Klaar"
            assert "Het auditlog klopt." in page.content()
            visit.check("audit-verified")

            beheer = browser.new_page(viewport={"width": 1280, "height": 900})
            visit_beheer = Visit(beheer)
            sign_in(beheer, base, "beheer")
            beheer.goto(f"{p}/purge")
            assert "Typ de procesnaam peel-en-maas" in beheer.content()
            visit_beheer.check("purge")
            beheer.close()

            auditor = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            visit_auditor = Visit(auditor)
            sign_in(auditor, base, "audit")
            for path in ("survey", "analysis", "reports", "recommendations", "groups", "packets", "poll"):
                auditor.goto(f"{p}/{path}")
                assert auditor.locator(f"main form[action$='/{path}']").count() == 0  # no write forms shown
                visit_auditor.check(f"auditor-{path}", screenshot=False)
            auditor.goto(f"{p}/reports")
            with auditor.expect_download() as download:
                auditor.click("main a[href$='/council-report.nl.pdf']")
            assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
            auditor.goto(f"{p}/audit")
            auditor.click("main form[action$='/verify'] button[type=submit]")
            assert job_done(auditor, base) == "Klaar"
            assert "Het auditlog klopt." in auditor.content()
            token = auditor.locator("input[name=csrf_token]").first.get_attribute("value")
            for path in (
                "survey",
                "analysis",
                "reports",
                "recommendations",
                "recommendations/1/response",
                "groups",
                "packets",
                "packets/signoff",
                "packets/receipts",
                "poll",
                "purge",
            ):
                refused = auditor.request.post(f"{p}/{path}", form={"csrf_token": token})
                assert refused.status == 403, path
            assert auditor.request.get(f"{p}/purge").status == 403
        finally:
            browser.close()
    checked = {**visit.checked, **visit_beheer.checked, **visit_auditor.checked}
    assert {name: found for name, found in checked.items() if found} == {}
    consoles = visit.console + visit_beheer.console + visit_auditor.console
    assert [m for m in consoles if "Content Security Policy" in m] == []
