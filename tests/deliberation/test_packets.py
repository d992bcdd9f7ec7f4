"""Briefing-packet balance checks on a hand-counted packet."""

from __future__ import annotations

import pandas as pd
import pytest

from deliberation.packets import packet_balance, source_sides
from kleroterion.errors import InputError


def packet() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("Woningbouw", "pro", "Meer woningen voor starters", "CBS; Gemeente"),  # 4 words
            ("Woningbouw", "pro", "Jongeren blijven", "CBS"),  # 2 words
            ("Woningbouw", "con", "Minder groen in de kern", "Natuurmonumenten"),  # 5 words
            ("Voorrang", "pro", "Ouderen doorstromen", "Gemeente"),  # 2 words
            ("Voorrang", "PRO ", "Sneller een woning", None),  # 3 words, side normalised
        ],
        columns=["option", "side", "text", "source"],
    )


def test_balance_counts_and_lengths_hand_counted() -> None:
    table = packet_balance(packet()).set_index("option")
    assert table.loc["Woningbouw", ["n_pro", "n_con", "words_pro", "words_con"]].tolist() == [2, 1, 6, 5]
    assert table.loc["Woningbouw", "word_ratio"] == pytest.approx(5 / 6)
    assert table.loc["Woningbouw", "missing_side"] == ""
    assert table.loc["Voorrang", "missing_side"] == "con"
    assert table.loc["Voorrang", "word_ratio"] == 0
    assert not table.loc["Woningbouw", "balanced_count"]


def test_one_sided_sources() -> None:
    table = source_sides(packet()).set_index("source")
    assert table.loc["CBS", ["n_pro", "n_con"]].tolist() == [2, 0]
    assert bool(table.loc["CBS", "one_sided"])
    assert table.loc["Gemeente", "options"] == "Woningbouw; Voorrang"
    assert set(table.index) == {"CBS", "Gemeente", "Natuurmonumenten"}


def test_bad_side_is_reported_with_row() -> None:
    bad = packet().assign(side=["pro", "pro", "tegen", "pro", "pro"])
    with pytest.raises(InputError) as err:
        packet_balance(bad)
    assert err.value.problems[0].row == 2
