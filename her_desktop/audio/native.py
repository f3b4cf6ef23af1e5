"""Native calls with a bound: one thread makes a device's PortAudio calls, one at a time.

PortAudio's ``stop``/``abort``/``close`` wait for a running callback to return, and a backend can
hang (a device pulled out, a wedged sound server). So no caller — least of all the asyncio loop
or a thread holding a lock that a callback takes — makes those calls itself: it hands them to its
stream's :class:`NativeCalls` thread and waits at most ``timeout`` seconds. That thread is the only
one that opens, starts, stops and closes the stream, which also serialises them without a lock.

A call that does not return in time raises :class:`NativeTimeout`. The stuck thread is left behind
(a daemon: it cannot stop the process from exiting); calls queued behind it are cancelled and the
next call gets a fresh thread, so the app keeps running and the caller can abandon the device.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class NativeTimeout(TimeoutError):
    """A native call did not return within its bound (the device stopped responding)."""


class _Job(Generic[T]):
    __slots__ = ("cancelled", "detached", "done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], T], *, detached: bool) -> None:
        self.fn = fn
        self.detached = detached
        """Nobody waits for it: its error is logged."""
        self.done = threading.Event()
        self.cancelled = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if not self.cancelled:
                self.result = self.fn()
        except BaseException as exc:  # handed to the caller (or logged when nobody waits)
            self.error = exc
            if self.detached:
                log.warning("a native call failed: %r", exc)
        finally:
            self.done.set()


_STOP = object()


class NativeCalls:
    """A worker thread for one device's native calls (started on the first call)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._guard = threading.Lock()  # guards the two fields below; never held across a call
        self._thread: threading.Thread | None = None
        self._jobs: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.abandoned = 0
        """How many stuck threads were left behind."""

    def in_worker(self) -> bool:
        return threading.current_thread() is self._thread

    def call(self, fn: Callable[[], T], *, timeout: float) -> T:
        """Run ``fn`` on the worker and return its result; raise what it raised.

        Raises :class:`NativeTimeout` when it takes longer than ``timeout`` seconds. Called from
        the worker itself (a call inside a call) it runs at once.
        """
        if self.in_worker():
            return fn()
        job = self._enqueue(_Job(fn, detached=False))
        if not job.done.wait(timeout):
            self._abandon(job)
            raise NativeTimeout(f"{self.name}: no answer within {timeout:.1f} s")
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def submit(self, fn: Callable[[], object]) -> None:
        """Queue ``fn`` without waiting (its errors are logged)."""
        self._enqueue(_Job(fn, detached=True))

    def _enqueue(self, job: _Job[T]) -> _Job[T]:
        with self._guard:
            if self._thread is None or not self._thread.is_alive():
                self._jobs = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._run, args=(self._jobs,), name=self.name, daemon=True
                )
                self._thread.start()
            self._jobs.put(job)
        return job

    def close(self, timeout: float = 1.0) -> None:
        """Let the worker finish what is queued, then end it (waits at most ``timeout``)."""
        with self._guard:
            thread, self._thread = self._thread, None
            jobs = self._jobs
        if thread is None:
            return
        jobs.put(_STOP)
        if thread is not threading.current_thread():
            thread.join(timeout)

    def _abandon(self, stuck: _Job[Any]) -> None:
        with self._guard:
            thread, self._thread = self._thread, None
            jobs, self._jobs = self._jobs, queue.SimpleQueue()
        stuck.cancelled = True
        self.abandoned += 1
        log.error("%s: a native call hung; leaving its thread behind", self.name)
        while True:  # what was queued behind the stuck call must not run late
            try:
                item = jobs.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Job):
                item.cancelled = True
                item.error = NativeTimeout(f"{self.name}: cancelled behind a call that hung")
                item.done.set()
        jobs.put(_STOP)
        del thread

    @staticmethod
    def _run(jobs: queue.SimpleQueue[object]) -> None:
        while True:
            item = jobs.get()
            if item is _STOP:
                return
            assert isinstance(item, _Job)
            item.run()
            if item.error is not None and not isinstance(item.error, Exception):
                return  # KeyboardInterrupt / SystemExit: the thread ends
