"""``kleroterion.app.fairness`` without the CLI: the top-up strata from letters and sign-ups."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kleroterion.app.fairness import bootstrap_generator, topup_strata
from kleroterion.app.letters import draw_letters
from kleroterion.app.pool import import_pool
from kleroterion.workspace import Workspace
from tests.kleroterion.app.conftest import signup_sheet


def test_topup_strata_count_people_addresses_and_signups(registered: Workspace, tmp_path: Path) -> None:
    draw_letters(registered, count=20, seed=3, code_seed=4, stratify_by="gender")
    import_pool(registered, signup_sheet(registered, tmp_path / "s.csv", people=10))
    stratify_by, frame = topup_strata(registered)
    assert stratify_by == "gender"
    letters = registered.store.letters().head(10)
    signups = letters["stratum"].value_counts()
    # 40 men and 40 women, each alone at an address; 10 letters per stratum, so 30 addresses left in each
    assert frame["stratum"].tolist() == ["M", "V"]
    assert frame["population"].tolist() == [40, 40]
    assert frame["available"].tolist() == [30, 30]
    assert frame["signups"].tolist() == [int(signups.get("M", 0)), int(signups.get("V", 0))]
    assert frame["signups"].sum() == 10
    assert frame["rate"].between(0, 1).all()


def test_the_bootstrap_stream_is_its_own_and_repeatable() -> None:
    first = bootstrap_generator(7).random(3)
    assert np.array_equal(first, bootstrap_generator(7).random(3))
    assert not np.allclose(first, np.random.default_rng(7).random(3))
