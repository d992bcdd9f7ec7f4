"""The deliberation and report pages by plain HTTP: each page's happy path and its error path (a bad upload,
a refused form, a cancelled job), on a process whose respondents come from the survey files themselves
(``arm = participant``), as a poll run without the lottery has them."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from starlette.applications import Starlette

from kleroterion.app.accounts import add_user, grant
from kleroterion.store.server import Job
from kleroterion.web.app import create_app
from kleroterion.web.jobs import run_job
from kleroterion.web.registry import SNIFF_BYTES
from kleroterion.web.steps import sniff
from kleroterion.workspace import Workspace
from tests.conftest import REPO, RawConnection, copy_workspace, drop_append_only_triggers
from tests.web.chain import prepare
from tests.web.conftest import PASSWORD, PROCESS, USERS, TestClient, csrf_token, login

INSTRUMENT = REPO / "data" / "peel_en_maas" / "instrument.toml"
PACKET = REPO / "data" / "peel_en_maas" / "informatiebrochure.toml"
PEOPLE = 40


def post(client: TestClient, page: str, data: dict[str, Any] | None = None, files: Any = None, action: str = "") -> Any:
    """POST a form of ``page`` (to ``action``, default the page itself) with the page's CSRF token."""
    token = csrf_token(client.get(f"/p/{PROCESS}/{page}").text)
    return client.post(
        f"/p/{PROCESS}/{action or page}",
        data={"csrf_token": token, **(data or {})},
        files=files,
        follow_redirects=False,
    )


def finished(app: Starlette, client: TestClient, response: Any) -> str:
    """The job page once the job a POST started has ended."""
    assert response.status_code == 303, response.text
    app.state.jobs.join(timeout=120)
    return str(client.get(response.headers["location"]).text)


def waves(seed: int = 3) -> tuple[bytes, bytes, pd.DataFrame]:
    """Wide T1 and T2 files of ``PEOPLE`` respondents simulated on the example's instrument (T2 moved on
    A1), and the T1 answers as a frame (the reference the page's figures are checked against)."""
    import tomllib

    from deliberation.instrument import instrument_from_dict
    from deliberation.synthetic import latent_attitudes, simulate_wave

    instrument = instrument_from_dict(tomllib.loads(INSTRUMENT.read_text(encoding="utf-8")), source="instrument")
    rng = np.random.default_rng(seed)
    people = pd.DataFrame({"participant_id": [f"P{i:03d}" for i in range(PEOPLE)], "education": "middel"})
    latent = latent_attitudes(people["participant_id"], instrument, rng=rng)
    t1 = simulate_wave(people, instrument, wave="T1", rng=rng, latent=latent, dont_know_rate=0.0)
    t2 = simulate_wave(people, instrument, wave="T2", rng=rng, latent=latent, shifts={"A1": 0.5}, evaluation_mean=0.7)

    def wide(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.pivot(index="participant_id", columns="item_code", values="raw").fillna("").reset_index()

    first = wide(t1)
    return first.to_csv(index=False).encode(), wide(t2).to_csv(index=False).encode(), first


def define(app: Starlette, client: TestClient) -> str:
    files = {"file": ("instrument.toml", INSTRUMENT.read_bytes(), "application/toml")}
    return finished(app, client, post(client, "poll", files=files))


def import_wave(app: Starlette, client: TestClient, wave: str, content: bytes, **fields: str) -> str:
    files = {"file": (f"enquete-{wave}.csv", content, "text/csv")}
    return finished(app, client, post(client, "survey", {"wave": wave, "arm": "participant", **fields}, files))


def answers(root: Path) -> int:
    with Workspace.open(root / PROCESS) as ws:
        return int(ws.store.table_counts().get("answers", 0))


# -- the poll instrument --------------------------------------------------------------------------
def test_the_instrument_is_defined_and_shown(app: Starlette, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    assert "nog geen vragenlijst" in client.get(f"/p/{PROCESS}/poll").text
    page = define(app, client)
    assert "Klaar" in page and "T1, T2" in page
    shown = client.get(f"/p/{PROCESS}/poll").text
    assert "Wonen in Peel en Maas" in shown
    for code in ("A1", "A4", "K1"):
        assert f"<code>{code}</code>" in shown


def test_the_control_group_needs_letters_and_a_size(app: Starlette, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    refused = post(client, "poll", {"count": "nul"}, action="poll/control")
    assert refused.status_code == 400 and 'href="#count"' in refused.text
    page = finished(app, client, post(client, "poll", {"count": "30"}, action="poll/control"))
    assert "Mislukt" in page and "Draw the letters before the control group" in page


def test_a_bad_instrument_lists_its_problems_and_stores_nothing(
    app: Starlette, root: Path, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    broken = INSTRUMENT.read_text(encoding="utf-8").replace('kind = "likert"', 'kind = "lickert"', 1)
    page = finished(
        app, client, post(client, "poll", files={"file": ("instrument.toml", broken.encode(), "text/plain")})
    )
    assert "Mislukt" in page
    assert "lickert" in page and "instrument.toml" in page  # the file and the bad value named
    with Workspace.open(root / PROCESS) as ws:
        assert ws.store.instrument_definition() is None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("instrument.txt", b"name = 'x'", "Kies een bestand van het type .toml, .xlsx"),
        ("instrument.xlsx", b"name = 'x'", "De inhoud past niet bij het type"),
        ("instrument.toml", b"\x00\x01binary", "De inhoud past niet bij het type"),
    ],
)
def test_a_wrong_instrument_file_is_refused_on_the_form(
    app: Starlette, client_for: Callable[[str], TestClient], name: str, content: bytes, message: str
) -> None:
    response = post(client_for("mede"), "poll", files={"file": (name, content, "application/octet-stream")})
    assert response.status_code == 400
    assert message in response.text and 'href="#file"' in response.text
    assert app.state.server.jobs_of(PROCESS) == []


@pytest.mark.parametrize(
    ("suffix", "head", "ok"),
    [
        (".toml", b"name = 'x'\n", True),
        (".toml", (b"x" * (SNIFF_BYTES - 1)) + "é".encode()[:1], True),  # the sniff cut a character in two
        (".toml", "naam = 'één'".encode("cp1252"), False),  # a whole file that is not UTF-8
        (".toml", b"\xff\xfe\x00", False),
        (".sav", b"$FL2@(#) SPSS", True),
        (".sav", b"participant_id,A1\n", False),
        (".parquet", b"PAR1....", True),
        (".parquet", b"PK\x03\x04", False),
        (".xlsx", b"PK\x03\x04", True),
        (".csv", b"participant_id,A1\n", True),
        (".csv", b"moderator\nAnnelies Verhoeven\n", True),  # one column
        (".csv", "moderator\nJosé\n".encode("cp1252"), False),  # Windows-1252 needs a separator to be sure
        (".csv", "id;naam\n1;José\n".encode("cp1252"), True),
        (".csv", b"PK\x03\x04", False),
    ],
)
def test_content_sniffing_of_every_accepted_type(suffix: str, head: bytes, ok: bool) -> None:
    assert sniff(suffix, head) is ok


# -- survey waves ---------------------------------------------------------------------------------
def test_waves_are_imported_and_counted(app: Starlette, root: Path, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    define(app, client)
    t1, t2, reference = waves()
    page = import_wave(app, client, "T1", t1)
    assert "Klaar" in page and f"{PEOPLE} respondenten" in page
    assert f"{PEOPLE} respondenten aangemaakt" in page
    import_wave(app, client, "T2", t2)
    listing = client.get(f"/p/{PROCESS}/survey").text
    rows = dict(re.findall(r'<th scope="row">(T\d)</th><td class="num">(\d+)</td>', listing))
    assert rows == {"T1": str(PEOPLE), "T2": str(PEOPLE)}
    stored_t1 = int((reference.drop(columns="participant_id") != "").to_numpy().sum())
    with Workspace.open(root / PROCESS) as ws:
        assert ws.store.wave_answer_count("T1") == stored_t1


def test_a_wave_again_needs_replace(app: Starlette, root: Path, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    define(app, client)
    t1, _, _ = waves()
    import_wave(app, client, "T1", t1)
    again = import_wave(app, client, "T1", t1)
    assert "Mislukt" in again and "already has" in again and "--replace" in again
    replaced = import_wave(app, client, "T1", t1, replace="1")
    assert "Klaar" in replaced and "eerdere antwoorden vervangen" in replaced


def test_a_bad_survey_cell_is_named_by_row_and_column(
    app: Starlette, root: Path, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    define(app, client)
    _, _, reference = waves()
    bad = reference.copy()
    bad.loc[4, "A1"] = "7"  # the scale is 1-5 (9 = don't know, 99 = missing)
    page = import_wave(app, client, "T1", bad.to_csv(index=False).encode())
    assert "Mislukt" in page
    cells = re.findall(
        r"<tr><td>enquete-T1.csv</td><td class=\"num\">(\d+)</td><td>(\w+)</td><td><code>(\w*)</code>", page
    )
    assert ("6", "A1", "7") in cells  # file row 6: the header is row 1
    assert answers(root) == 0


def test_the_survey_form_refuses_contradicting_options(app: Starlette, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    files = {"file": ("t1.csv", b"participant_id,A1\nP1,3\n", "text/csv")}
    response = post(client, "survey", {"wave": "", "arm": "nobody", "wave_values": "1"}, files)
    assert response.status_code == 400
    for field in ("wave", "arm", "wave_values"):
        assert f'href="#{field}"' in response.text
    assert app.state.server.jobs_of(PROCESS) == []


def test_a_survey_without_an_instrument_fails_with_the_reason(
    app: Starlette, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    t1, _, _ = waves()
    page = import_wave(app, client, "T1", t1)
    assert "Mislukt" in page and "No poll instrument yet" in page


# -- a cancelled job ------------------------------------------------------------------------------
class HeldQueue:
    """A queue that runs a job only when the test says so (to cancel it first)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.held: list[tuple[str, Any]] = []

    def submit(self, *, kind: str, process: str, owner: str, work: Any) -> Job:
        job = self.store.create_job(f"held-{len(self.held)}", kind=kind, process=process, owner=owner)
        self.held.append((job.id, work))
        return job

    def cancel(self, job_id: str) -> None:
        self.store.request_cancel(job_id)

    def run(self) -> None:
        for job_id, work in self.held:
            run_job(self.store, job_id, work)

    def stop(self) -> None:
        pass


def test_a_cancelled_analysis_stores_no_run(root: Path) -> None:
    from kleroterion.store.server import ServerStore

    store = ServerStore(root)
    queue = HeldQueue(store)
    app = create_app(root, queue=queue)
    client = TestClient(app, base_url="http://127.0.0.1")
    assert login(client, "mede") == 303
    response = post(client, "analysis", {"pre": "T1", "post": "T2", "weights": "none"})
    location = response.headers["location"]
    token = csrf_token(client.get(location).text)
    client.post(f"{location}/cancel", data={"csrf_token": token})
    queue.run()
    page = client.get(location).text
    assert "Geannuleerd" in page and "Naar de analyse" in page
    with Workspace.open(root / PROCESS) as ws:
        assert ws.store.latest_complete_run() is None
    client.close()
    app.state.server.close()
    store.close()


# -- analysis -------------------------------------------------------------------------------------
def test_the_analysis_runs_and_shows_its_tables(
    app: Starlette, root: Path, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    define(app, client)
    t1, t2, reference = waves()
    import_wave(app, client, "T1", t1)
    import_wave(app, client, "T2", t2)
    page = finished(app, client, post(client, "analysis", {"pre": "T1", "post": "T2", "weights": "none"}))
    assert "Klaar" in page and "Analyse 1 opgeslagen" in page
    shown = client.get(f"/p/{PROCESS}/analysis").text
    assert 'id="table-opinion_change"' in shown
    # the T1 mean of A1 equals the mean, computed here from the two uploaded files, over the respondents
    # with a valid A1 (1-5; 9 and 99 are no answer) at both waves (paired)
    after = pd.read_csv(io.BytesIO(t2), dtype=str).set_index("participant_id")["A1"]
    before = reference.set_index("participant_id")["A1"]
    pre, post_ = pd.to_numeric(before, errors="coerce"), pd.to_numeric(after, errors="coerce")
    paired = pre.between(1, 5) & post_.reindex(pre.index).between(1, 5)
    a1 = pre[paired]
    with Workspace.open(root / PROCESS) as ws:
        change = ws.store.analysis("opinion_change")
    assert change is not None
    row = change.set_index("item").loc["A1"] if "item" in change else change.iloc[0]
    assert float(row["mean_pre"]) == pytest.approx(a1.mean(), abs=1e-9)
    assert re.search(r"Aantallen onder 5 zijn afgeschermd", shown)


def test_the_analysis_form_refuses_one_wave_twice(app: Starlette, client_for: Callable[[str], TestClient]) -> None:
    response = post(client_for("mede"), "analysis", {"pre": "T1", "post": "T1", "weights": "none"})
    assert response.status_code == 400 and 'href="#post"' in response.text


def test_an_analysis_without_answers_fails_with_the_reason(
    app: Starlette, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    page = finished(app, client, post(client, "analysis", {"pre": "T1", "post": "T2", "weights": "none"}))
    assert "Mislukt" in page and "poll instrument" in page


# -- packets and groups ---------------------------------------------------------------------------
def test_a_packet_is_imported_signed_off_and_shown(app: Starlette, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    files = {"file": ("informatiebrochure.toml", PACKET.read_bytes(), "application/toml")}
    page = finished(app, client, post(client, "packets", files=files))
    assert "Klaar" in page and "Informatiebrochure Wonen" in page
    signed = post(client, "packets", {"version": "1", "reviewer": "Adviesraad"}, action="packets/signoff")
    assert signed.status_code == 303
    shown = client.get(f"/p/{PROCESS}/packets").text
    assert "Adviesraad" in shown and "versie 1" in shown
    refused = post(client, "packets", {"version": "7", "reviewer": "X"}, action="packets/signoff")
    assert refused.status_code == 400 and 'href="#version"' in refused.text


def test_a_packet_with_a_bad_side_names_the_argument(app: Starlette, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    bad = PACKET.read_text(encoding="utf-8").replace('side = "con"', 'side = "tegen"', 1)
    page = finished(app, client, post(client, "packets", files={"file": ("brochure.toml", bad.encode(), "text/plain")}))
    assert "Mislukt" in page and "tegen" in page and "brochure.toml" in page


def test_groups_are_assigned_from_the_panel(app: Starlette, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    none = finished(app, client, post(client, "groups", {"size": "8"}))
    assert "Mislukt" in none and "No panel participants" in none
    no_export = post(client, "groups", {"format": "csv"}, action="groups/export")
    assert no_export.status_code == 400 and 'href="#export"' in no_export.text
    define(app, client)
    t1, _, _ = waves()
    import_wave(app, client, "T1", t1)
    moderators = "moderator\n" + "\n".join(f"Gespreksleider {i}" for i in range(1, 6)) + "\n"
    files = {"moderators": ("moderatoren.csv", moderators.encode(), "text/csv")}
    page = finished(app, client, post(client, "groups", {"size": "8", "seed": "2027"}, files))
    assert "Klaar" in page and f"{PEOPLE} deelnemers over 5 tafels" in page
    shown = client.get(f"/p/{PROCESS}/groups").text
    assert shown.count("Gespreksleider ") == 5

    assert post(client, "groups", {"size": "1"}).status_code == 400


# -- recommendations, reports ---------------------------------------------------------------------
def test_recommendations_and_responses(app: Starlette, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    added = post(client, "recommendations", {"text": "Bouw kleine huurwoningen.", "support": "87"})
    assert added.status_code == 303
    refused = post(client, "recommendations", {"text": "Meer groen.", "support": "187"})
    assert refused.status_code == 400 and 'href="#support"' in refused.text
    no_reason = post(
        client, "recommendations", {"status": "rejected", "reason": ""}, action="recommendations/1/response"
    )
    assert no_reason.status_code == 400 and "reason is required" in no_reason.text
    done = post(
        client, "recommendations", {"status": "adopted", "due": "2028-06-30"}, action="recommendations/1/response"
    )
    assert done.status_code == 303
    shown = client.get(f"/p/{PROCESS}/recommendations").text
    assert "Bouw kleine huurwoningen." in shown and "overgenomen" in shown and "2028-06-30" in shown
    assert "<dd>87%</dd>" in shown  # stored as the share 0.87; shown in percent as it was typed
    assert (
        post(client, "recommendations", {"status": "adopted"}, action="recommendations/9/response").status_code == 400
    )


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Peel en Maas example run as ``klero demo`` runs it, up to the council report (once per module)."""
    out = tmp_path_factory.mktemp("chain")
    prepare(out, until="report council", slug=PROCESS)
    return out / PROCESS


@pytest.fixture
def chain_app(tmp_path: Path, chain: Path) -> Iterator[Starlette]:
    serve = tmp_path / "chain-serve"
    copy_workspace(chain, serve / PROCESS)
    for username, (is_admin, role) in USERS.items():
        add_user(serve, username, PASSWORD, is_admin=is_admin)
        if role:
            grant(serve, username, PROCESS, role)
    application = create_app(serve)
    yield application
    application.state.jobs.stop()
    application.state.server.close()


def signed_in(app: Starlette, username: str) -> TestClient:
    client = TestClient(app, base_url="http://127.0.0.1")
    assert login(client, username) == 303
    return client


def test_the_council_report_is_rendered_previewed_and_downloaded(chain_app: Starlette) -> None:
    client = signed_in(chain_app, "mede")
    form = {"kinds": ["council", "feedback"], "languages": ["nl", "en"], "formats": ["html", "pdf"]}
    page = finished(chain_app, client, post(client, "reports", form))
    assert "Klaar" in page
    names = {
        f"{k}-report.{lang}.{fmt}" for k in ("council", "feedback") for lang in ("nl", "en") for fmt in ("html", "pdf")
    }
    assert set(re.findall(r">([a-z]+-report\.[a-z]+\.[a-z]+)</a>", page)) == names
    auditor = signed_in(chain_app, "audit")
    listing = auditor.get(f"/p/{PROCESS}/reports").text
    assert all(name in listing for name in names) and f'action="/p/{PROCESS}/reports"' not in listing
    preview = auditor.get(f"/p/{PROCESS}/reports/files/council-report.nl.html")
    assert preview.status_code == 200 and "Sociale Raad 2027" in preview.text
    csp = preview.headers["content-security-policy"]
    assert "sandbox" in csp and "script-src" not in csp and "'self'" not in csp
    assert preview.headers["content-disposition"].startswith("inline")
    pdf = auditor.get(f"/p/{PROCESS}/reports/files/council-report.en.pdf")
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-disposition"].startswith("attachment")
    for name in ("../process.toml", "council-report.nl.exe", "selection-report.nl.pdf"):
        assert auditor.get(f"/p/{PROCESS}/reports/files/{name}").status_code == 404
    client.close()
    auditor.close()


def test_the_group_list_is_downloaded_and_audited(chain_app: Starlette) -> None:
    client = signed_in(chain_app, "mede")
    exported = post(client, "groups", {"format": "csv"}, action="groups/export")
    assert exported.headers["content-disposition"] == 'attachment; filename="tafels.csv"'
    table = pd.read_csv(io.BytesIO(exported.content), sep=None, engine="python", dtype=str)
    with Workspace.open(chain_app.state.root / PROCESS) as ws:
        members = len(ws.store.groups())
        audited = ws.store.audit_records("export.groups")
    assert len(table) == members > 0
    assert audited and audited[-1]["actor"] == "web:mede"
    assert not any((chain_app.state.root / PROCESS / ".uploads").iterdir())
    assert post(signed_in(chain_app, "audit"), "groups", {"format": "csv"}, action="groups/export").status_code == 403
    client.close()


def test_the_control_group_is_drawn_and_shown(tmp_path: Path) -> None:
    serve = tmp_path / "before-control"
    root, _ = prepare(serve, until="poll control --count", slug=PROCESS)
    add_user(serve, "mede", PASSWORD)
    grant(serve, "mede", PROCESS, "medewerker")
    application = create_app(serve)
    client = signed_in(application, "mede")
    page = finished(
        application, client, post(client, "poll", {"count": "300", "control_seed": "2027"}, action="poll/control")
    )
    assert "300 inwoners getrokken" in page and "seed 2027" in page
    assert "De controlegroep telt 300 inwoners." in client.get(f"/p/{PROCESS}/poll").text
    with Workspace.open(root) as ws:
        participants = ws.store.participants()
        control = participants[participants["arm"] == "control"]
        letters = ws.store.letters()
    assert len(control) == 300 and control["participant_id"].str.startswith("C").all()
    assert len(letters) == 2000
    client.close()
    application.state.jobs.stop()
    application.state.server.close()


def test_the_analysis_page_shows_the_charts_and_suppressed_tables(chain_app: Starlette) -> None:
    client = signed_in(chain_app, "audit")
    page = client.get(f"/p/{PROCESS}/analysis").text
    assert page.count('<img src="data:image/png;base64,') >= 2
    assert 'id="table-control_ancova"' in page and 'id="table-opinion_change"' in page
    assert "Analyse starten" not in page  # the auditor reads; no form
    client.close()


def test_a_council_report_without_an_analysis_fails_with_the_reason(
    app: Starlette, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    page = finished(app, client, post(client, "reports", {"kinds": "council", "languages": "nl", "formats": "pdf"}))
    assert "Mislukt" in page
    empty = post(client, "reports", {"kinds": "x"})
    assert empty.status_code == 400 and 'href="#kinds-council"' in empty.text


# -- audit verify, purge --------------------------------------------------------------------------
def test_the_auditor_verifies_the_record(app: Starlette, root: Path, client_for: Callable[[str], TestClient]) -> None:
    mede = client_for("mede")
    post(mede, "recommendations", {"text": "Een.", "support": "50"})
    post(mede, "recommendations", {"text": "Twee.", "support": "60"})
    auditor = client_for("audit")
    page = finished(app, auditor, post(auditor, "audit", action="audit/verify"))
    assert "Het auditlog klopt." in page
    with Workspace.open(root / PROCESS) as ws:
        last = ws.store.audit_chain()[-1].entry.seq
    with RawConnection(root / PROCESS) as raw:
        drop_append_only_triggers(raw.conn)
        raw.execute("UPDATE audit_log SET result = '{\"id\": 99}' WHERE id = ?", (last - 1,))
    broken = finished(app, auditor, post(auditor, "audit", action="audit/verify"))
    assert f"eerst bij regel {last - 1}" in broken
    bad_anchor = post(auditor, "audit", {"anchor": "not-an-anchor"}, action="audit/verify")
    assert bad_anchor.status_code == 400 and 'href="#anchor"' in bad_anchor.text


def test_the_purge_needs_the_typed_name_and_a_reason_before_the_retention_date(
    app: Starlette, client_for: Callable[[str], TestClient]
) -> None:
    beheer = client_for("beheer")
    plan = beheer.get(f"/p/{PROCESS}/purge").text
    assert "retention_date" in plan  # no retention date set: the use case's refusal is shown
    wrong = post(beheer, "purge", {"confirm": "iets anders", "reason": "einde proces"})
    assert wrong.status_code == 400 and 'href="#confirm"' in wrong.text
    no_reason = post(beheer, "purge", {"confirm": PROCESS})
    assert no_reason.status_code == 400 and 'href="#reason"' in no_reason.text
    page = finished(app, beheer, post(beheer, "purge", {"confirm": PROCESS, "reason": "einde proces"}))
    assert "Klaar" in page and ("verwijderd" in page or "niets meer" in page)
    assert client_for("mede").get(f"/p/{PROCESS}/purge").status_code == 403
