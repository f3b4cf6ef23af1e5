"""The window's other dialogs: settings (saved, theme applied live), memory & mood, health,
about, and the keyboard shortcut behind every action."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QDialog

from her_desktop.config import load_settings
from her_desktop.events import Event, ListenMode
from her_desktop.gui.background import wait_for_background
from her_desktop.gui.theme import DARK
from tests.fakes import FakeEngine
from tests.gui.conftest import RunQt, start_window
from tests.waiting import wait_until


def open_dialogs() -> list[QDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]


def test_every_action_has_its_shortcut(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine())
        w = running.window
        expected = {
            w.send_action: "Ctrl+Return",
            w.stop_action: "Esc",
            w.settings_action: "Ctrl+,",
            w.memory_action: "Ctrl+M",
            w.quit_action: "Ctrl+Q",
            w.about_action: "F1",
            w.new_action: "Ctrl+N",
            w.hands_free_action: "Ctrl+H",
        }
        for action, keys in expected.items():
            assert action.shortcut() == QKeySequence(keys), action.text()
        await running.close()

    run_qt(scenario())


def test_settings_ok_saves_and_applies_the_theme(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine())
        window = running.window
        window.settings_action.trigger()
        dialogs = open_dialogs()
        assert [type(d).__name__ for d in dialogs] == ["SettingsDialog"]
        new = window.settings.model_copy(deep=True)
        new.gui.theme = "dark"
        dialogs[0].settings_changed.emit(new)  # what OK does with valid pages
        assert window.theme is DARK
        assert load_settings().settings.gui.theme == "dark"
        dialogs[0].reject()
        wait_for_background()
        await running.close()

    run_qt(scenario())


def test_her_pace_and_listening_mode_apply_at_once(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine())
        seen: list[Event] = []

        async def record(event: Event) -> None:
            seen.append(event)

        running.app.bus.subscribe(ListenMode, record, name="test")
        new = running.window.settings.model_copy(deep=True)
        new.tts.speed = 1.3
        new.audio.listen_mode = "push_to_talk"
        running.window.apply_settings(new)
        await wait_until(lambda: seen)
        assert running.app.settings.tts.speed == 1.3  # the speaker reads it per sentence
        assert seen == [ListenMode("push_to_talk")]
        assert "restart" not in running.window.status_line.message
        await running.close()

    run_qt(scenario())


def test_memory_view_opens_on_the_running_app(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine(), with_memory=True)
        await wait_until(lambda: running.app.memory_ready.is_set())
        running.window.memory_action.trigger()
        dialogs = open_dialogs()
        assert [type(d).__name__ for d in dialogs] == ["MemoryMoodDialog"]
        dialogs[0].reject()
        wait_for_background()
        await running.close()

    run_qt(scenario())


def test_health_and_about_open_without_blocking(run_qt: RunQt) -> None:
    async def scenario() -> None:
        running = await start_window(FakeEngine())
        panel = running.window.open_health()
        await panel.wait_idle()
        assert panel.finished_checks
        panel.reject()
        running.window.about_action.trigger()
        about = [d for d in open_dialogs() if d.windowTitle() == "About her_desktop"]
        assert about
        about[0].reject()
        await running.close()

    run_qt(scenario())


def test_new_conversation_forgets_the_history(run_qt: RunQt) -> None:
    async def scenario() -> None:
        engine = FakeEngine(["Ok."])
        running = await start_window(engine)
        window = running.window
        window.send_text("remember this")
        await wait_until(lambda: len(running.app.dialogue.history) == 2)
        window.new_action.trigger()
        assert running.app.dialogue.history == []
        assert window.conversation.bubbles() == []
        await running.close()

    run_qt(scenario())


def test_push_to_talk_key_follows_settings_and_stays_in_the_main_window(run_qt: RunQt) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLineEdit

    from her_desktop.events import PushToTalk
    from tests.gui.input import key_press, key_release

    async def scenario() -> None:
        running = await start_window(FakeEngine())
        window = running.window
        seen: list[Event] = []

        async def keep(event: Event) -> None:
            seen.append(event)

        running.app.bus.subscribe(PushToTalk, keep, name="test:ptt")
        new = window.settings.model_copy(deep=True)
        new.gui.push_to_talk_key = "F5"
        window.apply_settings(new)
        assert "F5" in window.composer.mic_button.toolTip()
        key_press(window.composer.edit, Qt.Key.Key_F5)
        key_release(window.composer.edit, Qt.Key.Key_F5)
        await wait_until(lambda: seen == [PushToTalk(True), PushToTalk(False)])

        elsewhere = QLineEdit()  # e.g. a key-capture field in a dialog
        elsewhere.show()
        key_press(elsewhere, Qt.Key.Key_F5)
        key_release(elsewhere, Qt.Key.Key_F5)
        await running.close()
        assert len(seen) == 2

    run_qt(scenario())
