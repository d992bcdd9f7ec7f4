"""The main flow in a real browser (Playwright + Debian's chromium): sign in, create the Peel en Maas example
process, upload its synthetic registry extract and see the result. Every page visited passes axe-core's
WCAG 2.1 A/AA rules with 0 violations and raises no CSP violation; screenshots go to docs/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kleroterion.app.accounts import add_user
from kleroterion.example import example_seed
from kleroterion.web.app import create_app
from tests.conftest import REPO
from tests.reports.test_accessibility import AXE, CHROMIUM, WCAG_AA
from tests.web.conftest import PASSWORD, serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (make sysdeps)"),
]
SCREENSHOTS = REPO / "docs" / "screenshots"
JOB_TIMEOUT_MS = 240_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The web app served by uvicorn in a thread on 127.0.0.1 (a free port); stopped at the end."""
    root = tmp_path / "serve"
    add_user(root, "beheerder", PASSWORD, is_admin=True)
    app = create_app(root)
    with serve(app) as address:
        yield address


def peel_en_maas_extract(folder: Path) -> Path:
    """The example's synthetic BRP extract, made as ``klero demo`` makes it (same seed, same CBS rows)."""
    import pandas as pd

    from kleroterion.demo import load_cbs
    from sortition.synthetic import generate_registry

    wijken, gemeente = load_cbs()
    extract, _ = generate_registry(
        wijken,
        total=int(gemeente["AantalInwoners"]),
        men=int(gemeente["Mannen"]),
        rng=np.random.default_rng(example_seed("peel-en-maas", "synthetic")),
        reference_date=pd.Timestamp("2024-01-01").date(),
    )
    path = folder / "brp-extract.csv"
    extract.to_csv(path, sep=";", index=False, encoding="cp1252")
    return path


class Visit:
    """Checks each page visited: axe (0 violations), no CSP report in the console; saves screenshots."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.script = AXE.read_text(encoding="utf-8")
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(message.text))
        self.checked: dict[str, list[str]] = {}

    def check(self, name: str, *, screenshot: bool = True) -> None:
        # evaluated over the DevTools protocol: the page's CSP (no inline script) rightly refuses a script tag
        self.page.evaluate(self.script)
        result = self.page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
        assert result["passes"], f"axe checked nothing on {name}"
        self.checked[name] = [
            f"{v['id']}: {v['nodes'][0]['target'] if v['nodes'] else ''}" for v in result["violations"]
        ]
        if screenshot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_sign_in_create_the_example_and_import_its_registry(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    extract = peel_en_maas_extract(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            visit = Visit(page)
            page.goto(f"{server}/")
            assert page.url.endswith("/login")
            visit.check("login")
            page.click("button[type=submit]")  # empty: the error summary links to the fields
            visit.check("login-errors", screenshot=False)
            assert page.evaluate("document.activeElement.className") == "error-summary"  # focus moved there
            page.click(".error-summary a[href='#username']")
            assert page.evaluate("document.activeElement.id") == "username"
            page.fill("#username", "beheerder")
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(f"{server}/")
            visit.check("processes-empty", screenshot=False)

            page.click("text=Nieuw proces")
            visit.check("process-new")
            page.fill("#name", "Burgerberaad Peel en Maas")
            page.fill("#municipality", "Peel en Maas")
            page.fill("#slug", "peel-en-maas")
            page.fill("#reference_date", "2024-01-01")
            page.check("#example")
            page.click("main button[type=submit]")
            page.wait_for_url(f"{server}/p/peel-en-maas")
            assert "voorbeeld, synthetische gegevens" in page.content()
            visit.check("process-overview")

            page.click("main >> text=BRP-bestand inlezen")
            visit.check("registry-upload")
            page.set_input_files("#file", str(extract))
            page.click("main button[type=submit]")
            page.wait_for_url(f"{server}/p/peel-en-maas/jobs/*")
            visit.check("job-running", screenshot=False)
            page.locator("#job-status").get_by_text("Inwoners opgeslagen").wait_for(timeout=JOB_TIMEOUT_MS)
            assert page.locator("#job-status strong").inner_text() == "Klaar"
            visit.check("registry-imported")
            page.reload()  # the result survives a reload
            assert "Inwoners opgeslagen" in page.content()

            page.click("text=Auditlog")
            assert "registry.import" in page.content()
            visit.check("audit-log")
            page.click("text=Gebruikers")
            visit.check("users")
            page.click("text=English")
            assert page.locator("h1").inner_text() == "Users"
            visit.check("users-en", screenshot=False)

            page.set_viewport_size({"width": 320, "height": 640})  # a phone: nothing wider than the screen
            page.goto(f"{server}/p/peel-en-maas")
            assert page.evaluate("document.documentElement.scrollWidth") <= 320
            visit.check("process-overview-320")
        finally:
            browser.close()
    assert {name: found for name, found in visit.checked.items() if found} == {}
    assert [m for m in visit.console if "Content Security Policy" in m] == []
