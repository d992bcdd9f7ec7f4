"""The role matrix, by plain HTTP: every role against every route (the check lives in ``permissions``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.applications import Starlette

from kleroterion.web.permissions import ROLE_PERMISSIONS, Permission
from kleroterion.web.routes import ROUTES
from tests.web.conftest import OTHER, PROCESS, USERS, TestClient, csrf_token

JOB = "job-1"
PERSON = "P-none"
EXPORT = "panel.csv"
#: Allowed GETs whose answer on the empty test process is not 200: nothing to show yet (the page says why).
NOT_YET = {
    f"/p/{PROCESS}/pool/people/{PERSON}": 404,
    f"/p/{PROCESS}/quotas": 400,
    f"/p/{PROCESS}/panel/verify": 400,
    f"/p/{PROCESS}/lottery/tickets": 400,
    f"/p/{PROCESS}/exports/{EXPORT}": 400,
}
REPORT = "feedback-report.nl.html"
#: (method, path, permission needed) of every route behind a role check.
CHECKED = [
    ("GET", f"/p/{PROCESS}", Permission.VIEW),
    ("GET", f"/p/{PROCESS}/audit", Permission.VIEW),
    ("GET", f"/p/{PROCESS}/jobs/{JOB}", Permission.VIEW),
    ("GET", f"/p/{PROCESS}/jobs/{JOB}/status", Permission.VIEW),
    ("GET", f"/p/{PROCESS}/registry", Permission.RUN),
    ("POST", f"/p/{PROCESS}/registry", Permission.RUN),
    ("POST", f"/p/{PROCESS}/jobs/{JOB}/cancel", Permission.RUN),
    # sortition chain pages (webchain1)
    ("GET", f"/p/{PROCESS}/letters", Permission.RUN),
    ("POST", f"/p/{PROCESS}/letters", Permission.RUN),
    ("GET", f"/p/{PROCESS}/pool", Permission.RUN),
    ("GET", f"/p/{PROCESS}/pool/import", Permission.RUN),
    ("POST", f"/p/{PROCESS}/pool/import", Permission.RUN),
    ("GET", f"/p/{PROCESS}/pool/people/{PERSON}", Permission.RUN),
    ("POST", f"/p/{PROCESS}/pool/people/{PERSON}", Permission.RUN),
    ("GET", f"/p/{PROCESS}/quotas", Permission.RUN),
    ("POST", f"/p/{PROCESS}/quotas", Permission.RUN),
    ("POST", f"/p/{PROCESS}/quotas/check", Permission.RUN),
    ("GET", f"/p/{PROCESS}/panel", Permission.VIEW),
    ("GET", f"/p/{PROCESS}/panel/select", Permission.RUN),
    ("POST", f"/p/{PROCESS}/panel/select", Permission.RUN),
    ("GET", f"/p/{PROCESS}/panel/verify", Permission.VIEW),
    ("GET", f"/p/{PROCESS}/panel/replace", Permission.RUN),
    ("POST", f"/p/{PROCESS}/panel/replace", Permission.RUN),
    ("GET", f"/p/{PROCESS}/lottery", Permission.RUN),
    ("POST", f"/p/{PROCESS}/lottery", Permission.RUN),
    ("GET", f"/p/{PROCESS}/lottery/tickets", Permission.VIEW),
    ("GET", f"/p/{PROCESS}/exports", Permission.RUN),
    ("GET", f"/p/{PROCESS}/exports/{EXPORT}", Permission.RUN),
    ("GET", f"/p/{PROCESS}/signup", Permission.VIEW),
    ("GET", f"/p/{PROCESS}/signup/counts", Permission.VIEW),
    ("POST", f"/p/{PROCESS}/signup", Permission.RUN),
    # deliberation and report pages (webchain2)
    ("GET", f"/p/{PROCESS}/poll", Permission.VIEW),
    ("POST", f"/p/{PROCESS}/poll", Permission.RUN),
    ("POST", f"/p/{PROCESS}/poll/control", Permission.RUN),
    ("GET", f"/p/{PROCESS}/survey", Permission.VIEW),
    ("POST", f"/p/{PROCESS}/survey", Permission.RUN),
    ("GET", f"/p/{PROCESS}/packets", Permission.VIEW),
    ("POST", f"/p/{PROCESS}/packets", Permission.RUN),
    ("POST", f"/p/{PROCESS}/packets/signoff", Permission.RUN),
    ("POST", f"/p/{PROCESS}/packets/receipts", Permission.RUN),
    ("GET", f"/p/{PROCESS}/groups", Permission.VIEW),
    ("POST", f"/p/{PROCESS}/groups", Permission.RUN),
    ("POST", f"/p/{PROCESS}/groups/export", Permission.RUN),
    ("GET", f"/p/{PROCESS}/analysis", Permission.VIEW),
    ("POST", f"/p/{PROCESS}/analysis", Permission.RUN),
    ("GET", f"/p/{PROCESS}/reports", Permission.VIEW),
    ("POST", f"/p/{PROCESS}/reports", Permission.RUN),
    ("GET", f"/p/{PROCESS}/reports/files/{REPORT}", Permission.VIEW),
    ("GET", f"/p/{PROCESS}/recommendations", Permission.VIEW),
    ("POST", f"/p/{PROCESS}/recommendations", Permission.RUN),
    ("POST", f"/p/{PROCESS}/recommendations/1/response", Permission.RUN),
    ("POST", f"/p/{PROCESS}/audit/verify", Permission.VIEW),  # reads only: the auditor verifies
    ("GET", f"/p/{PROCESS}/purge", Permission.MANAGE),
    ("POST", f"/p/{PROCESS}/purge", Permission.MANAGE),
    ("GET", "/processes/new", Permission.ADMIN),
    ("POST", "/processes/new", Permission.ADMIN),
    ("GET", "/admin/users", Permission.ADMIN),
    ("GET", "/admin/users/new", Permission.ADMIN),
    ("POST", "/admin/users/new", Permission.ADMIN),
    ("GET", "/admin/users/3", Permission.ADMIN),
    ("POST", "/admin/users/3/role", Permission.ADMIN),
    ("POST", "/admin/users/3/password", Permission.ADMIN),
    ("POST", "/admin/users/3/totp", Permission.ADMIN),
]
#: Routes any signed-in user may use (their own account, the process list, signing out).
OWN = [("GET", "/"), ("GET", "/account/password"), ("POST", "/account/password")]
PUBLIC = {"/login", "/login/totp", "/lang/{lang}", "/static"} | {
    # public sign-up (signup): the invitee's pages, without login (tests/web/test_signup.py)
    "/aanmelden/{process}",
    "/aanmelden/{process}/formulier",
    "/aanmelden/{process}/wijzigen",
    "/aanmelden/{process}/afmelden",
}


def allowed(username: str, permission: Permission) -> bool:
    """The expected answer, from the documented matrix (not from ``Viewer.may``)."""
    is_admin, role = USERS[username]
    if is_admin:
        return True
    return role is not None and permission in ROLE_PERMISSIONS[role]


@pytest.fixture
def with_job(app: Starlette) -> Starlette:
    app.state.server.create_job(JOB, kind="registry.import", process=PROCESS, owner="mede")
    reports = app.state.root / PROCESS / ".web-reports"
    reports.mkdir()
    (reports / REPORT).write_text("<!doctype html><title>x</title>", encoding="utf-8")
    return app


def test_the_matrix_covers_every_route() -> None:
    covered = {path for _, path, _ in CHECKED} | {path for _, path in OWN} | {"/logout"}
    templated = {
        path.replace(PROCESS, "{process}")
        .replace(JOB, "{job_id}")
        .replace("/3", "/{user_id:int}")
        .replace(PERSON, "{person}")
        .replace(EXPORT, "{kind}.{fmt}")
        .replace(REPORT, "{name}")
        .replace("/recommendations/1/", "/recommendations/{rec:int}/")
        for path in covered
    }
    routes = {getattr(route, "path", "") for route in ROUTES}
    assert routes - templated == PUBLIC


def test_the_documented_matrix() -> None:
    assert ROLE_PERMISSIONS["auditor"] == {Permission.VIEW}
    assert ROLE_PERMISSIONS["medewerker"] == {Permission.VIEW, Permission.RUN}
    assert ROLE_PERMISSIONS["beheerder"] == {Permission.VIEW, Permission.RUN, Permission.MANAGE}
    assert all(Permission.ADMIN not in granted for granted in ROLE_PERMISSIONS.values())


@pytest.mark.parametrize("username", list(USERS))
@pytest.mark.parametrize(("method", "path", "permission"), CHECKED, ids=[f"{m} {p}" for m, p, _ in CHECKED])
def test_role_matrix(
    with_job: Starlette,
    client_for: Callable[[str], TestClient],
    username: str,
    method: str,
    path: str,
    permission: Permission,
) -> None:
    client = client_for(username)
    if method == "GET":
        status = client.get(path, follow_redirects=False).status_code
        assert status == (NOT_YET.get(path, 200) if allowed(username, permission) else 403)
    else:
        token = csrf_token(client.get("/account/password").text)
        status = client.post(path, data={"csrf_token": token}, follow_redirects=False).status_code
        if allowed(username, permission):
            assert status not in (403, 500)
        else:
            assert status == 403


@pytest.mark.parametrize(
    ("method", "path", "permission"), [c for c in CHECKED if c[0] == "POST" and c[2] is not Permission.VIEW]
)
def test_every_post_of_an_auditor_is_refused(
    with_job: Starlette, client_for: Callable[[str], TestClient], method: str, path: str, permission: Permission
) -> None:
    client = client_for("audit")
    token = csrf_token(client.get("/account/password").text)
    assert client.post(path, data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize("username", list(USERS))
@pytest.mark.parametrize(("method", "path"), OWN)
def test_own_pages_for_every_signed_in_user(
    client_for: Callable[[str], TestClient], username: str, method: str, path: str
) -> None:
    client = client_for(username)
    if method == "GET":
        assert client.get(path).status_code == 200
    else:  # a wrong current password: refused as input, not as a permission
        token = csrf_token(client.get(path).text)
        assert client.post(path, data={"csrf_token": token, "current": "x", "password": "y"}).status_code == 400


@pytest.mark.parametrize(("method", "path", "permission"), CHECKED, ids=[f"{m} {p}" for m, p, _ in CHECKED])
def test_without_a_session_every_route_goes_to_login(
    app: Starlette, method: str, path: str, permission: object
) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    response = client.request(method, path, data={} if method == "POST" else None, follow_redirects=False)
    assert (response.status_code, response.headers.get("location")) == (303, "/login")


@pytest.mark.parametrize(
    ("username", "visible"), [("admin", {PROCESS, OTHER}), ("beheer", {PROCESS}), ("niemand", set())]
)
def test_the_process_list_shows_only_the_users_processes(
    client_for: Callable[[str], TestClient], username: str, visible: set[str]
) -> None:
    html = client_for(username).get("/").text
    assert {slug for slug in (PROCESS, OTHER) if f'href="/p/{slug}"' in html} == visible


@pytest.mark.parametrize("username", ["beheer", "mede", "audit"])
def test_a_role_in_one_process_gives_nothing_in_another(client_for: Callable[[str], TestClient], username: str) -> None:
    client = client_for(username)
    assert client.get(f"/p/{OTHER}").status_code == 403
    assert client.get(f"/p/{OTHER}/audit").status_code == 403


def test_the_auditor_may_start_only_the_read_only_verify(
    with_job: Starlette, client_for: Callable[[str], TestClient]
) -> None:
    """Of every POST route, the auditor may use exactly ``audit/verify`` (it changes nothing)."""
    client = client_for("audit")
    token = csrf_token(client.get("/account/password").text)
    allowed_posts = [
        path
        for method, path, _ in CHECKED
        if method == "POST" and client.post(path, data={"csrf_token": token}).status_code != 403
    ]
    assert allowed_posts == [f"/p/{PROCESS}/audit/verify"]


def test_an_unknown_process_or_job_is_not_found(with_job: Starlette, client_for: Callable[[str], TestClient]) -> None:
    client = client_for("admin")
    assert client.get("/p/no-such-process").status_code == 404
    assert client.get("/p/..%2F..%2Fetc").status_code == 404
    assert client.get(f"/p/{PROCESS}/jobs/other-job").status_code == 404
    assert client.get(f"/p/{OTHER}/jobs/{JOB}").status_code == 404  # a job of another process


def test_an_admin_grants_a_role_and_the_user_sees_the_process(
    client_for: Callable[[str], TestClient], app: Starlette
) -> None:
    admin = client_for("admin")
    user_id = app.state.server.user_by_name("niemand").id
    token = csrf_token(admin.get(f"/admin/users/{user_id}").text)
    saved = admin.post(f"/admin/users/{user_id}/role", data={"csrf_token": token, "process": OTHER, "role": "auditor"})
    assert saved.status_code == 200
    niemand = client_for("niemand")
    assert niemand.get(f"/p/{OTHER}").status_code == 200
    assert niemand.get(f"/p/{OTHER}/registry").status_code == 403
