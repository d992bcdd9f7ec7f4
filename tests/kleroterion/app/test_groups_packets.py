"""``kleroterion.app.groups`` and ``kleroterion.app.packets`` without the CLI: typed results, and a
group assignment stored whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kleroterion.app.groups import GroupAssignment, assign_small_groups, reassign_after_dropout
from kleroterion.app.packets import check_packet, import_packet, record_receipts, sign_off_packet
from kleroterion.errors import InputError, KleroError
from kleroterion.workspace import Workspace

IDS = [f"p{i:02d}" for i in range(17)]


@pytest.fixture
def panel(workspace: Workspace) -> Workspace:
    """Seventeen panel participants, alternately men and women."""
    people = pd.DataFrame({"participant_id": IDS, "arm": "participant", "gender": (["M", "V"] * 9)[:17]})
    workspace.store.save_participants(people.assign(letter_code=None))
    return workspace


def test_assign_stores_groups_and_their_balance(panel: Workspace) -> None:
    out = assign_small_groups(panel, size=6, balance=["gender"], seed=7)
    assert isinstance(out, GroupAssignment)
    assert sorted(out.assignment["participant_id"]) == IDS
    sizes = sorted(out.groups["n_active"])
    assert sizes == [5, 6, 6] and sum(sizes) == 17  # ceil(17 / 6) = 3 groups, within one of each other
    assert set(out.balance["characteristic"]) == {"gender"}
    pd.testing.assert_frame_equal(panel.store.analysis("group_balance"), out.balance, check_dtype=False)


def test_the_same_seed_gives_the_same_groups(panel: Workspace) -> None:
    first = assign_small_groups(panel, size=6, balance=["gender"], seed=7).assignment
    again = assign_small_groups(panel, size=6, balance=["gender"], seed=7).assignment
    pd.testing.assert_frame_equal(first, again)


def test_a_bad_moderator_file_stores_no_groups(panel: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "moderators.csv"
    pd.DataFrame({"moderator": ["Anna", "Anna", "Bert"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="moderator listed twice"):
        assign_small_groups(panel, size=6, balance=["gender"], seed=7, moderators=path)
    assert panel.store.groups().empty and panel.store.analysis("group_balance") is None


@pytest.mark.parametrize(("size", "moves"), [(6, True), (4, False)])
def test_a_dropout_keeps_groups_within_one(panel: Workspace, size: int, moves: bool) -> None:
    # size 6: groups 5, 6, 6 -> a drop-out from a 5 leaves 4 beside 6: someone moves;
    # size 4: groups 4, 4, 4, 5 -> a drop-out from the 5 leaves 4s: nobody moves.
    out = assign_small_groups(panel, size=size, balance=["gender"], seed=3)
    sizes = out.groups.set_index("group")["n_active"]
    target = sizes.idxmin() if moves else sizes.idxmax()
    person = str(out.assignment.loc[out.assignment["group"].map(lambda g: f"group {g}") == target].iloc[0, 0])
    after = reassign_after_dropout(panel, person, seed=11)
    assert after.group == target and after.replacement is None
    assert (after.moved is not None) == moves
    counts = panel.store.groups()["group"].value_counts()
    assert counts.max() - counts.min() <= 1 and counts.sum() == 16


def test_a_dropout_outside_every_group_is_an_error(panel: Workspace) -> None:
    assign_small_groups(panel, size=6, balance=["gender"], seed=3)
    with pytest.raises(KleroError, match="not an active member"):
        reassign_after_dropout(panel, "nobody")


def test_packet_import_signoff_and_receipts(panel: Workspace, tmp_path: Path) -> None:
    arguments = tmp_path / "packet.csv"
    pd.DataFrame(
        {"option": ["X", "X", "Y"], "side": ["pro", "con", "pro"], "text": ["a b", "c", "d"], "source": ["S", "S", "T"]}
    ).to_csv(arguments, index=False)
    out = import_packet(panel, arguments, title="Brochure")
    assert (out.title, out.version, out.arguments) == ("Brochure", 1, 3) and len(out.sha256) == 64
    assert out.balance.set_index("option").loc["Y", "missing_side"] == "con"
    signed = sign_off_packet(panel, reviewer="Kees", version=1)
    assert signed.signoffs is not None and signed.signoffs["reviewer"].tolist() == ["Kees"]
    receipts = tmp_path / "receipts.csv"
    pd.DataFrame({"participant_id": IDS[:3], "received_on": "2024-05-01"}).to_csv(receipts, index=False)
    assert record_receipts(panel, receipts, version=1).receipts == 3
    assert check_packet(panel).receipts == 3
