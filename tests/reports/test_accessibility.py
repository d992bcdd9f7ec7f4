"""Every HTML report passes an automated WCAG 2.1 AA check: axe-core (vendored) in Debian's chromium,
driven by Playwright for Python, with 0 violations."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
CHROMIUM = "/usr/bin/chromium"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(pages: list[Path]) -> dict[str, list[str]]:
    """Per page, the WCAG 2.1 A/AA rules axe-core finds violated, each with its first offending element."""
    from playwright.sync_api import sync_playwright

    script = AXE.read_text(encoding="utf-8")
    found: dict[str, list[str]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            for path in pages:
                page.goto(path.resolve().as_uri())
                page.add_script_tag(content=script)
                result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA)
                found[path.name] = [
                    f"{v['id']}: {v['nodes'][0]['target'] if v['nodes'] else ''}" for v in result["violations"]
                ]
        finally:
            browser.close()
    return found


needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed (make sysdeps)")


def test_the_vendored_axe_is_the_recorded_one() -> None:
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256


@needs_chromium
def test_axe_finds_a_violation_in_a_bad_page(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><img src='x.png'><table><tr><td>1</td></tr></table></body></html>")
    assert axe_violations([bad])["bad.html"] != []


@needs_chromium
def test_every_html_report_has_no_wcag_aa_violation(report_demo: Path, tmp_path: Path) -> None:
    pages = sorted(report_demo.glob("*-report.*.html"))
    assert len(pages) >= 8
    copies = []
    for page in pages:  # the copies live in a folder the browser may read, without the workspace beside them
        shutil.copy(page, tmp_path / page.name)
        copies.append(tmp_path / page.name)
    assert {name: v for name, v in axe_violations(copies).items() if v} == {}
