"""The end-to-end algorithm: leximin of q_i·π_i on the native engine (sortition/engine.py, columngen.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kleroterion.errors import KleroError
from sortition.engine import END_TO_END, find_distribution
from sortition.lottery import fairness_lost, number_panels, panel_for_number, round_to_lottery
from sortition.selection import probabilities_from_distribution, select_panel
from tests.sortition.test_engine import FIVE, FOUR, ONE_EACH, check_distribution, feasible_panels, make_quotas


def with_q(pool: pd.DataFrame, q: dict[str, float]) -> pd.DataFrame:
    return pool.assign(pool_probability=pool["id"].map(q))


def solve(pool: pd.DataFrame, quotas: pd.DataFrame, size: int, seed: int = 0) -> pd.Series:
    panels, weights = find_distribution(pool, quotas, size=size, algorithm=END_TO_END, rng=np.random.default_rng(seed))
    return check_distribution(pool, quotas, size, "address_key", panels, weights)


ANYONE = make_quotas([("gender", "f", 0, 3), ("gender", "m", 0, 3)])


def test_hand_worked_letters_signups_and_seat() -> None:
    # Four residents in one stratum of 3 addresses, 2 letters (L_h/A_h = 2/3): A alone (p = 2/3), B and
    # C together (p = 1/3 each), D alone (p = 2/3). Sign-up chances A .5, B .2, D .1; the pool is
    # {A, B, D} and the panel has 1 seat. Pool probabilities q = p·s: A 1/3, B 1/15, D 1/15.
    # Leximin: π = 1/3 each, end-to-end A 1/9, B and D 1/45 (ratio 5).
    # End-to-end: maximise min q_i π_i with Σ π = 1 -> π ∝ 1/q = (3, 15, 15)/33:
    # π_A = 1/11, π_B = π_D = 5/11, and everyone's end-to-end chance is 1/33 (ratio 1).
    pool = with_q(
        pd.DataFrame({"id": ["A", "B", "D"], "gender": ["f", "m", "f"], "address_key": ["1", "2", "3"]}),
        {"A": 1 / 3, "B": 1 / 15, "D": 1 / 15},
    )
    pi = solve(pool, ANYONE, 1)
    assert pi.to_dict() == pytest.approx({"A": 1 / 11, "B": 5 / 11, "D": 5 / 11}, abs=1e-8)
    end_to_end = pi * pool.set_index("id")["pool_probability"]
    assert end_to_end.to_numpy() == pytest.approx([1 / 33] * 3, abs=1e-9)


def test_a_probability_capped_at_one_then_leximin_on_the_rest() -> None:
    # Panel of 2 from x, y, z with q = (1, 1, 0.1). Equal end-to-end would need π ∝ (1, 1, 10), i.e.
    # π_z = 2·10/12 > 1: z is capped at π_z = 1 (the first level, q_z·π_z = 0.1), and leximin then
    # splits the other seat: π_x = π_y = 1/2 (end-to-end 1/2 each).
    pool = with_q(
        pd.DataFrame({"id": ["x", "y", "z"], "gender": ["f", "f", "m"], "address_key": ["1", "2", "3"]}),
        {"x": 1.0, "y": 1.0, "z": 0.1},
    )
    pi = solve(pool, ANYONE, 2)
    assert pi.to_dict() == pytest.approx({"x": 0.5, "y": 0.5, "z": 1.0}, abs=1e-8)


def test_quotas_bind_the_equalising() -> None:
    # FOUR: one woman (a, b, c) and one man (d) per panel: d is on every panel. With q_a = 0.1 and
    # q_b = q_c = 0.2 the women share their seat as 1/q: π_a = 1/2, π_b = π_c = 1/4 (q·π = 0.05 each).
    pool = with_q(FOUR, {"a": 0.1, "b": 0.2, "c": 0.2, "d": 0.5})
    pi = solve(pool, ONE_EACH, 2)
    assert pi.to_dict() == pytest.approx({"a": 0.5, "b": 0.25, "c": 0.25, "d": 1.0}, abs=1e-8)


def test_equal_pool_probabilities_give_leximin() -> None:
    # FIVE's leximin profile is (1/3, 1/3, 1/3, 1/2, 1/2) (hand-worked in test_engine.py).
    pool = with_q(FIVE, dict.fromkeys("abcde", 0.05))
    pi = solve(pool, ONE_EACH, 2)
    assert pi.to_dict() == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3, "d": 0.5, "e": 0.5}, abs=1e-8)


@pytest.mark.parametrize(
    ("q", "code"),
    [
        (None, "no_pool_probability"),
        ({"a": 0.1, "b": 0.0, "c": 0.2, "d": 0.5}, "bad_pool_probability"),
        ({"a": 0.1, "b": 1.5, "c": 0.2, "d": 0.5}, "bad_pool_probability"),
        ({"a": 0.1, "b": float("nan"), "c": 0.2, "d": 0.5}, "bad_pool_probability"),
    ],
)
def test_missing_or_bad_pool_probabilities_are_refused(q: dict[str, float] | None, code: str) -> None:
    pool = FOUR if q is None else with_q(FOUR, q)
    with pytest.raises(KleroError) as caught:
        find_distribution(pool, ONE_EACH, size=2, algorithm=END_TO_END, rng=np.random.default_rng(0))
    assert caught.value.code == code


def skewed_pool(seed: int, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": [f"p{i:03d}" for i in range(n)],
            "gender": rng.choice(["f", "m"], size=n),
            "age": rng.choice(["y", "o"], size=n, p=[0.3, 0.7]),
            "address_key": [str(a) for a in rng.integers(0, int(n * 0.9), size=n)],
        }
    )
    q = np.where(frame["age"] == "y", 0.02, 0.08) * rng.choice([0.8, 1.0, 1.25], size=n)
    return frame.assign(pool_probability=q)


QUOTAS = make_quotas([("gender", "f", 4, 6), ("gender", "m", 4, 6), ("age", "y", 3, 10), ("age", "o", 0, 7)])


def test_same_seed_replays_and_the_transparent_lottery_works() -> None:
    pool = skewed_pool(1)
    first = select_panel(pool, QUOTAS, size=10, rng=np.random.default_rng(42), algorithm=END_TO_END)
    again = select_panel(pool, QUOTAS, size=10, rng=np.random.default_rng(42), algorithm=END_TO_END)
    assert first.panel == again.panel
    assert first.panels == again.panels
    assert first.weights == pytest.approx(again.weights, abs=0)
    assert first.algorithm == END_TO_END and first.exact
    # transparent lottery: 1000 tickets, every ticket's panel meets the quotas
    rng = np.random.default_rng(7)
    rounded = round_to_lottery(first.panels, np.asarray(first.weights), m=1000, rng=rng)
    tickets = number_panels(rounded)
    assert len(tickets) == 1000
    panel = panel_for_number(tickets, 123)
    check_distribution(pool, QUOTAS, 10, "address_key", [panel], np.array([1.0]))
    assert fairness_lost(first.panels, np.asarray(first.weights), rounded)["max_abs_change"] <= 0.01


def test_end_to_end_evens_out_what_leximin_leaves_unequal() -> None:
    pool = skewed_pool(2)
    q = pool.set_index("id")["pool_probability"]

    def group_ratio(algorithm: str) -> float:
        panels, weights = find_distribution(pool, QUOTAS, size=10, algorithm=algorithm, rng=np.random.default_rng(0))
        pi = probabilities_from_distribution(pool["id"], panels, weights)
        chance = (pi * q).groupby(pool.set_index("id")["age"]).mean()
        return float(chance.max() / chance.min())

    leximin, end_to_end = group_ratio("leximin"), group_ratio(END_TO_END)
    assert leximin > 2.5  # the young sign up a quarter as often as the old
    assert end_to_end < leximin / 2


def brute_force_weighted_leximin(pool: pd.DataFrame, quotas: pd.DataFrame, size: int, q: np.ndarray) -> np.ndarray:
    """Sorted leximin profile of ``q_i·π_i`` over *every* feasible panel, by scipy ``linprog`` only.

    Enumerates all panels, then level by level ``max z`` s.t. ``q_i·π_i ≥ z`` (unfixed), ``q_i·π_i ≥ f_i``
    (fixed), ``Σλ = 1``; person i is fixed at z* when ``max q_i·π_i`` with every unfixed person held at
    ``≥ z*`` does not exceed z* (the textbook leximin: no duals, no types, no column generation)."""
    from scipy.optimize import linprog

    ids = pool["id"].tolist()
    panels = feasible_panels(pool, quotas, size)
    value = np.array([[q[k] * (person in panel) for panel in panels] for k, person in enumerate(ids)])  # q_i·1[i∈P]
    n_panels = value.shape[1]
    fixed = np.where(value.any(axis=1), np.nan, 0.0)
    equal, bounds = [np.r_[np.ones(n_panels), 0.0]], [(0, None)] * n_panels + [(None, None)]
    while np.isnan(fixed).any():
        unfixed = np.flatnonzero(np.isnan(fixed))
        held = [np.r_[-value[i], 0.0] for i in np.flatnonzero(~np.isnan(fixed))]
        held_rhs = [-fixed[i] + 1e-10 for i in np.flatnonzero(~np.isnan(fixed))]
        rows = [np.r_[-value[i], 1.0] for i in unfixed] + held
        level = linprog(
            np.r_[np.zeros(n_panels), -1.0],
            A_ub=rows,
            b_ub=[0.0] * len(unfixed) + held_rhs,
            A_eq=equal,
            b_eq=[1.0],
            bounds=bounds,
        )
        z = -level.fun
        floors = [np.r_[-value[j], 0.0] for j in unfixed] + held
        floor_rhs = [-z + 1e-10] * len(unfixed) + held_rhs
        for i in unfixed:
            best = linprog(np.r_[-value[i], 0.0], A_ub=floors, b_ub=floor_rhs, A_eq=equal, b_eq=[1.0], bounds=bounds)
            if -best.fun <= z + 1e-7:
                fixed[i] = z
    return np.sort(fixed)


@pytest.mark.parametrize("seed", range(5))
def test_end_to_end_profile_equals_brute_force(seed: int) -> None:
    from tests.sortition.test_engine import small_random_pool

    pool, quotas = small_random_pool(seed)
    q = np.random.default_rng(100 + seed).choice([0.02, 0.05, 0.1], size=len(pool))
    pool = pool.assign(pool_probability=q)
    panels, weights = find_distribution(pool, quotas, size=4, algorithm=END_TO_END, rng=np.random.default_rng(0))
    pi = check_distribution(pool, quotas, 4, "address_key", panels, weights)
    ours = np.sort(pi.to_numpy() * q)
    assert ours == pytest.approx(brute_force_weighted_leximin(pool, quotas, 4, q), abs=1e-7)


@pytest.mark.slow
def test_simulated_population_end_to_end_beats_leximin_on_true_chances_and_meets_quotas() -> None:
    # 12,000 invitees (letters with p = 0.05), sign-ups drawn by sortition.synthetic.simulate_signups
    # (young and lower-educated respond less); quotas on gender and education, none on age. The
    # panel's q_i = p·ŝ_i comes from the sign-up model; the chances are judged with the TRUE rates.
    from sortition.propensity import end_to_end_by_group, fit_signup_model, signup_probabilities, spread_ratio
    from sortition.synthetic import RESPONSE_FACTORS, simulate_signups

    rng = np.random.default_rng(2027)
    n = 12_000
    invitees = pd.DataFrame(
        {
            "age_band": rng.choice(["16-24", "25-39", "40-54", "55-69", "70+"], size=n),
            "gender": rng.choice(["M", "V"], size=n),
            "education": rng.choice(["laag", "middelbaar", "hoog"], size=n, p=[0.27, 0.37, 0.36]),
        }
    )
    invitees["signed_up"] = simulate_signups(invitees, rng=rng)
    invitees["reported"] = invitees["education"].where(invitees["signed_up"])
    shares = {"laag": 0.27, "middelbaar": 0.37, "hoog": 0.36}
    model = fit_signup_model(
        invitees, features=["age_band", "gender"], calibrate={"reported": shares}, rng=rng, bootstrap=0
    )
    pool = invitees[invitees["signed_up"]].reset_index(drop=True)
    pool.insert(0, "id", [f"r{i:04d}" for i in range(len(pool))])
    pool["address_key"] = pool["id"]
    estimate, _ = signup_probabilities(model, pool)
    pool["pool_probability"] = 0.05 * estimate
    truth = (
        0.075
        * pool["age_band"].map(RESPONSE_FACTORS["age_band"])
        * pool["education"].map(RESPONSE_FACTORS["education"])
    )
    quotas = make_quotas(
        [("gender", "M", 9, 11), ("gender", "V", 9, 11)]
        + [("education", e, int(20 * s) - 1, int(20 * s) + 2) for e, s in shares.items()]
    )

    def true_ratio(algorithm: str) -> float:
        panels, weights = find_distribution(pool, quotas, size=20, algorithm=algorithm, rng=np.random.default_rng(0))
        pi = check_distribution(pool, quotas, 20, "address_key", panels, weights)  # every panel meets the quotas
        table = end_to_end_by_group(
            pool,
            groups=["age_band"],
            letter_probability=np.full(len(pool), 0.05),
            signup=truth.to_numpy(),
            signup_replicates=truth.to_numpy()[None, :],
            selection_probability=pool["id"].map(pi).to_numpy(),
        )
        return spread_ratio(table)

    leximin, end_to_end = true_ratio("leximin"), true_ratio(END_TO_END)
    # seen: leximin 3.0, end-to-end 1.3 (55-69 sign up about 2.9 times as often as 16-24)
    assert leximin > 2.0
    assert end_to_end < 1.5
