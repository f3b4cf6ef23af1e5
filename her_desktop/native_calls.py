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
- **A call that is only slow** (the memory's SQLite file on a busy disk: the resource outlives
  a slow call, and a second thread must never touch the connection while the first may). With
  an ``on_timeout`` hook nothing is abandoned: a caller whose bound passes gets
  :class:`NativeTimeout`, its job is cancelled if it has not started, or marked given up
  (:func:`given_up`) and ``on_timeout`` is called (on the caller's thread) if it is running —
  it should make the call return soon (``sqlite3.Connection.interrupt``) — and the thread goes
  on with the next job. A job queued behind a slow one is never run late; the slow one itself
  is not disturbed by other callers' bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterator
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


_current = threading.local()
"""The job running on this thread (``job``), for :func:`given_up`."""


def given_up() -> bool:
    """In a job: True once its caller stopped waiting for it (a write then rolls back instead
    of committing what its caller was told was not saved)."""
    job = getattr(_current, "job", None)
    return job is not None and job.given_up


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
        "given_up",
        "priority",
        "result",
    )

    def __init__(
        self, fn: Callable[[], T], *, priority: int = NORMAL, detached: bool = False
    ) -> None:
        self.fn = fn
        self.priority = priority
        self.detached = detached
        """Nobody waits for it: its error is logged."""
        self.done = threading.Event()
        self.cancelled = False
        """It did not run (cancelled while queued, or queued behind a call that hung)."""
        self.abandoned = False
        """It hung and its thread was left behind."""
        self.given_up = False
        """Its caller stopped waiting (see :func:`given_up`)."""
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
        outer = getattr(_current, "job", None)
        _current.job = self
        try:
            self.result = self.fn()
        except BaseException as exc:  # handed to the caller (or logged when nobody waits)
            self.error = exc
            if self.detached:
                log.warning("a native call failed: %r", exc)
        finally:
            _current.job = outer


_STOP = object()


class NativeCalls:
    """The owner thread of one native resource (started on the first job)."""

    def __init__(
        self,
        name: str,
        *,
        restart_after_hang: bool = True,
        on_timeout: Callable[[], object] | None = None,
    ) -> None:
        self.name = name
        self.restart_after_hang = restart_after_hang
        self.on_timeout = on_timeout
        """When set, a call past its bound is waited out, not abandoned (see the module
        docstring); it may be set later (once the resource it interrupts exists)."""
        self._guard = threading.Lock()  # guards the fields below; never held across a call
        self._thread: threading.Thread | None = None
        self._jobs: queue.PriorityQueue[tuple[int, int, object]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._urgent = 0
        self._coming = 0
        """Urgent calls announced by ``urgent_coming`` and not yet queued."""
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
        """An :data:`URGENT` job is queued (or announced): background work should give way."""
        return self._urgent > 0 or self._coming > 0

    @contextlib.contextmanager
    def urgent_coming(self) -> Iterator[None]:
        """Announce an :data:`URGENT` call while its caller is still preparing it (a reply
        whose prompt is being built): background work gives way from now on."""
        with self._guard:
            self._coming += 1
        try:
            yield
        finally:
            with self._guard:
                self._coming -= 1

    @property
    def busy(self) -> bool:
        """A job is running on the owner thread now."""
        return self._running is not None

    # -- calls -------------------------------------------------------------------------------

    def call(self, fn: Callable[[], T], *, timeout: float, priority: int = NORMAL) -> T:
        """Run ``fn`` on the owner thread and return its result; raise what it raised.

        Raises :class:`NativeTimeout` when it is not done within ``timeout`` seconds (the
        thread is then abandoned, or the call waited out: see the module docstring). Called
        from the owner thread itself (a call inside a call) it runs at once.
        """
        if self.in_worker():
            return fn()
        return self.wait(self.start(fn, priority=priority), timeout)

    def wait(self, job: NativeJob[T], timeout: float) -> T:
        """Wait at most ``timeout`` for a job started here (or handed to ``run_nested``) and
        return its result; raise what it raised, or :class:`NativeTimeout`."""
        if not job.done.wait(timeout):
            self._late(job, timeout)
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
            self._late(job, limit_s)
        return job.outcome()

    def start(self, fn: Callable[[], T], *, priority: int = NORMAL) -> NativeJob[T]:
        """Queue ``fn`` and return its job, for a caller that watches it."""
        return self._enqueue(NativeJob(fn, priority=priority, detached=False))

    def submit(self, fn: Callable[[], object], *, priority: int = NORMAL) -> None:
        """Queue ``fn`` without waiting (its errors are logged)."""
        self._enqueue(NativeJob(fn, priority=priority, detached=True))

    def run_nested(self, job: NativeJob[Any]) -> None:
        """On the owner thread, inside a job: run ``job``, which that job took from a queue of
        its own instead of this one (memory's open transaction runs its statements so); its
        caller waits for it with :meth:`wait`. Does nothing when it was cancelled."""
        if not self.in_worker():
            raise RuntimeError(f"{self.name}: run_nested off the owner thread")
        with self._guard:
            if job._state != _QUEUED:
                return
            job._state = _RUNNING
        job._run()
        with self._guard:
            if job._state != _RUNNING:
                return  # abandoned meanwhile (its caller was told)
            job._state = _DONE
        job._finish()

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

    def _late(self, job: NativeJob[Any], waited: float) -> None:
        """``job``'s caller waited ``waited`` seconds in vain: abandon the thread, or (with
        ``on_timeout``) give the job up; raises NativeTimeout unless it finished just now."""
        if self.on_timeout is None:
            self.abandon(job, waited)
            return
        with self._guard:
            if job._state == _DONE:
                return  # it finished just now
            job.given_up = True
            running = job._state == _RUNNING
            if not running:
                job._state = _DONE
                job.cancelled = True
                self._uncount(job)
        hook = self.on_timeout
        if not running:
            job.error = NativeTimeout(f"{self.name}: cancelled before it ran")
            job._finish()
        elif hook is not None:
            # Outside the guard: the job may finish meanwhile, so the hook must be harmless
            # then (SQLite's interrupt is a no-op when no statement is running).
            hook()
        raise NativeTimeout(f"{self.name}: no answer within {waited:.1f} s")

    def close(self, timeout: float = 1.0) -> bool:
        """Let the owner finish what is queued, then end it (waits at most ``timeout``).
        False when it was still busy."""
        with self._guard:
            thread, self._thread = self._thread, None
            jobs = self._jobs
            self._jobs = queue.PriorityQueue()
            self._reset_count()
        if thread is None:
            return True
        jobs.put((_LAST, next(self._order), _STOP))
        if thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

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
                self._hand_over(jobs)  # KeyboardInterrupt / SystemExit: this thread ends
                return

    def _hand_over(self, jobs: queue.PriorityQueue[tuple[int, int, object]]) -> None:
        """This owner thread ends: a fresh one takes over its queue (nothing queued is lost)."""
        with self._guard:
            if self._thread is not threading.current_thread():
                return  # closed or abandoned meanwhile: the queue went with it
            self._thread = threading.Thread(
                target=self._run, args=(jobs,), name=self.name, daemon=True
            )
            self._thread.start()


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
