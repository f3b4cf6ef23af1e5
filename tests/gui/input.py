"""Synthetic input for tests that run inside a qasync coroutine.

QTest's helpers spin a nested Qt event loop (``processEvents``), which would run other asyncio
callbacks re-entrantly in the middle of the test's own step. These send the events directly
and synchronously instead, as the platform would.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

NO_MODIFIER = Qt.KeyboardModifier.NoModifier


def key_press(
    widget: QWidget, key: Qt.Key, modifiers: Qt.KeyboardModifier = NO_MODIFIER, text: str = ""
) -> None:
    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, key, modifiers, text))


def key_release(
    widget: QWidget, key: Qt.Key, modifiers: Qt.KeyboardModifier = NO_MODIFIER, text: str = ""
) -> None:
    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyRelease, key, modifiers, text))


def key_click(
    widget: QWidget, key: Qt.Key, modifiers: Qt.KeyboardModifier = NO_MODIFIER, text: str = ""
) -> None:
    key_press(widget, key, modifiers, text)
    key_release(widget, key, modifiers, text)


def type_text(widget: QWidget, text: str) -> None:
    """One key event per character (any script, emoji included)."""
    for ch in text:
        if ch == "\n":
            key_click(widget, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
        else:
            key_click(widget, Qt.Key.Key_unknown, NO_MODIFIER, ch)


def _mouse(widget: QWidget, kind: QEvent.Type) -> None:
    pos = QPointF(widget.rect().center())
    buttons = (
        Qt.MouseButton.LeftButton
        if kind == QEvent.Type.MouseButtonPress
        else Qt.MouseButton.NoButton
    )
    event = QMouseEvent(
        kind, pos, widget.mapToGlobal(pos), Qt.MouseButton.LeftButton, buttons, NO_MODIFIER
    )
    QApplication.sendEvent(widget, event)


def mouse_press(widget: QWidget) -> None:
    _mouse(widget, QEvent.Type.MouseButtonPress)


def mouse_release(widget: QWidget) -> None:
    _mouse(widget, QEvent.Type.MouseButtonRelease)


def click(widget: QWidget) -> None:
    mouse_press(widget)
    mouse_release(widget)
