"""The Voice page: speech engine, voice (the installed ones) and speed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QSlider, QWidget

from her_desktop.config import Settings
from her_desktop.gui.settings.page import Data, SettingsPage, note, set_combo, stacked
from her_desktop.gui.settings.probes import installed_voices

TTS_ENGINES = (
    ("hibari", "Hibari (default)"),
    ("piper", "Piper"),
    ("coqui", "Coqui (your own model)"),
)


class VoicePage(SettingsPage):
    title = "Voice"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        tts = settings.tts
        self._tts = tts
        self.engine = QComboBox()
        for value, label in TTS_ENGINES:
            self.engine.addItem(label, value)
        set_combo(self.engine, tts.engine, tts.engine)
        self.voice = QComboBox()
        self.voice_note = note("")
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setRange(50, 200)
        self.speed.setSingleStep(5)
        self.speed.setPageStep(10)
        self.speed.setTickInterval(25)
        self.speed.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.speed.setValue(round(tts.speed * 100))
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(48)
        self.speed.valueChanged.connect(self._show_speed)
        self._show_speed(self.speed.value())
        self.engine.currentIndexChanged.connect(
            lambda _i: self._fill_voices(self.voice.currentData())
        )
        self._fill_voices(tts.voice)

        speed_row = QHBoxLayout()
        speed_row.addWidget(QLabel("slower"))
        speed_row.addWidget(self.speed, 1)
        speed_row.addWidget(QLabel("faster"))
        speed_row.addWidget(self.speed_label)
        form = QFormLayout(self)
        form.addRow("Speech engine:", stacked(self.engine, self.error_for("tts.engine")))
        form.addRow("Voice:", stacked(self.voice, self.voice_note, self.error_for("tts.voice")))
        form.addRow("Speed:", stacked(speed_row, self.error_for("tts.speed")))

    def _show_speed(self, value: int) -> None:
        self.speed_label.setText(f"{value / 100:.2f}x")

    def _fill_voices(self, current: object) -> None:
        engine = str(self.engine.currentData())
        wanted = current if isinstance(current, str) else ""
        self.voice.clear()
        self.voice.addItem("The engine's default voice", "")
        voices = installed_voices(engine, self._tts.model_copy(update={"engine": engine}))
        for voice_id, label in voices or []:
            self.voice.addItem(label, voice_id)
        if voices is None:
            self.voice_note.setText(
                "The list of installed voices is not available; the voice set in your settings "
                "is kept."
            )
            set_combo(self.voice, wanted, wanted)
        else:
            self.voice_note.setText(
                "Only voices installed on this computer are listed; other voices are not installed."
            )
            set_combo(self.voice, wanted, f"{wanted} (not installed)")

    def apply(self, data: Data) -> None:
        data["tts"]["engine"] = self.engine.currentData()
        data["tts"]["voice"] = self.voice.currentData() or ""
        data["tts"]["speed"] = self.speed.value() / 100.0


# ---------------------------------------------------------------------------------------------
