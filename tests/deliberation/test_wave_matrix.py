"""The shared person × item matrix gives, item by item, what the per-item reader ``item_waves`` gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from deliberation.analysis import item_waves, items_waves, wave_matrix


def test_items_waves_equals_item_waves_per_item() -> None:
    rng = np.random.default_rng(0)
    rows = [
        (f"p{rng.integers(0, 200)}", wave, code, np.nan if rng.random() < 0.1 else float(rng.integers(1, 6)))
        for _ in range(300)
        for wave in ("T1", "T2", "T3")  # T2: a value there makes a person present with NaN pre/post
        for code in ("A", "B", "C")
        if rng.random() < 0.8
    ]
    scored = pd.DataFrame(rows, columns=["participant_id", "wave", "item_code", "value"])
    got = items_waves(scored, ["A", "B", "C", "Z"], pre="T1", post="T3")
    for code in ("A", "B", "C", "Z"):  # Z has no answers: an empty frame
        expected = item_waves(scored[scored["item_code"] == code], code, pre="T1", post="T3")
        pd.testing.assert_frame_equal(got[code], expected)


def test_wave_matrix_first_value_and_presence_by_hand() -> None:
    scored = pd.DataFrame(
        [("b", "T1", "A", 2.0), ("a", "T1", "A", np.nan), ("a", "T2", "A", 4.0), ("a", "T1", "B", 1.0),
         ("b", "T1", "B", 5.0), ("b", "T1", "B", 3.0), ("b", "T3", "B", 4.0)],
        columns=["participant_id", "wave", "item_code", "value"],
    )  # fmt: skip
    people, before, after, present = wave_matrix(scored, ["A", "B"], pre="T1", post="T3")
    assert list(people) == ["a", "b"]
    np.testing.assert_array_equal(before, [[np.nan, 1.0], [2.0, 5.0]])  # b's first T1 value of B is 5
    np.testing.assert_array_equal(after, [[np.nan, np.nan], [np.nan, 4.0]])
    np.testing.assert_array_equal(present, [[True, True], [True, True]])  # a has A only at T2
