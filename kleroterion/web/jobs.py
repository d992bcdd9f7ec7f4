"""Background jobs: long work runs outside the request, its progress and outcome kept in the server store.

A job is a function ``work(progress, cancel) -> dict`` (the ``sortition.progress`` protocol): it reports
``progress(stage, done, total, message)`` and asks ``cancel()`` between steps. Its row in the server
store (state queued -> running -> done | failed | cancelled, stage, done, total, message, result JSON,
error JSON) is what the job page shows, so the page survives a reload or a closed tab.

``JobQueue`` is the small interface handlers use; ``ThreadJobQueue`` runs jobs one at a time in a worker
thread inside the server process (the embedded default). A server-grade queue implements the same
two methods against the same rows.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from kleroterion.errors import InputError, KleroError
from kleroterion.store.server import Job, ServerStore
from sortition.errors import Cancelled
from sortition.progress import Cancel, Progress

#: The work of one job.
Work = Callable[[Progress, Cancel], dict[str, Any]]
#: Progress is written to the store at most this often (seconds), and always at a stage change.
PROGRESS_INTERVAL = 0.25
RESTART_MESSAGE = "The server stopped while this job was waiting or running; start it again."


class JobQueue(Protocol):
    """What handlers need of a job queue."""

    def submit(self, *, kind: str, process: str, owner: str, work: Work) -> Job:
        """Store a queued job and schedule ``work``; returns at once."""
        ...

    def cancel(self, job_id: str) -> None:
        """Ask the job to stop (a queued job never starts; a running one stops at its next step)."""
        ...


def error_record(exc: KleroError) -> dict[str, Any]:
    """An error as the one JSON shape of the CLI's ``--json``: code, message and each bad cell."""
    problems: list[dict[str, Any]] = []
    if isinstance(exc, InputError):
        problems = [
            {"file": exc.source, "row": p.row, "column": p.column, "value": _plain(p.value), "message": p.message}
            for p in exc.problems
        ]
    return {"code": exc.code, "message": exc.message, "problems": problems}


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class ThreadJobQueue:
    """Runs jobs one after another in a daemon worker thread of the server process."""

    def __init__(self, store: ServerStore) -> None:
        self.store = store
        self._queue: queue.Queue[tuple[str, Work] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        store.fail_unfinished_jobs(RESTART_MESSAGE)

    def submit(self, *, kind: str, process: str, owner: str, work: Work) -> Job:
        job = self.store.create_job(secrets.token_urlsafe(12), kind=kind, process=process, owner=owner)
        self._ensure_worker()
        self._queue.put((job.id, work))
        return job

    def cancel(self, job_id: str) -> None:
        self.store.request_cancel(job_id)

    def join(self, timeout: float = 30.0) -> None:
        """Wait until every submitted job has finished (tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """Let the worker finish its current job and end."""
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=30)
                self._thread = None

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="klero-jobs", daemon=True)
                self._thread.start()

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                run_job(self.store, *item)
            finally:
                self._queue.task_done()


def run_job(store: ServerStore, job_id: str, work: Work) -> None:
    """Run one job, recording its progress and its outcome (result, or the error with every problem)."""
    if not store.start_job(job_id):
        return  # cancelled while queued
    last_stage = [""]
    last_at = [0.0]

    def progress(stage: str, done: int, total: int | None, message: str) -> None:
        now = time.monotonic()
        if stage != last_stage[0] or now - last_at[0] >= PROGRESS_INTERVAL or done == total:
            store.job_progress(job_id, stage, done, total, message)
            last_stage[0], last_at[0] = stage, now

    def cancel() -> bool:
        return store.cancel_requested(job_id)

    try:
        result = work(progress, cancel)
    except Cancelled as exc:
        store.finish_job(job_id, "cancelled", error=error_record(exc))
    except KleroError as exc:
        store.finish_job(job_id, "failed", error=error_record(exc))
    except Exception as exc:  # a bug: the job page says so; the server keeps running
        store.finish_job(
            job_id,
            "failed",
            error={"code": "internal_error", "message": f"Unexpected error ({type(exc).__name__}).", "problems": []},
        )
    else:
        store.finish_job(job_id, "done", result=result)
