"""Sign-in, throttling, CSRF, sessions (expiry, logout, password change), TOTP and security headers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from starlette.applications import Starlette

from kleroterion.app.accounts import hash_password, verify_password
from kleroterion.errors import KleroError
from kleroterion.web.app import WebSettings, create_app
from kleroterion.web.auth import MAX_FAILURES_PER_CLIENT, MAX_FAILURES_PER_USER, SESSION_COOKIE
from kleroterion.web.security import CSP
from tests.web.conftest import PASSWORD, PROCESS, TestClient, csrf_token, login


@pytest.fixture
def client(app: Starlette) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1")


def test_passwords_are_argon2id_hashes_that_verify() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "x")
    assert not verify_password("", PASSWORD)  # an unknown user


@pytest.mark.parametrize("password", ["", "short", "elevenchars"])
def test_short_passwords_are_refused(password: str) -> None:
    with pytest.raises(KleroError, match="at least 12"):
        hash_password(password)


def test_every_page_but_login_needs_a_session(client: TestClient) -> None:
    for path in ("/", f"/p/{PROCESS}", f"/p/{PROCESS}/audit", "/admin/users", "/account/password"):
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/login"), path
    assert client.get("/login").status_code == 200


@pytest.mark.parametrize(
    ("username", "password", "status"),
    [("mede", PASSWORD, 303), ("mede", "wrong password!", 400), ("nobody", PASSWORD, 400), ("", "", 400)],
)
def test_login(client: TestClient, username: str, password: str, status: int) -> None:
    assert login(client, username, password) == status
    signed_in = client.get("/", follow_redirects=False).status_code == 200
    assert signed_in is (status == 303)


def test_a_failed_login_names_the_field_in_the_error_summary(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login", data={"username": "mede", "password": "wrong", "csrf_token": csrf_token(page.text)}
    )
    assert 'href="#username"' in response.text
    assert "Gebruikersnaam of wachtwoord klopt niet" in response.text


def test_the_login_form_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "mede", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies


def test_login_is_throttled_per_username(client: TestClient) -> None:
    for _ in range(MAX_FAILURES_PER_USER):
        assert login(client, "mede", "wrong password!") == 400
    assert login(client, "mede", PASSWORD) == 429  # even the right password, for a while
    assert login(client, "beheer", PASSWORD) == 303  # other accounts are not locked out


def test_login_is_throttled_per_client(client: TestClient) -> None:
    for i in range(MAX_FAILURES_PER_CLIENT):
        assert login(client, f"guess{i}", "wrong password!") == 400
    assert login(client, "mede", PASSWORD) == 429


def test_a_post_without_the_session_csrf_token_is_refused(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("admin")
    before = client.get("/admin/users").text
    response = client.post("/admin/users/new", data={"username": "evil", "password": PASSWORD})
    assert response.status_code == 403
    response = client.post("/admin/users/new", data={"username": "evil", "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 403
    assert client.get("/admin/users").text == before  # nobody was added


def test_logout_ends_the_session_on_the_server(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    cookie = client.cookies[SESSION_COOKIE]
    token = csrf_token(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    client.cookies.set(SESSION_COOKIE, cookie)  # the old cookie, replayed
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_password_change_ends_every_session_of_the_user(app: Starlette) -> None:
    first, second = TestClient(app, base_url="http://127.0.0.1"), TestClient(app, base_url="http://127.0.0.1")
    assert login(first, "mede") == login(second, "mede") == 303
    token = csrf_token(first.get("/account/password").text)
    new = "another long password"
    response = first.post(
        "/account/password", data={"current": PASSWORD, "password": new, "csrf_token": token}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert second.get("/", follow_redirects=False).status_code == 303
    assert first.get("/", follow_redirects=False).status_code == 303
    assert login(second, "mede", PASSWORD) == 400
    assert login(second, "mede", new) == 303


def test_a_wrong_current_password_changes_nothing(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("mede")
    token = csrf_token(client.get("/account/password").text)
    data = {"current": "not my password", "password": "another long password", "csrf_token": token}
    response = client.post("/account/password", data=data)
    assert response.status_code == 400
    assert 'href="#current"' in response.text
    assert client.get("/").status_code == 200


def test_a_forged_cookie_is_no_session(client: TestClient) -> None:
    client.cookies.set(SESSION_COOKIE, "made-up.value.sig")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sessions_expire(root: Path) -> None:
    app = create_app(root, settings=WebSettings(session_ttl=timedelta(seconds=1)))
    client = TestClient(app, base_url="http://127.0.0.1")
    assert login(client, "mede") == 303
    assert client.get("/", follow_redirects=False).status_code == 200
    time.sleep(2.1)
    assert client.get("/", follow_redirects=False).status_code == 303
    app.state.server.close()


def test_totp_is_a_second_step(app: Starlette, client: TestClient) -> None:
    secret = pyotp.random_base32()
    server = app.state.server
    server.set_totp_secret(server.user_by_name("mede").id, secret)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "mede", "password": PASSWORD, "csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/login/totp"
    assert client.get("/", follow_redirects=False).status_code == 303  # not signed in yet
    step = client.get("/login/totp")
    token = csrf_token(step.text)
    wrong = str((int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000).zfill(6)
    assert client.post("/login/totp", data={"code": wrong, "csrf_token": token}).status_code == 400
    assert client.post("/login/totp", data={"code": pyotp.TOTP(secret).now(), "csrf_token": "x"}).status_code == 403
    done = client.post(
        "/login/totp", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token}, follow_redirects=False
    )
    assert (done.status_code, done.headers["location"]) == (303, "/")
    assert client.get("/", follow_redirects=False).status_code == 200


@pytest.mark.parametrize("path", ["/login", "/", "/static/klero.css", "/no-such-page", f"/p/{PROCESS}"])
def test_security_headers_on_every_response(client_for: Callable[[str], TestClient], path: str) -> None:
    response = client_for("mede").get(path, follow_redirects=False)
    assert response.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP
    assert "unsafe-inline" not in CSP
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_session_cookie_is_http_only_and_strict(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": "mede", "password": PASSWORD, "csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie


def test_pages_carry_no_inline_script_or_style(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("admin")
    for path in ("/", f"/p/{PROCESS}", "/admin/users", "/processes/new", f"/p/{PROCESS}/registry"):
        html = client.get(path).text
        assert "<style" not in html
        assert " style=" not in html
        assert "<script>" not in html
        assert "<script src=" in html


@pytest.mark.parametrize("length", [None, "abc", str(10**12)])
def test_a_post_of_unknown_or_excessive_length_is_refused_unread(
    client_for: Callable[[str], TestClient], length: str | None
) -> None:
    client = client_for("admin")
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if length is not None:
        headers["content-length"] = length
    request = client.build_request("POST", "/admin/users/new", headers=headers)
    if length is None:
        request.headers.pop("content-length", None)
        request.headers["transfer-encoding"] = "chunked"
    response = client.send(request)
    assert response.status_code == (411 if length != str(10**12) else 413)
