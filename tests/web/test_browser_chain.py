"""The sortition chain in a real browser (Playwright + Debian's chromium), as a medewerker: registry upload,
letters, the pool import, search and a call recorded, the quota editor with its live diagnosis, the panel
selection job, the panel, lottery and replacement pages, and an export downloaded. Every page visited
passes axe-core's WCAG 2.1 A/AA rules with 0 violations and raises no CSP violation; screenshots of the
main pages go to docs/screenshots/."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.app.accounts import add_user, grant
from kleroterion.web.app import create_app
from kleroterion.workspace import ProcessSettings, Workspace
from tests.reports.test_accessibility import CHROMIUM
from tests.web import chain_data
from tests.web.conftest import PASSWORD, serve
from tests.web.test_browser import JOB_TIMEOUT_MS, Visit

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (make sysdeps)"),
]
SLUG = "burgerberaad"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """One process and a medewerker in it, served by uvicorn on 127.0.0.1; (address, serve root)."""
    root = tmp_path / "serve"
    root.mkdir()
    settings = ProcessSettings(name="Burgerberaad Klimaat", municipality="Peel en Maas", reference_date="2024-01-01")
    Workspace.create(root / SLUG, settings).store.close()
    add_user(root, "piet", PASSWORD)
    grant(root, "piet", SLUG, "medewerker")
    app = create_app(root)
    with serve(app) as address:
        yield address, root


def test_a_medewerker_runs_the_sortition_chain(served: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    server, root = served
    extract = tmp_path / "brp.csv"
    extract.write_bytes(chain_data.registry_csv())
    base = f"{server}/p/{SLUG}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            visit = Visit(page)
            page.goto(f"{server}/login")
            page.fill("#username", "piet")
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(f"{server}/")
            page.click(f"a[href='/p/{SLUG}']")
            visit.check("chain-overview")

            # 1. the registry extract
            page.click("#chain-steps-title + ol >> text=BRP-bestand inlezen")
            page.set_input_files("#file", str(extract))
            page.click("main button[type=submit]")
            page.locator("#job-status").get_by_text("Inwoners opgeslagen").wait_for(timeout=JOB_TIMEOUT_MS)

            # 2. letters: a bad form first, then a wave
            page.goto(base)
            page.click("#chain-steps-title + ol >> text=Uitnodigingsbrieven trekken")
            page.fill("#count", "veel")
            page.click("main button[type=submit]")
            assert page.evaluate("document.activeElement.className") == "error-summary"
            visit.check("chain-letters-errors", screenshot=False)
            page.fill("#count", str(chain_data.LETTERS))
            page.select_option("#stratify_by", "wijk")
            page.fill("#seed", "1")
            page.click("main button[type=submit]")
            page.wait_for_url(f"{base}/jobs/*")
            page.locator("#job-status").get_by_text("Inwoners die een brief konden krijgen").wait_for(
                timeout=JOB_TIMEOUT_MS
            )
            visit.check("chain-letters-drawn")
            page.goto(f"{base}/letters")
            visit.check("chain-letters")

            # 3. the sign-ups come back: import them, find one, record a call
            with Workspace.open(root / SLUG) as ws:
                sheet = chain_data.signups_frame(ws)
            signups = tmp_path / "aanmeldingen.csv"
            sheet.to_csv(signups, index=False)
            page.goto(base)
            page.click("#chain-steps-title + ol >> text=Aanmeldingen")
            page.click("main >> text=Aanmeldingen inlezen")
            visit.check("chain-pool-import")
            page.set_input_files("#file", str(signups))
            page.click("main button[type=submit]")
            page.locator("#job-status").get_by_text("Aanmeldingen in totaal").wait_for(timeout=JOB_TIMEOUT_MS)
            page.goto(f"{base}/pool")
            code = str(sheet["code"].iloc[0])
            page.fill("#q", code)
            page.click("main button[type=submit]")
            assert page.locator("main table tbody tr").count() == 1
            page.fill("#q", "")
            page.click("main button[type=submit]")
            visit.check("chain-pool")
            page.click(f"main >> text={code}")
            page.check("#status-gebeld")
            page.fill("#note", "Teruggebeld, komt graag")
            page.click("main button[type=submit]")
            assert "Teruggebeld, komt graag" in page.locator("main table").inner_text()
            visit.check("chain-person")

            # 4. quotas: a proposal for 12, an infeasible edit shown live, then the proposal stored
            page.goto(f"{base}/quotas?size=12")
            assert "Geen tegenstrijdigheid gevonden" in page.locator("#diagnosis").inner_text()
            first_min, first_max = page.locator("input[name=min]").first, page.locator("input[name=max]").first
            proposed = first_min.input_value(), first_max.input_value()
            first_max.fill("12")
            first_min.fill("12")  # the whole panel from one group: the category's minima add up to more than 12
            page.get_by_text("Deze quota zijn niet haalbaar").wait_for(timeout=10_000)
            assert "more than the panel size 12" in page.locator("#diagnosis").inner_text()
            visit.check("chain-quotas-infeasible")
            first_min.fill(proposed[0])
            first_max.fill(proposed[1])
            page.locator("#diagnosis .diagnosis-ok").wait_for(timeout=10_000)
            visit.check("chain-quotas")
            page.click("main button[type=submit] >> text=Quota opslaan")
            page.get_by_text("Quotaset 1 opgeslagen").wait_for()

            # 5. the panel, as a job
            page.click("main >> text=Panel loten")
            page.fill("#alternates", "4")
            page.fill("#seed", "5")
            visit.check("chain-select")
            page.click("main button[type=submit]")
            page.wait_for_url(f"{base}/jobs/*")
            page.locator("#job-status").get_by_text("Kleinste selectiekans").wait_for(timeout=JOB_TIMEOUT_MS)
            assert "12 van 60 geloot" in page.locator("#job-status").inner_text()
            visit.check("chain-panel-selected")
            page.click("#job-status >> text=Panel en reserves")
            visit.check("chain-panel")
            page.click("main >> text=Loting natrekken")
            assert "komt precies overeen" in page.content()
            visit.check("chain-verify", screenshot=False)
            page.goto(f"{base}/panel/replace")
            visit.check("chain-replace")
            page.goto(f"{base}/lottery")
            visit.check("chain-lottery", screenshot=False)

            # 6. an export, downloaded
            page.goto(f"{base}/exports")
            visit.check("chain-exports")
            with page.expect_download() as download:
                page.click(f"a[href='/p/{SLUG}/exports/panel.csv']")
            assert download.value.suggested_filename == f"{SLUG}-panel.csv"
            content = Path(download.value.path()).read_bytes()
            frame = pd.read_csv(io.BytesIO(content), sep=None, engine="python", encoding="cp1252", dtype=str)
            with Workspace.open(root / SLUG) as ws:
                sitting, alternates = ws.store.current_panel(int(ws.store.latest_panel_record().draw_id or 0))
            assert sorted(frame.loc[frame["status"] == "lid", "deelnemer_id"]) == sorted(sitting)
            assert list(frame.loc[frame["status"] == "reserve", "deelnemer_id"]) == alternates
        finally:
            browser.close()
    assert {name: found for name, found in visit.checked.items() if found} == {}
    assert [m for m in visit.console if "Content Security Policy" in m] == []
