"""Issue 13's acceptance walk: the whole Peel en Maas chain in a real browser (Playwright + Debian's
chromium), from the registry upload to the council report download. A beheerder creates the example
process; a *medewerker* then does everything else in the browser only: registry upload, letters drawn and
their mail-merge list downloaded, the sign-ups uploaded, quotas, the panel selection, the poll instrument,
both survey waves, the analysis and the council report (PDF) downloaded. Every file they upload is
simulated from the workspace's own state just before the upload, by ``klero demo``'s own simulators (the
residents of the synthetic registry, the sign-ups of the drawn letters, the survey answers of the
invitees and the panel). Every page visited passes axe-core (WCAG 2.1 A/AA) with 0 violations and raises
no CSP report. The figures checked at the end are counted from the files uploaded, not read off a page."""

from __future__ import annotations

import io
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kleroterion.app.accounts import add_user, grant
from kleroterion.demo import DATA, DEMO_SEED, Residents, _simulators
from kleroterion.seeds import generator
from kleroterion.web.app import create_app
from tests.reports.test_accessibility import CHROMIUM
from tests.web.conftest import PASSWORD, serve
from tests.web.test_browser import Visit
from tests.web.test_browser_deliberation import SLUG, job_done, sign_in

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (make sysdeps)"),
]
NAME = "Burgerberaad Peel en Maas"
LETTERS = 2000
PANEL = 30


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An empty serve root with a server beheerder and a medewerker, served on 127.0.0.1."""
    root = tmp_path / "serve"
    add_user(root, "beheer", PASSWORD, is_admin=True)
    add_user(root, "mede", PASSWORD)
    with serve(create_app(root)) as address:
        yield address, root


def read_csv(content: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(content), sep=None, engine="python", encoding="cp1252", dtype=str)


def test_a_medewerker_walks_the_whole_peel_en_maas_chain(served: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, root = served
    p = f"{base}/p/{SLUG}"
    workspace = root / SLUG
    residents = tmp_path / "inwoners"
    residents.mkdir()
    simulate: dict[str, Any] = _simulators(residents, Residents(rng=generator(DEMO_SEED)))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            admin = browser.new_page(viewport={"width": 1280, "height": 900})
            visit_admin = Visit(admin)
            sign_in(admin, base, "beheer")
            admin.goto(f"{base}/processes/new")
            admin.fill("#name", NAME)
            admin.fill("#municipality", "Peel en Maas")
            admin.fill("#slug", SLUG)
            admin.fill("#reference_date", "2024-01-01")
            admin.check("#example")
            admin.click("main button[type=submit]")
            admin.wait_for_url(p)
            visit_admin.check("whole-process-created", screenshot=False)
            admin.close()
            grant(root, "mede", SLUG, "medewerker")

            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            visit = Visit(page)
            sign_in(page, base, "mede")
            page.click(f"a[href='/p/{SLUG}']")
            assert NAME in page.content()
            visit.check("whole-overview", screenshot=False)

            # 1. the registry office's extract
            (extract,) = simulate.pop("brp-extract.csv")(workspace)
            page.goto(f"{p}/registry")
            visit.check("whole-registry", screenshot=False)
            page.set_input_files("#file", str(extract))
            page.click("main button[type=submit]")
            assert job_done(page, base) == "Klaar"
            visit.check("whole-registry-imported", screenshot=False)

            # 2. the letters, and their mail-merge list
            page.goto(f"{p}/letters")
            page.fill("#count", str(LETTERS))
            page.select_option("#stratify_by", "wijk")
            page.click("main button[type=submit]")
            assert job_done(page, base) == "Klaar"
            page.goto(f"{p}/letters")
            visit.check("whole-letters", screenshot=False)
            with page.expect_download() as download:
                page.click("main a[href$='/exports/letters.csv']")
            mailing = read_csv(Path(download.value.path()).read_bytes())

            # 3. the sign-ups of the drawn letters
            (signups,) = simulate.pop("aanmeldingen.csv")(workspace)
            page.goto(f"{p}/pool/import")
            visit.check("whole-pool-import", screenshot=False)
            page.set_input_files("#file", str(signups))
            page.click("main button[type=submit]")
            assert job_done(page, base) == "Klaar"
            page.goto(f"{p}/pool")
            visit.check("whole-pool", screenshot=False)

            # 4. quotas proposed for the panel size, stored
            page.goto(f"{p}/quotas?size={PANEL}")
            page.locator("#diagnosis .diagnosis-ok").wait_for(timeout=30_000)
            visit.check("whole-quotas", screenshot=False)
            page.click("main button[type=submit] >> text=Quota opslaan")
            page.get_by_text("Quotaset 1 opgeslagen").wait_for()

            # 5. the panel, as a job
            page.goto(f"{p}/panel/select")
            page.fill("#alternates", "10")
            visit.check("whole-select", screenshot=False)
            page.click("main button[type=submit]")
            assert job_done(page, base) == "Klaar"
            page.goto(f"{p}/panel")
            visit.check("whole-panel", screenshot=False)
            page.goto(f"{p}/exports")
            with page.expect_download() as download:
                page.click(f"a[href='/p/{SLUG}/exports/panel.csv']")
            panel = read_csv(Path(download.value.path()).read_bytes())

            # 6. the poll's instrument
            instrument = tmp_path / "instrument.toml"
            shutil.copy(DATA / "instrument.toml", instrument)
            page.goto(f"{p}/poll")
            page.set_input_files("#file", str(instrument))
            page.click("main form[action$='/poll'] button[type=submit]")
            assert job_done(page, base) == "Klaar"
            page.goto(f"{p}/poll")
            visit.check("whole-poll", screenshot=False)

            # 7. both survey waves, as the invitees and the panel answer them
            t1, t2 = simulate.pop("enquete-T1.csv")(workspace)
            for wave, answers in (("T1", t1), ("T2", t2)):
                page.goto(f"{p}/survey")
                page.set_input_files("#file", str(answers))
                page.fill("#wave", wave)
                page.click("main form[action$='/survey'] button[type=submit]")
                assert job_done(page, base) == "Klaar"
            visit.check("whole-survey-imported", screenshot=False)

            # 8. the analysis
            page.goto(f"{p}/analysis")
            page.select_option("#pre", "T1")
            page.select_option("#post", "T2")
            page.click("main form button[type=submit]")
            assert job_done(page, base) == "Klaar"
            page.goto(f"{p}/analysis")
            visit.check("whole-analysis", screenshot=False)
            knowledge = page.locator("#table-knowledge_gain table")
            header = [str(c) for c in knowledge.locator("thead th").all_inner_texts()]
            row = [str(c) for c in knowledge.locator("tbody tr").first.locator("th, td").all_inner_texts()]

            # 9. the council report, downloaded
            page.goto(f"{p}/reports")
            page.check("#kinds-council")
            page.check("#languages-nl")
            page.check("#formats-pdf")
            page.click("main form button[type=submit]")
            assert job_done(page, base) == "Klaar"
            page.goto(f"{p}/reports")
            visit.check("whole-reports", screenshot=False)
            with page.expect_download() as download:
                page.click("main a[href$='/council-report.nl.pdf']")
            report = tmp_path / "council-report.nl.pdf"
            download.value.save_as(report)
        finally:
            browser.close()

    # what a user checks, against figures counted from the files they sent and received
    assert len(mailing) == LETTERS
    sheet = pd.read_csv(signups, dtype=str)
    assert set(sheet["code"]) <= set(mailing["code"])
    assert report.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", str(report), "-"], capture_output=True, text=True, check=True).stdout
    assert NAME in " ".join(text.split())
    sitting = set(panel.loc[panel["status"] == "lid", "deelnemer_id"])
    assert len(sitting) == PANEL
    assert (panel["status"] == "reserve").sum() == 10
    # the knowledge gain's row: the sitting panel's pairs, scored by the instrument's own answer key
    key = {i["code"]: i["correct"] for i in tomllib.loads(instrument.read_text())["items"] if i["kind"] == "knowledge"}
    scores = []
    for answers in (t1, t2):
        wave = pd.read_csv(answers, dtype=str).set_index("participant_id").loc[sorted(sitting), list(key)]
        scores.append(sum(wave[code] == correct for code, correct in key.items()) / len(key))
    table = dict(zip(header, row, strict=True))
    assert table["n_pairs"] == str(PANEL)
    shown = {name: float(table[name].replace(",", ".")) for name in ("mean_pre", "mean_post")}  # Dutch decimals
    assert shown == {
        "mean_pre": pytest.approx(scores[0].mean(), abs=5e-4),
        "mean_post": pytest.approx(scores[1].mean(), abs=5e-4),
    }
    checked = {**visit_admin.checked, **visit.checked}
    assert {name: found for name, found in checked.items() if found} == {}
    assert [m for m in visit.console + visit_admin.console if "Content Security Policy" in m] == []
