"""The Listening page: hands-free, push to talk (and its key) or off, and the pause that ends a
turn."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QComboBox, QFormLayout, QKeySequenceEdit, QSpinBox, QWidget

from her_desktop.config import Settings
from her_desktop.gui.settings.page import Data, SettingsPage, note, set_combo, stacked


class ListeningPage(SettingsPage):
    title = "Listening"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItem("Hands-free: she listens whenever you speak", "hands_free")
        self.mode.addItem("Push to talk: hold a key while you speak", "push_to_talk")
        self.mode.addItem("Off: type only", "off")
        set_combo(self.mode, settings.audio.listen_mode, settings.audio.listen_mode)
        self.key = QKeySequenceEdit(QKeySequence(settings.gui.push_to_talk_key))
        self.key.setMaximumSequenceLength(1)
        self.key.setClearButtonEnabled(True)
        self.end_silence = QSpinBox()
        self.end_silence.setRange(100, 5000)
        self.end_silence.setSingleStep(50)
        self.end_silence.setSuffix(" ms")
        self.end_silence.setValue(settings.vad.end_silence_ms)
        self.mode.currentIndexChanged.connect(self._update_enabled)
        form = QFormLayout(self)
        form.addRow("Listening:", stacked(self.mode, self.error_for("audio.listen_mode")))
        form.addRow("Push-to-talk key:", stacked(self.key, self.error_for("gui.push_to_talk_key")))
        form.addRow(
            "Pause that ends your turn:",
            stacked(self.end_silence, self.error_for("vad.end_silence_ms")),
        )
        form.addRow(
            "",
            note(
                "A longer pause lets you think mid-sentence; a shorter one makes her answer sooner."
            ),
        )
        self._update_enabled()

    def _update_enabled(self) -> None:
        self.key.setEnabled(self.mode.currentData() == "push_to_talk")

    def key_text(self) -> str:
        return self.key.keySequence().toString(QKeySequence.SequenceFormat.PortableText)

    def apply(self, data: Data) -> None:
        data["audio"]["listen_mode"] = self.mode.currentData()
        data["gui"]["push_to_talk_key"] = self.key_text()
        data["vad"]["end_silence_ms"] = self.end_silence.value()

    def check(self) -> dict[str, str]:
        if self.mode.currentData() == "push_to_talk" and not self.key_text():
            return {"gui.push_to_talk_key": "Press the key you want to hold while you speak."}
        return {}
