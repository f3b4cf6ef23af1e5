"""The base of every pipeline stage: subscriptions, tracked tasks and error reporting.

A stage talks to the rest of the app only through the bus. Every task it starts is tracked
(none is fire-and-forget): ``stop()`` cancels them all within a bounded time, and a task that
dies of an exception becomes a ``StageError`` event instead of a silent loss.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from her_desktop.bus import Bus, Subscription
from her_desktop.events import ErrorCategory, StageError

log = logging.getLogger(__name__)


class Stage:
    """Subclass and override ``setup`` (subscribe there) and optionally ``teardown``."""

    name: str = "stage"

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._tasks: set[asyncio.Task[Any]] = set()
        self._subs: list[Subscription] = []
        self.running = False

    async def setup(self) -> None:
        """Subscribe to events and prepare (engines load lazily, not here)."""

    async def teardown(self) -> None:
        """Release resources after the tasks are cancelled."""

    async def start(self) -> None:
        if self.running:
            return
        await self.setup()
        self.running = True

    async def stop(self, grace_s: float = 2.0) -> None:
        if not self.running:
            return
        self.running = False
        await self.cancel_tasks(grace_s)
        for sub in self._subs:
            await self.bus.unsubscribe(sub)
        self._subs.clear()
        try:
            async with asyncio.timeout(grace_s):
                await self.teardown()
        except TimeoutError:
            log.warning("%s: teardown took longer than %.1f s", self.name, grace_s)

    def subscribe(self, *args: Any, **kwargs: Any) -> Subscription:
        kwargs.setdefault("name", self.name)
        sub = self.bus.subscribe(*args, **kwargs)
        self._subs.append(sub)
        return sub

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Start a tracked task. If it dies of an exception, a StageError is published."""
        task = asyncio.create_task(coro, name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("%s: task %s failed", self.name, task.get_name(), exc_info=exc)
            self.report("internal", f"{self.name} stopped unexpectedly: {exc}", repr(exc))

    async def cancel_tasks(self, grace_s: float = 2.0) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                log.warning("%s: task %s did not stop in %.1f s", self.name, task, grace_s)

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        return frozenset(self._tasks)

    def report(
        self, category: ErrorCategory, message: str, detail: str = "", *, fatal: bool = False
    ) -> None:
        self.bus.publish_nowait(
            StageError(
                stage=self.name, category=category, message=message, detail=detail, fatal=fatal
            )
        )
