"""run_gui: the whole lifecycle on its own qasync loop, first run without a model included."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from her_desktop.config import LoadedSettings, settings_path
from her_desktop.gui.app_window import MainWindow
from her_desktop.gui.first_run import HealthPanel
from her_desktop.gui.launch import display_available, run_gui
from tests.fakes import FakeEngine
from tests.gui.conftest import light_settings


def poll(qapp: QApplication, step: object) -> None:
    """Call ``step()`` every 50 ms until it returns True (from Qt timers, outside any task)."""

    def tick() -> None:
        if not step():  # type: ignore[operator]
            QTimer.singleShot(50, tick)

    QTimer.singleShot(50, tick)


def main_window(qapp: QApplication) -> MainWindow | None:
    found = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    return found[0] if found else None


def test_run_gui_shows_the_window_and_returns_0_when_it_closes(qapp: QApplication) -> None:
    seen: dict[str, str] = {}

    def close_when_ready() -> bool:
        window = main_window(qapp)
        if window is None or window.app is None:
            return False
        seen["problem"] = window.status_line.message
        window.close()
        return True

    poll(qapp, close_when_ready)
    loaded = LoadedSettings(light_settings(), settings_path(), problem="settings.toml: bad line 3")
    assert run_gui(loaded, engine=FakeEngine(), with_memory=False, voice=False) == 0
    assert "bad line 3" in seen["problem"]


def test_first_run_without_the_model_explains_and_still_closes_cleanly(
    qapp: QApplication,
) -> None:
    steps: list[str] = []

    def step() -> bool:
        panels = [w for w in qapp.topLevelWidgets() if isinstance(w, HealthPanel)]
        if panels and panels[0].isVisible() and "panel" not in steps:
            steps.append("panel")
            assert panels[0].assemble_button.isVisible()
            panels[0].reject()  # the user closes it without assembling
            return False
        window = main_window(qapp)
        if window is not None and "panel" in steps and window.status_line.level == "error":
            steps.append(window.status_line.message)
            window.close()
            return True
        return False

    poll(qapp, step)
    assert run_gui(light_settings(), with_memory=False, voice=False) == 0
    assert steps[0] == "panel"
    assert "Health check" in steps[1]


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, False), ({"DISPLAY": ":0"}, True), ({"WAYLAND_DISPLAY": "wayland-0"}, True)],
)
def test_display_available(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: bool
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert display_available() is expected


def test_the_installed_command_opens_the_window_and_stays_up(tmp_path: Path) -> None:
    """``her-desktop gui`` as a user starts it (a fresh process: no QApplication exists yet)."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HER_DESKTOP_MODELS_DIR": str(tmp_path / "no-models"),  # first run: the health panel
        "PULSE_SERVER": str(tmp_path / "no-sound-server"),
    }
    window = subprocess.Popen(
        [sys.executable, "-m", "her_desktop", "gui"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(6)
        alive = window.poll() is None
    finally:
        window.terminate()
        output, _ = window.communicate(timeout=30)
    assert alive, f"the window exited early ({window.returncode}):\n{output[-3000:]}"
    assert "Must construct a QApplication" not in output
