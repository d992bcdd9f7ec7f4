"""Fast tests of the report cores: suppression, probabilities by group, responses, the template contract."""

from __future__ import annotations

import dataclasses
import math
import re
from importlib import resources

import pandas as pd
import pytest

from deliberation.disclosure import suppressed_cells
from kleroterion.app import reports as report
from kleroterion.errors import KleroError, StoreError
from kleroterion.workspace import Workspace
from reports.context import CouncilReportContext, composition_rows
from reports.outcomes import FeedbackContext, check_response, recommendation_rows, status_counts
from reports.public import PublicAccountContext
from reports.render import load_strings
from reports.selection import SelectionReportContext, probability_rows, replay_command
from tests.conftest import make_pool, make_quotas


@pytest.mark.parametrize(
    ("counts", "threshold", "hidden"),
    [
        ([10, 20, 30], 5, set()),
        ([10, 3, 30], 5, {0, 1}),  # one small cell: the next smallest goes too, else the total reveals it
        ([2, 3, 30], 5, {0, 1}),
        ([0, 8, 30], 5, set()),  # zero is not disclosive
        ([4, 4, 4], 5, {0, 1, 2}),
        ([1, 9], 0, set()),
    ],
)
def test_suppressed_cells_with_complementary_suppression(counts: list[int], threshold: int, hidden: set[int]) -> None:
    assert suppressed_cells(counts, threshold) == hidden


def test_composition_rows_hide_small_pool_cells_and_their_shares() -> None:
    quotas = make_quotas([("wijk", "A", 0, 2), ("wijk", "B", 0, 2), ("wijk", "C", 0, 2)])
    pool = make_pool([{"wijk": "A"}] * 2 + [{"wijk": "B"}] * 6 + [{"wijk": "C"}] * 9)
    rows = composition_rows(quotas, pool, pool.iloc[:3], threshold=5)
    assert [r.pool_count for r in rows] == [-1, -1, 9]
    assert math.isnan(rows[0].pool_share) and math.isnan(rows[1].pool_share)
    assert rows[2].pool_share == pytest.approx(9 / 17)
    # wijk A: 2 sign-ups, both on the panel. Showing the panel's 2 beside "< 5" would tell that every sign-up
    # of wijk A sits on the panel; the panel column is hidden in the same rows (issue 18 item 7).
    assert [r.panel_count for r in rows] == [-1, -1, 0]
    assert math.isnan(rows[0].panel_share) and math.isnan(rows[1].panel_share)
    assert rows[2].panel_share == 0.0


def test_composition_panel_counts_small_but_public_where_the_pool_is_shown() -> None:
    """The panel's one-feature composition is public (DOMAIN.md §6): a panel count of 1 is shown when its
    pool count is; only the rows with a hidden pool count hide the panel count. Differencing by hand:
    panel size 6 minus the shown 1 + 3 leaves 2 for A and B together, which does not give either."""
    quotas = make_quotas([("wijk", "A", 0, 9), ("wijk", "B", 0, 9), ("wijk", "C", 0, 9), ("wijk", "D", 0, 9)])
    pool = make_pool([{"wijk": "A"}] * 3 + [{"wijk": "B"}] * 7 + [{"wijk": "C"}] * 8 + [{"wijk": "D"}] * 20)
    panel = pd.concat([pool.iloc[[0, 1]], pool.iloc[[10]], pool.iloc[[20, 21, 22]]])  # A 2, B 0, C 1, D 3
    rows = composition_rows(quotas, pool, panel, threshold=5)
    assert [r.pool_count for r in rows] == [-1, -1, 8, 20]  # A primary, B (next smallest) complementary
    assert [r.panel_count for r in rows] == [-1, -1, 1, 3]
    shown = sum(r.panel_count for r in rows if r.panel_count >= 0)
    assert len(panel) - shown == 2  # A + B together: whether A has 0, 1 or 2 of them is not recoverable


def test_selection_quota_rows_hide_panel_and_alternates_where_the_pool_group_is_hidden() -> None:
    from reports.selection import quota_rows

    quotas = make_quotas([("g", "x", 0, 9), ("g", "y", 0, 9), ("g", "z", 0, 9)])
    pool = make_pool([{"g": "x"}] * 5 + [{"g": "y"}] * 2 + [{"g": "z"}] * 3)
    panel, alternates = pool.iloc[[0, 5, 7]], pool.iloc[[6]]
    assert [(r.panel_count, r.alternate_count) for r in quota_rows(quotas, panel, alternates)] == [
        (1, 0),
        (1, 1),
        (1, 0),
    ]
    rows = quota_rows(quotas, panel, alternates, pool=pool, threshold=5)
    assert [(r.panel_count, r.alternate_count) for r in rows] == [(1, 0), (-1, -1), (-1, -1)]


def test_probability_rows_min_mean_max_per_group_and_suppression() -> None:
    quotas = make_quotas([("g", "x", 0, 9), ("g", "y", 0, 9), ("g", "z", 0, 9)])
    pool = make_pool([{"g": "x"}] * 5 + [{"g": "y"}] * 2 + [{"g": "z"}] * 3)
    probs = pd.Series([0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.8, 0.5, 0.5, 0.5], index=pool["id"])
    x, y, z = probability_rows(quotas, pool, probs, threshold=5)  # y and z small: they hide each other
    assert z.n == -1
    assert (x.n, x.p_min, x.p_max) == (5, 0.1, 0.5)
    assert x.p_mean == pytest.approx(0.3)
    assert y.n == -1 and math.isnan(y.p_max)


def test_replay_command_names_algorithm_seed_and_alternates() -> None:
    assert replay_command(algorithm="maximin", seed="42", alternates=3, public_value=None) == (
        "klero panel select --algorithm maximin --seed 42 --engine native --alternates 3"
    )


@pytest.mark.parametrize(
    ("status", "reason", "due", "message"),
    [
        ("rejected", "", None, "reason is required"),
        ("partly", "  ", None, "reason is required"),
        ("pending", "", None, "reason is required"),
        ("maybe", "x", None, "not one of"),
        ("adopted", "", "31-12-2027", "not a date"),
    ],
)
def test_incomplete_responses_are_rejected(status: str, reason: str, due: str | None, message: str) -> None:
    with pytest.raises(KleroError, match=message):
        check_response(status, reason, due)


def test_adopted_needs_no_reason() -> None:
    check_response("adopted", "", "2027-12-31")


def test_responses_keep_dated_history_and_latest_wins(workspace: Workspace) -> None:
    first = report.add_recommendation(workspace, "Meer woningen", support_pct=80)
    report.add_recommendation(workspace, "Minder auto's", support_pct=None, minority="Liever niet")
    report.record_response(workspace, first, status="pending", reason="Komt in de raad van maart", due="2027-03-31")
    report.record_response(workspace, first, status="adopted", reason="", due=None, owner="Team Wonen")
    rows = recommendation_rows(workspace.store.recommendations(), workspace.store.council_responses())
    assert [r.status for r in rows] == ["adopted", "pending"]
    assert [u.status for u in rows[0].updates] == ["pending", "adopted"]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", u.recorded_on) for u in rows[0].updates)
    assert rows[0].support == pytest.approx(0.8) and rows[1].support is None
    assert (rows[0].owner, rows[0].updates[0].owner, rows[1].owner) == ("Team Wonen", "", "")
    assert rows[1].minority == "Liever niet"
    assert status_counts(rows) == {"adopted": 1, "partly": 0, "rejected": 0, "pending": 1}


def test_response_to_unknown_recommendation_fails(workspace: Workspace) -> None:
    with pytest.raises(StoreError, match="no recommendation 7"):
        report.record_response(workspace, 7, status="adopted", reason="", due=None)


def test_support_must_be_a_percentage(workspace: Workspace) -> None:
    with pytest.raises(KleroError, match="percentage"):
        report.add_recommendation(workspace, "X", support_pct=140)


def _template_source(name: str) -> str:
    folder = resources.files("reports") / "templates"
    text = (folder / name).read_text(encoding="utf-8")
    if "{% extends" in text:
        text += (folder / "base.html.j2").read_text(encoding="utf-8")
    for partial in sorted(set(re.findall(r'{% (?:include|import) "(_[\w.]+)"', text))):
        text += (folder / partial).read_text(encoding="utf-8")
    return text


@pytest.mark.parametrize(
    ("context", "template"),
    [
        (CouncilReportContext, "council.html.j2"),
        (SelectionReportContext, "selection.html.j2"),
        (FeedbackContext, "feedback.html.j2"),
        (PublicAccountContext, "public.html.j2"),
    ],
)
def test_every_context_field_is_used_by_its_template(context: type, template: str) -> None:
    source = _template_source(template)
    unused = [f.name for f in dataclasses.fields(context) if not re.search(rf"\b{f.name}\b", source)]
    assert unused == []


@pytest.mark.parametrize("template", ["council.html.j2", "selection.html.j2", "feedback.html.j2", "public.html.j2"])
def test_every_string_a_template_uses_exists_in_both_languages(template: str) -> None:
    source = _template_source(template)
    keys = set(re.findall(r"\bt\.(?!get\b)(\w+)", source))
    keys |= {f"{prefix}_{s}" for prefix in ("status", "next") for s in ("adopted", "partly", "rejected", "pending")}
    for lang in ("nl", "en"):
        assert keys - set(load_strings(lang)) == set(), lang
    assert set(load_strings("nl")) == set(load_strings("en"))


def test_cli_records_recommendations_and_refuses_a_response_without_reason(workspace: Workspace) -> None:
    from typer.testing import CliRunner

    from kleroterion.cli import cli

    runner = CliRunner()
    ws = ["--workspace", str(workspace.root)]
    added = runner.invoke(cli, ["recommendation", "add", "Meer groen", "--support", "70", *ws])
    assert added.exit_code == 0, added.output
    refused = runner.invoke(cli, ["response", "record", "1", "--status", "rejected", *ws])
    assert isinstance(refused.exception, KleroError) and "reason is required" in str(refused.exception)
    done = runner.invoke(cli, ["response", "record", "1", "--status", "rejected", "--reason", "Geen budget", *ws])
    assert done.exit_code == 0, done.output
    (response,) = workspace.store.council_responses()
    assert (response["status"], response["reason"], response["due"]) == ("rejected", "Geen budget", None)
