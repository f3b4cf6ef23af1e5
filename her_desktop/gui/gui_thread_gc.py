"""Python's cycle collector runs on the GUI thread only, while the window is up.

CPython collects reference cycles on whichever thread happens to allocate past the threshold —
in this app usually a worker (``asyncio.to_thread`` runs on qasync's executor threads, the
microphone's watcher, model loading). A cycle that holds a Qt wrapper (a widget, a timer, a
qasync handle) is then destroyed on that worker while the GUI thread's event loop may be using
it, and Qt crashes (seen: SIGSEGV in ``processEvents`` right after a worker collected 576 objects
in a generation-2 pass). pyqtgraph ships the same remedy: switch automatic collection off and
collect from a timer on the GUI thread, generation by generation as CPython's own thresholds
ask (``gc.get_count()`` keeps counting while automatic collection is off).

:func:`hold` / :func:`release` nest (the app's loop and a test may both hold it); the last
release collects once more, here, and gives automatic collection back as it was.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

INTERVAL_MS = 100
"""How often the GUI thread looks at the allocation counts (a young-generation pass is ~0.1 ms)."""
FULL_PASS_EVERY_S = 10.0
"""A full (generation 2) pass is the costly one: not more often than this."""


class GuiThreadCollector(QObject):
    """A timer on the GUI thread that does what automatic collection would have done."""

    def __init__(self, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._last_full = time.monotonic()
        self.passes = [0, 0, 0]
        """Passes run per generation (for tests and the log)."""

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def collect_due(self) -> None:
        """Collect the generations whose allocation counts are past CPython's thresholds."""
        count0, count1, count2 = gc.get_count()
        limit0, limit1, limit2 = gc.get_threshold()
        if limit0 <= 0 or count0 <= limit0:
            return
        generation = 0
        if count1 > limit1:
            generation = 1
            now = time.monotonic()
            if count2 > limit2 and now - self._last_full >= FULL_PASS_EVERY_S:
                generation = 2
                self._last_full = now
        started = time.perf_counter()
        gc.collect(generation)
        self.passes[generation] += 1
        took_ms = (time.perf_counter() - started) * 1000.0
        if took_ms > 50.0:
            log.debug("generation-%d collection took %.0f ms", generation, took_ms)


_guard = threading.Lock()
"""Guards the three counters below for a few statements; never held across a Qt call (the
timer is made, started and stopped outside it)."""
_holders = 0
_collector: GuiThreadCollector | None = None
_was_enabled = True


def hold() -> GuiThreadCollector:
    """From the GUI thread (a QApplication exists): collect only here until :func:`release`."""
    global _holders, _collector, _was_enabled
    with _guard:
        first = _holders == 0
        if first:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
        collector = _collector
    if collector is None:  # the first hold (GUI thread only: no second one meanwhile)
        collector = GuiThreadCollector()
        collector.start()
        with _guard:
            _collector = collector
    return collector


def release() -> None:
    """Undo one :func:`hold`; the last one collects here and restores automatic collection."""
    global _holders, _collector
    with _guard:
        if _holders == 0:
            return
        _holders -= 1
        if _holders:
            return
        collector, _collector = _collector, None
        enable = _was_enabled
    if collector is not None:
        collector.stop()
        collector.deleteLater()
    gc.collect()
    if enable:
        gc.enable()


def holding() -> bool:
    with _guard:
        return _holders > 0
