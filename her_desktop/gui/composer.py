"""The composer: the text box (Enter sends, Shift+Enter adds a line), the hold-to-talk microphone
button, the hands-free toggle, the stop button and the send button.

The composer only emits signals; the window turns them into bus events.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPlainTextEdit, QToolButton, QWidget

from her_desktop.gui.icons import IconName, icon
from her_desktop.gui.theme import LIGHT, Theme

MAX_LINES = 6
BUTTON = 38


class ComposerEdit(QPlainTextEdit):
    """Enter (or Ctrl+Enter) submits; Shift+Enter inserts a new line. Grows up to six lines."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerEdit")
        self.setTabChangesFocus(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.document().contentsChanged.connect(self._grow)
        self._grow()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.submitted.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def _grow(self) -> None:
        line = self.fontMetrics().lineSpacing()
        lines = max(1, min(MAX_LINES, int(self.document().size().height())))
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom()
        self.setFixedHeight(max(BUTTON, lines * line + frame + 6))


def _round_button(parent: QWidget, tip: str, *, name: str = "roundButton") -> QToolButton:
    button = QToolButton(parent)
    button.setObjectName(name)
    button.setFixedSize(BUTTON, BUTTON)
    button.setIconSize(QSize(20, 20))
    button.setToolTip(tip)
    button.setAccessibleName(tip.split(":")[0].split("(")[0].strip())
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


class Composer(QFrame):
    send_requested = Signal(str)
    stop_requested = Signal()
    push_to_talk = Signal(bool)
    hands_free_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, ptt_key: str = "Ctrl+Space") -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self._theme = LIGHT
        self._ptt_key = ptt_key
        self._mic_available = True
        self._mic_message = ""
        self._busy = False

        self.edit = ComposerEdit(self)
        self.edit.setPlaceholderText("Write a message…  (Enter sends · Shift+Enter: new line)")
        self.edit.submitted.connect(self.submit)
        self.edit.textChanged.connect(self._update_send)

        self.mic_button = _round_button(self, "")
        self.mic_button.pressed.connect(lambda: self.push_to_talk.emit(True))
        self.mic_button.released.connect(lambda: self.push_to_talk.emit(False))
        self.hands_free_button = _round_button(
            self, "Hands-free: she listens whenever you speak (click to switch)"
        )
        self.hands_free_button.setCheckable(True)
        self.hands_free_button.toggled.connect(self.hands_free_toggled)
        self.stop_button = _round_button(self, "Stop the reply (Esc)", name="stopButton")
        self.stop_button.clicked.connect(self.stop_requested)
        self.send_button = _round_button(self, "Send (Enter)", name="sendButton")
        self.send_button.clicked.connect(self.submit)

        row = QHBoxLayout(self)
        row.setContentsMargins(14, 10, 14, 12)
        row.setSpacing(8)
        row.addWidget(self.mic_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.hands_free_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.edit, 1)
        row.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        self.set_busy(False)
        self._update_mic()
        self._update_send()
        self._update_icons()

    # -- state from the window ---------------------------------------------------------------

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._update_icons()

    def set_busy(self, busy: bool) -> None:
        """While she thinks or speaks, the stop button is live."""
        self._busy = busy
        self.stop_button.setEnabled(busy)

    @property
    def busy(self) -> bool:
        return self._busy

    def set_mic_available(self, available: bool, message: str = "") -> None:
        self._mic_available = available
        self._mic_message = message
        self._update_mic()

    def set_hands_free(self, on: bool) -> None:
        """Reflect the listen mode without emitting (it came from elsewhere)."""
        blocked = self.hands_free_button.blockSignals(True)
        self.hands_free_button.setChecked(on)
        self.hands_free_button.blockSignals(blocked)

    def set_ptt_key(self, display: str) -> None:
        self._ptt_key = display
        self._update_mic()

    def set_persona_name(self, name: str) -> None:
        self.edit.setPlaceholderText(f"Message {name}…  (Enter sends · Shift+Enter: new line)")

    # -- actions -----------------------------------------------------------------------------

    def submit(self) -> None:
        text = self.edit.toPlainText().strip()
        if not text:
            return
        self.edit.clear()
        self.send_requested.emit(text)

    # -- looks -------------------------------------------------------------------------------

    def _update_mic(self) -> None:
        available = self._mic_available
        self.mic_button.setEnabled(available)
        self.hands_free_button.setEnabled(available)
        if available:
            tip = f"Hold to talk ({self._ptt_key})"
        else:
            tip = self._mic_message or "No microphone — typing still works"
        self.mic_button.setToolTip(tip)
        self.mic_button.setAccessibleDescription(tip)
        self._update_icons()

    def _update_send(self) -> None:
        self.send_button.setEnabled(bool(self.edit.toPlainText().strip()))

    def _update_icons(self) -> None:
        t = self._theme
        mic: IconName = "mic" if self._mic_available else "mic_off"
        self.mic_button.setIcon(icon(mic, t.text if self._mic_available else t.muted))
        self.hands_free_button.setIcon(icon("wave", t.text))
        self.stop_button.setIcon(icon("stop", t.text))
        self.send_button.setIcon(icon("send", t.accent_text))
