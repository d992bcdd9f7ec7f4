"""The pages around the chain: a new process (as ``klero init``), the overview, users admin, the error page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from starlette.applications import Starlette

from kleroterion.workspace import Workspace
from tests.web.conftest import PASSWORD, PROCESS, TestClient, csrf_token, login

GOOD = {"name": "Burgerberaad Wonen", "municipality": "Venlo", "slug": "wonen-2027", "language": "nl"}


def post_form(client: TestClient, page: str, action: str, data: dict[str, str]) -> object:
    token = csrf_token(client.get(page).text)
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"municipality": ""}, "municipality"),
        ({"slug": "Met Spaties"}, "slug"),
        ({"slug": "../buiten"}, "slug"),
        ({"slug": PROCESS}, "slug"),  # taken
        ({"reference_date": "31-01-2027"}, "reference_date"),
        ({"retention_date": "2027-02-30"}, "retention_date"),
        ({"language": "fr"}, "language"),
    ],
)
def test_a_new_process_with_a_mistake_names_the_field(
    root: Path, client_for: Callable[[str], TestClient], change: dict[str, str], field: str
) -> None:
    before = sorted(p.name for p in root.iterdir())
    response = post_form(client_for("admin"), "/processes/new", "/processes/new", {**GOOD, **change})
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert f'href="#{field}"' in response.text  # type: ignore[attr-defined]
    assert sorted(p.name for p in root.iterdir()) == before  # nothing made


@pytest.mark.parametrize(("example", "label"), [("", ""), ("peel-en-maas", "voorbeeld, synthetische gegevens")])
def test_a_new_process_is_a_workspace_like_klero_init(
    root: Path, client_for: Callable[[str], TestClient], example: str, label: str
) -> None:
    client = client_for("admin")
    data = {**GOOD, "reference_date": "2027-01-31", "retention_date": "2028-12-31", "example": example}
    response = post_form(client, "/processes/new", "/processes/new", data)
    assert response.headers["location"] == "/p/wonen-2027"  # type: ignore[attr-defined]
    with Workspace.open(root / "wonen-2027") as ws:
        s = ws.settings
        assert (s.name, s.municipality, s.reference_date, s.retention_date) == (
            "Burgerberaad Wonen",
            "Venlo",
            "2027-01-31",
            "2028-12-31",
        )
        assert s.example == example
        assert [r["action"] for r in ws.store.audit_records()] == ["workspace.init"]
    assert (root / "wonen-2027").stat().st_mode & 0o777 == 0o700
    overview = client.get("/p/wonen-2027").text
    assert "Burgerberaad Wonen" in overview
    assert (label in overview) if label else ("synthetische" not in overview)


def test_the_overview_shows_the_counts_of_klero_status(client_for: Callable[[str], TestClient]) -> None:
    page = client_for("audit").get(f"/p/{PROCESS}").text
    assert "Inwoners (BRP)" in page
    assert '<th scope="row">Auditregels</th><td class="num">1</td>' in page  # workspace.init
    assert "BRP-bestand inlezen" not in page  # an auditor gets no link to run a step


def test_an_admin_adds_a_user_who_can_then_sign_in(app: Starlette, client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    short = post_form(admin, "/admin/users/new", "/admin/users/new", {"username": "lisa", "password": "kort"})
    assert short.status_code == 400  # type: ignore[attr-defined]
    taken = post_form(admin, "/admin/users/new", "/admin/users/new", {"username": "mede", "password": PASSWORD})
    assert taken.status_code == 400  # type: ignore[attr-defined]
    added = post_form(admin, "/admin/users/new", "/admin/users/new", {"username": "lisa", "password": PASSWORD})
    assert added.status_code == 303  # type: ignore[attr-defined]
    lisa = TestClient(app, base_url="http://127.0.0.1")
    assert login(lisa, "lisa") == 303
    assert "U heeft nog geen rol in een proces" in lisa.get("/").text


def test_a_password_reset_by_the_admin_signs_the_user_out(
    app: Starlette, client_for: Callable[[str], TestClient]
) -> None:
    mede = client_for("mede")
    admin = client_for("admin")
    user_id = app.state.server.user_by_name("mede").id
    page = f"/admin/users/{user_id}"
    reset = post_form(admin, page, f"{page}/password", {"password": "a brand new password"})
    assert reset.status_code == 200  # type: ignore[attr-defined]
    assert mede.get("/", follow_redirects=False).status_code == 303
    assert login(TestClient(app, base_url="http://127.0.0.1"), "mede", "a brand new password") == 303


def test_an_admin_turns_on_two_factor_sign_in(app: Starlette, client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    user_id = app.state.server.user_by_name("mede").id
    page = f"/admin/users/{user_id}"
    shown = post_form(admin, page, f"{page}/totp", {"action": "on"})
    secret = app.state.server.user_by_id(user_id).totp_secret
    assert secret is not None and secret in shown.text  # type: ignore[attr-defined]
    assert "otpauth://totp/" in shown.text  # type: ignore[attr-defined]
    mede = TestClient(app, base_url="http://127.0.0.1")
    form = mede.get("/login")
    step = mede.post("/login", data={"username": "mede", "password": PASSWORD, "csrf_token": csrf_token(form.text)})
    assert step.url.path == "/login/totp"
    done = mede.post("/login/totp", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(step.text)})
    assert done.url.path == "/"
    post_form(admin, page, f"{page}/totp", {"action": "off"})
    assert app.state.server.user_by_id(user_id).totp_secret is None


def test_a_damaged_workspace_gets_the_one_error_page(root: Path, client_for: Callable[[str], TestClient]) -> None:
    (root / PROCESS / "process.toml").write_text("[process\nname = ", encoding="utf-8")
    response = client_for("admin").get(f"/p/{PROCESS}")
    assert response.status_code == 400
    assert "not valid TOML" in response.text
    assert "Traceback" not in response.text
