"""Factories for the web tests: a serve root with one process, a user of every role, signed-in clients."""

from __future__ import annotations

import re
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.applications import Starlette

from tests.conftest import copy_workspace

with warnings.catch_warnings():  # starlette 1.x asks for httpx2, which the lock does not hold; httpx works
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`", UserWarning)
    from starlette.testclient import TestClient

from argon2 import PasswordHasher

from kleroterion.app import accounts
from kleroterion.app.accounts import add_user, grant
from kleroterion.web.app import create_app
from kleroterion.workspace import ProcessSettings, Workspace

PASSWORD = "correct horse battery"  # noqa: S105 - the test accounts
PROCESS = "burgerberaad"
OTHER = "ander-proces"
#: username -> (server beheerder?, role in PROCESS)
USERS = {
    "admin": (True, None),
    "beheer": (False, "beheerder"),
    "mede": (False, "medewerker"),
    "audit": (False, "auditor"),
    "niemand": (False, None),
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    """A TCP port free on 127.0.0.1 (the only address test servers listen on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on 127.0.0.1 (a free port); its address. Stopped, with the
    app's job runner and store server, at the end (the Playwright tests' server)."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        app.state.jobs.stop()
        app.state.server.close()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = TOKEN.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with test parameters: the defaults (64 MiB, 3 passes) cost ~0.2 s per sign-in on CI's
    2 cores; the hash format and the verification path stay the same."""
    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", hasher)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", hasher.hash("not a password"))


@pytest.fixture(scope="session")
def processes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two empty process workspaces, made once and copied for each test."""
    serve = tmp_path_factory.mktemp("processes")
    for slug, name in ((PROCESS, "Burgerberaad Klimaat"), (OTHER, "Ander proces")):
        settings = ProcessSettings(name=name, municipality="Peel en Maas", reference_date="2024-01-01")
        Workspace.create(serve / slug, settings, key=b"k" * 32).store.close()
    return serve


@pytest.fixture
def root(tmp_path: Path, processes: Path) -> Path:
    """A serve root with two processes and one user per role in the first."""
    serve = tmp_path / "serve"
    copy_workspace(processes, serve)
    for username, (is_admin, role) in USERS.items():
        add_user(serve, username, PASSWORD, is_admin=is_admin)
        if role:
            grant(serve, username, PROCESS, role)
    return serve


@pytest.fixture
def app(root: Path) -> Iterator[Starlette]:
    application = create_app(root)
    yield application
    application.state.jobs.stop()
    application.state.server.close()


def login(client: TestClient, username: str, password: str = PASSWORD) -> int:
    """Sign in through the login form; the status of the POST (303 on success)."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page.text)},
        follow_redirects=False,
    )
    return response.status_code


@pytest.fixture
def client_for(app: Starlette) -> Iterator[Callable[[str], TestClient]]:
    """A TestClient signed in as the given user."""
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        client = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=True)
        clients.append(client)
        assert login(client, username) == 303
        return client

    yield make
    for client in clients:
        client.close()
