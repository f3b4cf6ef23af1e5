"""Run one blocking call off the Qt thread and get its result back on the Qt thread.

The dialogs use this for everything that may take time (database calls, device tests, a
connection test), so the window never freezes:

    run_in_background(store.count, on_done=show_count, on_error=show_problem, owner=self)

``on_done(result)`` or ``on_error(exception)`` is called later on the Qt (GUI) thread. When
``owner`` (a QObject) is destroyed first, neither is called. The calls run on Qt's global thread
pool; :func:`wait_for_background` lets tests wait for them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")

_pending: set[_Relay] = set()
"""Relays whose call has not answered yet (kept alive here, released on delivery)."""


class _Relay(QObject):
    """Lives on the GUI thread; its signals are queued there from the worker thread."""

    done = Signal(object)
    failed = Signal(object)

    def __init__(
        self,
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None,
        owner: QObject | None,
    ) -> None:
        super().__init__(owner)
        self._on_done = on_done
        self._on_error = on_error
        self.done.connect(self._deliver_done)
        self.failed.connect(self._deliver_error)

    def _release(self) -> None:
        _pending.discard(self)
        self.deleteLater()

    @Slot(object)
    def _deliver_done(self, value: object) -> None:
        try:
            self._on_done(value)
        finally:
            self._release()

    @Slot(object)
    def _deliver_error(self, exc: object) -> None:
        try:
            if self._on_error is not None and isinstance(exc, BaseException):
                self._on_error(exc)
            else:
                log.error("background call failed: %s", exc)
        finally:
            self._release()


class _Call(QRunnable):
    def __init__(self, fn: Callable[[], object], relay: _Relay) -> None:
        super().__init__()
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        signal: str
        payload: object
        try:
            value = self._fn()
        except Exception as exc:  # handed to on_error on the GUI thread
            signal, payload = "failed", exc
        else:
            signal, payload = "done", value
        # the owner (and with it the relay) may be gone: then nobody is waiting for the answer
        with contextlib.suppress(RuntimeError):
            getattr(self._relay, signal).emit(payload)


def run_in_background(
    fn: Callable[[], T],
    on_done: Callable[[T], None],
    on_error: Callable[[BaseException], None] | None = None,
    *,
    owner: QObject | None = None,
) -> None:
    """Call ``fn()`` on a worker thread; deliver the result or the exception on the GUI thread.

    Must be called from the GUI thread. ``owner``: when it is destroyed before ``fn`` returns,
    the answer is dropped.
    """
    relay = _Relay(on_done, on_error, owner)
    _pending.add(relay)
    relay.destroyed.connect(lambda *_: _pending.discard(relay))
    QThreadPool.globalInstance().start(_Call(fn, relay))


def wait_for_background(timeout_ms: int = 10_000) -> bool:
    """Block until every background call has returned (tests and shutdown). True when done."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
