"""The registry upload as a background job: validation of the file, the job page, nothing stored on failure."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from starlette.applications import Starlette

from kleroterion.web.app import WebSettings, create_app
from kleroterion.web.registry import UPLOAD_FOLDER, looks_like, safe_name
from kleroterion.workspace import Workspace
from sortition.synthetic import generate_registry
from tests.web.conftest import PROCESS, TestClient, csrf_token, login

RESIDENTS = 60


def extract_csv() -> bytes:
    """A synthetic BRP extract of ``RESIDENTS`` residents, as a Dutch Excel export (cp1252, ';')."""
    wijken = pd.DataFrame({"regiocode": ["WK189401"], "AantalInwoners": [RESIDENTS], "Mannen": [RESIDENTS // 2]})
    extract, _ = generate_registry(
        wijken, total=RESIDENTS, men=RESIDENTS // 2, rng=np.random.default_rng(4), reference_date=date(2024, 1, 1)
    )
    return extract.to_csv(sep=";", index=False).encode("cp1252")


def bad_extract_csv() -> bytes:
    """The extract with two bad cells: a date that does not exist (line 4 of the file, the header being
    line 1) and an unknown gender (line 6)."""
    lines = extract_csv().decode("cp1252").splitlines()
    header = lines[0].split(";")
    born, gender = header.index("geboortedatum"), header.index("geslacht")
    row3 = lines[3].split(";")
    row3[born] = "19990231"
    lines[3] = ";".join(row3)
    row5 = lines[5].split(";")
    row5[gender] = "Q"
    lines[5] = ";".join(row5)
    return ("\n".join(lines) + "\n").encode("cp1252")


def residents(root: Path) -> int:
    with Workspace.open(root / PROCESS) as ws:
        return int(ws.store.table_counts().get("residents", 0))


def upload(client: TestClient, name: str, content: bytes) -> object:
    token = csrf_token(client.get(f"/p/{PROCESS}/registry").text)
    return client.post(
        f"/p/{PROCESS}/registry",
        data={"csrf_token": token},
        files={"file": (name, content, "application/octet-stream")},
        follow_redirects=False,
    )


def finished_job_page(app: Starlette, client: TestClient, response: object) -> str:
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    location = response.headers["location"]  # type: ignore[attr-defined]
    app.state.jobs.join()
    return client.get(location).text


def xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("suffix", "head", "ok"),
    [
        (".csv", b"bsn;geslacht\n1;V\n", True),
        (".csv", b"bsn,geslacht\r\n1,V\r\n", True),
        (".csv", "bsn;straat\n1;Rector Thissenstraat\n".encode("cp1252"), True),
        (".csv", b"\xef\xbb\xbfbsn;geslacht\n", True),  # UTF-8 with a byte-order mark
        (".csv", b"just one column\n", False),
        (".csv", b"bsn;x\x00\x01\x02", False),  # binary
        (".csv", b"PK\x03\x04rest", False),  # a zip renamed .csv
        (".csv", b"", False),
        (".xlsx", b"PK\x03\x04rest", True),
        (".xlsx", b"bsn;geslacht\n", False),  # a CSV renamed .xlsx
    ],
)
def test_content_sniffing(suffix: str, head: bytes, ok: bool) -> None:
    assert looks_like(suffix, head) is ok


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("brp.csv", "brp.csv"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\data\\brp 2024.csv", "brp 2024.csv"),
        ("..", "upload"),
    ],
)
def test_safe_names(given: str, kept: str) -> None:
    assert safe_name(given) == kept


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("brp.txt", b"bsn;geslacht\n", "CSV of XLSX zijn"),
        ("brp.parquet", b"PAR1", "CSV of XLSX zijn"),
        ("brp.csv", b"\x00\x01\x02\x03", "De inhoud past niet bij de extensie"),
        ("brp.xlsx", b"bsn;geslacht\n1;V\n", "De inhoud past niet bij de extensie"),
    ],
)
def test_a_wrong_file_is_refused_on_the_form(
    app: Starlette, root: Path, client_for: Callable[[str], TestClient], name: str, content: bytes, message: str
) -> None:
    response = upload(client_for("mede"), name, content)
    assert response.status_code == 400  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    assert message in html
    assert 'href="#file"' in html  # the error summary links to the field
    assert app.state.server.jobs_of(PROCESS) == []
    assert residents(root) == 0
    assert not (root / PROCESS / UPLOAD_FOLDER).exists() or not any((root / PROCESS / UPLOAD_FOLDER).iterdir())


def test_an_upload_without_a_file_is_refused(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    token = csrf_token(client.get(f"/p/{PROCESS}/registry").text)
    response = client.post(f"/p/{PROCESS}/registry", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Kies een bestand" in response.text


def test_a_too_large_upload_is_refused_before_it_is_read(root: Path) -> None:
    app = create_app(root, settings=WebSettings(max_upload=2_000))
    client = TestClient(app, base_url="http://127.0.0.1")
    assert login(client, "mede") == 303
    response = upload(client, "brp.csv", extract_csv())
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert residents(root) == 0
    app.state.server.close()


def test_a_good_extract_is_imported_by_a_job(
    app: Starlette, root: Path, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    html = finished_job_page(app, client, upload(client, "brp-extract.csv", extract_csv()))
    assert "Klaar" in html
    assert "Inwoners opgeslagen" in html
    assert residents(root) == RESIDENTS
    [job] = app.state.server.jobs_of(PROCESS)
    assert (job.state, job.owner, job.result["residents"]) == ("done", "mede", RESIDENTS)
    assert job.stage == "registry import" and job.done == job.total == RESIDENTS
    assert not any((root / PROCESS / UPLOAD_FOLDER).iterdir())  # the upload is gone
    assert "hx-trigger" not in html  # a finished job is not polled
    again = client.get(f"/p/{PROCESS}/jobs/{job.id}")  # the result survives a reload
    assert "Inwoners opgeslagen" in again.text


def test_a_bad_extract_lists_every_problem_and_stores_nothing(
    app: Starlette, root: Path, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    html = finished_job_page(app, client, upload(client, "brp-extract.csv", bad_extract_csv()))
    assert "Mislukt" in html
    assert residents(root) == 0
    [job] = app.state.server.jobs_of(PROCESS)
    assert job.state == "failed"
    problems = {(p["file"], p["row"], p["column"], p["value"]) for p in job.error["problems"]}
    assert ("brp-extract.csv", 4, "geboortedatum", "19990231") in problems
    assert ("brp-extract.csv", 6, "geslacht", "Q") in problems
    for file, row, column, value in problems:  # each one on the page, with its row, column and value
        assert f'<td class="num">{row}</td><td>{column}</td><td><code>{value}</code></td>' in html
        assert file in html
    assert not any((root / PROCESS / UPLOAD_FOLDER).iterdir())


def test_the_import_is_recorded_for_the_web_user(
    app: Starlette, root: Path, client_for: Callable[[str], TestClient]
) -> None:
    client = client_for("mede")
    finished_job_page(app, client, upload(client, "brp-extract.csv", extract_csv()))
    page = client.get(f"/p/{PROCESS}/audit").text
    assert "<code>registry.import</code>" in page
    with Workspace.open(root / PROCESS) as ws:
        [record] = ws.store.audit_records("registry.import")
    assert record["result"]["residents"] == RESIDENTS
    assert record["parameters"]["source"] == "brp-extract.csv"
    assert record["actor"] == "web:mede"
