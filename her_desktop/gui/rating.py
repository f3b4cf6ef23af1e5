"""👍 / 👎 under one of her replies, with an optional word of why.

``RatingBar.rated(value, why)``: ``value`` is 1 (👍), -1 (👎) or 0 (the rating was taken back
by clicking the chosen thumb again). After 👎 a small field asks why (optional); Enter sends the
rating again with the reason.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

WHY_PLACEHOLDER = "why? (optional, Enter)"


class RatingBar(QWidget):
    rated = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value = 0
        self.good = self._button("👍", "Good reply: more like this")
        self.bad = self._button("👎", "Not a good reply: less like this")
        self.why = QLineEdit(self)
        self.why.setObjectName("rateWhy")
        self.why.setPlaceholderText(WHY_PLACEHOLDER)
        self.why.setMaxLength(200)
        self.why.setFixedWidth(180)
        self.why.setVisible(False)
        self.why.returnPressed.connect(self._send_why)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.good)
        row.addWidget(self.bad)
        row.addWidget(self.why)
        self.good.clicked.connect(lambda: self._click(1))
        self.bad.clicked.connect(lambda: self._click(-1))

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName("rateButton")
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setCheckable(True)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        return button

    def _click(self, value: int) -> None:
        self.value = 0 if self.value == value else value
        self.good.setChecked(self.value == 1)
        self.bad.setChecked(self.value == -1)
        self.why.setVisible(self.value == -1)
        if self.value != -1:
            self.why.clear()
        self.rated.emit(self.value, "")
        if self.value == -1:
            self.why.setFocus()

    def _send_why(self) -> None:
        if self.value == -1:
            self.rated.emit(-1, self.why.text().strip())
            self.why.setVisible(False)
