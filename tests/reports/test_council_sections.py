"""Fast tests of the council report's sections: settings, response by group, suppression, packets, groups,
evaluation, replacement reasons, and how the template shows them (or says that data is absent)."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.workspace import PROCESS_FILE, Workspace
from reports.context import CouncilReportContext, SessionRow
from reports.council import (
    ControlRow,
    EvaluationRow,
    FitRow,
    GroupSummary,
    PacketReview,
    PacketRow,
    ResponseRow,
    control_rows,
    evaluation_rows,
    fit_rows,
    group_summary,
    packet_reviews,
    packet_rows,
    reason_category,
    response_rows,
    suppressed_rows,
)
from reports.render import load_strings, render_html
from reports.selection import probability_rows
from reports.settings import MODELS, RUNGS, SESSION_FORMATS
from tests.conftest import make_pool, make_quotas, run_cli


@pytest.mark.parametrize(
    ("columns", "hidden"),
    [
        ([[100, 200, 300]], set()),
        ([[100, 3, 300]], {1, 0}),  # lone small cell: the smallest other goes too
        ([[100, 50, 300], [20, 2, 40]], {1, 0}),  # small in the second column only; complement by that column
        ([[100, 4, 3, 300]], {1, 2}),  # two hidden cells already protect each other
        ([[100, 0, 300]], set()),  # zero discloses nobody
        ([[9, 9, 9], [2, 6, 7]], {0, 1}),
    ],
)
def test_suppressed_rows_primary_and_complementary(columns: list[list[int]], hidden: set[int]) -> None:
    assert suppressed_rows(columns, 5) == hidden


def test_response_rows_count_letters_and_signups_per_group_and_suppress() -> None:
    # wijk A: 40 letters, 8 sign-ups; B: 30 letters, 3 sign-ups (small); C: 20 letters, 6 sign-ups; one unknown wijk
    signed = [True] * 8 + [False] * 32 + [True] * 3 + [False] * 27 + [True] * 6 + [False] * 14 + [False] * 10
    wijk = ["A"] * 40 + ["B"] * 30 + ["C"] * 20 + [None] * 10
    frame = pd.DataFrame({"wijk": wijk, "signed_up": signed})
    rows = {r.group: r for r in response_rows(frame, by=["wijk"], threshold=5)}
    assert (rows["A"].letters, rows["A"].signups) == (40, 8)
    assert rows["A"].rate == pytest.approx(0.2)
    assert rows["B"].signups == -1 and math.isnan(rows["B"].rate)  # 3 < 5
    # the complement: the smallest other non-zero sign-up cell is C (6), not the unknown group (0 sign-ups)
    assert rows["C"].signups == -1 and rows["C"].letters == -1
    assert (rows["?"].letters, rows["?"].signups) == (10, 0)  # a missing wijk is a named row, never dropped


def test_probability_rows_hide_a_complementary_group() -> None:
    quotas = make_quotas([("g", "x", 0, 9), ("g", "y", 0, 9), ("g", "z", 0, 9)])
    pool = make_pool([{"g": "x"}] * 6 + [{"g": "y"}] * 2 + [{"g": "z"}] * 8)
    probs = pd.Series([0.1] * 6 + [0.5, 0.5] + [0.2] * 8, index=pool["id"])
    x, y, z = probability_rows(quotas, pool, probs, threshold=5)
    assert y.n == -1 and x.n == -1  # y is small; x (6) is the smallest other, else 16 - 6 - 8 gives y back
    assert z.n == 8 and z.p_mean == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("dropped out", "dropped_out"),
        ("Heeft zich afgemeld", "dropped_out"),
        ("ziek geworden", "illness"),
        ("Verhuisd naar Venlo", "moved"),
        ("niet verschenen op 6 maart", "no_show"),
        ("Jan de Vries wil niet meer", "other"),  # the text (with a name) is never shown
    ],
)
def test_replacement_reasons_map_to_fixed_categories(reason: str, category: str) -> None:
    assert reason_category(reason) == category


def test_evaluation_rows_from_the_stored_summary_suppress_small_n() -> None:
    summary = pd.DataFrame(
        {
            "item": ["E1", "E2"],
            "text": ["Ik kon mijn mening geven", "Genoeg tijd"],
            "n": [30, 30],
            "n_dk_na": [2, 27],
            "n_substantive": [28, 3],
            "mean": [4.25, 3.0],
            "sd": [0.7, 1.0],
            "share_top_two": [0.8, 0.1],
            "scale": ["1–5", "1–5"],
        }
    )
    e1, e2 = evaluation_rows(summary, threshold=5)
    assert (e1.n, e1.mean, e1.share_top_two, e1.scale) == (28, 4.25, 0.8, "1–5")
    assert e2.n == -1 and math.isnan(e2.mean) and math.isnan(e2.share_top_two)
    assert evaluation_rows(None, threshold=5) == []


def test_packets_groups_from_the_store(workspace: Workspace) -> None:
    arguments = pd.DataFrame(
        {
            "option": ["huur", "huur", "huur", "tiny"],
            "side": ["pro", "con", "con", "pro"],
            "text": ["een twee drie", "een twee", "een", "een twee drie vier"],
            "source": ["CBS", "CBS", "", ""],
        }
    )
    workspace.store.save_packet("Wonen", arguments)
    workspace.store.save_packet("Wonen", arguments.iloc[:2])  # version 2 replaces version 1
    workspace.store.save_signoff("Wonen", 2, "Reviewer Een")
    workspace.store.save_signoff("Wonen", 2, "Reviewer Twee")
    rows = packet_rows(workspace.store.packet_arguments())
    assert rows == [PacketRow("Wonen", 2, "huur", 1, 1, 3, 2, 2 / 3, "")]
    assert packet_reviews(workspace.store.packet_versions()) == [PacketReview("Wonen", 2, 2, 2, 0)]
    groups = pd.DataFrame({"participant_id": [f"p{i}" for i in range(11)], "group": [1] * 6 + [2] * 5})
    assert group_summary(groups) == GroupSummary(n_groups=2, smallest=5, largest=6, members=11)
    assert group_summary(pd.DataFrame(columns=["participant_id", "group"])) is None


SETTINGS = """
[report]
remit = "Hoe  wonen we straks?"
response_due = 2027-12-31
participation_rung = "adviseren"
participation_model = "citizens_assembly"
limitations = ["Klein panel."]

[[session]]
date = 2027-04-03
hours = 3
title = "Tweede"

[[session]]
date = "2027-03-06"
hours = 2.5
title = "Eerste"
title_en = "First"
format = "plenary"
"""


def test_report_settings_are_read_from_process_toml(workspace: Workspace) -> None:
    assert workspace.report_settings.sessions == ()  # a process.toml without them still loads
    with (workspace.root / PROCESS_FILE).open("a", encoding="utf-8") as fh:
        fh.write(SETTINGS)
    settings = workspace.report_settings
    assert settings.text("remit", "nl") == "Hoe wonen we straks?"
    assert settings.text("remit", "en") == "Dutch original: Hoe wonen we straks?"  # no translation: marked
    assert settings.response_due == "2027-12-31"
    assert [s.held_on for s in settings.sessions] == ["2027-03-06", "2027-04-03"]
    assert [s.title_in("en") for s in settings.sessions] == ["First", "Dutch original: Tweede"]
    assert settings.lines("limitations", "en") == ["Dutch original: Klein panel."]


def test_bad_report_settings_list_every_problem_and_exit_1(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with (workspace.root / PROCESS_FILE).open("a", encoding="utf-8") as fh:
        fh.write(
            '[report]\nparticipation_rung = "meepraten"\nremit_fr = "x"\n\n[[session]]\ndate = "6 maart"\nhours = 0\n'
        )
    before = (workspace.root / PROCESS_FILE).read_bytes()
    code = run_cli(monkeypatch, "report", "council", "--workspace", str(workspace.root), "--out", "x.html")
    out = re.sub(r"\s+", " ", capsys.readouterr().out + capsys.readouterr().err)
    assert code == 1
    for expected in ("process.toml", "participation_rung", "meepraten", "remit_fr", "'date'", "'hours'"):
        assert expected in out
    assert "Traceback" not in out
    assert (workspace.root / PROCESS_FILE).read_bytes() == before
    assert not Path("x.html").exists()


def test_every_rung_model_format_and_reason_has_a_label_in_both_languages() -> None:
    from reports.council import REPLACEMENT_REASONS

    keys = (
        [f"rung_{r}" for r in RUNGS]
        + [f"model_{m}" for m in MODELS]
        + [f"fmt_{f}" for f in SESSION_FORMATS]
        + [f"reason_{r}" for r in REPLACEMENT_REASONS]
        + [f"char_{c}" for c in ("wijk", "age_band", "gender")]
    )
    for lang in ("nl", "en"):
        assert set(keys) - set(load_strings(lang)) == set()


def _context(**extra: object) -> CouncilReportContext:
    base: dict[str, object] = {
        "process_name": "P",
        "municipality": "Peel en Maas",
        "lang": "nl",
        "remit": "",
        "letters_sent": 2000,
        "signups": 100,
        "panel_size": 30,
        "alternates": 0,
        "algorithm": "maximin",
        "engine": "native",
        "seed": "1",
        "pool_hash": "ab" * 32,
        "fairness": {"min_probability": 0.1, "max_probability": 0.5, "mean_probability": 0.3, "gini": 0.1},
        "composition": [],
        "change": [],
        "knowledge": {
            "mean_pre": 0.5,
            "mean_post": 0.7,
            "mean_change": 0.2,
            "ci_low": 0.1,
            "ci_high": 0.3,
            "n_pairs": 30,
            "p_value": 0.01,
        },
        "t1_respondents": 500,
        "report_date": "2027-05-01",
    }
    return CouncilReportContext(**{**base, **extra})  # type: ignore[arg-type]


class Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, str] = {}
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self._current = dict(attrs).get("id")
            self.sections[str(self._current)] = ""
        elif self._current:
            self.sections[self._current] += " "  # cells and blocks are separate words

    def handle_data(self, data: str) -> None:
        if self._current:
            self.sections[self._current] += data


def sections(html: str) -> dict[str, str]:
    parser = Text()
    parser.feed(html)
    return {k: re.sub(r"\s+", " ", v) for k, v in parser.sections.items()}


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_absent_data_is_said_not_hidden(lang: str) -> None:
    t = load_strings(lang)
    text = sections(render_html("council.html.j2", _context(lang=lang), lang=lang))
    assert t["see_checklist"] in text["remit"] and t["see_checklist"] in text["form"]
    assert t["no_letters"] in text["recruitment"] and t["sel_no_replacements"] in text["recruitment"]
    assert t["no_packets"] in text["information"]
    assert t["no_sessions"] in text["deliberation"] and t["no_groups"] in text["deliberation"]
    assert t["no_evaluation"] in text["evaluation"]
    assert t["no_fit"] in text["composition"] and t["no_control"] in text["results"]


def test_present_data_shows_its_figures() -> None:
    context = _context(
        remit="Hoe wonen we straks?",
        commitment="De raad beslist in juni.",
        response_due="2027-12-31",
        participation_rung="adviseren",
        participation_model="citizens_assembly",
        participation_reason="Omdat het kan.",
        response_by_group=[
            ResponseRow("wijk", "Baarlo", 1234, 56, 56 / 1234),
            ResponseRow("wijk", "Kessel", -1, -1, math.nan),
        ],
        replacements={"illness": 2},
        packets=[PacketRow("Wonen", 2, "huur", 3, 2, 1500, 1200, 0.8, "")],
        packet_reviews=[PacketReview("Wonen", 2, 5, 3, 28)],
        sessions=[SessionRow("2027-03-06", 3.5, "Start", "plenary"), SessionRow("2027-03-20", 4.0, "", "mixed")],
        groups=GroupSummary(3, 9, 11, 30),
        evaluation=[EvaluationRow("E1", "Ik kon mijn mening geven", 28, 4.25, 0.8, "1–5")],
        fit=[FitRow("age_band", "population", 0.18, 3, 0.98, 0.046, True)],
        control=[ControlRow("knowledge_score", 30, 300, 0.261, 0.151, 0.371, 0.000003)],
    )
    text = sections(render_html("council.html.j2", context, lang="nl"))
    assert "Hoe wonen we straks?" in text["remit"] and "31 december 2027" in text["remit"]
    assert "adviseren" in text["form"] and "burgerberaad" in text["form"] and "Omdat het kan." in text["form"]
    assert (
        "Baarlo 1.234 56 4,5%" in text["recruitment"] and "4,5%" in text["recruitment"] and "< 5" in text["recruitment"]
    )
    assert "ziekte 2" in text["recruitment"]
    assert "1.500" in text["information"] and "0,80" in text["information"] and "28" in text["information"]
    assert "6 maart 2027" in text["deliberation"] and "7,5" in text["deliberation"]  # 3,5 + 4,0 hours
    assert "3 kleine groepen van 9 tot 11 personen" in text["deliberation"]
    assert "Ik kon mijn mening geven 28 4,2 80% 1–5" in text["evaluation"]  # babel rounds half-even: 4,25 -> 4,2
    assert "31 december 2027" in text["summary"]
    assert "Leeftijd bevolking (kleine categorieën samengevoegd) 0,18 3 0,980 0,05" in text["composition"]
    assert "Kennis voor en na 30 300 0,26 [0,15; 0,37] < 0,001" in text["results"]


def test_fit_and_control_rows_take_one_row_per_test_and_no_counts() -> None:
    population = pd.DataFrame(
        {
            "variable": ["gender", "gender", "age_band"],
            "category": ["M", "V", "16-24"],
            "count": [16, 14, 2],
            "chi2": [0.079, 0.079, 0.18],
            "df": [1, 1, 3],
            "p_value": [0.78, 0.78, 0.98],
            "cramers_v": [0.05, 0.05, 0.04],
            "test": ["chi2 goodness of fit", "chi2 goodness of fit", "chi2 goodness of fit, categories merged"],
        }
    )
    rows = fit_rows(population, None)
    assert rows == [
        FitRow("gender", "population", 0.079, 1, 0.78, 0.05, False),
        FitRow("age_band", "population", 0.18, 3, 0.98, 0.04, True),
    ]
    assert fit_rows(None, pd.DataFrame()) == [] and control_rows(None) == []
    # all categories merged into one: no test possible, the store holds null; the row shows "–"
    untestable = population.iloc[[2]].assign(chi2=[None], df=[0], p_value=[None], cramers_v=[None])
    (row,) = fit_rows(untestable, None)
    assert row.df == 0 and all(math.isnan(x) for x in (row.chi2, row.p_value, row.cramers_v))
    ancova = pd.DataFrame(
        {
            "outcome": ["A1"],
            "n_treated": [28],
            "n_control": [277],
            "tau": [0.278],
            "ci_low": [0.086],
            "ci_high": [0.47],
            "p_value": [0.0045],
        }
    )
    assert control_rows(ancova) == [ControlRow("A1", 28, 277, 0.278, 0.086, 0.47, 0.0045)]


def test_wave_respondents_leave_the_control_group_out(workspace: Workspace) -> None:
    people = pd.DataFrame(
        {
            "participant_id": ["a", "b", "c", "d"],
            "letter_code": [None] * 4,
            "arm": ["participant", "invited", "control", "invited"],
        }
    )
    workspace.store.save_participants(people)
    answers = pd.DataFrame(
        {
            "participant_id": ["a", "a", "b", "c"],
            "item_code": ["A1", "A2", "A1", "A1"],
            "raw": ["1"] * 4,
            "value": [1.0] * 4,
        }
    )
    with workspace.store.transaction() as conn:  # the wave must exist (foreign key) before answers are saved
        conn.execute("INSERT INTO waves (code, kind) VALUES ('T1', 'recruit')")
    workspace.store.save_wave("T1", answers, source="t1.csv", sha256="0" * 64)
    assert workspace.store.wave_respondents("T1", arms=("participant", "invited")) == 2
    assert workspace.store.wave_respondents("T1", arms=("control",)) == 1
