"""Response times of the staff web app: bounded request loops against uvicorn on 127.0.0.1.

Run ``.venv/bin/python bench/web.py`` (``--requests N`` per page, default 200; ``--logins M``, default 10).
It makes a serve root in a temporary folder with one process and a server beheerder, serves it with
uvicorn in a thread on a free port of 127.0.0.1, signs in once and requests each page N times in
sequence (one client, keep-alive), then signs in M times (argon2id at its default cost). It prints per
page the median (p50), 99th percentile (p99) and worst time in milliseconds, and the target: p99 within
100 ms for a page, 1 s for a sign-in (on the 2-core CI machine). A request that does not answer 200 (or
303 for a sign-in) is reported and makes the run exit 1.
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from kleroterion.app.accounts import add_user
from kleroterion.web.app import create_app
from kleroterion.workspace import ProcessSettings, Workspace

PASSWORD = "bench password 2026"  # noqa: S105 - a throwaway account in a temporary folder
PAGE_TARGET_MS = 100.0
LOGIN_TARGET_MS = 1000.0
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (no interpolation) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def sign_in(client: httpx.Client) -> int:
    token = TOKEN.search(client.get("/login").text)
    data = {"username": "bench", "password": PASSWORD, "csrf_token": token.group(1) if token else ""}
    return client.post("/login", data=data).status_code


def timed(client: httpx.Client, path: str, runs: int) -> tuple[list[float], list[int]]:
    times, bad = [], []
    for _ in range(runs):
        started = time.perf_counter()
        status = client.get(path).status_code
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            bad.append(status)
    return times, bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="Requests per page (default 200).")
    parser.add_argument("--logins", type=int, default=10, help="Sign-ins to time (default 10).")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "serve"
        settings = ProcessSettings(name="Bench", municipality="Testdorp", reference_date="2026-01-01")
        Workspace.create(root / "bench", settings).store.close()
        add_user(root, "bench", PASSWORD, is_admin=True)
        app = create_app(root)
        job = app.state.server.create_job("bench-job", kind="registry.import", process="bench", owner="bench")
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        rows: list[tuple[str, list[float], float, list[int]]] = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False) as client:
                if sign_in(client) != 303:
                    print("Sign-in failed; cannot benchmark.")
                    return 1
                pages = {
                    "login page": "/login",
                    "process list": "/",
                    "process overview": "/p/bench",
                    "audit log": "/p/bench/audit",
                    "job status (htmx poll)": f"/p/bench/jobs/{job.id}/status",
                    "static CSS": "/static/klero.css",
                }
                for name, path in pages.items():
                    times, bad = timed(client, path, options.requests)
                    rows.append((name, times, PAGE_TARGET_MS, bad))
            logins, bad_logins = [], []
            for _ in range(options.logins):
                with httpx.Client(base_url=f"http://127.0.0.1:{port}") as fresh:
                    started = time.perf_counter()
                    status = sign_in(fresh)
                    logins.append((time.perf_counter() - started) * 1000)
                    if status != 303:
                        bad_logins.append(status)
            rows.append(("sign-in (form + argon2id)", logins, LOGIN_TARGET_MS, bad_logins))
        finally:
            server.should_exit = True
            thread.join(timeout=20)
            app.state.jobs.stop()
            app.state.server.close()
    print(f"{'request':<28}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'target':>9}  ok")
    failed = False
    for name, times, target, bad in rows:
        p99 = percentile(times, 0.99)
        ok = p99 <= target and not bad
        failed |= not ok
        print(
            f"{name:<28}{len(times):>6}{statistics.median(times):>9.1f}{p99:>9.1f}{max(times):>9.1f}"
            f"{target:>9.0f}  {'yes' if ok else 'NO' + (f' (status {sorted(set(bad))})' if bad else '')}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
