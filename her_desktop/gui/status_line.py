"""The status line: notices and stage errors in plain words, non-modal and dismissable.

Errors stay until dismissed (or replaced); notices fade out on their own after a while. Earlier
messages are kept in the tooltip so nothing is lost when a newer one replaces them.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

Level = Literal["error", "notice"]
NOTICE_SECONDS = 12
HISTORY = 5


class StatusLine(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusLine")
        self.setProperty("level", "notice")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss_button = QToolButton(self)
        self.dismiss_button.setObjectName("dismissButton")
        self.dismiss_button.setText("✕")
        self.dismiss_button.setToolTip("Dismiss")
        self.dismiss_button.setAccessibleName("Dismiss message")
        self.dismiss_button.clicked.connect(self.dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 6, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dismiss)
        self._history: deque[str] = deque(maxlen=HISTORY)
        self.level: Level = "notice"
        self.hide()

    @property
    def message(self) -> str:
        return "" if self.isHidden() else self.label.text()

    def show_message(self, level: Level, message: str) -> None:
        if self.message:  # kept: a notice never hides an error for long
            self._history.append(self.label.text())
        self.level = level
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        for child in (self.label, self.dismiss_button):
            self.style().unpolish(child)
            self.style().polish(child)
        prefix = "⚠ " if level == "error" else ""
        self.label.setText(prefix + message)
        self.setToolTip("\n".join(["Earlier:", *self._history]) if self._history else "")
        self.show()
        if level == "notice":
            self._timer.start(NOTICE_SECONDS * 1000)
        else:
            self._timer.stop()

    def dismiss(self) -> None:
        self._timer.stop()
        self.hide()
