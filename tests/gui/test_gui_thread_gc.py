"""Reference cycles are freed on the GUI thread, never on a worker (gui/gui_thread_gc.py).

A cycle holding a Qt wrapper, freed on a worker while the GUI thread's event loop used it,
crashed the app now and then (SIGSEGV in processEvents)."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

from PySide6.QtWidgets import QApplication

from her_desktop.gui import gui_thread_gc
from her_desktop.gui.qt_loop import close_qt_loop, new_qt_loop
from tests.gui.conftest import RunQt

freed_on: list[str] = []
"""The threads on which ``_Cycle`` objects were freed."""


class _Cycle:
    """Frees itself only through the cycle collector, and says on which thread."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        freed_on.append(threading.current_thread().name)


def _allocate_a_lot() -> int:
    """What a worker does while loading or parsing: far past the young generation's threshold."""
    junk: list[Any] = [[i] for i in range(200_000)]
    return len(junk)


def test_a_cycle_made_on_the_gui_thread_is_freed_there_not_on_a_busy_worker(
    run_qt: RunQt,
) -> None:
    async def scenario() -> None:
        freed_on.clear()
        _Cycle()  # garbage now: only the collector can free it
        assert await asyncio.to_thread(_allocate_a_lot) == 200_000
        for _ in range(100):  # the GUI thread's timer gets to it
            if freed_on:
                break
            await asyncio.sleep(0.05)

    run_qt(scenario())
    gc.collect()  # released: if it was still waiting, it goes now, here
    assert freed_on == [threading.main_thread().name]


def test_automatic_collection_is_off_only_while_a_qt_loop_runs(qapp: QApplication) -> None:
    gui_thread_gc.release()  # undo this test's own hold (tests/conftest.py)
    try:
        assert gc.isenabled()
        loop = new_qt_loop(qapp)
        assert not gc.isenabled()
        assert gui_thread_gc.holding()
        close_qt_loop(loop)
        assert gc.isenabled()
        assert not gui_thread_gc.holding()
    finally:
        gui_thread_gc.hold()


def test_the_timer_collects_the_generations_cpython_asks_for(qapp: QApplication) -> None:
    collector = gui_thread_gc.GuiThreadCollector()
    gc.collect()
    before = list(collector.passes)
    collector.collect_due()  # nothing allocated since: nothing to do
    assert collector.passes == before
    junk = [[i] for i in range(5_000)]  # past the young generation's threshold
    collector.collect_due()
    assert collector.passes[0] + collector.passes[1] + collector.passes[2] == sum(before) + 1
    del junk
