"""Polls from any source, through the real ``klero`` entry point: respondents from a file (no registry,
no letters), long and wide-by-suffix wave files, absent respondents, and the crashes of issue 14."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kleroterion.workspace import Workspace
from tests.conftest import DATA, run_cli
from tests.deliberation.test_knowledge import PUBLISHED

INSTRUMENT = """name = "t"
[[items]]
code = "A1"
kind = "scale"
text = "a"
min = 0
max = 10
dont_know = ["98"]
missing = ["99"]
[[items]]
code = "K1"
kind = "knowledge"
text = "k"
options = {1 = "yes", 2 = "no"}
correct = "1"
dont_know = ["8"]
[[waves]]
code = "T1"
kind = "recruit"
[[waves]]
code = "T2"
kind = "post"
"""


def long_poll(*, blank_rows: bool, seed: int = 3) -> pd.DataFrame:
    """A long file as a panel company delivers it: ``ID, Time, Group, wt, age, A1, K1``; every third
    control member skipped T2 and (``blank_rows``) still has a T2 row with every answer blank."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(240):
        group = "Treatment" if i < 120 else "Control"
        weight, a1, k1 = rng.uniform(0.4, 2.5), int(rng.integers(0, 11)), str(rng.choice(["1", "2", "8"]))
        rows.append({"ID": f"r{i}", "Time": "T1", "Group": group, "wt": weight, "age": "18-34", "A1": a1, "K1": k1})
        if group == "Control" and i % 3 == 0:
            if blank_rows:
                rows.append({"ID": f"r{i}", "Time": "T2", "Group": group, "wt": "", "age": "", "A1": "", "K1": ""})
            continue
        shift = int(rng.integers(0, 3)) if group == "Treatment" else int(rng.integers(-1, 2))
        k2 = str(rng.choice(["1", "1", "2"] if group == "Treatment" else ["1", "2", "8"]))
        rows.append(
            {
                "ID": f"r{i}",
                "Time": "T2",
                "Group": group,
                "wt": weight,
                "age": "",
                "A1": min(10, max(0, a1 + shift)),
                "K1": k2,
            }
        )
    return pd.DataFrame(rows)


def poll_workspace(base: Path, monkeypatch: pytest.MonkeyPatch, instrument: str = INSTRUMENT) -> Path:
    root = base / "ws"
    assert run_cli(monkeypatch, "init", str(root), "--name", "t", "--municipality", "X") == 0
    (base / "instrument.toml").write_text(instrument, encoding="utf-8")
    assert run_cli(monkeypatch, "poll", "define", str(base / "instrument.toml"), "-w", str(root)) == 0
    return root


LONG = ("--id-column", "ID", "--wave-column", "Time", "--arm-column", "Group", "--variables", "age")


def analysed(base: Path, monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame, *extra: str) -> Path:
    root = poll_workspace(base, monkeypatch)
    frame.to_csv(base / "poll.csv", index=False)
    code = run_cli(monkeypatch, "survey", "import", str(base / "poll.csv"), "-w", str(root), *LONG, "--weights", "wt")
    assert code == 0
    assert run_cli(monkeypatch, "analyse", "-w", str(root), "--output", str(base / "out"), *extra) == 0
    return base / "out"


def test_blank_t2_rows_are_absent_not_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control effect with blank T2 rows equals the one with those rows removed (issue 14: scoring
    them 0 on knowledge moved the control effect from 0.038 to 0.279)."""
    with_blank = analysed(tmp_path / "a", monkeypatch, long_poll(blank_rows=True))
    without = analysed(tmp_path / "b", monkeypatch, long_poll(blank_rows=False))
    for name in ("control_ancova", "knowledge_gain", "opinion_change"):
        a, b = pd.read_csv(with_blank / f"{name}.csv"), pd.read_csv(without / f"{name}.csv")
        for column in ("tau", "se", "n_control", "mean_change", "n_pairs"):
            if column in a:
                np.testing.assert_allclose(a[column], b[column], rtol=0, atol=1e-12)
    gain = pd.read_csv(with_blank / "control_gain_difference.csv").set_index("outcome")
    gain_b = pd.read_csv(without / "control_gain_difference.csv").set_index("outcome")
    assert gain.at["knowledge_score", "gain_control"] == pytest.approx(gain_b.at["knowledge_score", "gain_control"])
    assert int(gain.at["knowledge_score", "n_control"]) == 80  # 120 controls, 40 absent at T2
    exclusions = pd.read_csv(with_blank / "exclusions.csv", keep_default_na=False)
    absent = exclusions[exclusions["item"] == ""].set_index("wave")["n_excluded"]
    assert absent.to_dict() == {"T1": 0, "T2": 40}


def test_import_before_any_letters_without_arm_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = poll_workspace(tmp_path, monkeypatch)
    long_poll(blank_rows=False).query("Time == 'T1'").drop(columns=["Time", "Group", "wt", "age"]).rename(
        columns={"ID": "participant_id"}
    ).to_csv(tmp_path / "t1.csv", index=False)
    capsys.readouterr()
    assert run_cli(monkeypatch, "survey", "import", str(tmp_path / "t1.csv"), "--wave", "T1", "-w", str(root)) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "unknown respondent id" in out and "--arm-column" in out and "t1.csv" in out
    assert "Traceback" not in out


def test_undeclared_columns_are_refused_then_listed_when_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = poll_workspace(tmp_path, monkeypatch)
    long_poll(blank_rows=False).assign(income="3").to_csv(tmp_path / "p.csv", index=False)
    capsys.readouterr()
    args = ("survey", "import", str(tmp_path / "p.csv"), "-w", str(root), *LONG)
    assert run_cli(monkeypatch, *args) == 1
    out = " ".join(capsys.readouterr().out.split())
    for column in ("wt", "income"):
        assert f"column {column}" in out or f"'{column}'" in out or column in out
    assert "--ignore-extra" in out and "--weights" in out
    capsys.readouterr()
    assert run_cli(monkeypatch, *args, "--ignore-extra", "--id-column", "Group") == 1  # typer would keep the last
    assert "--id-column is given 2 times" in " ".join(capsys.readouterr().out.split())
    assert run_cli(monkeypatch, *args, "--ignore-extra") == 0
    assert "left out (--ignore-extra): wt, income" in " ".join(capsys.readouterr().out.split())


def test_bad_cells_name_row_column_value_and_store_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = poll_workspace(tmp_path, monkeypatch)
    frame = long_poll(blank_rows=False)
    frame.loc[3, "Group"] = "Placebo"
    frame.loc[5, "wt"] = -1
    frame.loc[7, "Time"] = "T9"
    frame.to_csv(tmp_path / "p.csv", index=False)
    capsys.readouterr()
    code = run_cli(monkeypatch, "survey", "import", str(tmp_path / "p.csv"), "-w", str(root), *LONG, "--weights", "wt")
    assert code == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "Placebo" in out and "--arm-value" in out and "row 5" in out
    assert "T9" in out and "--wave-value" in out
    assert "weight must be a positive number" in out
    capsys.readouterr()
    assert run_cli(monkeypatch, "status", "-w", str(root)) == 0
    assert run_cli(monkeypatch, "analyse", "-w", str(root), "--output", str(tmp_path / "out")) == 0
    assert pd.read_csv(tmp_path / "out" / "opinion_change.csv").empty  # nothing was stored


KNOWLEDGE_ONLY = INSTRUMENT.replace('code = "A1"', 'code = "A9"')


def test_knowledge_only_poll_with_an_all_blank_item(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14: TypeError in rescaled_attitudes, ValueError in attendance_model; now the blank item is
    named in ``exclusions`` and the attendance model fits on knowledge alone."""
    root = poll_workspace(tmp_path, monkeypatch, KNOWLEDGE_ONLY)
    frame = long_poll(blank_rows=True).drop(columns="A1").assign(A9="")
    frame["Group"] = frame["Group"].replace({"Control": "non-participant"})
    frame.to_csv(tmp_path / "p.csv", index=False)
    assert (
        run_cli(monkeypatch, "survey", "import", str(tmp_path / "p.csv"), "-w", str(root), *LONG, "--weights", "wt")
        == 0
    )
    assert run_cli(monkeypatch, "analyse", "-w", str(root), "--output", str(tmp_path / "out")) == 0
    exclusions = pd.read_csv(tmp_path / "out" / "exclusions.csv", keep_default_na=False)
    assert "A9" in set(exclusions["item"])
    attendance = pd.read_csv(tmp_path / "out" / "attendance_model.csv")
    assert list(attendance["term"]) == ["const", "knowledge_score"]
    change = pd.read_csv(tmp_path / "out" / "opinion_change.csv")
    assert change["n_pairs"].tolist() == [0] and change["df"].isna().all()
    assert (tmp_path / "out" / "knowledge_gain.csv").read_text().splitlines()[1].split(",")[0] == "120"
    assert_integer_counts(tmp_path / "out")


def assert_integer_counts(folder: Path) -> None:
    """Every count column of every written table holds integers or blanks, never ``100.0`` (issue 14)."""
    for path in sorted(folder.glob("*.csv")):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in table.columns:
            if column == "n" or (column.startswith("n_") and not column.startswith("n_eff")):
                assert table[column].str.fullmatch(r"-?\d*").all(), (path.name, column, table[column].tolist())


def test_quotas_without_population_shares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14: TypeError in _population_margins, even with --weights none; now one line says why."""
    root = poll_workspace(tmp_path, monkeypatch)
    long_poll(blank_rows=False).to_csv(tmp_path / "p.csv", index=False)
    assert (
        run_cli(monkeypatch, "survey", "import", str(tmp_path / "p.csv"), "-w", str(root), *LONG, "--weights", "wt")
        == 0
    )
    pd.DataFrame({"category": ["age", "age"], "feature": ["18-34", "35+"], "min": [0, 0], "max": [10, 10]}).to_csv(
        tmp_path / "q.csv", index=False
    )
    assert run_cli(monkeypatch, "quotas", "import", str(tmp_path / "q.csv"), "--size", "10", "-w", str(root)) == 0
    for weights in ("none", "raking"):
        out = tmp_path / f"out-{weights}"
        assert run_cli(monkeypatch, "analyse", "-w", str(root), "--weights", weights, "--output", str(out)) == 0
        note = pd.read_csv(out / "opinion_change_weighted.csv")["note"].iloc[0]
        assert "no population_share" in note


def cor_sood(base: Path, monkeypatch: pytest.MonkeyPatch, poll: str) -> Path:
    items = "".join(
        f'[[items]]\ncode = "know{x}"\nkind = "knowledge"\ntext = "{x}"\noptions = {{0 = "wrong", 1 = "right"}}\n'
        f'correct = "1"\ndont_know = ["NA"]\n'
        for x in "abcde"
    )
    waves = '[[waves]]\ncode = "T1"\nkind = "recruit"\n[[waves]]\ncode = "T2"\nkind = "post"\n'
    root = poll_workspace(base, monkeypatch, f'name = "{poll}"\n{items}{waves}')
    source = DATA / "cor-sood-knowledge-batteries" / poll / "knowledge-battery.csv"
    args = ("--row-ids", "--arm", "participant", "--wave-suffix", "T1=1raw", "--wave-suffix", "T2=2raw")
    assert run_cli(monkeypatch, "survey", "import", str(source), "-w", str(root), *args, "--variables", "female") == 0
    assert run_cli(monkeypatch, "analyse", "-w", str(root), "--output", str(base / "out")) == 0
    return base / "out"


@pytest.mark.parametrize(
    ("poll", "n", "k1", "k2", "gain", "se", "sd1", "standardised"),
    [(poll, *figures) for poll, figures in PUBLISHED.items()],  # soodoku/dp-learning poll_gains.csv
)
def test_cor_sood_batteries_imported_as_they_are(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    poll: str,
    n: int,
    k1: float,
    k2: float,
    gain: float,
    se: float,
    sd1: float,
    standardised: float,
) -> None:
    """The CC0 files unchanged (CRLF, NA, no ids): a wide file with both waves by column suffix. With
    "drop DK" (correct/answered) DOMAIN.md §3.3 gives WTU 0.214 (n = 225) and SWEPCO 0.1144 (n = 225)."""
    out = cor_sood(tmp_path, monkeypatch, poll)
    drop_dk = pd.read_csv(out / "knowledge_gain_drop_dk.csv").iloc[0]
    assert int(drop_dk["n_pairs"]) == 225
    assert drop_dk["mean_change"] == pytest.approx(0.214 if poll == "wtu-1996" else 0.1144, abs=5e-4)
    row = pd.read_csv(out / "knowledge_gain.csv").iloc[0]
    assert int(row["n_pairs"]) == n
    for column, expected in (
        ("mean_pre", k1),
        ("mean_post", k2),
        ("mean_change", gain),
        ("se", se),
        ("sd_pre", sd1),
        ("standardised_gain", standardised),
    ):
        assert row[column] == pytest.approx(expected, rel=0, abs=1e-12)


def test_weighted_treatment_vs_control_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One long file with weights and a control arm, one import, ``analyse --weights wt``: the weighted
    gain difference equals the difference of T1-weighted mean gains computed from the file, with the
    hand linearisation SE ``√(n/(n−1)·Σ_g Σ_{i∈g} w_i²(d_i − d̄_g)²/(Σ_g w)²)``; the unweighted rows
    beside it have n_eff = n; an unknown weight column is an error naming the imported ones."""
    frame = long_poll(blank_rows=True)
    out = analysed(tmp_path, monkeypatch, frame, "--weights", "wt")
    table = pd.read_csv(out / "control_weighted.csv")
    row = table[(table["outcome"] == "A1") & (table["estimand"] == "gain_difference") & table["weighted"]].iloc[0]
    t1 = frame[frame["Time"] == "T1"].set_index("ID")
    t2 = frame[(frame["Time"] == "T2") & (frame["A1"].astype(str) != "")].set_index("ID")
    gain = (pd.to_numeric(t2["A1"]) - pd.to_numeric(t1["A1"].reindex(t2.index))).rename("d")
    data = pd.concat([gain, t1["wt"].reindex(gain.index).astype(float), t1["Group"].reindex(gain.index)], axis=1)
    means, var = {}, 0.0
    for group, part in data.groupby("Group"):
        means[group] = float((part["wt"] * part["d"]).sum() / part["wt"].sum())
        var += float((part["wt"] ** 2 * (part["d"] - means[group]) ** 2).sum() / part["wt"].sum() ** 2)
    n = len(data)
    assert row["estimate"] == pytest.approx(means["Treatment"] - means["Control"], abs=1e-12)
    assert row["se"] == pytest.approx(np.sqrt(n / (n - 1) * var), rel=1e-10)
    assert (int(row["n_treated"]), int(row["n_comparison"]), int(row["n_excluded"])) == (120, 80, 40)
    unweighted = table[~table["weighted"]]
    assert (unweighted["n_eff_treated"] == unweighted["n_treated"]).all()
    change = pd.read_csv(out / "opinion_change_weighted.csv").iloc[0]
    panel = data[data["Group"] == "Treatment"]
    assert change["mean"] == pytest.approx((panel["wt"] * panel["d"]).sum() / panel["wt"].sum(), abs=1e-12)
    assert change["n"] == 120 and change["n_eff"] < 120
    assert_integer_counts(out)
    capsys.readouterr()
    assert run_cli(monkeypatch, "analyse", "-w", str(tmp_path / "ws"), "--weights", "wght") == 1
    message = " ".join(capsys.readouterr().out.split())
    assert "'wght'" in message and "imported: wt" in message


def test_counts_stay_integers_beside_an_outcome_that_cannot_be_fitted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An item only the treated arm answered is one ``control_ancova`` row with a note; the other rows'
    ``n_treated``/``n_control`` stay ``100``, not ``100.0`` (issue 14: counts written as floats)."""
    with_a2 = INSTRUMENT.replace(
        "[[waves]]", '[[items]]\ncode = "A2"\nkind = "scale"\ntext = "b"\nmin = 0\nmax = 10\n\n[[waves]]', 1
    )
    root = poll_workspace(tmp_path, monkeypatch, with_a2)
    frame = long_poll(blank_rows=True)
    frame["A2"] = frame["A1"].where(frame["Group"] == "Treatment", "")
    frame.to_csv(tmp_path / "p.csv", index=False)
    assert (
        run_cli(monkeypatch, "survey", "import", str(tmp_path / "p.csv"), "-w", str(root), *LONG, "--weights", "wt")
        == 0
    )
    assert run_cli(monkeypatch, "analyse", "-w", str(root), "--output", str(tmp_path / "out")) == 0
    ancova = pd.read_csv(tmp_path / "out" / "control_ancova.csv", dtype=str, keep_default_na=False)
    assert ancova.set_index("outcome").at["A1", "n_treated"] == "120"
    assert ancova.set_index("outcome").at["A2", "note"] != ""
    assert_integer_counts(tmp_path / "out")


def test_weighted_participants_vs_population_on_a_declared_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A declared variable (age, from the survey file) against quota population shares, with the
    participants' design weights: weighted share Σ_{i∈k} w_i/Σw from the file, Rao–Scott corrected."""
    frame = long_poll(blank_rows=False)
    t1 = frame[frame["Time"] == "T1"].copy()
    t1.loc[t1.index[::3], "age"] = "35+"
    frame.loc[t1.index, "age"] = t1["age"]
    root = poll_workspace(tmp_path, monkeypatch)
    frame.to_csv(tmp_path / "p.csv", index=False)
    assert (
        run_cli(monkeypatch, "survey", "import", str(tmp_path / "p.csv"), "-w", str(root), *LONG, "--weights", "wt")
        == 0
    )
    quotas = pd.DataFrame(
        {"category": ["age", "age"], "feature": ["18-34", "35+"], "min": [0, 0], "max": [10, 10],
         "population_share": [0.45, 0.55]}
    )  # fmt: skip
    quotas.to_csv(tmp_path / "q.csv", index=False)
    assert run_cli(monkeypatch, "quotas", "import", str(tmp_path / "q.csv"), "--size", "10", "-w", str(root)) == 0
    out = tmp_path / "out"
    assert run_cli(monkeypatch, "analyse", "-w", str(root), "--weights", "wt", "--output", str(out)) == 0
    both = pd.read_csv(out / "representativeness_population_weighted.csv")
    assert set(both["group"]) == {"participants", "control"}
    table = both[both["group"] == "participants"].set_index("category")
    panel = t1[t1["Group"] == "Treatment"]
    w = panel["wt"].astype(float)
    expected = float(w[panel["age"] == "35+"].sum() / w.sum())
    assert table.at["35+", "weighted_share"] == pytest.approx(expected, abs=1e-12)
    assert int(table.at["35+", "n"]) == int((panel["age"] == "35+").sum())
    assert table.at["35+", "n_eff"] < 120
    arms = pd.read_csv(out / "representativeness_arms_weighted.csv")
    assert set(arms["group"]) == {"participants", "control"}


#: The options the Deliberative Democracy Lab's .sav layout needs, written out, and as its preset.
DDL_EXPLICIT = ("--id-column", "ID", "--wave-column", "Time", "--arm-column", "Group")
DDL_PRESET = ("--preset", "ddl")


def ddl_sav(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """A .sav in the DDL layout (long: ID, Time, Group, a weight, a labelled demographic, items) and the
    frame it was written from."""
    import pyreadstat

    frame = long_poll(blank_rows=True)
    frame.loc[frame.index[::10], "A1"] = 97
    frame["sex"] = np.where(frame["ID"].str[1:].astype(int) % 2, 2.0, 1.0)  # per person, the same at both waves
    sav = pd.DataFrame(
        {
            "ID": frame["ID"],
            "Time": frame["Time"].map({"T1": 1.0, "T2": 2.0}),
            "Group": frame["Group"].map({"Treatment": 1.0, "Control": 2.0}),
            "wt": pd.to_numeric(frame["wt"], errors="coerce"),
            "sex": frame["sex"],
            "A1": pd.to_numeric(frame["A1"], errors="coerce"),
            "K1": pd.to_numeric(frame["K1"], errors="coerce"),
        }
    )
    path = tmp_path / "poll.sav"
    pyreadstat.write_sav(
        sav,
        str(path),
        variable_value_labels={
            "Time": {1.0: "T1", 2.0: "T2"},
            "Group": {1.0: "Treatment", 2.0: "Control"},
            "sex": {1.0: "man", 2.0: "vrouw"},
        },
        missing_ranges={"A1": [97]},
    )
    return path, frame


@pytest.mark.parametrize("layout", [DDL_EXPLICIT, DDL_PRESET], ids=["explicit options", "--preset ddl"])
def test_spss_long_file_with_value_labels_and_user_missing_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], layout: tuple[str, ...]
) -> None:
    """A panel company's .sav: numeric Time and Group with value labels (1 = T1 / Treatment ...), a
    labelled demographic, and a user-missing 97 on A1 that the instrument does not declare: 97 is read
    as no answer (never averaged), the labels become the values, all in one command; the same with
    the DDL preset instead of the three layout options."""
    path, frame = ddl_sav(tmp_path)
    root = poll_workspace(tmp_path, monkeypatch)
    capsys.readouterr()
    args = (*layout, "--variables", "sex")
    assert run_cli(monkeypatch, "survey", "import", str(path), "-w", str(root), *args, "--weights", "wt") == 0
    printed = " ".join(capsys.readouterr().out.split())
    n_97 = int((frame["A1"].astype(str) == "97").sum())
    assert f"SPSS user-missing codes read as no answer: A1 ({n_97} cells)" in printed
    assert run_cli(monkeypatch, "analyse", "-w", str(root), "--output", str(tmp_path / "out")) == 0
    change = pd.read_csv(tmp_path / "out" / "opinion_change.csv").set_index("item")
    t1, t2 = frame[frame["Time"] == "T1"].set_index("ID"), frame[frame["Time"] == "T2"].set_index("ID")
    treated = t1.index[t1["Group"] == "Treatment"]
    pre = pd.to_numeric(t1.loc[treated, "A1"]).replace(97, np.nan)
    post = pd.to_numeric(t2.reindex(treated)["A1"], errors="coerce").replace(97, np.nan)
    pairs = pd.concat([pre, post], axis=1, keys=["pre", "post"]).dropna()
    assert int(change.at["A1", "n_pairs"]) == len(pairs)
    assert change.at["A1", "mean_pre"] == pytest.approx(pairs["pre"].mean(), abs=1e-12)
    arms = pd.read_csv(tmp_path / "out" / "representativeness_arms.csv")
    assert set(arms["category"]) == {"man", "vrouw"} and set(arms["group"]) == {"participants", "control"}


def test_ddl_preset_stores_and_analyses_exactly_what_the_explicit_options_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Byte for byte: every analysis table and every stored answer, weight and respondent are the same
    whether the DDL layout is written out or named by its preset (the bootstrap seeds, fresh per run,
    fixed for the comparison)."""
    monkeypatch.setattr("kleroterion.app.analysis.fresh_seed", lambda: 20261205)
    outputs, stored = [], []
    for name, layout in (("explicit", DDL_EXPLICIT), ("preset", DDL_PRESET)):
        base = tmp_path / name
        base.mkdir()
        path, _ = ddl_sav(base)
        root = poll_workspace(base, monkeypatch)
        args = ("survey", "import", str(path), "-w", str(root), *layout, "--variables", "sex", "--weights", "wt")
        assert run_cli(monkeypatch, *args) == 0
        out = base / "out"
        assert run_cli(monkeypatch, "analyse", "-w", str(root), "--output", str(out)) == 0
        outputs.append({p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))})
        with Workspace.open(root) as ws:
            answers = ws.store._query(
                "SELECT wave_code, participant_id, item_code, value, raw FROM answers ORDER BY 1, 2, 3"
            )
            people = ws.store.participants().sort_values("participant_id").reset_index(drop=True)
        stored.append(([tuple(r) for r in answers], people))
    assert outputs[0].keys() == outputs[1].keys() and len(outputs[0]) > 10
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], name
    assert stored[0][0] == stored[1][0] and len(stored[0][0]) > 0
    pd.testing.assert_frame_equal(stored[0][1], stored[1][1])


def test_ddl_preset_refuses_a_different_explicit_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = ddl_sav(tmp_path)
    root = poll_workspace(tmp_path, monkeypatch)
    capsys.readouterr()
    base = ("survey", "import", str(path), "-w", str(root), "--variables", "sex", "--weights", "wt")
    assert run_cli(monkeypatch, *base, *DDL_PRESET, "--wave-column", "Wave") == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "--wave-column Wave and --preset ddl (--wave-column Time) disagree" in out
    assert run_cli(monkeypatch, *base, "--preset", "stanford") == 1
    assert "use one of ddl" in " ".join(capsys.readouterr().out.split())
    assert run_cli(monkeypatch, *base, *DDL_PRESET, "--row-ids") == 1
    assert run_cli(monkeypatch, *base, *DDL_PRESET, "--id-column", "ID") == 0  # the same value is no conflict
    with Workspace.open(root) as ws:
        assert len(ws.store.participants()) == 240


def test_respondents_file_then_wide_wave_files_without_a_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Respondents from their own file (ids as given, arms treatment / non-participant, a declared
    variable), then one wide file per wave that only names ids: both meet in the same poll tables."""
    root = poll_workspace(tmp_path, monkeypatch)
    frame = long_poll(blank_rows=False)
    people = frame[frame["Time"] == "T1"][["ID", "Group", "age", "wt"]]
    people = people.assign(
        Group=people["Group"].replace({"Control": "non-participant"}),
        age=np.where(np.arange(len(people)) % 3 == 0, "35+", "18-34"),
    )
    people.to_csv(tmp_path / "people.csv", index=False)
    capsys.readouterr()
    args = ("survey", "respondents", str(tmp_path / "people.csv"), "-w", str(root), "--id-column", "ID")
    assert run_cli(monkeypatch, *args, "--arm-column", "Group", "--variables", "age") == 1  # wt undeclared
    assert "column is not declared" in " ".join(capsys.readouterr().out.split())
    assert run_cli(monkeypatch, *args, "--arm-column", "Group", "--variables", "age", "--ignore-extra") == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "120 invited, 120 participant" in printed and "left out (--ignore-extra): wt" in printed
    for wave in ("T1", "T2"):
        part = frame[frame["Time"] == wave][["ID", "A1", "K1"]].rename(columns={"ID": "participant_id"})
        part.to_csv(tmp_path / f"{wave}.csv", index=False)
        assert (
            run_cli(monkeypatch, "survey", "import", str(tmp_path / f"{wave}.csv"), "--wave", wave, "-w", str(root))
            == 0
        )
    assert run_cli(monkeypatch, "analyse", "-w", str(root), "--output", str(tmp_path / "out")) == 0
    nominal = pd.read_csv(tmp_path / "out" / "representativeness_arms.csv")
    assert set(nominal["group"]) == {"participants", "invited non-participants"}
    # declared variables feed the participants-vs-invited comparison and the subgroups like sign-up categories
    assert set(pd.read_csv(tmp_path / "out" / "representativeness_nominal.csv")["variable"]) == {"age"}
    assert set(pd.read_csv(tmp_path / "out" / "opinion_change_subgroups.csv")["variable"]) == {"age"}
    scales = pd.read_csv(tmp_path / "out" / "representativeness_scales.csv").set_index("variable")
    assert int(scales.at["A1", "n_a"]) == 120 and int(scales.at["A1", "n_b"]) == 120


ATTITUDE_ONLY = INSTRUMENT[: INSTRUMENT.index('[[items]]\ncode = "K1"')] + INSTRUMENT[INSTRUMENT.index("[[waves]]") :]


@pytest.mark.parametrize("instrument", ["attitude-only, one item", "knowledge-only, all-blank attitude item"])
@pytest.mark.parametrize("comparison", ["Control", "non-participant"])
def test_unusual_instruments_analyse_with_every_weighting(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    instrument: str,
    comparison: str,
) -> None:
    """Valid but unusual polls: exit 0 and no traceback with --weights raking, none and a weight column."""
    attitude_only = instrument.startswith("attitude")
    root = poll_workspace(tmp_path, monkeypatch, ATTITUDE_ONLY if attitude_only else KNOWLEDGE_ONLY)
    frame = long_poll(blank_rows=True)
    frame = frame.drop(columns="K1") if attitude_only else frame.drop(columns="A1").assign(A9="")
    frame["Group"] = frame["Group"].replace({"Control": comparison})
    frame.to_csv(tmp_path / "p.csv", index=False)
    assert (
        run_cli(monkeypatch, "survey", "import", str(tmp_path / "p.csv"), "-w", str(root), *LONG, "--weights", "wt")
        == 0
    )
    for weights in ("raking", "none", "wt"):
        out = tmp_path / f"out-{weights}"
        capsys.readouterr()
        assert run_cli(monkeypatch, "analyse", "-w", str(root), "--weights", weights, "--output", str(out)) == 0
        assert "Traceback" not in capsys.readouterr().out
        assert_integer_counts(out)
    weighted = out / (
        "control_weighted.csv" if comparison == "Control" else "participants_vs_nonparticipants_weighted.csv"
    )
    outcome = "A1" if attitude_only else "knowledge_score"
    assert outcome in set(pd.read_csv(weighted)["outcome"])
