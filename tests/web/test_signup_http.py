"""The public sign-up page over real HTTP (uvicorn on 127.0.0.1): one code sent from many clients at once
yields exactly one sign-up; the confirmation e-mail reaches a local SMTP sink started by the test."""

from __future__ import annotations

import email
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path

import httpx
import pytest

from kleroterion.app import signup
from kleroterion.web.app import WebSettings, create_app
from kleroterion.workspace import Workspace
from tests.conftest import lottery_workspace
from tests.web.conftest import csrf_token
from tests.web.conftest import serve as serve_app
from tests.web.test_signup import ANSWERS, CONTACT, SLUG, letters, pool_rows

CLIENTS = 24


class SMTPSink(socketserver.ThreadingTCPServer):
    """A minimal SMTP server on 127.0.0.1 that keeps every message it receives (RFC 5321's plain subset)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SMTPHandler)
        self.messages: list[Message] = []
        self.received = threading.Event()


class SMTPHandler(socketserver.StreamRequestHandler):
    server: SMTPSink

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ready")
        lines: list[bytes] = []
        in_data = False
        while line := self.rfile.readline():
            if in_data:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(email.message_from_bytes(b"".join(lines)))
                    self.server.received.set()
                    lines, in_data = [], False
                    self.reply("250 queued")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"DATA":
                in_data = True
                self.reply("354 end with <CRLF>.<CRLF>")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp() -> Iterator[SMTPSink]:
    sink = SMTPSink()
    thread = threading.Thread(target=sink.serve_forever, daemon=True)
    thread.start()
    yield sink
    sink.shutdown()
    sink.server_close()


@contextmanager
def serve(root: Path, settings: WebSettings) -> Iterator[str]:
    """The app of ``root`` served on 127.0.0.1 (tests/web/conftest.py's server)."""
    with serve_app(create_app(root, settings=settings)) as url:
        yield url


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lottery_workspace(tmp_path, monkeypatch, letters=40)
    with Workspace.open(tmp_path / SLUG) as ws:
        signup.save_page_settings(ws, signup.PageSettings(state="open", about_nl="Over wonen."))
    return tmp_path


def fill_in(client: httpx.Client, base: str, code: str) -> dict[str, str]:
    """Open the page, enter the code: the final form's fields, ready to send."""
    page = client.get(f"{base}/aanmelden/{SLUG}")
    form = client.post(f"{base}/aanmelden/{SLUG}", data={"csrf_token": csrf_token(page.text), "code": code})
    assert form.status_code == 200, form.status_code
    return {"csrf_token": csrf_token(form.text), "code": code, "mode": "new", "consent": "ja", **ANSWERS, **CONTACT}


def test_one_code_from_many_clients_at_once_signs_up_once(root: Path) -> None:
    settings = WebSettings(signup_min_fill=0, signup_code_attempts=10_000)  # the store decides, not the throttle
    with serve(root, settings) as base:
        code = letters(root)[0][0]
        clients = [httpx.Client(timeout=30) for _ in range(CLIENTS)]
        forms = [fill_in(client, base, code) for client in clients]
        barrier = threading.Barrier(CLIENTS)
        statuses: list[int] = []
        lock = threading.Lock()

        def send(client: httpx.Client, form: dict[str, str]) -> None:
            barrier.wait()
            response = client.post(f"{base}/aanmelden/{SLUG}/formulier", data=form)
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=send, args=pair) for pair in zip(clients, forms, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        for client in clients:
            client.close()
        assert sorted(statuses) == [200] + [400] * (CLIENTS - 1)
    rows = pool_rows(root)
    assert [r["letter_code"] for r in rows] == [code]
    with Workspace.open(root / SLUG) as ws:
        assert len(ws.store.audit_records("signup.web")) == 1


def test_the_confirmation_email_reaches_the_local_smtp_server(root: Path, smtp: SMTPSink) -> None:
    host, port = smtp.server_address[:2]
    settings = WebSettings(signup_min_fill=0, smtp_host=str(host), smtp_port=int(port), mail_from="raad@example.nl")
    with serve(root, settings) as base:
        code = letters(root)[0][0]
        with httpx.Client(timeout=30) as client:
            done = client.post(f"{base}/aanmelden/{SLUG}/formulier", data=fill_in(client, base, code))
            assert done.status_code == 200 and "anna@example.org" in done.text
        assert smtp.received.wait(10), "no e-mail arrived"
    (message,) = smtp.messages
    assert message["To"] == "anna@example.org" and message["From"] == "raad@example.nl"
    assert message["Subject"] == "Uw aanmelding voor Test"
    body = message.get_payload(decode=True).decode("utf-8")  # type: ignore[union-attr]
    assert f"{base}/aanmelden/{SLUG}/wijzigen" in body
    assert code not in body and code not in message.as_string()  # the code stays on the letter
