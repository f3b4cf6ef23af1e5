"""One thread owns a resource (the memory's SQLite connection); callers hand it jobs and wait
with a bound.

The same shape and names as ``NativeCalls`` (``audio/native.py``, moving to
``her_desktop/native_calls.py`` on the engines branch: ``call``, ``start``, ``submit``,
``close``, ``in_worker``), so the two can become one mechanism. One difference, because the
resource outlives a slow call: a call that runs past its bound does not abandon the thread (a
SQLite connection cannot be handed to a fresh thread while the old one is still inside it, and
a slow disk is no reason to switch memory off for the session). Instead the job is cancelled if
it has not started, and ``on_timeout`` is told if it has (the store interrupts the running
statement, which rolls its transaction back); the caller gets :class:`OwnerTimeout` either way
and the thread goes on with the next job. (On ``NativeCalls``: ``start``, then ``cancel`` or
the interrupt, never ``abandon``.)

No lock is held across a job: ``_guard`` only guards the thread and queue fields.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class OwnerTimeout(TimeoutError):
    """A job did not finish within its caller's bound (it was cancelled or interrupted)."""


class OwnerClosed(RuntimeError):
    """The owner thread was closed: no more jobs."""


_running = threading.local()
"""The job running on this thread (``given_up``)."""


def given_up() -> bool:
    """In a job: True when its caller stopped waiting for it (a write then rolls back instead
    of committing what the caller was told was not saved)."""
    job = getattr(_running, "job", None)
    return job is not None and job.cancelled


class Job(Generic[T]):
    __slots__ = ("_state", "cancelled", "detached", "done", "error", "fn", "result", "started")

    def __init__(self, fn: Callable[[], T], *, detached: bool) -> None:
        self.fn = fn
        self.detached = detached
        """Nobody waits for it: its error is logged."""
        self.done = threading.Event()
        self._state = threading.Lock()  # guards started/cancelled; never held across ``fn``
        self.started = False
        self.cancelled = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def cancel(self) -> bool:
        """Cancel it unless it has started; True when it had started (it is running or ran)."""
        with self._state:
            self.cancelled = True
            return self.started

    def run(self) -> None:
        try:
            with self._state:
                if self.cancelled:
                    return
                self.started = True
            outer = getattr(_running, "job", None)
            _running.job = self
            try:
                self.result = self.fn()
            finally:
                _running.job = outer
        except BaseException as exc:  # handed to the caller (or logged when nobody waits)
            self.error = exc
            if self.detached:
                log.warning("a job on an owner thread failed: %r", exc)
        finally:
            self.done.set()


_STOP = object()


class OwnerThread:
    """A worker thread that runs jobs one at a time (started on the first job)."""

    def __init__(self, name: str, *, on_timeout: Callable[[], object] | None = None) -> None:
        self.name = name
        self.on_timeout = on_timeout
        """Called (on the caller's thread) when a running job outlives its caller's bound."""
        self._guard = threading.Lock()  # guards the three fields below; never held across a job
        self._thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        """The thread that runs the jobs (kept after ``close``: a job may still be running)."""
        self._jobs: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._closed = False

    def in_worker(self) -> bool:
        return threading.current_thread() is self._worker

    def call(self, fn: Callable[[], T], *, timeout: float) -> T:
        """Run ``fn`` on the owner thread and return its result; raise what it raised.

        Raises :class:`OwnerTimeout` when it does not finish within ``timeout`` seconds (it was
        then cancelled, or ``on_timeout`` was told). Called from the owner thread itself (a job
        inside a job) it runs at once.
        """
        if self.in_worker():
            return fn()
        return self.wait(self.start(fn), timeout)

    def start(self, fn: Callable[[], T]) -> Job[T]:
        """Queue ``fn`` and return its job, for a caller that watches it (:meth:`wait`)."""
        return self._enqueue(Job(fn, detached=False))

    def wait(self, job: Job[T], timeout: float) -> T:
        """Wait at most ``timeout`` for a job queued here (or run by a job queued here) and
        return its result; raise what it raised, or :class:`OwnerTimeout`."""
        if not job.done.wait(timeout):
            started = job.cancel()  # not started yet: it never runs
            if started and not job.done.is_set() and self.on_timeout is not None:
                self.on_timeout()
            raise OwnerTimeout(f"{self.name}: no answer within {timeout:.1f} s")
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def submit(self, fn: Callable[[], object]) -> None:
        """Queue ``fn`` without waiting (its errors are logged)."""
        self._enqueue(Job(fn, detached=True))

    def _enqueue(self, job: Job[T]) -> Job[T]:
        fresh: threading.Thread | None = None
        with self._guard:
            if self._closed:
                raise OwnerClosed(f"{self.name} is closed")
            if self._thread is None:  # the first job, or the thread ended (see ``_run``)
                fresh = threading.Thread(
                    target=self._run, args=(self._jobs,), name=self.name, daemon=True
                )
                self._thread = self._worker = fresh
            self._jobs.put(job)
        if fresh is not None:
            fresh.start()  # outside the guard: ``start`` waits for the thread to run
        return job

    def close(self, timeout: float = 1.0) -> bool:
        """Refuse new jobs, let the thread finish what is queued, then end it (waits at most
        ``timeout``). False when it was still busy."""
        with self._guard:
            self._closed = True
            thread, self._thread = self._thread, None
            jobs = self._jobs
        if thread is None:
            return True
        jobs.put(_STOP)
        if thread is threading.current_thread():
            return True
        try:
            thread.join(timeout)
        except RuntimeError:  # not started yet (an enqueuer is starting it): it sees the stop
            return False
        return not thread.is_alive()

    def _run(self, jobs: queue.SimpleQueue[object]) -> None:
        try:
            while True:
                item = jobs.get()
                if item is _STOP:
                    return
                assert isinstance(item, Job)
                item.run()
                if item.error is not None and not isinstance(item.error, Exception):
                    return  # KeyboardInterrupt / SystemExit: the thread ends
        finally:
            with self._guard:  # the next job starts a fresh thread (the queue is kept)
                if self._thread is threading.current_thread():
                    self._thread = None
