"""The push-to-talk key (``gui.push_to_talk_key``, default Ctrl+Space): held down = talking.

Shortcuts only say "activated", so this watches raw key presses and releases application-wide
(auto-repeat ignored). Letting go of the key or of a modifier, or leaving the window, ends the
talk, so the microphone is never left open by a missed release.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QWidget

DEFAULT_KEY = "Ctrl+Space"
_MODIFIER_KEYS = {
    Qt.Key.Key_Control: Qt.KeyboardModifier.ControlModifier,
    Qt.Key.Key_Shift: Qt.KeyboardModifier.ShiftModifier,
    Qt.Key.Key_Alt: Qt.KeyboardModifier.AltModifier,
    Qt.Key.Key_Meta: Qt.KeyboardModifier.MetaModifier,
}
_MOD_MASK = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.ShiftModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)


def parse_key(text: str) -> tuple[Qt.Key, Qt.KeyboardModifier, str]:
    """The key, its modifiers and its display text; an unusable value falls back to Ctrl+Space."""
    sequence = QKeySequence(text)
    if sequence.isEmpty() or sequence[0].key() == Qt.Key.Key_unknown:  # type: ignore[index]
        sequence = QKeySequence(DEFAULT_KEY)
    combo = sequence[0]  # type: ignore[index]
    display = sequence.toString(QKeySequence.SequenceFormat.NativeText)
    return combo.key(), combo.keyboardModifiers() & _MOD_MASK, display


class PushToTalkKey(QObject):
    """Install with ``app.installEventFilter(ptt)``; ``changed(bool)`` says held / let go."""

    changed = Signal(bool)

    def __init__(
        self, key_text: str, parent: QObject | None = None, *, scope: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.key, self.modifiers, self.display = parse_key(key_text)
        self.held = False
        self._scope = scope

    def set_key(self, key_text: str) -> None:
        self.release()
        self.key, self.modifiers, self.display = parse_key(key_text)

    def _in_scope(self, watched: QObject) -> bool:
        """Only keys typed in ``scope``'s window (not in dialogs, e.g. a key-capture field)."""
        if self._scope is None:
            return True
        return isinstance(watched, QWidget) and watched.window() is self._scope

    def release(self) -> None:
        if self.held:
            self.held = False
            self.changed.emit(False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if not self._in_scope(watched):
                return False
            if event.isAutoRepeat():
                return self.held and event.key() == self.key
            if event.key() == self.key and (event.modifiers() & _MOD_MASK) == self.modifiers:
                if not self.held:
                    self.held = True
                    self.changed.emit(True)
                return True
        elif kind == QEvent.Type.KeyRelease and isinstance(event, QKeyEvent):
            if not self.held or event.isAutoRepeat():
                return False
            modifier = _MODIFIER_KEYS.get(Qt.Key(event.key()))
            if event.key() == self.key or (modifier is not None and self.modifiers & modifier):
                self.release()
                return True
        elif kind in (QEvent.Type.ApplicationDeactivate, QEvent.Type.WindowDeactivate):
            self.release()
        return False
