"""The Settings window (pytest-qt, offscreen) and the device-test logic behind its Audio page."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from her_desktop.config import Settings, TTSSettings
from her_desktop.gui import device_test
from her_desktop.gui.background import wait_for_background
from her_desktop.gui.device_test import AudioDevice, find_device, measure_level, tone
from her_desktop.gui.settings.probes import installed_voices, probe_server
from her_desktop.gui.settings_dialog import SettingsDialog
from her_desktop.llm.base import EndpointError
from her_desktop.persona import load_persona, user_persona_path


@pytest.fixture
def dialog(qtbot: QtBot) -> SettingsDialog:
    view = SettingsDialog(Settings())
    qtbot.addWidget(view)
    yield view
    wait_for_background()


def test_unchanged_dialog_gives_back_the_same_settings(dialog: SettingsDialog) -> None:
    assert dialog.result_settings() == Settings()


def test_voice_and_speed_are_in_the_result(dialog: SettingsDialog) -> None:
    page = dialog.voice
    page.engine.setCurrentIndex(page.engine.findData("piper"))
    if page.voice.findData("joe") < 0:  # the piper voice package is not installed here
        page.voice.addItem("joe", "joe")
    page.voice.setCurrentIndex(page.voice.findData("joe"))
    page.speed.setValue(125)
    assert page.speed_label.text() == "1.25x"
    result = dialog.result_settings()
    assert result is not None
    assert (result.tts.engine, result.tts.voice, result.tts.speed) == ("piper", "joe", 1.25)


def test_the_voice_list_comes_from_the_installed_voices() -> None:
    for engine in ("hibari", "piper", "coqui"):
        voices = installed_voices(engine, TTSSettings(engine=engine))  # type: ignore[arg-type]
        assert voices is None or all(isinstance(v, str) and v for v, _ in voices)


def test_a_configured_voice_that_is_not_listed_is_kept(qtbot: QtBot) -> None:
    settings = Settings.model_validate({"tts": {"voice": "amy"}})
    view = SettingsDialog(settings)
    qtbot.addWidget(view)
    assert view.voice.voice.currentData() == "amy"
    result = view.result_settings()
    assert result is not None
    assert result.tts.voice == "amy"


def test_ok_emits_settings_changed(qtbot: QtBot, dialog: SettingsDialog) -> None:
    dialog.privacy.memory.setChecked(False)
    dialog.appearance.theme.setCurrentIndex(dialog.appearance.theme.findData("dark"))
    with qtbot.waitSignal(dialog.settings_changed) as signal:
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    settings = signal.args[0]
    assert isinstance(settings, Settings)
    assert settings.privacy.memory_enabled is False
    assert settings.gui.theme == "dark"


def test_invalid_remote_url_is_shown_inline_and_ok_is_refused(
    qtbot: QtBot, dialog: SettingsDialog
) -> None:
    page = dialog.language_model
    page.remote.setChecked(True)
    page.url.setText("ftp://example.com")
    label = page.errors["llm.remote.url"]
    assert not label.isHidden()
    assert "http://" in label.text()
    assert dialog.result_settings() is None
    with qtbot.assertNotEmitted(dialog.settings_changed):
        dialog.accept()
    assert dialog.stack.currentWidget() is page
    page.url.setText("http://127.0.0.1:8080/v1")
    assert label.isHidden()
    result = dialog.result_settings()
    assert result is not None
    assert result.llm.engine == "remote"


def test_gpu_offload_choices(dialog: SettingsDialog) -> None:
    page = dialog.language_model
    page.gpu.setCurrentIndex(page.gpu.findData("n"))
    page.gpu_layers.setValue(12)
    result = dialog.result_settings()
    assert result is not None
    assert result.llm.n_gpu_layers == 12
    page.gpu.setCurrentIndex(page.gpu.findData(0))
    result = dialog.result_settings()
    assert result is not None
    assert result.llm.n_gpu_layers == 0


def test_gguf_picker_rejects_a_garbage_file(
    dialog: SettingsDialog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = tmp_path / "notes.gguf"
    garbage.write_bytes(b"this is not a model at all" * 10)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(garbage), ""))
    page = dialog.language_model
    page.choose_file()
    label = page.errors["llm.model"]
    assert not label.isHidden()
    assert "not a GGUF model file" in label.text()
    assert page.file.text() == ""
    result = dialog.result_settings()
    assert result is not None
    assert result.llm.model == Settings().llm.model


def test_gguf_picker_accepts_a_real_gguf(
    dialog: SettingsDialog, tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tiny_gguf), ""))
    dialog.language_model.choose_file()
    assert dialog.language_model.errors["llm.model"].isHidden()
    result = dialog.result_settings()
    assert result is not None
    assert result.llm.model == str(tiny_gguf)


def test_a_typed_path_to_a_bad_file_is_refused(dialog: SettingsDialog, tmp_path: Path) -> None:
    page = dialog.language_model
    page.model.setCurrentIndex(page.model.count() - 1)  # "A GGUF file on this computer"
    page.file.setText(str(tmp_path / "missing.gguf"))
    assert dialog.result_settings() is None
    assert "does not exist" in page.errors["llm.model"].text()


def test_persona_edit_writes_the_override(qtbot: QtBot, dialog: SettingsDialog) -> None:
    editor = dialog.persona.editor
    editor.name.setText("Ada")
    editor.traits.setPlainText("kind\nprecise\n")
    with qtbot.waitSignal(dialog.settings_changed) as signal:
        dialog.accept()
    path = user_persona_path()
    assert signal.args[0].persona == str(path)
    persona = load_persona(path)
    assert persona.name == "Ada"
    assert persona.traits == ["kind", "precise"]
    assert persona.greeting == load_persona("samantha").greeting  # untouched fields kept
    assert tomllib.loads(path.read_text(encoding="utf-8"))["name"] == "Ada"


def test_persona_reset_goes_back_to_samantha(qtbot: QtBot, tmp_path: Path) -> None:
    custom = user_persona_path()
    custom.write_text(
        Path(__file__)
        .parent.parent.joinpath("assets/personas/samantha.toml")
        .read_text(encoding="utf-8")
        .replace('name = "Samantha"', 'name = "Ada"'),
        encoding="utf-8",
    )
    view = SettingsDialog(Settings(persona=str(custom)))
    qtbot.addWidget(view)
    assert view.persona.editor.name.text() == "Ada"
    view.persona.editor.reset_to_default()
    assert view.persona.editor.name.text() == "Samantha"
    result = view.result_settings()
    assert result is not None
    assert result.persona == "samantha"


def test_an_invalid_persona_is_shown_inline(dialog: SettingsDialog) -> None:
    editor = dialog.persona.editor
    editor.traits.setPlainText("")
    assert dialog.result_settings() is None
    assert not editor.error.isHidden()
    assert "Traits" in editor.error.text()
    assert not user_persona_path().exists()


def test_listening_page(dialog: SettingsDialog) -> None:
    page = dialog.listening
    page.mode.setCurrentIndex(page.mode.findData("push_to_talk"))
    page.key.setKeySequence(QKeySequence("Ctrl+Shift+T"))
    page.end_silence.setValue(900)
    result = dialog.result_settings()
    assert result is not None
    assert result.audio.listen_mode == "push_to_talk"
    assert result.gui.push_to_talk_key == "Ctrl+Shift+T"
    assert result.vad.end_silence_ms == 900
    page.key.clear()
    assert dialog.result_settings() is None
    assert not page.errors["gui.push_to_talk_key"].isHidden()


def test_delete_everything_needs_the_typed_word(
    qtbot: QtBot, dialog: SettingsDialog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: None)
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("yes", True))
    with qtbot.assertNotEmitted(dialog.delete_everything_requested):
        dialog.privacy.delete_button.click()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("DELETE", True))
    with qtbot.waitSignal(dialog.delete_everything_requested):
        dialog.privacy.delete_button.click()


def test_audio_page_shows_devices_and_no_devices(dialog: SettingsDialog) -> None:
    page = dialog.audio
    wait_for_background()
    mic = AudioDevice(3, "USB Microphone", 1, 48_000.0, is_default=True)
    page.show_devices([mic], [])
    assert page.input.findData("USB Microphone") >= 0
    assert "No speaker found" in page.devices_note.text()
    page.input.setCurrentIndex(page.input.findData("USB Microphone"))
    result = dialog.result_settings()
    assert result is not None
    assert result.audio.input_device == "USB Microphone"


def test_a_configured_device_that_is_unplugged_is_kept(qtbot: QtBot) -> None:
    view = SettingsDialog(Settings.model_validate({"audio": {"output_device": "Headset"}}))
    qtbot.addWidget(view)
    wait_for_background()
    view.audio.show_devices([], [AudioDevice(1, "Speakers", 2, 48_000.0, True)])
    assert view.audio.output.currentText() == "Headset (not connected)"
    result = view.result_settings()
    assert result is not None
    assert result.audio.output_device == "Headset"


def test_microphone_test_runs_off_the_ui_thread(
    qtbot: QtBot, dialog: SettingsDialog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_check(setting: str, seconds: float = 2.0) -> device_test.LevelReport:
        raise device_test.DeviceTestError("No microphone was found. Plug one in, then try again.")

    monkeypatch.setattr("her_desktop.gui.settings.audio.check_microphone", fake_check)
    dialog.audio.test_mic.click()
    qtbot.waitUntil(lambda: "No microphone" in dialog.audio.mic_result.text())
    assert dialog.audio.test_mic.isEnabled()


def test_connection_test_reports_a_server_that_is_not_there(
    qtbot: QtBot, dialog: SettingsDialog
) -> None:
    page = dialog.language_model
    page.remote.setChecked(True)
    page.url.setText("http://127.0.0.1:9/v1")  # discard port: nothing listens
    page.test_connection()
    qtbot.waitUntil(lambda: page.test_button.isEnabled(), timeout=15_000)
    assert page.test_result.text()
    assert "Connected" not in page.test_result.text()


def test_probe_server_raises_a_plain_error() -> None:
    with pytest.raises(EndpointError):
        probe_server("http://127.0.0.1:9/v1", "", "", 2.0)


# -- device_test logic (no sound hardware needed) ---------------------------------------------


def test_level_of_silence_and_of_a_tone() -> None:
    silence = measure_level(np.zeros(16_000, dtype=np.float32), 16_000)
    assert silence.silent
    assert "almost nothing" in silence.describe()
    loud = measure_level(tone(16_000.0), 16_000)
    assert not loud.silent
    assert -16.0 < loud.peak_dbfs < -13.0  # 0.2 full scale = -14 dBFS
    assert "Heard you" in loud.describe()


def test_tone_has_soft_edges() -> None:
    wave = tone(48_000.0)
    assert wave.dtype == np.float32
    assert abs(wave[0]) < 1e-3
    assert abs(wave[-1]) < 1e-2
    assert float(np.max(np.abs(wave))) <= 0.2 + 1e-6


def test_find_device_by_substring_or_default() -> None:
    devices = [
        AudioDevice(0, "Built-in Microphone", 2, 48_000.0, is_default=True),
        AudioDevice(4, "USB Headset Mic", 1, 16_000.0),
    ]
    assert find_device("", devices) is devices[0]
    assert find_device("headset", devices) is devices[1]
    assert find_device("bluetooth", devices) is None
    assert find_device("", []) is None


def test_list_devices_on_this_machine_never_crashes() -> None:
    """The real PortAudio (twin of the fake device lists above): a list, or a plain error."""
    problem = ""
    devices: list[AudioDevice] = []
    try:
        devices = device_test.list_devices("output")
    except device_test.DeviceTestError as exc:
        problem = str(exc)
    assert all(d.channels > 0 for d in devices)
    assert not problem or "audio" in problem.lower() or "device" in problem.lower()


def test_models_found_on_the_computer_are_offered_with_their_speed(
    qtbot: QtBot, tmp_path: Path, tiny_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from her_desktop.models import discover as discover_mod

    monkeypatch.setattr(discover_mod, "model_roots", list)
    folder = tmp_path / "found"
    folder.mkdir()
    shutil.copy(tiny_gguf, folder / "tiny.gguf")
    settings = Settings()
    settings.llm.model_folders = [str(folder)]
    settings.llm.n_gpu_layers = 0
    view = SettingsDialog(settings)
    qtbot.addWidget(view)
    page = view.language_model
    key = str(folder / "tiny.gguf")
    qtbot.waitUntil(lambda: page.model.findData(key) >= 0, timeout=10_000)
    page.model.setCurrentIndex(page.model.findData(key))
    page.measure_speed()
    qtbot.waitUntil(lambda: "tokens/s here" in page.speed_result.text(), timeout=60_000)
    assert "tokens/s here" in page.model.itemText(page.model.findData(key))
    result = view.result_settings()
    assert result is not None
    assert result.llm.model == key
    wait_for_background()
