"""The asyncio event bus: typed publish/subscribe between stages.

Rules (the whole pipeline: docs/architecture.md):

* **Typed subscriptions.** ``bus.subscribe(UserText, handler)`` delivers ``UserText`` and its
  subclasses; ``bus.subscribe(Event, ...)`` delivers everything (the GUI does this).
* **Two lanes per subscriber.** Control events (``Priority.CONTROL``) go through an unbounded lane
  with its own worker, so they overtake data events: a stop or a shutdown is never stuck behind
  a busy handler or a full queue. Control events are rare and never dropped.
* **Bounded data queues with a stated overflow policy**, chosen per subscriber:

  - ``Overflow.BLOCK`` (default): ``publish()`` waits for room. Nothing is lost; a slow
    subscriber slows its publishers (backpressure). Use for text, tokens, sentences, audio
    for playback.
  - ``Overflow.DROP_OLDEST``: the oldest queued event is discarded to make room and the loss is
    counted (and reported as a ``BusOverflow`` event at most once a second). Use for high-rate
    streams where only the latest matters: level meters, partial transcripts.

  ``publish_nowait()`` (for synchronous code on the loop) and ``publish_threadsafe()`` (for
  audio callbacks and worker threads) never block; where a ``BLOCK`` queue is full they hand the
  event to an ordered backlog that one pump task delivers, so per-publisher order is kept.
* **Order.** Each subscriber sees the data events it receives in publish order, and the control
  events in publish order.
* **Error isolation.** A handler that raises does not stop its worker nor any other subscriber:
  the bus logs it and publishes a ``StageError`` (category ``handler``) naming the subscriber.
* **Shutdown** (``close``) publishes ``Shutdown``, stops accepting events, then drains the
  subscribers one by one in subscription order, each within what is left of one overall
  deadline, and cancels whatever is still running. After ``close`` publishing is a no-op.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from her_desktop.events import BusOverflow, Event, Priority, Shutdown, StageError

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[E], Awaitable[None]]


class Overflow(enum.Enum):
    BLOCK = "block"
    DROP_OLDEST = "drop_oldest"


DEFAULT_MAXSIZE = 256
OVERFLOW_REPORT_INTERVAL_S = 1.0


@dataclass(slots=True)
class SubscriptionStats:
    name: str
    queued: int
    delivered: int
    dropped: int
    failed: int


class Subscription:
    """One subscriber: its filter, its two lanes and its two workers."""

    def __init__(
        self,
        bus: Bus,
        types: tuple[type[Event], ...],
        handler: Handler[Any],
        name: str,
        maxsize: int,
        overflow: Overflow,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.bus = bus
        self.types = types
        self.handler = handler
        self.name = name
        self.overflow = overflow
        self.data: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.control: asyncio.Queue[Event] = asyncio.Queue()
        self.delivered = 0
        self.dropped = 0
        self.failed = 0
        self._dropped_reported = 0
        self._last_report = 0.0
        self._workers: list[asyncio.Task[None]] = []

    def wants(self, event: Event) -> bool:
        return isinstance(event, self.types)

    def start(self) -> None:
        self._workers = [
            asyncio.create_task(self._run(self.control), name=f"bus:{self.name}:control"),
            asyncio.create_task(self._run(self.data), name=f"bus:{self.name}:data"),
        ]

    async def _run(self, queue: asyncio.Queue[Event]) -> None:
        while True:
            event = await queue.get()
            try:
                await self.handler(event)
                self.delivered += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failed += 1
                self.bus._handler_failed(self, event, exc)
            finally:
                queue.task_done()

    def offer(self, event: Event) -> bool:
        """Queue without waiting. False: a BLOCK data queue is full (caller must wait)."""
        if event.priority is Priority.CONTROL:
            self.control.put_nowait(event)
            return True
        if not self.data.full():
            self.data.put_nowait(event)
            return True
        if self.overflow is Overflow.DROP_OLDEST:
            self.data.get_nowait()
            self.data.task_done()
            self.dropped += 1
            self.data.put_nowait(event)
            self._maybe_report_drops()
            return True
        return False

    def _maybe_report_drops(self) -> None:
        now = time.monotonic()
        if now - self._last_report < OVERFLOW_REPORT_INTERVAL_S:
            return
        self._last_report = now
        newly = self.dropped - self._dropped_reported
        self._dropped_reported = self.dropped
        log.debug("bus: %s dropped %d event(s) (policy drop_oldest)", self.name, newly)
        if not any(isinstance(t, type) and issubclass(BusOverflow, t) for t in self.types):
            self.bus.publish_nowait(BusOverflow(subscriber=self.name, dropped=newly))

    async def drain(self, within_s: float) -> bool:
        """Wait until both lanes are empty and idle. True if drained within ``within_s``."""
        try:
            async with asyncio.timeout(max(within_s, 0.0)):
                await self.control.join()
                await self.data.join()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    def stats(self) -> SubscriptionStats:
        return SubscriptionStats(
            name=self.name,
            queued=self.data.qsize() + self.control.qsize(),
            delivered=self.delivered,
            dropped=self.dropped,
            failed=self.failed,
        )


class BusClosed(RuntimeError):
    pass


class Bus:
    """The one event bus of the app. Create and use it inside a running event loop."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._closed = False
        self._backlog: collections.deque[Event | _Partial] = collections.deque()
        self._pump: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- subscribing -------------------------------------------------------------------------

    def subscribe(
        self,
        types: type[E] | tuple[type[E], ...],
        handler: Handler[E],
        *,
        name: str,
        maxsize: int = DEFAULT_MAXSIZE,
        overflow: Overflow = Overflow.BLOCK,
    ) -> Subscription:
        if self._closed:
            raise BusClosed("the bus is closed")
        self._loop = asyncio.get_running_loop()
        type_tuple: tuple[type[Event], ...] = types if isinstance(types, tuple) else (types,)
        sub = Subscription(self, type_tuple, handler, name, maxsize, overflow)
        self._subs.append(sub)
        sub.start()
        return sub

    async def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
        await sub.stop()

    # -- publishing --------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    async def publish(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber that wants it; waits on full BLOCK queues."""
        if self._closed:
            log.debug("bus closed: dropped %s", type(event).__name__)
            return
        if self._backlog and event.priority is Priority.DATA:
            # keep order behind events still waiting in the backlog
            self._backlog.append(event)
            self._ensure_pump()
            await self._wait_backlog_empty()
            return
        await self._deliver(event)

    def publish_nowait(self, event: Event) -> None:
        """Deliver without waiting (for synchronous code on the loop). Never blocks, never drops
        for BLOCK subscribers: a full queue sends the event through the ordered backlog."""
        if self._closed:
            log.debug("bus closed: dropped %s", type(event).__name__)
            return
        if event.priority is Priority.CONTROL:
            for sub in list(self._subs):
                if sub.wants(event):
                    sub.offer(event)
            return
        if self._backlog:
            self._backlog.append(event)
            return
        for i, sub in enumerate(list(self._subs)):
            if sub.wants(event) and not sub.offer(event):
                # This subscriber is full: it and everyone after it get the event via the pump.
                self._backlog.append(_Partial(event, self._subs[i:]))
                self._ensure_pump()
                return

    def publish_threadsafe(self, event: Event) -> None:
        """Publish from another thread (audio callbacks, inference workers)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self.publish_nowait, event)
        except RuntimeError:  # loop closed between the check and the call
            log.debug("loop closed: dropped %s", type(event).__name__)

    async def _deliver(self, event: Event, subs: list[Subscription] | None = None) -> None:
        for sub in list(self._subs) if subs is None else subs:
            if self._closed and event.priority is Priority.DATA:
                return
            if sub.wants(event) and not sub.offer(event):
                await sub.data.put(event)

    def _ensure_pump(self) -> None:
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run_pump(), name="bus:backlog")

    async def _run_pump(self) -> None:
        while self._backlog and not self._closed:
            item = self._backlog[0]
            if isinstance(item, _Partial):
                await self._deliver(item.event, [s for s in item.subs if s in self._subs])
            else:
                await self._deliver(item)
            self._backlog.popleft()

    async def _wait_backlog_empty(self) -> None:
        while self._backlog and not self._closed:
            pump = self._pump
            if pump is None:
                return
            await asyncio.shield(pump)

    # -- errors ------------------------------------------------------------------------------

    def _handler_failed(self, sub: Subscription, event: Event, exc: Exception) -> None:
        log.error(
            "bus: subscriber %s failed on %s: %s",
            sub.name,
            type(event).__name__,
            exc,
            exc_info=exc,
        )
        if isinstance(event, StageError):
            return  # never answer an error about an error: no loops
        self.publish_nowait(
            StageError(
                stage=sub.name,
                category="handler",
                message=f"{sub.name} failed while handling {type(event).__name__}: {exc}",
                detail=f"{type(exc).__name__}: {exc}",
            )
        )

    # -- shutdown ----------------------------------------------------------------------------

    async def close(self, deadline: float = 2.0, reason: str = "exit") -> list[str]:
        """Publish ``Shutdown``, stop accepting events, drain subscribers in subscription order
        within ``deadline`` seconds overall, then cancel every worker.

        Returns the names of the subscribers that did not drain in time.
        """
        if self._closed:
            return []
        self.publish_nowait(Shutdown(reason=reason))
        # deliver what is already in the backlog before closing the door
        end = time.monotonic() + deadline
        if self._backlog:
            try:
                async with asyncio.timeout(max(end - time.monotonic(), 0.0)):
                    await self._wait_backlog_empty()
            except TimeoutError:
                pass
        self._closed = True
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        late: list[str] = []
        for sub in list(self._subs):
            if not await sub.drain(end - time.monotonic()):
                late.append(sub.name)
                log.warning("bus: %s did not drain before the shutdown deadline", sub.name)
        for sub in list(self._subs):
            await sub.stop()
        self._subs.clear()
        self._backlog.clear()
        return late

    def stats(self) -> list[SubscriptionStats]:
        return [s.stats() for s in self._subs]


@dataclass(slots=True)
class _Partial:
    """Backlog entry: an event still owed to some subscribers (internal)."""

    event: Event
    subs: list[Subscription]
