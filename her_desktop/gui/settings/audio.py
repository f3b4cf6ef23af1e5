"""The Audio page: microphone and speaker (listed and tested on a worker thread), and echo."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from her_desktop.config import Settings
from her_desktop.gui.background import run_in_background
from her_desktop.gui.device_test import (
    AudioDevice,
    DeviceKind,
    DeviceTestError,
    check_microphone,
    check_speaker,
    list_devices,
)
from her_desktop.gui.settings.page import ERROR_STYLE, Data, SettingsPage, note, set_combo, stacked


class AudioPage(SettingsPage):
    title = "Audio"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        audio = settings.audio
        self.input = QComboBox()
        self.output = QComboBox()
        for combo, current in (
            (self.input, audio.input_device),
            (self.output, audio.output_device),
        ):
            combo.addItem("System default", "")
            if current:
                combo.addItem(current, current)
                combo.setCurrentIndex(1)
        self.devices_note = note("Looking for microphones and speakers…")
        self.test_mic = QPushButton("Test (record 2 s)")
        self.test_mic.clicked.connect(self.run_microphone_test)
        self.test_speaker = QPushButton("Test (play a tone)")
        self.test_speaker.clicked.connect(self.run_speaker_test)
        self.mic_result = QLabel()
        self.mic_result.setWordWrap(True)
        self.mic_result.setVisible(False)
        self.speaker_result = QLabel()
        self.speaker_result.setWordWrap(True)
        self.speaker_result.setVisible(False)
        self.echo = QComboBox()
        self.echo.addItem("Cancel her voice in the microphone (recommended)", "aec")
        self.echo.addItem("Do not listen while she speaks", "half_duplex")
        self.echo.addItem("Off (headphones)", "off")
        set_combo(self.echo, audio.echo, audio.echo)

        mic_row = QHBoxLayout()
        mic_row.addWidget(self.input, 1)
        mic_row.addWidget(self.test_mic)
        speaker_row = QHBoxLayout()
        speaker_row.addWidget(self.output, 1)
        speaker_row.addWidget(self.test_speaker)
        form = QFormLayout(self)
        form.addRow("Microphone:", stacked(mic_row, self.mic_result))
        form.addRow("Speaker:", stacked(speaker_row, self.speaker_result, self.devices_note))
        form.addRow("Echo:", stacked(self.echo, self.error_for("audio.echo")))
        self.refresh_devices()

    def refresh_devices(self) -> None:
        """List the devices on a worker thread (loading PortAudio can take a moment)."""

        def work() -> tuple[list[AudioDevice], list[AudioDevice]]:
            return list_devices("input"), list_devices("output")

        def failed(exc: BaseException) -> None:
            self.devices_note.setText(str(exc))

        run_in_background(work, lambda pair: self.show_devices(*pair), failed, owner=self)

    def show_devices(self, inputs: list[AudioDevice], outputs: list[AudioDevice]) -> None:
        self._fill(self.input, inputs, "input")
        self._fill(self.output, outputs, "output")
        missing = [w for w, found in (("microphone", inputs), ("speaker", outputs)) if not found]
        if missing:
            self.devices_note.setText(
                f"No {' and no '.join(missing)} found. Plug one in and reopen Settings; "
                "typing to her still works."
            )
        else:
            self.devices_note.setText("")
        self.devices_note.setVisible(bool(missing))

    @staticmethod
    def _fill(combo: QComboBox, devices: list[AudioDevice], kind: DeviceKind) -> None:
        current = combo.currentData()
        combo.clear()
        combo.addItem("System default", "")
        for device in devices:
            suffix = " (system default)" if device.is_default else ""
            combo.addItem(f"{device.name}{suffix}", device.name)
        if current and combo.findData(current) < 0:
            match = next((d.name for d in devices if str(current).lower() in d.name.lower()), None)
            if match is not None:
                current = match
        set_combo(combo, current, f"{current} (not connected)")

    def _run_test(
        self, button: QPushButton, result: QLabel, fn: Callable[[], str], busy_text: str
    ) -> None:
        button.setEnabled(False)
        result.setStyleSheet("")
        result.setText(busy_text)
        result.setVisible(True)

        def done(text: str) -> None:
            button.setEnabled(True)
            result.setText(text)

        def failed(exc: BaseException) -> None:
            button.setEnabled(True)
            result.setStyleSheet(ERROR_STYLE)
            result.setText(
                str(exc) if isinstance(exc, DeviceTestError) else f"The test failed: {exc}"
            )

        run_in_background(fn, done, failed, owner=self)

    def run_microphone_test(self) -> None:
        device = str(self.input.currentData() or "")
        self._run_test(
            self.test_mic,
            self.mic_result,
            lambda: check_microphone(device).describe(),
            "Recording for 2 seconds: say something…",
        )

    def run_speaker_test(self) -> None:
        device = str(self.output.currentData() or "")
        self._run_test(
            self.test_speaker, self.speaker_result, lambda: check_speaker(device), "Playing…"
        )

    def apply(self, data: Data) -> None:
        data["audio"]["input_device"] = str(self.input.currentData() or "")
        data["audio"]["output_device"] = str(self.output.currentData() or "")
        data["audio"]["echo"] = self.echo.currentData()


# ---------------------------------------------------------------------------------------------
