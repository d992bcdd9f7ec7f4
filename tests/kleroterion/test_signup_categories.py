"""A process with its own sign-up category, from sign-up to the council report, through the real CLI.

The Burgerberaad Klimaat (2024–25) stratified on opinion about climate policy besides gender, age,
residence and education (DOMAIN.md §1a); here a synthetic municipality does the same.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kleroterion.workspace import Workspace
from sortition.pool import person_id
from sortition.registry import age_bands, ages_on
from tests.conftest import lottery_workspace, run_cli
from tests.kleroterion.test_cli_chain import INSTRUMENT, answers, flat
from tests.reports.test_demo_reports import parse

CLIMATE = """
[[signup.category]]
name = "gender"

[[signup.category]]
name = "age_band"

[[signup.category]]
name = "education"

[[signup.category]]
name = "climate_opinion"
label_nl = "Mening over klimaatbeleid"
label_en = "Opinion on climate policy"
aliases = ["klimaatmening"]
values = [
  { value = "te_ver", label_nl = "Gaat te ver", label_en = "Goes too far" },
  { value = "goed", label_nl = "Precies goed", label_en = "About right", aliases = ["goed zo"] },
  { value = "niet_ver_genoeg", label_nl = "Gaat niet ver genoeg", label_en = "Not far enough" },
]
"""
SPOKEN = ("Gaat te ver", "goed zo", "GAAT NIET VER GENOEG")
EDUCATION = ("laag", "Middelbaar", "hoog")


@pytest.fixture(scope="module")
def climate(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A workspace with a fifth sign-up category taken to an analysed panel; the shares file is kept."""
    base = tmp_path_factory.mktemp("climate")
    with pytest.MonkeyPatch.context() as mp:
        root = lottery_workspace(base, mp, letters=120)
        ws = str(root)
        with (root / "process.toml").open("a", encoding="utf-8") as process:
            process.write(CLIMATE)
        with Workspace.open(root) as opened:
            letters = opened.store.letters()
        signed = letters.iloc[:80]
        pd.DataFrame(
            {
                "Uitnodigingscode": signed["code"],
                "Geslacht": signed["gender"],
                "Leeftijdsgroep": age_bands(ages_on(signed["birth_date"], date(2024, 1, 1))),
                "Opleiding": [EDUCATION[i % 3] for i in range(len(signed))],
                "Mening over klimaatbeleid": [SPOKEN[i % 3] for i in range(len(signed))],
            }
        ).to_csv(base / "aanmeldingen.csv", sep=";", index=False)
        pd.DataFrame(
            {
                "category": ["Opleiding"] * 3 + ["klimaatmening"] * 3,
                "feature": ["laag", "middelbaar", "hoog", "Gaat te ver", "precies goed", "niet_ver_genoeg"],
                "share": ["0,3", "0,4", "0,3", "0,2", "0,5", "0,3"],
            }
        ).to_csv(base / "aandelen.csv", index=False)
        assert run_cli(mp, "pool", "import", str(base / "aanmeldingen.csv"), "-w", ws) == 0
        assert run_cli(mp, "quotas", "derive", "--size", "12", "--tolerance", "2", "-w", ws) == 0
        shares = str(base / "aandelen.csv")
        assert run_cli(mp, "quotas", "derive", "--size", "12", "--tolerance", "2", "--shares", shares, "-w", ws) == 0
        assert run_cli(mp, "panel", "select", "--engine", "native", "--seed", "3", "-w", ws) == 0
        assert run_cli(mp, "poll", "define", str(INSTRUMENT), "-w", ws) == 0
        with Workspace.open(root) as opened:
            panel = opened.store.panel_members("panel")["person_id"].tolist()
        answers([person_id(c) for c in letters["code"]], shift=0).to_csv(base / "t1.csv", index=False)
        answers(panel, shift=1).to_csv(base / "t2.csv", index=False)
        assert run_cli(mp, "survey", "import", "--wave", "T1", str(base / "t1.csv"), "-w", ws) == 0
        assert run_cli(mp, "survey", "import", "--wave", "T2", str(base / "t2.csv"), "-w", ws) == 0
        assert run_cli(mp, "analyse", "-w", ws) == 0
    return {"root": root, "base": base}


def test_the_extra_category_is_stored_canonical_and_gets_quotas_from_the_shares_file(climate: dict[str, Path]) -> None:
    with Workspace.open(climate["root"]) as ws:
        pool = ws.store.pool()
        _, size, quotas = ws.store.quotas()
        panel = pool[pool["id"].isin(ws.store.panel_members("panel")["person_id"])]
    assert pool["climate_opinion"].value_counts().to_dict() == {"te_ver": 27, "goed": 27, "niet_ver_genoeg": 26}
    assert list(dict.fromkeys(quotas["category"])) == ["gender", "age_band", "wijk", "education", "climate_opinion"]
    climate_quotas = quotas[quotas["category"] == "climate_opinion"].set_index("feature")
    assert climate_quotas["population_share"].to_dict() == pytest.approx(
        {"te_ver": 0.2, "goed": 0.5, "niet_ver_genoeg": 0.3}
    )
    assert size == len(panel) == 12
    counts = panel["climate_opinion"].value_counts()
    for feature, quota in climate_quotas.iterrows():
        assert quota["min"] <= counts.get(feature, 0) <= quota["max"]


def test_quotas_derive_names_a_category_without_shares(
    climate: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ("quotas", "derive", "--size", "12", "--out", str(climate["base"] / "q.csv"), "-w", str(climate["root"]))
    assert run_cli(monkeypatch, *args) == 0
    out = flat(capsys.readouterr().out)
    assert "No quotas for education: no population shares." in out
    assert "No quotas for climate_opinion: no population shares." in out
    assert "climate_opinion" not in set(pd.read_csv(climate["base"] / "q.csv")["category"])


@pytest.mark.parametrize(
    ("lang", "label", "values"),
    [
        ("nl", "Mening over klimaatbeleid", ("Gaat te ver", "Precies goed", "Gaat niet ver genoeg")),
        ("en", "Opinion on climate policy", ("Goes too far", "About right", "Not far enough")),
    ],
)
def test_council_report_shows_the_extra_category(
    climate: dict[str, Path], monkeypatch: pytest.MonkeyPatch, lang: str, label: str, values: tuple[str, ...]
) -> None:
    out = climate["base"] / f"council.{lang}.html"
    args = ("report", "council", "--lang", lang, "--format", "html", "--out", str(out), "-w", str(climate["root"]))
    assert run_cli(monkeypatch, *args) == 0
    html = out.read_text(encoding="utf-8")
    rows = parse(out).tables["composition-table"][1:]
    shown = {r[1]["text"].strip(): int(r[4]["data-count"]) for r in rows if r[0]["text"].strip() == label}
    with Workspace.open(climate["root"]) as ws:
        pool = ws.store.pool()
        sitting = pool[pool["id"].isin(ws.store.panel_members("panel")["person_id"])]
    canonical = ("te_ver", "goed", "niet_ver_genoeg")
    expected = {text: int((sitting["climate_opinion"] == v).sum()) for text, v in zip(values, canonical, strict=True)}
    assert shown == expected
    assert {r[0]["data-code"] for r in rows} == {"gender", "age_band", "wijk", "education", "climate_opinion"}
    assert label in {r[0]["text"].strip() for r in rows}  # the cells show the labels
    assert f"{label.lower()}, plus" in flat(html)
    assert 'id="chart-composition-climate_opinion"' in html


def test_use_sheet_is_refused_once_the_pool_has_been_drawn_from(
    climate: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = pd.read_csv(climate["base"] / "aanmeldingen.csv", sep=";", dtype=str)
    sheet.loc[0, "Mening over klimaatbeleid"] = (
        "goed zo" if sheet.loc[0, "Mening over klimaatbeleid"] != "goed zo" else "Gaat te ver"
    )
    changed = climate["base"] / "aanmeldingen-gewijzigd.csv"
    sheet.to_csv(changed, sep=";", index=False)
    with Workspace.open(climate["root"]) as ws:
        before = ws.store.pool()
    capsys.readouterr()
    assert run_cli(monkeypatch, "pool", "import", str(changed), "--use-sheet", "-w", str(climate["root"])) == 1
    assert "The pool has been drawn from, so its answers cannot change any more" in flat(capsys.readouterr().out)
    with Workspace.open(climate["root"]) as ws:
        assert ws.store.pool().equals(before)
