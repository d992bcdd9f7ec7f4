"""Verantwoording van de loting: the public account's numbers equal the stored draw; no personal data."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports.public import letter_strata, quota_shares
from sortition.letters import draw_letters
from tests.conftest import RawConnection, run_cli
from tests.reports.test_demo_reports import find_values, personal_values, report_text


def test_letter_strata_give_each_address_its_chance_l_over_a() -> None:
    # stratum a: 6 addresses (A1 with 3 residents), 2 letters -> 2/6 per address; stratum b: 3 addresses, 1 letter
    addresses = ["A1", "A1", "A1", "A2", "A3", "A4", "A5", "A6", "B1", "B2", "B3"]
    eligible = pd.DataFrame(
        {"id": [f"R{i:02d}" for i in range(11)], "address_key": addresses, "wijk": [a[0].lower() for a in addresses]}
    )
    for seed in range(20):
        letters = draw_letters(eligible, count=3, rng=np.random.default_rng(seed), stratify_by="wijk")
        strata = {s.stratum: s for s in letter_strata(letters)}
        assert (strata["a"].letters, strata["b"].letters) == (2, 1)
        assert strata["b"].address_chance == pytest.approx(1 / 3)
        # two of the six addresses in a: at least one has a single resident, whose chance is L/A = 2/6
        assert strata["a"].address_chance == pytest.approx(2 / 6)


def test_quota_shares_name_the_source_of_each_category() -> None:
    quotas = pd.DataFrame(
        {
            "category": ["gender", "education"],
            "feature": ["V", "hoog"],
            "population_share": [0.5, 0.3],
            "min": [1, 1],
            "max": [3, 2],
        }
    )
    rows = quota_shares(quotas, {"education": "shares-file"})
    assert [(r.category, r.source) for r in rows] == [("gender", "registry"), ("education", "shares-file")]


def stored(demo: Path) -> dict[str, object]:
    con = RawConnection(demo / "workspace")
    letters = sum(r[0] for r in con.execute("SELECT letter_count FROM letter_draws"))
    params = json.loads(con.execute("SELECT parameters FROM letter_draws ORDER BY id").fetchone()[0])
    letter_seed = con.execute("SELECT seed FROM letter_draws ORDER BY id").fetchone()[0]
    draw_id, seed, quota_set = con.execute(
        "SELECT id, seed, quota_set_id FROM selection_draws WHERE kind = 'panel' ORDER BY id DESC"
    ).fetchone()
    size = con.execute("SELECT panel_size FROM quota_sets WHERE id = ?", (quota_set,)).fetchone()[0]
    features = dict(con.execute("SELECT id, features FROM pool_members").fetchall())
    probability = dict(
        con.execute("SELECT person_id, probability FROM selection_probabilities WHERE draw_id = ?", (draw_id,))
    )
    con.close()
    chances: dict[tuple[str, str], list[float]] = defaultdict(list)
    for pid, raw in features.items():
        for key, value in json.loads(raw).items():
            chances[(key, value)].append(probability[pid])
    return {
        "letters": letters,
        "eligible": params["eligible"],
        "letter_seed": str(letter_seed),
        "seed": str(seed),
        "signups": len(features),
        "panel": size,
        "chances": {k: sum(v) / len(v) for k, v in chances.items()},
    }


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_public_account_numbers_equal_the_stored_draw(report_demo: Path, lang: str) -> None:
    html = (report_demo / f"public-report.{lang}.html").read_text(encoding="utf-8")
    expected = stored(report_demo)
    counts = [int(n) for n in re.findall(r'<strong data-count="(\d+)">', html)]
    assert counts == [expected["eligible"], expected["letters"], expected["signups"], expected["panel"]]
    assert f'<code id="panel-seed">{expected["seed"]}</code>' in html
    assert expected["letter_seed"] in html
    rows = re.findall(
        r'<th scope="row" data-code="([^"]+)">[^<]*</th><td data-code="([^"]+)">.*?</tr>', html, flags=re.S
    )
    assert len(rows) >= 10
    checked = 0
    chances: dict[tuple[str, str], float] = expected["chances"]  # type: ignore[assignment]
    for row in re.findall(r"<tr><th scope=\"row\" data-code=.*?</tr>", html, flags=re.S):
        code = re.search(r'data-code="([^"]+)">[^<]*</th><td data-code="([^"]+)"', row)
        value = re.search(r'data-value="([^"]+)"', row)
        if code and value:
            assert float(value.group(1)) == pytest.approx(chances[(code.group(1), code.group(2))], abs=1e-12)
            checked += 1
    assert checked >= 10


@pytest.mark.slow
def test_public_account_holds_no_personal_data(report_demo: Path) -> None:
    values = set().union(*personal_values(report_demo).values())
    for lang in ("nl", "en"):
        for fmt in ("html", "pdf"):
            text = report_text(report_demo / f"public-report.{lang}.{fmt}")
            assert find_values(text, values) == set(), (lang, fmt)


@pytest.mark.slow
def test_klero_report_public_writes_pdf_and_refuses_a_bad_language(
    report_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "v.pdf"
    args = ["report", "public", "--workspace", str(report_demo / "workspace"), "--format", "pdf", "--out", str(out)]
    assert run_cli(monkeypatch, *args, "--lang", "en") == 0
    assert out.read_bytes().startswith(b"%PDF")
    capsys.readouterr()
    assert run_cli(monkeypatch, *args, "--lang", "fr") == 1
    printed = "".join(capsys.readouterr())
    assert "Unknown language" in printed and "Traceback" not in printed
