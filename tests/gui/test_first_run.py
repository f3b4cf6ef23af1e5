"""The health panel: checks off the GUI thread, one-click model assembly with progress."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from her_desktop.config import Settings
from her_desktop.doctor import Check
from her_desktop.gui import first_run
from her_desktop.gui.first_run import HealthPanel, installable_spec, missing_model
from her_desktop.models import ModelSpec, Progress, default_spec
from tests.gui.conftest import RunQt
from tests.waiting import wait_until


def test_first_run_is_needed_only_for_an_embedded_model_not_yet_assembled() -> None:
    settings = Settings()
    assert missing_model(settings) == default_spec("llm")  # fresh data dir: not joined yet
    settings.llm.engine = "remote"
    assert missing_model(settings) is None
    settings.llm.engine = "llamacpp"
    settings.llm.model = "/somewhere/my-own.gguf"
    assert missing_model(settings) is None


def test_only_install_fixes_for_known_models_get_a_button() -> None:
    assert (
        installable_spec(Check("model x", "fail", "missing", "her-desktop models install nope"))
        is None
    )
    assert installable_spec(Check("dirs", "fail", "not writable", "chmod u+rwx x")) is None


def test_panel_shows_checks_with_their_fixes(run_qt: RunQt) -> None:
    checks = [
        Check("python", "ok", "Python 3.11"),
        Check("microphone", "warn", "no input device found", "Connect a microphone."),
    ]

    async def scenario() -> None:
        panel = HealthPanel(checks=lambda: checks)
        panel.refresh()
        await panel.wait_idle()
        assert panel.finished_checks == checks
        texts = [
            panel._grid.itemAt(i).widget().text()  # type: ignore[union-attr]
            for i in range(panel._grid.count())
        ]
        assert "no input device found\nFix: Connect a microphone." in texts
        panel.close()

    run_qt(scenario())


def test_assembling_shows_progress_and_keeps_the_panel_open(
    run_qt: RunQt, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = default_spec("llm")
    threads: list[str] = []
    release = threading.Event()

    def fake_install(given: ModelSpec, progress: Progress) -> Path:
        """Stands in for the real join (tested in test_models.py): reports progress from a
        worker thread, like the real one."""
        threads.append(threading.current_thread().name)
        for done in range(0, given.size + 1, given.size // 4):
            progress(done, given.size)
        release.wait(10)
        return tmp_path / given.filename

    monkeypatch.setattr(first_run, "install", fake_install)

    async def scenario() -> None:
        panel = HealthPanel(first_run_model=spec, checks=list)
        panel.show()
        panel.assemble_button.click()
        await wait_until(lambda: panel.installing)
        await wait_until(lambda: panel.progress.value() == 1000)
        assert not panel.close_button.isEnabled()
        panel.close()  # refused while joining: never leave half a file
        assert panel.isVisible()
        release.set()
        await wait_until(lambda: not panel.installing)
        await panel.wait_idle()
        assert panel.changed
        assert "is ready" in panel.progress_label.text()
        assert threads
        assert threads[0] != threading.main_thread().name
        panel.close()
        assert not panel.isVisible()

    run_qt(scenario())
