"""asyncio and Qt on one thread: a qasync event loop drives both.

The bus, the stages and the window all run on this loop (the Qt GUI thread); blocking work
goes to worker threads (``asyncio.to_thread`` uses qasync's thread executor). Ctrl-C in the
terminal reaches Python through a wake-up socket, so the loop needs no polling timer and an
idle window costs no CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import qasync
from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QApplication

from her_desktop.gui import gui_thread_gc

log = logging.getLogger(__name__)

APP_NAME = "her_desktop"


def ensure_qapplication() -> QApplication:
    """The process's QApplication (created once). The loop ends the app, not the last window."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName(APP_NAME)
        app.setApplicationDisplayName("her_desktop")
        app.setDesktopFileName("her-desktop")
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    return app


def new_qt_loop(app: QApplication) -> qasync.QEventLoop:
    """A qasync loop on this (the GUI) thread; from now until :func:`close_qt_loop` Python's
    cycle collector runs here only (see :mod:`her_desktop.gui.gui_thread_gc`)."""
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    gui_thread_gc.hold()
    return loop


def close_qt_loop(loop: qasync.QEventLoop) -> None:
    try:
        with contextlib.suppress(RuntimeError):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)
    finally:
        gui_thread_gc.release()


def run_on_qt_loop(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run ``main()`` to completion on a fresh qasync loop; return its exit code."""
    app = ensure_qapplication()
    loop = new_qt_loop(app)
    try:
        code: int = loop.run_until_complete(main())
        return code
    finally:
        close_qt_loop(loop)


class InterruptWatcher:
    """Turns SIGINT (Ctrl-C in the terminal) into a call on the Qt thread, without polling."""

    def __init__(self, on_interrupt: Callable[[], None]) -> None:
        self._on_interrupt = on_interrupt
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)
        self._old_fd = -1
        self._old_handler: Any = None
        try:
            self._old_fd = signal.set_wakeup_fd(self._writer.fileno())
            self._old_handler = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread (tests): no Ctrl-C handling, nothing else
            self._old_fd = -2

    def _handler(self, _signum: int, _frame: object) -> None:
        self._interrupted = True

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            self._reader.recv(64)
        if getattr(self, "_interrupted", False):
            self._interrupted = False
            self._on_interrupt()

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # the notifier may be gone already at exit
            self._notifier.setEnabled(False)
        if self._old_fd != -2:
            with contextlib.suppress(ValueError):
                signal.set_wakeup_fd(self._old_fd)
                signal.signal(signal.SIGINT, self._old_handler or signal.default_int_handler)
        self._reader.close()
        self._writer.close()
