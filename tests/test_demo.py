"""End to end: the demo on the shipped example, checked on real properties of its outputs."""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from kleroterion.workspace import Workspace
from sortition.quotas import count_by_quota


class CompositionTable(HTMLParser):
    """Collects (category, feature, panel count) from the report's composition table."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.row: list[str] = []
        self.rows: list[list[str]] = []
        self.cell: str | None = None
        self.code: str | None = None  # the cells show labels; the code is in data-code
        self.panel_counts: list[int | None] = []  # None: hidden beside a hidden pool count

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = dict(attrs)
        if tag == "table" and data.get("id") == "composition-table":
            self.inside = True
        if self.inside and tag in ("td", "th"):
            self.cell, self.code = "", data.get("data-code")
            if "data-count" in data:
                self.panel_counts.append(int(data["data-count"]) if data["data-count"] else None)
        if self.inside and tag == "tr":
            self.row = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        if self.inside and tag in ("td", "th") and self.cell is not None:
            self.row.append(self.code or self.cell.strip())
            self.cell = None
        if self.inside and tag == "tr" and self.row:
            self.rows.append(self.row)

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell += data


@pytest.fixture(scope="session")
def demo(demo_output: Path) -> Path:
    """The shared demo output (tests/conftest.py): built once per session."""
    return demo_output


@pytest.mark.slow
def test_panel_meets_every_quota_and_one_per_address(demo: Path) -> None:
    with Workspace.open(demo / "workspace") as ws:
        _, size, quotas = ws.store.quotas()
        pool = ws.store.pool()
        members = ws.store.panel_members("panel")
        panel = pool[pool["id"].isin(members["person_id"])]
        assert len(panel) == size == 30
        counts = count_by_quota(panel, quotas).to_numpy()
        assert ((counts >= quotas["min"].to_numpy()) & (counts <= quotas["max"].to_numpy())).all()
        assert panel["address_key"].is_unique
        alternates = ws.store.panel_members("alternate")
        assert len(alternates) == 10
        assert not set(alternates["person_id"]) & set(members["person_id"])
        letters = ws.store.letters()
        assert len(letters) == 2000
        assert letters["address_key"].is_unique


@pytest.mark.slow
def test_report_table_shows_the_panels_actual_counts(demo: Path) -> None:
    parser = CompositionTable()
    parser.feed((demo / "council-report.nl.html").read_text(encoding="utf-8"))
    with Workspace.open(demo / "workspace") as ws:
        _, _, quotas = ws.store.quotas()
        pool = ws.store.pool()
        panel = pool[pool["id"].isin(ws.store.panel_members("panel")["person_id"])]
        expected = count_by_quota(panel, quotas).tolist()
    body = parser.rows[1:]
    assert [(r[0], r[1]) for r in body] == list(zip(quotas["category"], quotas["feature"], strict=True))
    shown = [(got, want) for got, want in zip(parser.panel_counts, expected, strict=True) if got is not None]
    assert all(got == want for got, want in shown)
    assert 0 < parser.panel_counts.count(None) < len(expected)  # hidden only beside a hidden pool count
    hidden = [want for got, want in zip(parser.panel_counts, expected, strict=True) if got is None]
    assert sum(w for _, w in shown) + sum(hidden) == 30 * quotas["category"].nunique()


@pytest.mark.slow
def test_pdf_contains_the_report_sections(demo: Path) -> None:
    text = "\n".join(page.extract_text() for page in PdfReader(demo / "council-report.nl.pdf").pages)
    for heading in (
        "Verslag aan de gemeenteraad",
        "Samenvatting",
        "De vraag",
        "Hoe de deelnemers zijn geloot",
        "Representativiteit",
        "Resultaten",
        "Kennis voor en na",
        "Beperkingen",
    ):
        assert heading in text
    assert "2.000 uitnodigingsbrieven" in text


@pytest.mark.slow
def test_demo_poll_has_control_arm_reviewed_packet_groups_and_evaluation(demo: Path) -> None:
    with Workspace.open(demo / "workspace") as ws:
        participants = ws.store.participants()
        arms = participants["arm"].value_counts()
        assert (arms["participant"], arms["control"]) == (30, 300)
        panel = set(participants.loc[participants["arm"] == "participant", "participant_id"])
        versions = ws.store.packet_versions()
        assert versions[["version", "n_signoffs", "n_receipts"]].values.tolist() == [[1, 2, 30]]
        assert set(ws.store.packet_receipts()["participant_id"]) == panel
        balance = ws.store.analysis("packet_balance")
        assert balance is not None and balance["balanced_count"].all() and (balance["missing_side"] == "").all()
        groups = ws.store.small_groups()
        assert len(groups) == 4 and (groups["moderator"] != "").all() and groups["n_active"].sum() == 30
        assert set(ws.store.groups()["participant_id"]) == panel
        itt = ws.store.analysis("control_ancova_itt")
        assert itt is not None
        knowledge = itt.set_index("outcome").loc["knowledge_score"]  # DK counts as wrong: nobody drops out
        assert (knowledge["n_treated"], knowledge["n_control"]) == (2000, 300)  # every invitee, attended or not
        evaluation = ws.store.analysis("evaluation")
        assert evaluation is not None and evaluation["item"].tolist() == ["E1", "E2", "E3", "E4"]
        assert (evaluation["n"] == 30).all()
        domination = ws.store.analysis("group_domination_summary")
        assert domination is not None and set(domination["characteristic"]) == {"gender", "education"}


@pytest.mark.slow
def test_no_letter_loses_its_house_letter_or_toevoeging(demo: Path) -> None:
    with (demo / "workspace" / "brieven.csv").open(encoding="cp1252", newline="") as fh:
        letters = list(csv.DictReader(fh, delimiter=";"))
    with Workspace.open(demo / "workspace") as ws:
        keys = dict(ws.store.letters()[["code", "address_key"]].itertuples(index=False, name=None))
    assert len(letters) == 2000
    with_letter = [r for r in letters if keys[r["code"]].split("|")[2]]
    assert len(with_letter) > 50  # about 5% of the demo's addresses have a huisletter
    for r in letters:
        _postcode, number, letter, suffix = keys[r["code"]].split("|")
        assert (r["huisnummer"], r["huisletter"].upper(), r["huisnummertoevoeging"].upper()) == (number, letter, suffix)
        assert r["adresregel"] == " ".join(p for p in (r["straatnaam"], number, r["huisletter"], suffix) if p)
