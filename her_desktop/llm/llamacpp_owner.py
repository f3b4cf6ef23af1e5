"""The llama.cpp engine's owner thread, seen from the event loop: every wait bounded.

llama.cpp is not thread-safe: every call on the model's contexts (load, prompt evaluation,
sampling, prefix state, close) is a job for the engine's own thread
(:class:`~her_desktop.native_calls.NativeCalls` ``llamacpp``), and concurrent streams are
served one after the other. A reply's job is urgent: it runs before queued background work,
and background work that is running sees it waiting and gives way at its next token or compute
chunk. Every wait has a bound; a call that runs far past it leaves the engine saying in plain
words that the model stopped responding (:data:`STUCK`), and the loop keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any, NoReturn, TypeVar

from her_desktop.llm.base import BusyError, LLMError
from her_desktop.llm.llamacpp_reply import Reply
from her_desktop.native_calls import (
    BACKGROUND,
    URGENT,
    NativeCalls,
    NativeJob,
    NativeTimeout,
    wait_async,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
CANCEL_WAIT_S = 5.0
"""How long a cancelled stream waits for its job to stop (it normally takes ms); also the
grace a job gets past its deadline before the engine counts it as hung."""
STUCK = (
    "The language model stopped responding: a call into llama.cpp ran far past its time "
    "limit. Restart her_desktop to use it again."
)


class OwnerThread:
    """The engine's owner thread (``calls``) and the bounded ways the loop waits for it."""

    def __init__(self) -> None:
        self.calls = NativeCalls("llamacpp", restart_after_hang=False)

    async def run(self, fn: Callable[[], T], *, limit_s: float, priority: int = URGENT) -> T:
        """Run ``fn`` on the owner thread, waiting at most ``limit_s``."""
        try:
            return await self.calls.acall(fn, limit_s=limit_s, priority=priority)
        except NativeTimeout:
            raise LLMError(STUCK) from None

    async def reply(
        self,
        generate: Callable[[], None],
        reply: Reply,
        queue: asyncio.Queue[tuple[str, Any]],
    ) -> AsyncGenerator[str, None]:
        """Run ``generate`` (which emits ``reply``'s text into ``queue``) as an urgent job and
        yield its text until it ends, its deadline passes, or the consumer goes away. A job
        still queued at the deadline is dropped; one that runs on past it by
        ``CANCEL_WAIT_S`` is hung. The ``finally`` waits (bounded) for the job."""
        stats, started = reply.stats, reply.started
        job = self.calls.start(generate, priority=URGENT)
        if job.cancelled:
            raise LLMError(STUCK)
        finished = False
        limit = reply.deadline  # then a grace, before a job that does not stop counts as hung
        try:
            while True:
                try:
                    async with asyncio.timeout(max(0.0, limit - time.monotonic())):
                        kind, value = await queue.get()
                except TimeoutError:
                    if self.calls.cancel(job):  # still queued behind another reply
                        stats.finish_reason = "deadline"
                        finished = True
                        return
                    if limit == reply.deadline:
                        limit += CANCEL_WAIT_S
                        continue
                    reply.abort.set()
                    stats.finish_reason = "error"
                    finished = True
                    self.abandon(job, limit - started)
                if kind == "text":
                    yield value
                elif kind == "done":
                    finished = True
                    return
                else:
                    finished = True
                    raise value
        finally:
            if not finished:
                reply.abort.set()
            await self._wait_for(job)
            if not finished:
                stats.finish_reason = "cancelled"
            stats.total_s = time.monotonic() - started

    async def aside(
        self, fn: Callable[[], T], deadline: float, cancelled: threading.Event, busy: str
    ) -> T:
        """Run background work ``fn`` on the owner thread after any queued reply. It stops at
        ``deadline`` (``BusyError`` with ``busy`` when it never started); one that runs on
        past it by ``CANCEL_WAIT_S`` is hung."""
        job = self.calls.start(fn, priority=BACKGROUND)
        try:
            if not await wait_async(job, max(0.0, deadline - time.monotonic())):
                if self.calls.cancel(job):
                    raise BusyError(busy)
                if not await wait_async(job, CANCEL_WAIT_S):  # its stop check sees the deadline
                    self.abandon(job, CANCEL_WAIT_S + deadline - time.monotonic())
        except asyncio.CancelledError:
            cancelled.set()
            self.calls.cancel(job)
            raise
        try:
            return job.outcome()
        except NativeTimeout:  # the engine had stopped responding before
            raise LLMError(STUCK) from None

    def abandon(self, job: NativeJob[Any], waited: float) -> NoReturn:
        """The owner thread is stuck in ``job``: leave it behind, the engine says so."""
        with contextlib.suppress(NativeTimeout):
            self.calls.abandon(job, waited)
        raise LLMError(STUCK)

    async def _wait_for(self, job: NativeJob[None]) -> None:
        """A stopped stream's job: off the queue, or finished within ``CANCEL_WAIT_S``."""
        if job.done.is_set() or self.calls.cancel(job):
            return
        if not await wait_async(job, CANCEL_WAIT_S):
            log.warning("llama.cpp did not stop the reply within %.1f s", CANCEL_WAIT_S)
