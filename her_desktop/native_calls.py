"""Native calls with a bound: one owner thread makes a resource's native calls, one at a time.

The project's one way of calling into native code that can take long or hang: a PortAudio
stream (``stop``/``close`` wait for a running callback, a backend can wedge), a llama.cpp
model and its contexts (not thread-safe), a Whisper model, a TTS voice, the MiniLM weights. No
caller — least of all the asyncio loop, or a thread holding a lock that a callback takes —
makes those calls itself: it hands them to the resource's :class:`NativeCalls` thread as a job
and waits at most a stated time. That thread is the only one that touches the resource, which
serialises the calls without a lock; nothing here holds a lock across a call (``_guard`` only
covers the bookkeeping of the queue).

- **Priority.** Jobs run by priority (:data:`URGENT` before :data:`NORMAL` before
  :data:`BACKGROUND`), first come first served within one. A long background job gives way by
  polling :meth:`NativeCalls.urgent_waiting` at its yield points and returning early.
- **Waiting.** :meth:`~NativeCalls.call` (a thread) and :meth:`~NativeCalls.acall` (a
  coroutine: no thread is parked) wait with a bound; :meth:`~NativeCalls.start` queues a job
  whose caller watches it (:func:`wait_async`, :meth:`~NativeCalls.cancel`); :meth:`submit`
  queues one nobody waits for (its error is logged).
- **A call that hangs.** ``call``/``acall`` raise :class:`NativeTimeout` when a job is not done
  in time, and the stuck thread is left behind (a daemon: it cannot keep the process from
  exiting); jobs queued behind it are cancelled with the same error. With
  ``restart_after_hang=True`` (a device: the caller abandons it) the next job gets a fresh
  thread. With ``False`` (a model: a second thread must never touch it while the stuck one
  may) every later job fails at once with :class:`NativeTimeout`, so the app keeps running and
  says in plain words that the part stopped responding.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

URGENT = 0
"""A reply the user waits for, a stream open/close, a model load."""
NORMAL = 1
BACKGROUND = 2
"""Optional work that gives way (label scoring, memory consolidation)."""
_LAST = 99
"""The stop marker's priority: after everything queued before it."""

_QUEUED, _RUNNING, _DONE = "queued", "running", "done"


class NativeTimeout(TimeoutError):
    """A native call did not return within its bound (the part stopped responding)."""


class NativeJob(Generic[T]):
    """One queued call; ``done`` is set when it ran, failed, was cancelled or abandoned."""

    __slots__ = (
        "_callbacks",
        "_counted",
        "_state",
        "abandoned",
        "cancelled",
        "detached",
        "done",
        "error",
        "fn",
        "priority",
        "result",
    )

    def __init__(self, fn: Callable[[], T], *, priority: int, detached: bool) -> None:
        self.fn = fn
        self.priority = priority
        self.detached = detached
        """Nobody waits for it: its error is logged."""
        self.done = threading.Event()
        self.cancelled = False
        """It did not run (cancelled while queued, or queued behind a call that hung)."""
        self.abandoned = False
        """It hung and its thread was left behind."""
        self.result: T | None = None
        self.error: BaseException | None = None
        self._state = _QUEUED
        self._counted = -1
        """The queue generation whose urgent count includes it (-1: none)."""
        self._callbacks: list[Callable[[], None]] = []

    @property
    def started(self) -> bool:
        return self._state != _QUEUED and not self.cancelled

    def outcome(self) -> T:
        """Its result, or raise what it raised (call once ``done`` is set)."""
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]

    def _finish(self) -> None:
        self.done.set()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def _run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as exc:  # handed to the caller (or logged when nobody waits)
            self.error = exc
            if self.detached:
                log.warning("a native call failed: %r", exc)


_STOP = object()


class NativeCalls:
    """The owner thread of one native resource (started on the first job)."""

    def __init__(self, name: str, *, restart_after_hang: bool = True) -> None:
        self.name = name
        self.restart_after_hang = restart_after_hang
        self._guard = threading.Lock()  # guards the fields below; never held across a call
        self._thread: threading.Thread | None = None
        self._jobs: queue.PriorityQueue[tuple[int, int, object]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._urgent = 0
        self._generation = 0
        """Bumped whenever the queue (and so the urgent count) is replaced."""
        self._running: NativeJob[Any] | None = None
        self.hung = False
        """A call hung and ``restart_after_hang`` is False: every job now fails at once."""
        self.abandoned = 0
        """How many stuck threads were left behind."""

    # -- state -------------------------------------------------------------------------------

    def in_worker(self) -> bool:
        return threading.current_thread() is self._thread

    def urgent_waiting(self) -> bool:
        """An :data:`URGENT` job is queued: background work should give way."""
        return self._urgent > 0

    @property
    def busy(self) -> bool:
        """A job is running on the owner thread now."""
        return self._running is not None

    # -- calls -------------------------------------------------------------------------------

    def call(self, fn: Callable[[], T], *, timeout: float, priority: int = NORMAL) -> T:
        """Run ``fn`` on the owner thread and return its result; raise what it raised.

        Raises :class:`NativeTimeout` when it is not done within ``timeout`` seconds (the
        thread is then abandoned, see the module docstring). Called from the owner thread
        itself (a call inside a call) it runs at once.
        """
        if self.in_worker():
            return fn()
        job = self.start(fn, priority=priority)
        if not job.done.wait(timeout):
            self.abandon(job, timeout)
        return job.outcome()

    async def acall(self, fn: Callable[[], T], *, limit_s: float, priority: int = NORMAL) -> T:
        """``call`` for a coroutine (bound ``limit_s``): waits without parking a thread;
        cancelling the waiting task cancels the job if it has not started (a started one runs
        to its end)."""
        job = self.start(fn, priority=priority)
        try:
            finished = await wait_async(job, limit_s)
        except asyncio.CancelledError:
            self.cancel(job)
            raise
        if not finished:
            self.abandon(job, limit_s)
        return job.outcome()

    def start(self, fn: Callable[[], T], *, priority: int = NORMAL) -> NativeJob[T]:
        """Queue ``fn`` and return its job, for a caller that watches it."""
        return self._enqueue(NativeJob(fn, priority=priority, detached=False))

    def submit(self, fn: Callable[[], object], *, priority: int = NORMAL) -> None:
        """Queue ``fn`` without waiting (its errors are logged)."""
        self._enqueue(NativeJob(fn, priority=priority, detached=True))

    def cancel(self, job: NativeJob[Any]) -> bool:
        """Take ``job`` off the queue if it has not started; True when it will not run."""
        with self._guard:
            if job._state != _QUEUED:
                return job.cancelled
            job._state = _DONE
            job.cancelled = True
            self._uncount(job)
        job.error = NativeTimeout(f"{self.name}: cancelled before it ran")
        job._finish()
        return True

    def abandon(self, job: NativeJob[Any], waited: float) -> None:
        """Give up on ``job`` (not done after ``waited`` seconds): raise NativeTimeout.

        The job running on the owner now hangs (``job`` itself, or the one ``job`` is queued
        behind): its thread is left behind, and what is queued is cancelled. A caller that
        should only leave the queue (slow work ahead of it is no hang) uses ``cancel``."""
        with self._guard:
            if job._state == _DONE:
                return  # it finished just now
            thread, self._thread = self._thread, None
            jobs, self._jobs = self._jobs, queue.PriorityQueue()
            stuck, self._running = self._running, None
            self._reset_count()
            if job._state == _QUEUED:
                job.cancelled = True
            job._state = _DONE
            if stuck is not None:
                stuck._state = _DONE
                stuck.abandoned = True
            self.abandoned += 1
            if not self.restart_after_hang:
                self.hung = True
        log.error("%s: a native call hung; leaving its thread behind", self.name)
        error = NativeTimeout(f"{self.name}: no answer within {waited:.1f} s")
        for hung in (stuck, job):
            if hung is not None and not hung.done.is_set():
                hung.error = error
                hung._finish()
        self._drain(jobs, f"{self.name}: cancelled behind a call that hung")
        jobs.put((_LAST, 0, _STOP))
        del thread
        raise error

    def close(self, timeout: float = 1.0) -> None:
        """Let the owner finish what is queued, then end it (waits at most ``timeout``)."""
        with self._guard:
            thread, self._thread = self._thread, None
            jobs = self._jobs
            self._jobs = queue.PriorityQueue()
            self._reset_count()
        if thread is None:
            return
        jobs.put((_LAST, next(self._order), _STOP))
        if thread is not threading.current_thread():
            thread.join(timeout)

    # -- the owner thread --------------------------------------------------------------------

    def _enqueue(self, job: NativeJob[T]) -> NativeJob[T]:
        with self._guard:
            if self.hung:
                job._state = _DONE
                job.cancelled = True
                job.error = NativeTimeout(f"{self.name} stopped responding earlier")
            else:
                if self._thread is None or not self._thread.is_alive():
                    self._jobs = queue.PriorityQueue()
                    self._reset_count()
                    self._thread = threading.Thread(
                        target=self._run, args=(self._jobs,), name=self.name, daemon=True
                    )
                    self._thread.start()
                if job.priority == URGENT:
                    self._urgent += 1
                    job._counted = self._generation
                self._jobs.put((job.priority, next(self._order), job))
        if job.cancelled:
            job._finish()
        return job

    def _uncount(self, job: NativeJob[Any]) -> None:
        """Take ``job`` out of the urgent count (caller holds ``_guard``)."""
        if job._counted == self._generation:
            self._urgent -= 1
        job._counted = -1

    def _reset_count(self) -> None:
        """A new queue: nothing is counted (caller holds ``_guard``)."""
        self._urgent = 0
        self._generation += 1

    @staticmethod
    def _drain(jobs: queue.PriorityQueue[tuple[int, int, object]], why: str) -> None:
        while True:  # what was queued behind the stuck call must not run late
            try:
                _, _, item = jobs.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, NativeJob) and item._state == _QUEUED:
                item._state = _DONE
                item.cancelled = True
                item.error = NativeTimeout(why)
                item._finish()

    def _run(self, jobs: queue.PriorityQueue[tuple[int, int, object]]) -> None:
        while True:
            _, _, item = jobs.get()
            if item is _STOP:
                return
            assert isinstance(item, NativeJob)
            with self._guard:
                if item._state != _QUEUED:
                    continue  # cancelled while queued
                item._state = _RUNNING
                self._uncount(item)
                if jobs is self._jobs:
                    self._running = item
            item._run()
            with self._guard:
                if item._state != _RUNNING:
                    return  # abandoned meanwhile: this thread is no longer the owner
                item._state = _DONE
                if self._running is item:
                    self._running = None
            item._finish()
            if item.error is not None and not isinstance(item.error, Exception):
                return  # KeyboardInterrupt / SystemExit: the thread ends


async def wait_async(job: NativeJob[Any], limit_s: float | None) -> bool:
    """Wait (on the event loop, without a thread) until ``job`` is done, at most ``limit_s``
    seconds; True when it is."""
    if job.done.is_set():
        return True
    loop = asyncio.get_running_loop()
    woken = loop.create_future()

    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            loop.call_soon_threadsafe(_resolve, woken)

    job._callbacks.append(wake)
    if job.done.is_set():  # finished while the callback was being added
        return True
    await asyncio.wait({woken}, timeout=limit_s)
    return job.done.is_set()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
