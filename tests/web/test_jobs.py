"""The job queue: progress in the store, done/failed/cancelled outcomes, cancel before and during a run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from kleroterion.errors import InputError, KleroError, Problem
from kleroterion.store.server import ServerStore
from kleroterion.web.jobs import RESTART_MESSAGE, ThreadJobQueue
from sortition.progress import Cancel, Progress, Tracker
from tests.web.conftest import PROCESS, TestClient, csrf_token

WAIT = 10.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ServerStore]:
    server = ServerStore(tmp_path)
    yield server
    server.close()


@pytest.fixture
def queue(store: ServerStore) -> Iterator[ThreadJobQueue]:
    jobs = ThreadJobQueue(store)
    yield jobs
    jobs.stop()


def counting(steps: int) -> Callable[[Progress, Cancel], dict[str, Any]]:
    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        tracker = Tracker(progress, cancel)
        for done in range(1, steps + 1):
            tracker.step("counting", done, steps, f"{done} of {steps}")
        return {"counted": steps}

    return work


def blocked(started: threading.Event, release: threading.Event) -> Callable[[Progress, Cancel], dict[str, Any]]:
    """Work that reports one step, waits to be released, then checks for cancel before its next step."""

    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        tracker = Tracker(progress, cancel)
        tracker.step("waiting", 1, 3, "")
        started.set()
        release.wait(WAIT)
        tracker.step("waiting", 2, 3, "")
        return {"finished": True}

    return work


def failing(exc: Exception) -> Callable[[Progress, Cancel], dict[str, Any]]:
    def work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        raise exc

    return work


def test_a_job_runs_and_keeps_its_progress_and_result(store: ServerStore, queue: ThreadJobQueue) -> None:
    job = queue.submit(kind="count", process="p", owner="mede", work=counting(5))
    assert job.state == "queued"
    queue.join(WAIT)
    done = store.job(job.id)
    assert done is not None
    assert (done.state, done.result, done.error) == ("done", {"counted": 5}, None)
    assert (done.stage, done.done, done.total, done.message) == ("counting", 5, 5, "5 of 5")
    assert done.started_at is not None and done.finished_at is not None


@pytest.mark.parametrize(
    ("exc", "code", "problems"),
    [
        (KleroError("The store is busy.", code="store_busy"), "store_busy", []),
        (
            InputError("brp.csv", [Problem("not a date", row=4, column="geboortedatum", value="19990231")]),
            "input_error",
            [{"file": "brp.csv", "row": 4, "column": "geboortedatum", "value": "19990231", "message": "not a date"}],
        ),
        (ZeroDivisionError("a bug"), "internal_error", []),
    ],
)
def test_a_failed_job_keeps_its_error(
    store: ServerStore, queue: ThreadJobQueue, exc: Exception, code: str, problems: list[dict[str, Any]]
) -> None:
    job = queue.submit(kind="x", process="p", owner="mede", work=failing(exc))
    queue.join(WAIT)
    failed = store.job(job.id)
    assert failed is not None and failed.state == "failed"
    assert failed.error is not None
    assert (failed.error["code"], failed.error["problems"]) == (code, problems)
    assert "a bug" not in failed.error["message"]  # an unexpected error's text is not shown


def test_a_running_job_stops_at_its_next_step_when_cancelled(store: ServerStore, queue: ThreadJobQueue) -> None:
    started, release = threading.Event(), threading.Event()
    job = queue.submit(kind="x", process="p", owner="mede", work=blocked(started, release))
    assert started.wait(WAIT)
    running = store.job(job.id)
    assert running is not None and (running.state, running.done, running.total) == ("running", 1, 3)
    queue.cancel(job.id)
    release.set()
    queue.join(WAIT)
    cancelled = store.job(job.id)
    assert cancelled is not None
    assert (cancelled.state, cancelled.result) == ("cancelled", None)
    assert cancelled.error is not None and cancelled.error["code"] == "cancelled"


def test_a_queued_job_cancelled_never_runs(store: ServerStore, queue: ThreadJobQueue) -> None:
    started, release = threading.Event(), threading.Event()
    first = queue.submit(kind="x", process="p", owner="mede", work=blocked(started, release))
    assert started.wait(WAIT)
    ran = threading.Event()

    def second_work(progress: Progress, cancel: Cancel) -> dict[str, Any]:
        ran.set()
        return {}

    second = queue.submit(kind="x", process="p", owner="mede", work=second_work)
    queue.cancel(second.id)
    assert store.job(second.id).state == "cancelled"  # type: ignore[union-attr]
    release.set()
    queue.join(WAIT)
    assert not ran.is_set()
    assert store.job(first.id).state == "done"  # type: ignore[union-attr]


def test_jobs_left_unfinished_by_a_stopped_server_are_failed_at_start(tmp_path: Path) -> None:
    store = ServerStore(tmp_path)
    store.create_job("left", kind="x", process="p", owner="mede")
    store.close()
    reopened = ServerStore(tmp_path)
    ThreadJobQueue(reopened)
    job = reopened.job("left")
    assert job is not None and job.state == "failed"
    assert job.error == {"code": "interrupted", "message": RESTART_MESSAGE, "problems": []}
    reopened.close()


def test_the_job_page_polls_until_done_and_cancel_works_over_http(
    app: Starlette, client_for: Callable[[str], TestClient]
) -> None:
    started, release = threading.Event(), threading.Event()
    job = app.state.jobs.submit(kind="registry.import", process=PROCESS, owner="mede", work=blocked(started, release))
    assert started.wait(WAIT)
    client = client_for("mede")
    page = client.get(f"/p/{PROCESS}/jobs/{job.id}").text
    assert f'hx-get="/p/{PROCESS}/jobs/{job.id}/status"' in page
    assert 'hx-trigger="every 1s"' in page
    assert '<progress id="job-progress" max="3" value="1">' in page
    status = client.get(f"/p/{PROCESS}/jobs/{job.id}/status").text
    assert status.lstrip().startswith('<div id="job-status"')  # the partial alone, no page around it
    cancelled = client.post(f"/p/{PROCESS}/jobs/{job.id}/cancel", data={"csrf_token": csrf_token(page)})
    assert cancelled.status_code == 200
    release.set()
    app.state.jobs.join(WAIT)
    final = client.get(f"/p/{PROCESS}/jobs/{job.id}/status").text
    assert "Geannuleerd" in final
    assert "hx-trigger" not in final
