"""Letters, quotas, selection and the synthetic registry: hand-worked cases and properties."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kleroterion.errors import InfeasibleQuotaError, InputError
from sortition.letters import draw_letters, is_valid_code, make_codes
from sortition.quotas import check_pool_against_quotas, derive_quotas, largest_remainder, quotas_met
from sortition.registry import validate_registry
from sortition.selection import fairness_summary, select_panel
from sortition.synthetic import generate_registry
from tests.conftest import DATA, make_pool, make_quotas


def test_largest_remainder_hand_worked() -> None:
    # 7 seats over .45/.35/.20 -> quotas 3.15/2.45/1.40, floors 3/2/1, the one seat left goes to .45 (rem .45)
    seats = largest_remainder(pd.Series({"a": 0.45, "b": 0.35, "c": 0.20}), 7)
    assert seats.to_dict() == {"a": 3, "b": 3, "c": 1}


def test_derive_quotas_bands() -> None:
    quotas = derive_quotas({"gender": {"M": 0.5088, "V": 0.4912}}, size=30, tolerance=1.0)
    # targets 15.264 and 14.736 -> [floor(14.264), ceil(16.264)] = [14, 17] and [13, 16]
    assert quotas[["feature", "min", "max"]].values.tolist() == [["M", 14, 17], ["V", 13, 16]]
    assert quotas["rounded"].sum() == 30


def tiny_registry() -> pd.DataFrame:
    # three addresses with 1, 2 and 3 eligible residents
    return pd.DataFrame({"id": ["a1", "b1", "b2", "c1", "c2", "c3"], "address_key": ["A", "B", "B", "C", "C", "C"]})


def test_letter_inclusion_probabilities_hand_worked() -> None:
    # 2 letters over 3 addresses: an address is drawn with 2/3, a resident with (2/3)/E_a
    letters = draw_letters(tiny_registry(), count=2, rng=np.random.default_rng(1))
    expected = {"A": 2 / 3, "B": 1 / 3, "C": 2 / 9}
    for row in letters.itertuples():
        assert row.inclusion_probability == pytest.approx(expected[row.address_key])


def test_letter_inclusion_probabilities_match_simulation() -> None:
    # independent check of p_i = (L/A)(1/E_a) by repeated draws (binomial SE <= 0.016 over 1,000; 3 SE bounds)
    rng = np.random.default_rng(2)
    counts = dict.fromkeys(tiny_registry()["id"], 0)
    runs = 1_000
    for _ in range(runs):
        for rid in draw_letters(tiny_registry(), count=2, rng=rng)["resident_id"]:
            counts[rid] += 1
    assert counts["a1"] / runs == pytest.approx(2 / 3, abs=0.05)
    assert counts["c2"] / runs == pytest.approx(2 / 9, abs=0.05)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 40))
def test_letters_never_repeat_an_address_and_same_seed_same_draw(seed: int, count: int) -> None:
    rng = np.random.default_rng(99)
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(120)],
            "address_key": [f"adr{int(x)}" for x in rng.integers(0, 60, 120)],
            "wijk": [f"w{i % 3}" for i in range(120)],
        }
    )
    count = min(count, frame["address_key"].nunique())
    first = draw_letters(frame, count=count, rng=np.random.default_rng(seed), stratify_by="wijk")
    second = draw_letters(frame, count=count, rng=np.random.default_rng(seed), stratify_by="wijk")
    assert len(first) == count
    assert first["address_key"].is_unique
    pd.testing.assert_frame_equal(first, second)
    again = (
        draw_letters(
            frame,
            count=min(5, frame["address_key"].nunique() - count) or 1,
            rng=np.random.default_rng(seed + 1),
            exclude_addresses=frozenset(first["address_key"]),
        )
        if count < 55
        else None
    )
    if again is not None:
        assert not set(again["address_key"]) & set(first["address_key"])


def test_codes_are_unique_and_checked() -> None:
    codes = make_codes(500, np.random.default_rng(3))
    assert len(set(codes)) == 500
    assert all(is_valid_code(c) for c in codes)
    typo = codes[0][:-1] + ("2" if codes[0][-1] != "2" else "3")
    assert not is_valid_code(typo)


def test_exact_selection_probabilities_on_a_tiny_pool() -> None:
    # 2 women, 2 men, k = 2 with one of each: every feasible panel has one of each, so every person's
    # maximin probability is exactly 1/2
    pool = make_pool([{"gender": "V"}, {"gender": "V"}, {"gender": "M"}, {"gender": "M"}])
    quotas = make_quotas([("gender", "V", 1, 1), ("gender", "M", 1, 1)])
    result = select_panel(pool, quotas, size=2, rng=np.random.default_rng(0), algorithm="maximin")
    assert result.probabilities.to_dict() == pytest.approx({"p0": 0.5, "p1": 0.5, "p2": 0.5, "p3": 0.5})
    assert sum(result.weights) == pytest.approx(1.0)


def test_one_person_per_address() -> None:
    # p0 and p1 share an address; k = 2 of 3 without quotas binding: the only panels are {p0,p2}, {p1,p2};
    # maximin gives p2 probability 1 and p0, p1 each 1/2
    pool = make_pool([{"gender": "V"}, {"gender": "V"}, {"gender": "V"}])
    pool.loc[1, "address_key"] = pool.loc[0, "address_key"]
    quotas = make_quotas([("gender", "V", 0, 2)])
    result = select_panel(pool, quotas, size=2, rng=np.random.default_rng(0), algorithm="maximin")
    assert result.probabilities.to_dict() == pytest.approx({"p0": 0.5, "p1": 0.5, "p2": 1.0})
    assert not {"p0", "p1"} <= set(result.panel)


def test_same_seed_same_panel_and_quotas_met() -> None:
    rng = np.random.default_rng(5)
    pool = make_pool(
        [
            {"gender": g, "age": a}
            for g, a in zip(rng.choice(["M", "V"], 40), rng.choice(["jong", "oud"], 40), strict=True)
        ]
    )
    quotas = make_quotas([("gender", "M", 4, 6), ("gender", "V", 4, 6), ("age", "jong", 3, 7), ("age", "oud", 3, 7)])
    first = select_panel(pool, quotas, size=10, rng=np.random.default_rng(11))
    second = select_panel(pool, quotas, size=10, rng=np.random.default_rng(11))
    assert first.panel == second.panel
    assert quotas_met(pool[pool["id"].isin(first.panel)], quotas)
    assert first.probabilities.sum() == pytest.approx(10)


def test_leximin_without_gurobi_is_an_error_not_a_silent_fallback() -> None:
    from sortition_algorithms.committee_generation import GUROBI_AVAILABLE

    if GUROBI_AVAILABLE:
        pytest.skip("gurobipy installed")
    pool = make_pool([{"gender": "V"}, {"gender": "M"}])
    with pytest.raises(Exception, match="Gurobi"):
        select_panel(
            pool,
            make_quotas([("gender", "V", 0, 1), ("gender", "M", 0, 1)]),
            size=1,
            rng=np.random.default_rng(0),
            algorithm="leximin",
            engine="sortition-algorithms",
        )


def test_infeasible_quotas_name_the_conflict() -> None:
    pool = make_pool([{"gender": "V"}] * 5 + [{"gender": "M"}])
    quotas = make_quotas([("gender", "V", 2, 4), ("gender", "M", 2, 4)])
    with pytest.raises(InfeasibleQuotaError, match="gender=M: minimum 2 but only 1"):
        check_pool_against_quotas(pool, quotas, 5)


def test_fairness_summary_gini_hand_worked() -> None:
    # values 0, 0, 1, 1: G = sum((2i-n-1) x_i)/(n sum x) = (1*1 + 3*1)/(4*2) = 0.5
    summary = fairness_summary(pd.Series([0.0, 0.0, 1.0, 1.0]), size=2)
    assert summary["gini"] == pytest.approx(0.5)
    assert summary["count_zero"] == 2


def test_synthetic_registry_matches_cbs_rows() -> None:
    cbs = pd.read_csv(DATA / "peel_en_maas" / "cbs_kwb_2024_peel_en_maas.csv")
    cbs.columns = [c.rsplit("_", 1)[0] if c[-1].isdigit() else c for c in cbs.columns]
    gemeente = cbs[cbs["soort_regio"] == "Gemeente"].iloc[0]
    wijken = cbs[cbs["soort_regio"] == "Wijk"]
    assert int(gemeente["AantalInwoners"]) == 45534
    extract, _ = generate_registry(
        wijken, total=45534, men=int(gemeente["Mannen"]), rng=np.random.default_rng(4), reference_date=date(2024, 1, 1)
    )
    assert len(extract) == 45534
    assert (extract["geslacht"] == "M").sum() == 23169
    per_wijk = extract["wijkcode"].value_counts()
    for row in wijken.itertuples():
        # CBS rounds wijk counts to multiples of 5
        assert abs(per_wijk[row.regiocode] - row.AantalInwoners) <= 2.5
    households = extract.groupby(["postcode", "huisnummer", "huisletter"]).size()
    assert 1.8 < households.mean() < 2.8  # Peel en Maas: 45,534 residents / 19,008 dwellings = 2.4


def test_registry_validation_collects_every_problem() -> None:
    frame = pd.DataFrame(
        {
            "bsn": ["1", "1", "3"],
            "geboortedatum": ["19800101", "31-02-1990", "20991231"],
            "geslacht": ["M", "X", "Q"],
            "huisnummer": ["1", "2", "x"],
            "postcode": ["5981 AB", "598 AB", "5981AB"],
        },
        index=[2, 3, 4],
    )
    with pytest.raises(InputError) as info:
        validate_registry(frame, source="brp.csv", reference_date=date(2024, 1, 1), key=b"k")
    text = str(info.value)
    for needle in (
        "row 3, column 'bsn': duplicate id",
        "row 3, column 'geboortedatum'",
        "row 4, column 'geboortedatum': birth date after",
        "row 4, column 'geslacht'",
        "row 3, column 'postcode'",
        "row 4, column 'huisnummer'",
    ):
        assert needle in text
