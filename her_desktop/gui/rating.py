"""👍 / 👎 under one of her replies, with an optional word of why.

``RatingBar.rated(value, why)``: ``value`` is 1 (👍), -1 (👎) or 0 (the rating was taken back
by clicking the chosen thumb again). After 👎 a small field asks why (optional); Enter sends the
rating again with the reason.

Looks: the thumbs sit faded beside the time and "Copy" until hovered or chosen (a reply is not
a form to fill in); the chosen one is ringed in the accent colour and the other fades further;
a short muted note says the rating was kept ("noted", "noted: too long") and how to take it
back (click the thumb again).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QGraphicsOpacityEffect,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

WHY_PLACEHOLDER = "why? (optional, Enter)"
IDLE_OPACITY = 0.55
"""a thumb nobody has chosen (yet)"""
OTHER_OPACITY = 0.3
"""the thumb not chosen"""
BUTTON_SIZE = QSize(30, 22)
NOTED = {1: "noted: more like this", -1: "noted: less like this"}


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
        self.note = QLabel("", self)
        self.note.setObjectName("meta")
        self.note.setToolTip("Click the thumb again to take the rating back")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.good)
        row.addWidget(self.bad)
        row.addSpacing(4)
        row.addWidget(self.why)
        row.addWidget(self.note)
        self.good.clicked.connect(lambda: self._click(1))
        self.bad.clicked.connect(lambda: self._click(-1))
        self._hovered: QToolButton | None = None
        self._fade()

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName("rateButton")
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setCheckable(True)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setFixedSize(BUTTON_SIZE)  # a pill around the emoji (its font metrics are wide)
        button.setGraphicsEffect(QGraphicsOpacityEffect(button))
        button.installEventFilter(self)
        return button

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched in (self.good, self.bad) and event.type() in (
            QEvent.Type.Enter,
            QEvent.Type.Leave,
        ):
            assert isinstance(watched, QToolButton)
            self._hovered = watched if event.type() == QEvent.Type.Enter else None
            self._fade()
        return super().eventFilter(watched, event)

    def opacity(self, button: QToolButton) -> float:
        effect = button.graphicsEffect()
        return effect.opacity() if isinstance(effect, QGraphicsOpacityEffect) else 1.0

    def _fade(self) -> None:
        for button, value in ((self.good, 1), (self.bad, -1)):
            if button is self._hovered or self.value == value:
                opacity = 1.0
            else:
                opacity = IDLE_OPACITY if self.value == 0 else OTHER_OPACITY
            effect = button.graphicsEffect()
            if isinstance(effect, QGraphicsOpacityEffect):
                effect.setOpacity(opacity)

    def _click(self, value: int) -> None:
        self.value = 0 if self.value == value else value
        self.good.setChecked(self.value == 1)
        self.bad.setChecked(self.value == -1)
        self.why.setVisible(self.value == -1)
        if self.value != -1:
            self.why.clear()
        self.note.setText(NOTED.get(self.value, "") if self.value != -1 else "")
        self._fade()
        self.rated.emit(self.value, "")
        if self.value == -1:
            self.why.setFocus()

    def _send_why(self) -> None:
        if self.value == -1:
            why = self.why.text().strip()
            self.rated.emit(-1, why)
            self.why.setVisible(False)
            self.note.setText(f"noted: {why}" if why else NOTED[-1])
