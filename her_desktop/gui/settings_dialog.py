"""The Settings window: language model, voice, audio, listening, persona, privacy, appearance.

Wiring (for the main window)::

    dialog = SettingsDialog(loaded.settings, parent=window)
    dialog.settings_changed.connect(on_settings)            # Settings, after OK; caller saves
    dialog.delete_everything_requested.connect(on_delete)   # typed confirmation already done
    dialog.open()   # or: if dialog.exec(): save_settings(dialog.result_settings())

Policy:

- The dialog never saves settings itself: it hands back a validated :class:`Settings`
  (``result_settings()``, or the ``settings_changed`` signal on OK). The caller saves it with
  ``save_settings`` (which refuses to overwrite a broken file, with a message to show).
  Only the persona page writes a file: the persona override ``persona.toml``, on OK.
- Values the settings model rejects are shown in plain words under the field (never a crash),
  and OK stays on the page with the problem.
- Anything slow (listing and testing sound devices, testing the server) runs on a worker
  thread; the window never blocks.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QKeySequenceEdit,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from her_desktop.config import Settings, TTSSettings, unique_errors
from her_desktop.gui.background import run_in_background
from her_desktop.gui.device_test import (
    AudioDevice,
    DeviceKind,
    DeviceTestError,
    check_microphone,
    check_speaker,
    list_devices,
)
from her_desktop.gui.persona_editor import PersonaEditor
from her_desktop.llm.base import EndpointError
from her_desktop.llm.endpoint import parse_base_url
from her_desktop.models.gguf_file import gguf_problem
from her_desktop.models.manifest import specs
from her_desktop.models.registry import list_user_models

Data = dict[str, Any]
DELETE_WORD = "DELETE"
CONNECTION_TEST_TIMEOUT_S = 5.0
_CUSTOM_FILE = "\0file"
_ERROR_STYLE = "color: #c0392b;"


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(_ERROR_STYLE)
    label.setVisible(False)
    return label


def _stacked(field: QWidget | QLayout, *below: QLabel) -> QWidget:
    """``field`` with labels under it (an error, a note) that take no room while hidden."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    if isinstance(field, QLayout):
        layout.addLayout(field)
    else:
        layout.addWidget(field)
    for label in below:
        layout.addWidget(label)
    return box


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setEnabled(False)
    return label


def _set_combo(combo: QComboBox, value: object, missing_label: str | None = None) -> None:
    """Select the item whose data is ``value``; add it (as ``missing_label``) when absent."""
    index = combo.findData(value)
    if index < 0 and missing_label is not None:
        combo.addItem(missing_label, value)
        index = combo.count() - 1
    combo.setCurrentIndex(max(index, 0))


def _without_fix(message: str) -> str:
    return message.split(" — fix it in Settings")[0].rstrip(".") + "."


class SettingsPage(QWidget):
    """One page: shows a part of the settings and writes the edited values back."""

    title = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.errors: dict[str, QLabel] = {}
        """Dotted setting key -> the label under its field that shows what is wrong."""

    def error_for(self, key: str) -> QLabel:
        label = _error_label()
        self.errors[key] = label
        return label

    def apply(self, data: Data) -> None:
        """Write this page's values into ``data`` (a ``Settings.model_dump()``)."""

    def check(self) -> dict[str, str]:
        """Problems the settings model cannot see (a bad file, a bad URL): key -> message."""
        return {}


# ---------------------------------------------------------------------------------------------
# Language model
# ---------------------------------------------------------------------------------------------


def probe_server(url: str, model: str, api_key_env: str, timeout_s: float) -> str:
    """Ask an OpenAI-compatible server for its models (blocks up to ``timeout_s``).

    Returns a line for people; raises ``EndpointError`` with the server problem in plain words.
    """
    from her_desktop.llm.remote import RemoteEngine

    key = os.environ.get(api_key_env) if api_key_env else None
    engine = RemoteEngine(url, model=model, api_key=key, timeout_s=timeout_s)

    async def probe() -> str:
        try:
            await asyncio.wait_for(engine.load(), timeout_s + 1.0)
        except TimeoutError:
            raise EndpointError(
                f"The server at {engine.base_url} did not answer within {timeout_s:.0f} s."
            ) from None
        finally:
            await engine.close()
        info = engine.info()
        text = f"Connected: model {info.model}, context {info.context_size} tokens."
        if engine.warning:
            text += " " + engine.warning
        return text

    return asyncio.run(probe())


class LanguageModelPage(SettingsPage):
    title = "Language model"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        llm = settings.llm
        self.local = QRadioButton("On this computer (private, works offline)")
        self.remote = QRadioButton("On a server (OpenAI-compatible: llama-server, vLLM, Ollama)")
        group = QButtonGroup(self)
        group.addButton(self.local)
        group.addButton(self.remote)
        (self.remote if llm.engine == "remote" else self.local).setChecked(True)

        # -- local model
        self.model = QComboBox()
        for spec in specs("llm"):
            role = {"default": " (default)", "light": " (light, for small computers)"}.get(
                spec.role, ""
            )
            self.model.addItem(f"{spec.name}{role}", spec.id)
        for user_model in list_user_models():
            if user_model.kind == "llm":
                self.model.addItem(
                    f"{user_model.name} (yours: {user_model.path.name})", user_model.name
                )
        self.model.addItem("A GGUF file on this computer…", _CUSTOM_FILE)
        self.file = QLineEdit()
        self.file.setPlaceholderText("/path/to/model.gguf")
        self.browse = QPushButton("Choose…")
        self.browse.clicked.connect(self.choose_file)
        if self.model.findData(llm.model) >= 0:
            _set_combo(self.model, llm.model)
        elif any(c in llm.model for c in "/\\") or llm.model.lower().endswith(".gguf"):
            _set_combo(self.model, _CUSTOM_FILE)
            self.file.setText(llm.model)
        else:
            _set_combo(self.model, llm.model, f"{llm.model} (not found)")
        self.model.currentIndexChanged.connect(self._update_enabled)

        self.gpu = QComboBox()
        self.gpu.addItem("Automatic", "auto")
        self.gpu.addItem("Off (CPU only)", 0)
        self.gpu.addItem("All layers", -1)
        self.gpu.addItem("A number of layers", "n")
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(1, 999)
        if isinstance(llm.n_gpu_layers, int) and llm.n_gpu_layers > 0:
            _set_combo(self.gpu, "n")
            self.gpu_layers.setValue(llm.n_gpu_layers)
        else:
            _set_combo(self.gpu, llm.n_gpu_layers)
            self.gpu_layers.setValue(20)
        self.gpu.currentIndexChanged.connect(self._update_enabled)

        file_row = QHBoxLayout()
        file_row.addWidget(self.file, 1)
        file_row.addWidget(self.browse)
        gpu_row = QHBoxLayout()
        gpu_row.addWidget(self.gpu, 1)
        gpu_row.addWidget(self.gpu_layers)
        self.local_box = QGroupBox("Model on this computer")
        local_form = QFormLayout(self.local_box)
        local_form.addRow("Model:", self.model)
        local_form.addRow("File:", _stacked(file_row, self.error_for("llm.model")))
        local_form.addRow("GPU offload:", _stacked(gpu_row, self.error_for("llm.n_gpu_layers")))

        # -- remote server
        remote = llm.remote
        self.url = QLineEdit(remote.url)
        self.url.textChanged.connect(lambda _t: self._show_url_problem())
        self.remote_model = QLineEdit(remote.model)
        self.remote_model.setPlaceholderText("empty: the server's default model")
        self.api_key_env = QLineEdit(remote.api_key_env)
        self.api_key_env.setPlaceholderText(
            "e.g. OPENAI_API_KEY (the variable's name, not the key)"
        )
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setWordWrap(True)
        self.remote_box = QGroupBox("Server")
        remote_form = QFormLayout(self.remote_box)
        remote_form.addRow("Address:", _stacked(self.url, self.error_for("llm.remote.url")))
        remote_form.addRow(
            "Model:", _stacked(self.remote_model, self.error_for("llm.remote.model"))
        )
        remote_form.addRow(
            "API key variable:",
            _stacked(self.api_key_env, self.error_for("llm.remote.api_key_env")),
        )
        remote_form.addRow(self.test_button, self.test_result)

        self.local.toggled.connect(self._update_enabled)
        layout = QVBoxLayout(self)
        layout.addWidget(self.local)
        layout.addWidget(self.local_box)
        layout.addWidget(self.remote)
        layout.addWidget(self.remote_box)
        layout.addWidget(self.error_for("llm.engine"))
        layout.addStretch(1)
        self._update_enabled()

    def _update_enabled(self) -> None:
        local = self.local.isChecked()
        self.local_box.setEnabled(local)
        self.remote_box.setEnabled(not local)
        custom = self.model.currentData() == _CUSTOM_FILE
        self.file.setEnabled(custom)
        self.browse.setEnabled(custom)
        self.gpu_layers.setEnabled(self.gpu.currentData() == "n")

    def choose_file(self) -> None:
        """Pick a GGUF file; a file that is not a complete GGUF model is refused inline."""
        start = str(Path(self.file.text()).expanduser().parent) if self.file.text() else ""
        name, _ = QFileDialog.getOpenFileName(
            self, "Choose a GGUF model file", start, "GGUF models (*.gguf);;All files (*)"
        )
        if not name:
            return
        problem = gguf_problem(Path(name))
        label = self.errors["llm.model"]
        if problem is not None:
            label.setText(f"{problem}. Pick a .gguf model file (llama.cpp format).")
            label.setVisible(True)
            return
        label.setVisible(False)
        _set_combo(self.model, _CUSTOM_FILE)
        self.file.setText(name)

    def _model_value(self) -> str:
        data = self.model.currentData()
        return self.file.text().strip() if data == _CUSTOM_FILE else str(data)

    def _gpu_value(self) -> int | str:
        data: int | str = self.gpu.currentData()
        return self.gpu_layers.value() if data == "n" else data

    def apply(self, data: Data) -> None:
        llm = data["llm"]
        llm["engine"] = "llamacpp" if self.local.isChecked() else "remote"
        llm["model"] = self._model_value()
        llm["n_gpu_layers"] = self._gpu_value()
        llm["remote"]["url"] = self.url.text().strip()
        llm["remote"]["model"] = self.remote_model.text().strip()
        llm["remote"]["api_key_env"] = self.api_key_env.text().strip()

    def url_problem(self) -> str | None:
        try:
            parse_base_url(self.url.text())
        except EndpointError as exc:
            return _without_fix(str(exc))
        return None

    def _show_url_problem(self) -> None:
        problem = self.url_problem()
        label = self.errors["llm.remote.url"]
        label.setText(problem or "")
        label.setVisible(problem is not None)

    def check(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if self.remote.isChecked():
            url = self.url_problem()
            if url is not None:
                problems["llm.remote.url"] = url
        elif self.model.currentData() == _CUSTOM_FILE:
            text = self.file.text().strip()
            if not text:
                problems["llm.model"] = (
                    "Choose a .gguf model file, or pick one of the models above."
                )
            else:
                problem = gguf_problem(Path(text).expanduser())
                if problem is not None:
                    problems["llm.model"] = (
                        f"{problem}. Pick a .gguf model file (llama.cpp format)."
                    )
        return problems

    def test_connection(self) -> None:
        """Ask the server for its models on a worker thread (at most a few seconds)."""
        problem = self.url_problem()
        if problem is not None:
            self.test_result.setText(problem)
            return
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText("Connecting…")
        url, model, key = self.url.text(), self.remote_model.text(), self.api_key_env.text()

        def done(text: str) -> None:
            self.test_button.setEnabled(True)
            self.test_result.setText(text)

        def failed(exc: BaseException) -> None:
            self.test_button.setEnabled(True)
            self.test_result.setStyleSheet(_ERROR_STYLE)
            self.test_result.setText(_without_fix(str(exc)))

        run_in_background(
            lambda: probe_server(url, model, key.strip(), CONNECTION_TEST_TIMEOUT_S),
            done,
            failed,
            owner=self,
        )


# ---------------------------------------------------------------------------------------------
# Voice
# ---------------------------------------------------------------------------------------------

TTS_ENGINES = (
    ("hibari", "Hibari (default)"),
    ("piper", "Piper"),
    ("coqui", "Coqui (your own model)"),
)


def installed_voices(engine: str, settings: TTSSettings) -> list[tuple[str, str]] | None:
    """(voice id, label) of the voices installed for ``engine``, from ``her_desktop.tts``.

    None when the list is not available (then only the current setting is offered).
    """
    try:
        from her_desktop.tts.registry import installed_voices as registry_voices
    except ImportError:
        return None
    try:
        voices = registry_voices(engine, settings)
    except Exception:  # a broken engine must not break Settings
        return None
    return [(v.id, v.name or v.id) for v in voices]


class VoicePage(SettingsPage):
    title = "Voice"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        tts = settings.tts
        self._tts = tts
        self.engine = QComboBox()
        for value, label in TTS_ENGINES:
            self.engine.addItem(label, value)
        _set_combo(self.engine, tts.engine, tts.engine)
        self.voice = QComboBox()
        self.voice_note = _note("")
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
        form.addRow("Speech engine:", _stacked(self.engine, self.error_for("tts.engine")))
        form.addRow("Voice:", _stacked(self.voice, self.voice_note, self.error_for("tts.voice")))
        form.addRow("Speed:", _stacked(speed_row, self.error_for("tts.speed")))

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
            _set_combo(self.voice, wanted, wanted)
        else:
            self.voice_note.setText(
                "Only voices installed on this computer are listed; other voices are not installed."
            )
            _set_combo(self.voice, wanted, f"{wanted} (not installed)")

    def apply(self, data: Data) -> None:
        data["tts"]["engine"] = self.engine.currentData()
        data["tts"]["voice"] = self.voice.currentData() or ""
        data["tts"]["speed"] = self.speed.value() / 100.0


# ---------------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------------


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
        self.devices_note = _note("Looking for microphones and speakers…")
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
        _set_combo(self.echo, audio.echo, audio.echo)

        mic_row = QHBoxLayout()
        mic_row.addWidget(self.input, 1)
        mic_row.addWidget(self.test_mic)
        speaker_row = QHBoxLayout()
        speaker_row.addWidget(self.output, 1)
        speaker_row.addWidget(self.test_speaker)
        form = QFormLayout(self)
        form.addRow("Microphone:", _stacked(mic_row, self.mic_result))
        form.addRow("Speaker:", _stacked(speaker_row, self.speaker_result, self.devices_note))
        form.addRow("Echo:", _stacked(self.echo, self.error_for("audio.echo")))
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
        _set_combo(combo, current, f"{current} (not connected)")

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
            result.setStyleSheet(_ERROR_STYLE)
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
# Listening, privacy, appearance
# ---------------------------------------------------------------------------------------------


class ListeningPage(SettingsPage):
    title = "Listening"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItem("Hands-free: she listens whenever you speak", "hands_free")
        self.mode.addItem("Push to talk: hold a key while you speak", "push_to_talk")
        self.mode.addItem("Off: type only", "off")
        _set_combo(self.mode, settings.audio.listen_mode, settings.audio.listen_mode)
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
        form.addRow("Listening:", _stacked(self.mode, self.error_for("audio.listen_mode")))
        form.addRow("Push-to-talk key:", _stacked(self.key, self.error_for("gui.push_to_talk_key")))
        form.addRow(
            "Pause that ends your turn:",
            _stacked(self.end_silence, self.error_for("vad.end_silence_ms")),
        )
        form.addRow(
            "",
            _note(
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


class PrivacyPage(SettingsPage):
    title = "Privacy"
    delete_everything_requested = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        privacy = settings.privacy
        self.memory = QCheckBox("Remember things about me between conversations")
        self.memory.setChecked(privacy.memory_enabled)
        self.checkins = QCheckBox("Let her gently check in when my mood seems low")
        self.checkins.setChecked(privacy.checkins_enabled)
        self.delete_button = QPushButton("Delete everything…")
        self.delete_button.clicked.connect(self.confirm_delete)
        layout = QVBoxLayout(self)
        layout.addWidget(self.memory)
        layout.addWidget(self.checkins)
        layout.addWidget(
            _note(
                "Everything stays on this computer. Nothing is sent anywhere unless you choose "
                "a language model server."
            )
        )
        layout.addSpacing(12)
        row = QHBoxLayout()
        row.addWidget(self.delete_button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(
            _note(
                "Deletes every memory, every conversation and your mood history. "
                "It cannot be undone."
            )
        )
        layout.addStretch(1)

    def confirm_delete(self) -> None:
        """Ask for the word DELETE; emit ``delete_everything_requested`` when typed."""
        text, ok = QInputDialog.getText(
            self,
            "Delete everything",
            "This deletes every memory, every conversation and your mood history.\n"
            f"It cannot be undone. Type {DELETE_WORD} to confirm:",
        )
        if not ok:
            return
        if text.strip().upper() != DELETE_WORD:
            QMessageBox.information(
                self, "Nothing deleted", f"Nothing was deleted (you did not type {DELETE_WORD})."
            )
            return
        self.delete_everything_requested.emit()

    def apply(self, data: Data) -> None:
        data["privacy"]["memory_enabled"] = self.memory.isChecked()
        data["privacy"]["checkins_enabled"] = self.checkins.isChecked()


class AppearancePage(SettingsPage):
    title = "Appearance"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = QComboBox()
        self.theme.addItem("Same as the system", "system")
        self.theme.addItem("Light", "light")
        self.theme.addItem("Dark", "dark")
        _set_combo(self.theme, settings.gui.theme, settings.gui.theme)
        self.tray = QCheckBox(
            "Show an icon in the system tray (she keeps running when the window is closed)"
        )
        self.tray.setChecked(settings.gui.tray_icon)
        form = QFormLayout(self)
        form.addRow("Theme:", _stacked(self.theme, self.error_for("gui.theme")))
        form.addRow("", self.tray)

    def apply(self, data: Data) -> None:
        data["gui"]["theme"] = self.theme.currentData()
        data["gui"]["tray_icon"] = self.tray.isChecked()


class PersonaPage(SettingsPage):
    title = "Persona"

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = PersonaEditor(settings.persona)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.editor)

    def check(self) -> dict[str, str]:
        persona = self.editor.edited_persona()
        return {"persona": persona} if isinstance(persona, str) else {}


# ---------------------------------------------------------------------------------------------
# The dialog
# ---------------------------------------------------------------------------------------------


class SettingsDialog(QDialog):
    """Edit a copy of ``settings``; on OK emit ``settings_changed(Settings)`` (caller saves).

    ``result_settings()`` validates the pages and returns the edited settings, or None when a
    value is wrong (the problem is then shown under its field).
    ``delete_everything_requested`` is emitted after the user typed DELETE on the Privacy page.
    """

    settings_changed = Signal(object)
    delete_everything_requested = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self.settings: Settings | None = None
        """The accepted settings once OK was pressed (None until then, or after Cancel)."""
        self.language_model = LanguageModelPage(settings)
        self.voice = VoicePage(settings)
        self.audio = AudioPage(settings)
        self.listening = ListeningPage(settings)
        self.persona = PersonaPage(settings)
        self.privacy = PrivacyPage(settings)
        self.appearance = AppearancePage(settings)
        self.pages: list[SettingsPage] = [
            self.language_model,
            self.voice,
            self.audio,
            self.listening,
            self.persona,
            self.privacy,
            self.appearance,
        ]
        self.privacy.delete_everything_requested.connect(self.delete_everything_requested)

        self.nav = QListWidget()
        self.stack = QStackedWidget()
        for page in self.pages:
            self.nav.addItem(page.title)
            self.stack.addWidget(page)
        self.nav.setFixedWidth(self.nav.sizeHintForColumn(0) + 32)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)
        self.problem = _error_label()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        body = QHBoxLayout()
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(760, 520)

    def show_page(self, page: SettingsPage) -> None:
        self.nav.setCurrentRow(self.pages.index(page))

    def _edited_data(self) -> Data:
        data = self._settings.model_dump()
        for page in self.pages:
            page.apply(data)
        return data

    def _page_of(self, key: str) -> tuple[SettingsPage, QLabel] | None:
        """The page and label for a dotted key (or its closest parent that has a label)."""
        parts = key.split(".")
        while parts:
            candidate = ".".join(parts)
            for page in self.pages:
                if candidate in page.errors:
                    return page, page.errors[candidate]
            parts.pop()
        return None

    def _validate(self) -> tuple[Settings | None, dict[str, str]]:
        problems: dict[str, str] = {}
        for page in self.pages:
            problems.update(page.check())
        data = self._edited_data()
        settings: Settings | None = None
        try:
            settings = Settings.model_validate(data)
        except ValidationError as exc:
            for key, why in unique_errors(exc):
                problems.setdefault(".".join(key), why.capitalize() + ".")
        if problems:
            return None, problems
        return settings, {}

    def _show_problems(self, problems: dict[str, str]) -> None:
        for page in self.pages:
            for label in page.errors.values():
                label.setVisible(False)
        first: SettingsPage | None = None
        unplaced: list[str] = []
        for key, message in problems.items():
            found = self._page_of(key)
            if key == "persona":
                first = first or self.persona
                continue  # the persona editor shows its own problems
            if found is None:
                unplaced.append(f"{key}: {message}")
                continue
            page, label = found
            label.setText(message)
            label.setVisible(True)
            first = first or page
        self.problem.setText("\n".join(unplaced))
        self.problem.setVisible(bool(unplaced))
        if first is not None and first is not self.stack.currentWidget():
            self.show_page(first)

    def result_settings(self) -> Settings | None:
        """The edited settings, validated; None when something is wrong (shown inline).

        ``persona`` is the value it will have once the persona page is saved: the override
        file's path when the persona was edited.
        """
        settings, problems = self._validate()
        self._show_problems(problems)
        if settings is None:
            return None
        if self.persona.editor.is_modified():
            value = self.persona.editor.planned_ref()
            settings = settings.model_copy(update={"persona": value})
        return settings

    def accept(self) -> None:
        settings = self.result_settings()
        if settings is None:
            return
        if self.persona.editor.is_modified():
            try:
                value = self.persona.editor.save()
            except (ValueError, OSError) as exc:
                self.show_page(self.persona)
                self.persona.editor.error.setText(f"Could not save the persona: {exc}")
                self.persona.editor.error.setVisible(True)
                return
            settings = settings.model_copy(update={"persona": value})
        self.settings = settings
        self.settings_changed.emit(settings)
        super().accept()
