"""The control group in the council report: described as never invited, with both contrasts equal to the
stored analyses (participants vs control, and everyone invited vs control: intention to treat)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kleroterion.commands.common import open_workspace

pytestmark = pytest.mark.slow


def table_rows(html: str, table_id: str) -> dict[str, tuple[int, int, str]]:
    """outcome code -> (n treated, n control, effect as stored in data-value) of one control table."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', html, flags=re.S)
    assert table is not None, table_id
    rows = re.findall(
        r'<th scope="row" data-code="([^"]+)">.*?</th><td class="n">([\d.,]+)</td><td class="n">([\d.,]+)</td>'
        r'<td class="n" data-value="([^"]+)">',
        table.group(1),
    )
    return {
        code: (int(n1.replace(".", "").replace(",", "")), int(n0.replace(".", "").replace(",", "")), tau)
        for code, n1, n0, tau in rows
    }


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_both_effects_equal_the_stored_analysis(report_demo: Path, lang: str) -> None:
    html = (report_demo / f"council-report.{lang}.html").read_text(encoding="utf-8")
    with open_workspace(report_demo / "workspace") as ws:
        stored = {kind: ws.store.analysis(kind) for kind in ("control_ancova", "control_ancova_itt")}
    for kind, table_id in (("control_ancova", "control-table"), ("control_ancova_itt", "control-itt-table")):
        frame = stored[kind]
        assert frame is not None and not frame.empty, kind
        shown = table_rows(html, table_id)
        assert set(shown) == set(frame["outcome"])
        for r in frame.itertuples(index=False):
            n_treated, n_control, tau = shown[r.outcome]
            assert (n_treated, n_control) == (r.n_treated, r.n_control)
            assert float(tau) == pytest.approx(r.tau, abs=1e-12)
    itt, attended = stored["control_ancova_itt"], stored["control_ancova"]
    assert (itt["n_treated"] > attended["n_treated"]).all()  # ITT counts every invitee who answered


def test_the_control_group_is_described_as_never_invited(report_demo: Path) -> None:
    nl = (report_demo / "council-report.nl.html").read_text(encoding="utf-8")
    en = (report_demo / "council-report.en.html").read_text(encoding="utf-8")
    assert "adressen die nooit een uitnodiging kregen" in nl
    assert "addresses that were never invited" in en
    assert "intention to treat" in en
    assert "control group of invitees who did not take part" not in en
